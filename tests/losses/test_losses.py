"""Likelihoods and KL against SciPy and closed forms."""

import numpy as np
import pytest
from scipy import stats

from keras_gen import losses

RNG = np.random.default_rng(0)


def test_bernoulli_log_likelihood_matches_scipy():
    x = (RNG.random((3, 4, 4, 1)) > 0.5).astype("float32")
    logits = RNG.normal(size=(3, 4, 4, 1)).astype("float32")
    p = 1 / (1 + np.exp(-logits))
    expected = stats.bernoulli.logpmf(x, p).reshape(3, -1).sum(-1)
    np.testing.assert_allclose(losses.bernoulli_log_likelihood(x, logits), expected, rtol=1e-5)


def test_bernoulli_is_stable_for_large_logits():
    value = losses.bernoulli_log_likelihood(np.ones((1, 1)), np.full((1, 1), 200.0))
    assert np.isfinite(value).all() and float(value[0]) == pytest.approx(0.0, abs=1e-6)


def test_gaussian_log_likelihood_matches_scipy():
    x = RNG.random((2, 5)).astype("float32")
    mean = RNG.random((2, 5)).astype("float32")
    log_scale = np.log(0.3)
    expected = stats.norm.logpdf(x, mean, 0.3).sum(-1)
    np.testing.assert_allclose(
        losses.gaussian_log_likelihood(x, mean, log_scale), expected, rtol=1e-5
    )


def test_discretized_gaussian_is_a_distribution_over_the_levels():
    levels = np.linspace(0, 1, 256, dtype="float32").reshape(256, 1)
    mean = np.full_like(levels, 0.37)
    for log_scale in (-6.0, -2.0, 0.5):
        log_p = losses.discretized_gaussian_log_likelihood(levels, mean, log_scale)
        assert np.exp(np.asarray(log_p, np.float64)).sum() == pytest.approx(1.0, abs=1e-4)
    # A wide Gaussian assigns each interior level about its density times the bin width.
    log_p = losses.discretized_gaussian_log_likelihood(levels[100:101], mean[:1], 0.0)
    expected = stats.norm.logpdf(levels[100, 0], 0.37, 1.0) + np.log(1 / 255)
    assert float(log_p[0]) == pytest.approx(expected, abs=1e-3)
    with pytest.raises(ValueError, match="num_bins"):
        losses.discretized_gaussian_log_likelihood(levels, mean, 0.0, num_bins=1)


def test_gaussian_kl_closed_form_and_monte_carlo():
    mean = RNG.normal(size=(2, 3)).astype("float32")
    log_var = RNG.normal(size=(2, 3)).astype("float32")
    var = np.exp(log_var)
    expected = 0.5 * (mean**2 + var - 1 - log_var).sum(-1)
    np.testing.assert_allclose(losses.gaussian_kl(mean, log_var), expected, rtol=1e-5)
    # General prior: E_q[log q - log p] by Monte Carlo.
    prior_mean, prior_log_var = np.ones((2, 3), "float32"), np.full((2, 3), 0.5, "float32")
    z = mean + np.sqrt(var) * RNG.standard_normal((200_000, 2, 3))
    log_q = stats.norm.logpdf(z, mean, np.sqrt(var)).sum(-1)
    log_p = stats.norm.logpdf(z, prior_mean, np.exp(0.5 * prior_log_var)).sum(-1)
    mc = (log_q - log_p).mean(0)
    kl = losses.gaussian_kl(mean, log_var, prior_mean, prior_log_var)
    np.testing.assert_allclose(kl, mc, atol=0.03)


def test_gaussian_log_prob_matches_scipy():
    z = RNG.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(losses.gaussian_log_prob(z), stats.norm.logpdf(z).sum(-1), rtol=1e-5)


def test_free_bits_floor_each_dimension_in_the_objective_only():
    # Per-dimension KL of N(m, 1) against N(0, 1) is m^2 / 2: 0.005, 0.5 and 2.0 nats.
    mean = np.array([[0.1, 1.0, 2.0]], "float32")
    kl, floored = losses.gaussian_kl_free_bits(mean, np.zeros_like(mean), free_bits=0.25)
    np.testing.assert_allclose(kl, [0.005 + 0.5 + 2.0], rtol=1e-5)  # the true KL, reported
    np.testing.assert_allclose(floored, [0.25 + 0.5 + 2.0], rtol=1e-5)  # below 0.25: floored
    kl, same = losses.gaussian_kl_free_bits(mean, np.zeros_like(mean))
    np.testing.assert_array_equal(kl, same)
