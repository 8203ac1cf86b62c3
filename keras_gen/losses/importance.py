"""Importance weights of a Gaussian posterior against a standard normal prior, in float32.

``log p(x) ~= logmeanexp_k log w_k`` with ``z_k ~ q(z|x)`` (Burda et al. 2016);
:func:`keras_gen.metrics.likelihood.importance_sampled_log_likelihood` averages the
weights computed here in bounded memory.

>>> import numpy as np
>>> eps = np.zeros((3, 2, 4), "float32")  # k=3 samples for b=2 examples, d=4
>>> mean, log_var = np.ones((2, 4), "float32"), np.zeros((2, 4), "float32")
>>> z = posterior_samples(mean, log_var, eps)
>>> tuple(z.shape), tuple(sample_major(mean, 3).shape)
((3, 2, 4), (6, 4))
"""

from __future__ import annotations

from keras import ops

from keras_gen.losses.gaussian import gaussian_log_prob


def posterior_samples(mean, log_var, eps):
    """``z = mean + exp(log_var / 2) * eps`` for noise ``eps`` of shape (k, batch, d).

    ``mean`` and ``log_var`` have shape (batch, d); returns k samples per example.
    """
    return mean[None] + ops.exp(0.5 * log_var)[None] * eps


def sample_major(t, k: int):
    """Repeat ``t`` (batch, ...) k times, sample-major: (k * batch, ...), row ``s * batch + i``.

    The layout of ``ops.reshape(z, (-1, d))`` for samples ``z`` of shape (k, batch, d), so
    that the decoder sees each example's data (or condition) next to each of its codes.
    """
    shape = ops.shape(t)  # dynamic where unknown (a text batch's length)
    return ops.reshape(ops.broadcast_to(t[None], (k, *shape)), (-1, *shape[1:]))


def importance_log_weights(log_px_z, z, mean, log_var):
    """``log p(x|z) + log p(z) - log q(z|x)`` with p(z) = N(0, I), q = N(mean, exp(log_var)).

    ``z`` has shape (..., d) and ``mean``/``log_var`` broadcast against it (e.g. samples
    (k, batch, d) against the posterior's (batch, d)); ``log_px_z`` has the shape of ``z``
    without its last axis. Returns that shape, in float32.

    >>> import numpy as np
    >>> z = np.zeros((1, 2), "float32")
    >>> log_w = importance_log_weights(np.array([-3.0]), z, z, z)  # q = p: w = p(x|z)
    >>> round(float(log_w[0]), 5)
    -3.0
    """
    z = ops.cast(z, "float32")
    shape = ops.shape(z)

    def rows(t):  # (..., d) -> (n, d): gaussian_log_prob sums all but the first axis
        return ops.reshape(ops.broadcast_to(ops.cast(t, "float32"), shape), (-1, shape[-1]))

    log_pz = gaussian_log_prob(rows(z))
    log_qz = gaussian_log_prob(rows(z), rows(mean), rows(log_var))
    return ops.cast(log_px_z, "float32") + ops.reshape(log_pz - log_qz, shape[:-1])
