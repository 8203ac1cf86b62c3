"""Importance weights: the identity log w = log p(x, z) - log q(z | x) against SciPy."""

import numpy as np
from scipy import stats

from keras_gen import losses

RNG = np.random.default_rng(0)


def test_importance_log_weights_are_log_joint_minus_log_posterior():
    k, b, d = 3, 2, 4
    mean = RNG.normal(size=(b, d)).astype("float32")
    log_var = RNG.normal(size=(b, d)).astype("float32")
    eps = RNG.standard_normal((k, b, d)).astype("float32")
    log_px_z = RNG.normal(size=(k, b)).astype("float32")
    z = losses.posterior_samples(mean, log_var, eps)
    np.testing.assert_allclose(z, mean + np.exp(0.5 * log_var) * eps, rtol=1e-6)
    z = np.asarray(z)
    expected = (
        log_px_z
        + stats.norm.logpdf(z).sum(-1)
        - stats.norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(-1)
    )
    log_w = losses.importance_log_weights(log_px_z, z, mean, log_var)
    assert log_w.dtype == "float32" and tuple(log_w.shape) == (k, b)
    np.testing.assert_allclose(log_w, expected, rtol=1e-5, atol=1e-5)


def test_sample_major_repeats_the_batch_once_per_sample():
    t = np.arange(6, dtype="float32").reshape(2, 3)  # b=2 examples
    flat = np.asarray(losses.sample_major(t, 3))
    # Row s * b + i is example i, as in reshape(z, (-1, d)) for z of shape (k, b, d).
    np.testing.assert_array_equal(flat, np.concatenate([t, t, t]))
