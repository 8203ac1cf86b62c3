"""Gaussian log-densities and KL divergences, per example, in float32."""

from __future__ import annotations

import math

from keras import ops

LOG_2PI = math.log(2.0 * math.pi)


def _f32(*tensors):
    return [ops.cast(t, "float32") for t in tensors]


def _sum_features(t):
    """Sum over every axis but the first (the batch axis)."""
    return ops.sum(ops.reshape(t, (ops.shape(t)[0], -1)), axis=-1)


def _kl_per_dimension(mean, log_var, prior_mean=None, prior_log_var=None):
    mean, log_var = _f32(mean, log_var)
    if prior_mean is None and prior_log_var is None:
        kl = 0.5 * (ops.square(mean) + ops.exp(log_var) - 1.0 - log_var)
    else:
        prior_mean = ops.zeros_like(mean) if prior_mean is None else ops.cast(prior_mean, "float32")
        prior_log_var = (
            ops.zeros_like(log_var) if prior_log_var is None else ops.cast(prior_log_var, "float32")
        )
        kl = 0.5 * (
            prior_log_var
            - log_var
            + (ops.exp(log_var) + ops.square(mean - prior_mean)) / ops.exp(prior_log_var)
            - 1.0
        )
    return kl


def gaussian_kl(mean, log_var, prior_mean=None, prior_log_var=None):
    """KL( N(mean, exp(log_var)) || N(prior_mean, exp(prior_log_var)) ), summed per example.

    The prior defaults to the standard normal. Returns shape ``(batch,)`` in nats.

    >>> import numpy as np
    >>> float(gaussian_kl(np.zeros((1, 2)), np.zeros((1, 2)))[0])
    0.0
    """
    return _sum_features(_kl_per_dimension(mean, log_var, prior_mean, prior_log_var))


def gaussian_kl_free_bits(mean, log_var, prior_mean=None, prior_log_var=None, free_bits=0.0):
    """(KL per example, the KL a loss uses with "free bits" of ``free_bits`` nats per dimension).

    Kingma et al. (2016): each latent dimension's KL is floored at ``free_bits`` in the
    objective, so the optimizer gains nothing by pushing a dimension's KL below it (which
    keeps a strong decoder from ignoring the code). The first value is the true KL, for
    reporting. Both have shape ``(batch,)``, in nats.

    >>> import numpy as np
    >>> kl, floored = gaussian_kl_free_bits(np.zeros((1, 2)), np.zeros((1, 2)), free_bits=0.5)
    >>> float(kl[0]), float(floored[0])
    (0.0, 1.0)
    """
    per_dim = _kl_per_dimension(mean, log_var, prior_mean, prior_log_var)
    kl = _sum_features(per_dim)
    if free_bits > 0:
        return kl, _sum_features(ops.maximum(per_dim, free_bits))
    return kl, kl


def gaussian_log_prob(x, mean=None, log_var=None):
    """log N(x; mean, exp(log_var)), summed per example (standard normal by default).

    >>> import numpy as np
    >>> round(float(gaussian_log_prob(np.zeros((1, 1)))[0]), 4)
    -0.9189
    """
    (x,) = _f32(x)
    mean = ops.zeros_like(x) if mean is None else ops.cast(mean, "float32")
    log_var = ops.zeros_like(x) if log_var is None else ops.cast(log_var, "float32")
    log_p = -0.5 * (LOG_2PI + log_var + ops.square(x - mean) * ops.exp(-log_var))
    return _sum_features(log_p)
