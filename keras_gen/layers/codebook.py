"""The maths of a vector-quantization codebook as pure functions of float32 tensors.

:class:`~keras_gen.layers.VectorQuantizer` only calls these (and keeps the state): nearest
codes in bounded memory, k-means initialisation, the zero-debiased EMA codebook update of
Sonnet's ``VectorQuantizerEMA`` with Laplace smoothing of the cluster sizes, and the
perplexity of a code histogram (the style of lucidrains' ``vector_quantize_pytorch``).

>>> import numpy as np
>>> codebook = np.array([[0.0, 0.0], [1.0, 1.0]], "float32")
>>> nearest_codes(np.array([[0.9, 0.8], [0.1, 0.0]], "float32"), codebook).numpy().tolist()
[1, 0]
"""

from __future__ import annotations

import keras
from keras import ops

from keras_gen.training import backend


def l2_normalize(x):
    """Rows of ``x`` scaled to unit L2 norm along the last axis (zero rows stay zero)."""
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=-1, keepdims=True), 1e-12))


def squared_distances(rows, codebook):
    """Squared distances (N, K) of ``rows`` (N, D) to ``codebook`` (K, D), by one matmul.

    ``|x|^2 - 2 x.e + |e|^2``: no (N, K, D) tensor.
    """
    return (
        ops.sum(ops.square(rows), axis=1, keepdims=True)
        - 2.0 * ops.matmul(rows, ops.transpose(codebook))
        + ops.sum(ops.square(codebook), axis=1)[None, :]
    )


def nearest_codes(rows, codebook, chunk_rows: int | None = None):
    """Index (int32, shape (N,)) of the nearest code of each row, no gradient.

    With ``chunk_rows``, at most that many rows' distances are held at once (a loop over
    row chunks when N is larger, decided at run time when N is unknown, as in ``fit``).
    """

    def argmin(chunk):
        return ops.cast(ops.argmin(squared_distances(chunk, codebook), axis=1), "int32")

    n = rows.shape[0]
    if chunk_rows is None or (n is not None and n <= chunk_rows):
        return ops.stop_gradient(argmin(rows))
    if n is not None:
        return ops.stop_gradient(backend.map_row_chunks(argmin, rows, chunk_rows))
    return ops.stop_gradient(
        ops.cond(
            ops.shape(rows)[0] <= chunk_rows,
            lambda: argmin(rows),
            lambda: backend.map_row_chunks(argmin, rows, chunk_rows),
        )
    )


def kmeans(sample, centroids, num_iters: int, cosine: bool = False):
    """``num_iters`` Lloyd iterations on ``sample`` (N, D) from ``centroids`` (K, D).

    A centroid that no row is assigned to keeps its place; with ``cosine`` the centroids
    are l2-normalised after each iteration (spherical k-means).

    >>> import numpy as np
    >>> x = np.array([[0.0], [2.0], [10.0], [12.0]], "float32")
    >>> kmeans(x, x[:2], num_iters=3).numpy().ravel().tolist()
    [1.0, 11.0]
    """
    k = ops.shape(centroids)[0]
    for _ in range(num_iters):
        assign = ops.cast(ops.argmin(squared_distances(sample, centroids), axis=1), "int32")
        sums = ops.segment_sum(sample, assign, num_segments=k)
        sizes = ops.segment_sum(ops.ones_like(assign, "float32"), assign, num_segments=k)
        means = sums / ops.maximum(sizes, 1.0)[:, None]
        centroids = ops.where((sizes > 0)[:, None], means, centroids)
        if cosine:
            centroids = l2_normalize(centroids)
    return centroids


def ema_update(hidden, value, decay: float):
    """One step of an exponential moving average's hidden (biased) value.

    ``hidden - (hidden - value) * (1 - decay)``, as Sonnet's ``ExponentialMovingAverage``;
    divided by :func:`debias_factor` it is the zero-debiased average.
    """
    return hidden - (hidden - value) * (1.0 - decay)


def debias_factor(decay: float, counter):
    """``1 - decay ** counter``: the weight a zero-started EMA has put on its values."""
    return ops.maximum(1.0 - ops.power(decay, counter), 1e-12)


