"""Categorical sampling with a temperature: frequencies, the greedy limit, banned entries."""

import numpy as np
import pytest

from keras_gen import losses


def test_sampling_frequencies_follow_the_tempered_softmax():
    logits = np.log(np.array([[0.1, 0.3, 0.6]] * 20000))
    for temperature in (1.0, 2.0):
        draws = losses.sample_categorical(logits, temperature, np.random.default_rng(0))
        p = np.array([0.1, 0.3, 0.6]) ** (1 / temperature)
        freq = np.bincount(draws, minlength=3) / len(draws)
        np.testing.assert_allclose(freq, p / p.sum(), atol=0.015)


class _Fixed:
    """A generator whose uniforms are all ``u``."""

    def __init__(self, u):
        self.u = u

    def random(self, shape):
        return np.full(shape, self.u)


def test_zero_temperature_is_argmax_and_banned_entries_are_never_drawn():
    logits = np.array([[-np.inf, 0.0, 2.0, -np.inf], [-np.inf, 5.0, -np.inf, -np.inf]])
    np.testing.assert_array_equal(losses.sample_categorical(logits, 0.0), [2, 1])
    # One uniform per row, including u at the very ends of [0, 1): never a zero-mass index.
    for u in (0.0, np.nextafter(1.0, 0.0)):
        draws = losses.sample_categorical(logits, 1.0, _Fixed(u))
        assert np.isfinite(logits[np.arange(2), draws]).all()
    with pytest.raises(ValueError, match="temperature"):
        losses.sample_categorical(logits, -1.0)
