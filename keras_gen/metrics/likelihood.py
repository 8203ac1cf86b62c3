"""Importance-sampled log-likelihood estimates (IWAE bound), computed in bounded memory."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy.special import logsumexp

_PROGRESS: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar(
    "keras_gen_likelihood_progress", default=None
)


@contextlib.contextmanager
def report_progress(callback: Callable[[int, int], None]) -> Iterator[None]:
    """Within the block, :func:`importance_sampled_log_likelihood` calls
    ``callback(done, total)`` (examples) after each batch: a progress display for any
    model's ``log_likelihood``, which runs it.

    >>> import numpy as np
    >>> f = lambda batch, k: np.zeros((k, len(batch[0])))
    >>> with report_progress(lambda done, total: print(done, total)):
    ...     _ = importance_sampled_log_likelihood(f, [np.zeros(5)], 2, batch_size=2)
    2 5
    4 5
    5 5
    """
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def importance_sampled_log_likelihood(
    log_weights: Callable,
    arrays: Sequence[np.ndarray],
    num_samples: int,
    batch_size: int = 100,
    max_rows: int = 50_000,
) -> np.ndarray:
    """``log (1/k) sum_k w_k`` per example, from log importance weights drawn in chunks.

    ``log_weights(batch, k)`` receives aligned slices of ``arrays`` (a batch of
    ``b`` examples) and returns log-weights of shape ``(k, b)``. At most about
    ``max_rows`` (sample, example) pairs are evaluated at once, so thousands of
    samples per example fit in memory. Returns float64 log-likelihoods of shape (n,).

    >>> import numpy as np
    >>> f = lambda batch, k: np.zeros((k, len(batch[0])))
    >>> importance_sampled_log_likelihood(f, [np.zeros(3)], num_samples=7)
    array([0., 0., 0.])
    """
    if int(num_samples) < 1:
        raise ValueError(f"num_samples must be a positive integer; got {num_samples!r}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    num_samples, n = int(num_samples), len(arrays[0])
    out = np.empty(n, np.float64)
    for start in range(0, n, batch_size):
        batch = [np.asarray(a[start : start + batch_size]) for a in arrays]
        b = len(batch[0])
        chunk = max(1, min(num_samples, max_rows // b))
        # Running log-sum-exp over chunks of samples.
        total = np.full(b, -np.inf)
        done = 0
        while done < num_samples:
            k = min(chunk, num_samples - done)
            lw = np.asarray(log_weights(batch, k), np.float64)
            total = np.logaddexp(total, logsumexp(lw, axis=0))
            done += k
        out[start : start + b] = total - np.log(num_samples)
        if (report := _PROGRESS.get()) is not None:
            report(start + b, n)
    return out
