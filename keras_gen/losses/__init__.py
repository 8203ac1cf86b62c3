"""Pure functions of tensors: likelihoods, KL divergences and adversarial losses, per example.

All in float32. The GAN losses are in :mod:`keras_gen.losses.adversarial`.

>>> import numpy as np
>>> from keras_gen import losses
>>> losses.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3))).shape
TensorShape([2])
"""

from keras_gen.losses import adversarial
from keras_gen.losses.gaussian import gaussian_kl, gaussian_kl_free_bits, gaussian_log_prob
from keras_gen.losses.likelihoods import (
    bernoulli_log_likelihood,
    discretized_gaussian_log_likelihood,
    gaussian_log_likelihood,
)

__all__ = [
    "adversarial",
    "bernoulli_log_likelihood",
    "discretized_gaussian_log_likelihood",
    "gaussian_kl",
    "gaussian_kl_free_bits",
    "gaussian_log_likelihood",
    "gaussian_log_prob",
]