def laplace_smoothing(sizes, epsilon: float):
    """Cluster sizes (K,) moved towards uniform by ``epsilon``, with their total kept.

    ``(n_k + eps) / (n + K eps) * n``: no code has size 0, so the EMA codebook update
    never divides by zero (Sonnet's ``VectorQuantizerEMA``).

    >>> import numpy as np
    >>> smoothed = laplace_smoothing(np.array([0.0, 3.0, 1.0], "float32"), 1.0)
    >>> [round(v, 4) for v in smoothed.numpy().tolist()]  # (n_k + 1) / 7 * 4
    [0.5714, 2.2857, 1.1429]
    """
    total = ops.sum(sizes)
    k = sizes.shape[-1]
    return (sizes + epsilon) / (total + k * epsilon) * total


def ema_codebook(cluster_sizes, sums, epsilon: float):
    """The EMA codebook: average assigned vector of each code, ``sums / smoothed sizes``.

    ``cluster_sizes`` (K,) and ``sums`` (K, D) are the debiased EMAs of the code counts
    and of the sums of the vectors assigned to each code.
    """
    return sums / laplace_smoothing(cluster_sizes, epsilon)[:, None]


def perplexity(counts):
    """``exp`` of the entropy of a code histogram ``counts`` (K,): the effective code count."""
    probs = counts / ops.maximum(ops.sum(counts), 1.0)
    return ops.exp(-ops.sum(probs * ops.log(probs + 1e-10)))


def quantization_errors(x, quantized):
    """Per-example ``(commitment, codebook)`` mean squared errors (van den Oord et al. 2017).

    ``mean((x - sg(q))^2)`` moves only the encoder output ``x``, ``mean((sg(x) - q)^2)``
    only the codes ``q`` (``sg``: stop gradient); means over every axis but the first.
    """
    batch = ops.shape(x)[0]
    commitment = ops.square(x - ops.stop_gradient(quantized))
    codebook = ops.square(ops.stop_gradient(x) - quantized)
    return (
        ops.mean(ops.reshape(commitment, (batch, -1)), axis=1),
        ops.mean(ops.reshape(codebook, (batch, -1)), axis=1),
    )


def straight_through(x, quantized):
    """``quantized`` in value, the identity in gradient: ``x + sg(quantized - x)``."""
    return x + ops.stop_gradient(ops.cast(quantized, x.dtype) - x)


def shared_random_indices(shape, maxval, seed_generator):
    """Ints uniform in ``[0, maxval)``, the SAME on every replica (mirrored generator state).

    For choices every replica must agree on (k-means starts, restarted codes).
    """
    u = keras.random.uniform(shape, seed=seed_generator)
    return ops.cast(ops.minimum(ops.floor(u * maxval), maxval - 1), "int32")


def sample_rows(x, num_rows: int, seed_generator):
    """``num_rows`` rows of ``x`` drawn with replacement, DIFFERENT on every replica."""
    n = ops.cast(ops.shape(x)[0], "float32")
    u = backend.stateless_uniform((num_rows,), seed_generator)
    pick = ops.cast(ops.minimum(ops.floor(u * n), ops.maximum(n - 1.0, 0.0)), "int32")
    return ops.take(x, pick, axis=0)


def ring_buffer_write(buffer, position, filled, rows):
    """Write ``rows`` (n, D) into ``buffer`` (S, D) from row ``position`` on, wrapping around.

    Returns the new buffer, the next position and the number of filled rows (float32
    counters, exact since they stay below S).

    >>> import numpy as np
    >>> buffer, position, filled = ring_buffer_write(np.zeros((3, 1)), 2.0, 2.0, np.ones((2, 1)))
    >>> buffer.numpy().ravel().tolist(), float(position), float(filled)
    ([1.0, 0.0, 1.0], 1.0, 3.0)
    """
    size = ops.shape(buffer)[0]
    n = ops.shape(rows)[0]
    positions = ops.mod(ops.cast(position, "int32") + ops.arange(n, dtype="int32"), size)
    n = ops.cast(n, "float32")
    return (
        ops.scatter_update(buffer, positions[:, None], rows),
        ops.mod(position + n, float(size)),
        ops.minimum(filled + n, float(size)),
    )


def restart_codes(codebook, dead, buffer, filled, seed_generator):
    """Codes where ``dead`` (bool (K,)) replaced by random rows of the filled ``buffer``.

    Returns the new codebook, the candidate row of every code (K, D) and the codes actually
    restarted (none while the buffer is empty). The choice is the same on every replica.
    """
    filled = ops.convert_to_tensor(filled)
    dead = ops.logical_and(dead, filled > 0)
    pick = shared_random_indices(ops.shape(dead), ops.maximum(filled, 1.0), seed_generator)
    candidates = ops.take(buffer, pick, axis=0)
    return ops.where(dead[:, None], candidates, codebook), candidates, dead
