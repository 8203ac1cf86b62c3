"""Categorical distributions given by logits: drawing with a temperature (NumPy)."""

from __future__ import annotations

import math

import numpy as np


def check_temperature(temperature) -> float:
    """``temperature`` as a float if it is finite and >= 0 (0: the most likely index).

    A negative one would reverse the distribution, and inf or NaN give NaN probabilities.

    >>> check_temperature(-1)
    Traceback (most recent call last):
    ...
    ValueError: temperature must be a finite number >= 0 (0: the most likely token); got -1
    """
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(temperature, bool) or not 0 <= value < math.inf:
        raise ValueError(
            "temperature must be a finite number >= 0 (0: the most likely token); "
            f"got {temperature!r}"
        )
    return value


def sample_categorical(logits, temperature: float = 1.0, rng=None) -> np.ndarray:
    """One index per row of ``logits`` (..., K), drawn from ``softmax(logits / temperature)``.

    ``temperature=0`` takes the most likely index (the limit of small temperatures);
    ``-inf`` logits are never drawn. One uniform per row from ``rng`` (a
    ``np.random.Generator``), by the inverse of the cumulative distribution, so a seeded
    generator gives the same draws as a per-row loop would. Returns int64, shape (...,).

    >>> import numpy as np
    >>> sample_categorical(np.array([[0.0, 2.0], [1.0, -np.inf]]), 0.0).tolist()
    [1, 0]
    >>> draws = sample_categorical(np.log([[0.2, 0.8]] * 10000), 1.0, np.random.default_rng(0))
    >>> round(float(draws.mean()), 2)
    0.8
    """
    temperature = check_temperature(temperature)
    logits = np.asarray(logits, np.float64)
    if temperature == 0:
        return logits.argmax(axis=-1)
    rng = rng if rng is not None else np.random.default_rng()
    z = logits / temperature
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    cdf = np.cumsum(p, axis=-1)
    u = rng.random((*cdf.shape[:-1], 1)) * cdf[..., -1:]
    # The first index whose cumulative mass exceeds u: an index of zero mass is never drawn,
    # also when rounding puts u at the total (then the last index with mass is taken).
    last = p.shape[-1] - 1 - np.argmax(p[..., ::-1] > 0, axis=-1)
    return np.minimum((cdf <= u).sum(axis=-1), last)
