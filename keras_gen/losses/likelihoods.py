"""Per-example log-likelihoods of images under decoder outputs, in float32 nats.

All functions sum over every axis but the batch axis and return shape ``(batch,)``.
Negate them for a reconstruction loss.
"""

from __future__ import annotations

import math

from keras import ops

from keras_gen.losses.gaussian import LOG_2PI, _f32, _sum_features


def bernoulli_log_likelihood(x, logits):
    """log Bernoulli(x; sigmoid(logits)) for x in [0, 1] (binary, or gray levels as targets).

    Computed from logits for stability: ``x * logits - softplus(logits)``.

    >>> import numpy as np
    >>> round(float(bernoulli_log_likelihood(np.ones((1, 1)), np.zeros((1, 1)))[0]), 4)
    -0.6931
    """
    x, logits = _f32(x, logits)
    return _sum_features(x * logits - ops.softplus(logits))


def gaussian_log_likelihood(x, mean, log_scale):
    """log N(x; mean, exp(log_scale)^2) of continuous data (log_scale broadcasts).

    >>> import numpy as np
    >>> round(float(gaussian_log_likelihood(np.zeros((1, 1)), np.zeros((1, 1)), 0.0)[0]), 4)
    -0.9189
    """
    x, mean, log_scale = _f32(x, mean, log_scale)
    log_p = -0.5 * LOG_2PI - log_scale - 0.5 * ops.square((x - mean) * ops.exp(-log_scale))
    return _sum_features(log_p + ops.zeros_like(x))


def _normal_cdf(t):
    return 0.5 * (1.0 + ops.erf(t / math.sqrt(2.0)))


def discretized_gaussian_log_likelihood(x, mean, log_scale, num_bins: int = 256):
    """log-probability of quantized data x in [0, 1] with ``num_bins`` levels.

    Each level owns the Gaussian mass of its bin of width ``1 / (num_bins - 1)``;
    the first and last bins extend to -inf and +inf (as in PixelCNN++ and DDPM),
    so the result is a proper discrete log-probability (always <= 0).

    >>> import numpy as np
    >>> x = np.full((1, 1), 0.5)
    >>> p = discretized_gaussian_log_likelihood(x, x, log_scale=-8.0)  # all mass in x's bin
    >>> float(p[0]) > -1e-3
    True
    """
    if num_bins < 2:
        raise ValueError(f"num_bins must be >= 2; got {num_bins}")
    x, mean, log_scale = _f32(x, mean, log_scale)
    half_bin = 0.5 / (num_bins - 1)
    inv_scale = ops.exp(-log_scale)
    cdf_plus = _normal_cdf((x + half_bin - mean) * inv_scale)
    cdf_minus = _normal_cdf((x - half_bin - mean) * inv_scale)
    eps = 1e-12
    log_p_mid = ops.log(ops.maximum(cdf_plus - cdf_minus, eps))
    log_p_low = ops.log(ops.maximum(cdf_plus, eps))
    log_p_high = ops.log(ops.maximum(1.0 - cdf_minus, eps))
    log_p = ops.where(x < half_bin, log_p_low, ops.where(x > 1.0 - half_bin, log_p_high, log_p_mid))
    return _sum_features(log_p)
