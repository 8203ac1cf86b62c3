"""Pure functions of tensors: likelihoods and KL divergences, per example, in float32.

>>> import numpy as np
>>> from keras_gen import losses
>>> losses.gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3))).shape
TensorShape([2])
"""

from keras_gen.losses.gaussian import gaussian_kl, gaussian_log_prob
from keras_gen.losses.likelihoods import (
    bernoulli_log_likelihood,
    discretized_gaussian_log_likelihood,
    gaussian_log_likelihood,
)

__all__ = [
    "bernoulli_log_likelihood",
    "discretized_gaussian_log_likelihood",
    "gaussian_kl",
    "gaussian_log_likelihood",
    "gaussian_log_prob",
]
