"""Pure functions of tensors: likelihoods, KL divergences, importance weights, gradient
penalties and adversarial losses, per example, in float32; categorical sampling.

The GAN losses are in :mod:`keras_gen.losses.adversarial`, the discriminator's gradient
penalties in :mod:`keras_gen.losses.penalties`.

>>> import numpy as np
>>> from keras_gen import losses
>>> losses.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3))).shape
TensorShape([2])
"""

from keras_gen.losses import adversarial, penalties
from keras_gen.losses.categorical import sample_categorical
from keras_gen.losses.gaussian import gaussian_kl, gaussian_kl_free_bits, gaussian_log_prob
from keras_gen.losses.importance import importance_log_weights, posterior_samples, sample_major
from keras_gen.losses.likelihoods import (
    bernoulli_log_likelihood,
    discretized_gaussian_log_likelihood,
    gaussian_log_likelihood,
)
from keras_gen.losses.penalties import gradient_penalty, interpolate, r1_penalty

__all__ = [
    "adversarial",
    "bernoulli_log_likelihood",
    "discretized_gaussian_log_likelihood",
    "gaussian_kl",
    "gaussian_kl_free_bits",
    "gaussian_log_likelihood",
    "gaussian_log_prob",
    "gradient_penalty",
    "importance_log_weights",
    "interpolate",
    "penalties",
    "posterior_samples",
    "r1_penalty",
    "sample_categorical",
    "sample_major",
]
