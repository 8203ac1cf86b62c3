"""The codebook maths of keras_gen.layers.codebook, each against a hand-computed value."""

import keras
import numpy as np
import tensorflow as tf

from keras_gen.layers import codebook as vq

RNG = np.random.default_rng(0)


def _np(t):
    return keras.ops.convert_to_numpy(t)


def test_l2_normalize_gives_unit_rows_and_keeps_zero_rows():
    out = _np(vq.l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]], "float32")))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)


def test_squared_distances_equal_the_direct_sum():
    x, e = RNG.normal(size=(5, 3)).astype("float32"), RNG.normal(size=(4, 3)).astype("float32")
    direct = ((x[:, None] - e[None]) ** 2).sum(-1)
    np.testing.assert_allclose(_np(vq.squared_distances(x, e)), direct, rtol=1e-5, atol=1e-5)


def test_nearest_codes_in_chunks_equal_one_argmin():
    x, e = RNG.normal(size=(23, 3)).astype("float32"), RNG.normal(size=(6, 3)).astype("float32")
    expected = ((x[:, None] - e[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(_np(vq.nearest_codes(x, e, chunk_rows=5)), expected)
    traced = tf.function(
        lambda t: vq.nearest_codes(t, e, 5), input_signature=[tf.TensorSpec([None, 3])]
    )
    np.testing.assert_array_equal(traced(x).numpy(), expected)  # N known only at run time


def test_kmeans_one_lloyd_iteration_by_hand():
    x = np.array([[0.0], [1.0], [4.0], [10.0]], "float32")
    # From centroids 0, 5, 100: 0 and 1 -> 0 (mean 0.5), 4 -> 5 (mean 4), 10 -> 5 too
    # (mean 7); 100 gets nothing and stays.
    out = _np(vq.kmeans(x, np.array([[0.0], [5.0], [100.0]], "float32"), num_iters=1))
    np.testing.assert_allclose(out.ravel(), [0.5, 7.0, 100.0])
    unit = _np(vq.kmeans(x[1:] + 1.0, np.array([[2.0]], "float32"), num_iters=1, cosine=True))
    np.testing.assert_allclose(unit, [[1.0]])  # spherical: l2-normalised


def test_debiased_ema_of_a_constant_is_the_constant():
    hidden, value, decay = np.zeros(2, "float32"), np.array([3.0, -1.0], "float32"), 0.9
    for step in range(1, 4):
        hidden = vq.ema_update(hidden, value, decay)
        debiased = _np(hidden / vq.debias_factor(decay, float(step)))
        np.testing.assert_allclose(debiased, value, rtol=1e-6)
    np.testing.assert_allclose(_np(hidden), value * (1 - decay**3), rtol=1e-6)


def test_laplace_smoothing_keeps_the_total_and_lifts_empty_clusters():
    sizes = np.array([0.0, 6.0, 2.0], "float32")
    smoothed = _np(vq.laplace_smoothing(sizes, 0.5))
    np.testing.assert_allclose(smoothed, (sizes + 0.5) / (8 + 1.5) * 8, rtol=1e-6)
    assert abs(smoothed.sum() - 8.0) < 1e-5
    assert smoothed.min() > 0


def test_ema_codebook_divides_the_sums_by_the_smoothed_sizes():
    sizes, sums = np.array([2.0, 2.0], "float32"), np.array([[2.0, 4.0], [6.0, 0.0]], "float32")
    # Equal sizes are unchanged by smoothing: the codes are the plain means.
    np.testing.assert_allclose(_np(vq.ema_codebook(sizes, sums, 1e-5)), [[1, 2], [3, 0]], rtol=1e-5)


def test_perplexity_of_a_uniform_histogram_is_the_number_of_used_codes():
    np.testing.assert_allclose(_np(vq.perplexity(np.array([5.0, 5.0, 0.0, 5.0]))), 3.0, rtol=1e-5)


def test_quantization_errors_and_straight_through_gradients():
    x = tf.Variable([[1.0, 2.0]])
    q = tf.Variable([[0.0, 4.0]])
    with tf.GradientTape(persistent=True) as tape:
        commitment, codebook = vq.quantization_errors(x, q)
        out = vq.straight_through(x, q)
    np.testing.assert_allclose(commitment.numpy(), [2.5])  # mean(1^2, 2^2)
    np.testing.assert_allclose(codebook.numpy(), [2.5])
    assert tape.gradient(commitment, q) is None and tape.gradient(codebook, x) is None
    np.testing.assert_allclose(out.numpy(), q.numpy())
    np.testing.assert_allclose(tape.gradient(out, x).numpy(), [[1.0, 1.0]])


def test_random_draws_cover_their_range():
    seeds = keras.random.SeedGenerator(0)
    idx = _np(vq.shared_random_indices((1000,), 4.0, seeds))
    assert idx.min() == 0 and idx.max() == 3
    rows = _np(vq.sample_rows(np.arange(5, dtype="float32")[:, None], 200, seeds))
    assert set(rows.ravel().tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}


def test_ring_buffer_wraps_and_counts():
    buffer, position, filled = vq.ring_buffer_write(
        np.zeros((4, 1), "float32"), 3.0, 1.0, np.array([[1.0], [2.0]], "float32")
    )
    np.testing.assert_array_equal(_np(buffer).ravel(), [2.0, 0.0, 0.0, 1.0])
    assert float(position) == 1.0 and float(filled) == 3.0


def test_restart_codes_only_where_dead_and_the_buffer_has_rows():
    codebook = np.zeros((3, 2), "float32")
    buffer = np.full((4, 2), 7.0, "float32")
    dead = np.array([True, False, True])
    seeds = keras.random.SeedGenerator(0)
    new, candidates, restarted = vq.restart_codes(codebook, dead, buffer, 4.0, seeds)
    np.testing.assert_array_equal(_np(candidates), np.full((3, 2), 7.0))
    np.testing.assert_array_equal(_np(new), [[7, 7], [0, 0], [7, 7]])
    np.testing.assert_array_equal(_np(restarted), dead)
    _, _, restarted = vq.restart_codes(codebook, dead, buffer, 0.0, seeds)  # empty buffer
    assert not _np(restarted).any()
