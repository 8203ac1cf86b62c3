"""VectorQuantizer: straight-through gradients, EMA under distribution, distances, restarts."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen.layers import VectorQuantizer


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_straight_through_and_codebook_gradient():
    vq = VectorQuantizer(8, 3, codebook_update="gradient", seed=0)
    vq.build((None, 3))
    x = tf.Variable(_x((5, 4, 3)))
    w = tf.constant(_x((5, 4, 3), seed=1))
    with tf.GradientTape(persistent=True) as tape:
        out = vq.quantize_vectors(x, training=True)
        decoder_loss = tf.reduce_sum(w * out["quantized"])  # what a decoder sends back
        codebook_loss = tf.reduce_sum(out["codebook_loss"])
        commitment_loss = tf.reduce_sum(out["commitment_loss"])
        total = decoder_loss + codebook_loss + commitment_loss
    emb = vq.embeddings.value
    # The encoder receives exactly the decoder's gradient; the codebook none of it.
    np.testing.assert_array_equal(tape.gradient(decoder_loss, x).numpy(), w.numpy())
    assert tape.gradient(decoder_loss, emb) is None
    # The codebook learns only through the codebook loss.
    assert tape.gradient(commitment_loss, emb) is None
    codebook_grad = tf.convert_to_tensor(tape.gradient(codebook_loss, emb)).numpy()
    total_grad = tf.convert_to_tensor(tape.gradient(total, emb)).numpy()
    np.testing.assert_allclose(total_grad, codebook_grad, rtol=1e-6)
    assert np.abs(codebook_grad).sum() > 0


def test_ema_codebook_gets_no_gradient():
    vq = VectorQuantizer(8, 3, codebook_update="ema", seed=0)
    vq.build((None, 3))
    assert vq.trainable_weights == []
    x = tf.Variable(_x((6, 3)))
    with tf.GradientTape() as tape:
        tape.watch(vq.embeddings.value)
        out = vq.quantize_vectors(x, training=False)
        total = tf.reduce_sum(out["quantized"]) + tf.reduce_sum(out["codebook_loss"])
        total += tf.reduce_sum(out["commitment_loss"])
    # Even when watched explicitly, the EMA codebook gets no gradient from the quantized path.
    grad = tape.gradient(total, [x, vq.embeddings.value])
    assert grad[0] is not None
    before = vq.embeddings.numpy().copy()
    vq.quantize_vectors(x, training=True)  # the EMA moves it instead
    assert not np.allclose(before, vq.embeddings.numpy())


def test_ema_matches_sonnet_formula():
    k, d, decay, eps = 4, 2, 0.9, 1e-5
    vq = VectorQuantizer(k, d, decay=decay, epsilon=eps, seed=0)
    vq.build((None, d))
    emb = vq.embeddings.numpy().copy()
    x = _x((32, d))
    idx = np.argmin(((x[:, None] - emb[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(idx, minlength=k).astype("float64")
    dw = np.zeros((k, d))
    np.add.at(dw, idx, x)
    vq.quantize_vectors(x, training=True)
    # One debiased EMA step of Sonnet's VectorQuantizerEMA is the batch statistic itself.
    n = counts.sum()
    smoothed = (counts + eps) / (n + k * eps) * n
    np.testing.assert_allclose(vq.embeddings.numpy(), dw / smoothed[:, None], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(vq.ema_cluster_size), counts, rtol=1e-5)


def test_ema_under_mirrored_equals_one_device(mirrored):
    k, d, n = 16, 4, 24
    batches = [_x((n, d), seed=s) for s in range(3)]
    single = VectorQuantizer(k, d, seed=3, kmeans_init=True)
    single.build((None, d))
    with mirrored.scope():
        dist = VectorQuantizer(k, d, seed=3, kmeans_init=True)
        dist.build((None, d))
    dist.embeddings.assign(single.embeddings.numpy())
    # k-means init draws a per-replica sample, so start both from the same codebook.
    single.initialized.assign(1.0)
    dist.initialized.assign(1.0)

    @tf.function
    def dist_step(values):
        return mirrored.run(
            lambda xr: dist.quantize_vectors(xr, training=True)["perplexity"], (values,)
        )

    for batch in batches:
        perplexity = single.quantize_vectors(batch, training=True)["perplexity"]
        halves = mirrored.experimental_distribute_values_from_function(
            lambda ctx, b=batch: b[ctx.replica_id_in_sync_group * (n // 2) :][: n // 2]
        )
        dist_perplexity = mirrored.experimental_local_results(dist_step(halves))
        for value in dist_perplexity:  # computed from the global histogram on each replica
            np.testing.assert_allclose(value.numpy(), perplexity.numpy(), rtol=1e-5)
    for name in ("embeddings", "ema_cluster_size_hidden", "ema_dw_hidden", "steps_since_used"):
        expected = getattr(single, name).numpy()
        for replica_value in mirrored.experimental_local_results(getattr(dist, name).value):
            np.testing.assert_allclose(replica_value.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_restart_and_kmeans_keep_replicas_identical(mirrored):
    with mirrored.scope():
        vq = VectorQuantizer(16, 2, seed=0, restart_after=1, kmeans_init=True)
        vq.build((None, 2))

    @tf.function
    def step(values):
        mirrored.run(lambda xr: vq.quantize_vectors(xr, training=True)["usage"], (values,))

    for s in range(3):
        data = _x((2, 8, 2), seed=s)
        step(
            mirrored.experimental_distribute_values_from_function(
                lambda ctx, data=data: data[ctx.replica_id_in_sync_group]
            )
        )
    for name in ("embeddings", "restart_buffer", "ema_dw_hidden"):
        a, b = mirrored.experimental_local_results(getattr(vq, name).value)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_chunked_distances_equal_direct():
    k, d = 37, 5
    vq = VectorQuantizer(k, d, max_distance_elements=k * 7, seed=0)  # chunks of 7 rows
    vq.build((None, d))
    x = _x((50, d))
    emb = vq.embeddings.numpy()
    direct = ((x[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(vq.distances(x)), direct, rtol=1e-4, atol=1e-4
    )
    expected = direct.argmin(axis=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(vq.nearest(x)), expected)
    traced = tf.function(lambda t: vq.nearest(t), input_signature=[tf.TensorSpec([None, d])])
    np.testing.assert_array_equal(traced(x).numpy(), expected)  # unknown N: chunked loop
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(vq.quantize_vectors(x[None])["indices"])[0], expected
    )


def test_dead_code_restart_revives_unused_codes():
    vq = VectorQuantizer(16, 2, seed=0, restart_after=2)
    vq.build((None, 2))
    far = np.full((16, 2), 50.0, "float32")
    far[0] = 0.0  # only code 0 is near the data: the other 15 are dead
    vq.embeddings.assign(far)
    step = tf.function(lambda t: vq.quantize_vectors(t, training=True)["usage"])
    for s in range(3):
        step(_x((64, 2), seed=s))
    assert np.abs(vq.embeddings.numpy()).max() < 10  # all moved to the data
    vq.reset_code_counts()
    for s in range(3, 6):
        usage = float(step(_x((64, 2), seed=s)))
    assert usage > 0.5
    assert int((vq.code_counts.numpy() > 0).sum()) >= 12


def test_restart_dead_codes_by_hand():
    vq = VectorQuantizer(8, 2, codebook_update="gradient", seed=0)
    vq.build((None, 2))
    vq.embeddings.assign(np.full((8, 2), 50.0, "float32"))
    vq.quantize_vectors(_x((32, 2)), training=True)
    dead = np.arange(8) > 0
    assert vq.restart_dead_codes(dead) == 7
    assert np.abs(vq.embeddings.numpy()[1:]).max() < 10
    np.testing.assert_array_equal(vq.embeddings.numpy()[0], [50.0, 50.0])


def test_cosine_codebook_outputs_unit_vectors():
    vq = VectorQuantizer(8, 3, cosine=True, seed=0)
    out = vq.quantize_vectors(_x((4, 3)))
    norms = np.linalg.norm(keras.ops.convert_to_numpy(out["quantized"]), axis=-1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        np.linalg.norm(keras.ops.convert_to_numpy(vq.codebook()), axis=-1), 1.0, rtol=1e-5
    )


def test_kmeans_init_fits_clusters():
    centers = np.array([[5, 5], [-5, 5], [5, -5], [-5, -5]], "float32")
    x = (centers[np.arange(256) % 4] + 0.1 * _x((256, 2))).astype("float32")
    vq = VectorQuantizer(4, 2, codebook_update="gradient", kmeans_init=True, seed=1)
    vq.quantize_vectors(x, training=True)
    emb = vq.embeddings.numpy()
    assert np.sort(np.linalg.norm(emb[:, None] - centers[None], axis=-1).min(0)).max() < 0.5
    before = emb.copy()
    vq.quantize_vectors(x + 1.0, training=True)  # initialises once only
    np.testing.assert_array_equal(vq.embeddings.numpy(), before)


def test_mixed_bfloat16_codes_match_float32():
    k = d = 8
    codebook = 4.0 * np.eye(k, d, dtype="float32")  # well separated: distance 5.7
    true = np.arange(200) % k
    x = codebook[true] + 0.3 * _x((200, d))
    results = {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.config.set_dtype_policy(policy)
        vq = VectorQuantizer(k, d, seed=0)
        vq.build((None, d))
        vq.embeddings.assign(codebook)
        quantized = vq(x)
        assert quantized.dtype == (tf.bfloat16 if policy != "float32" else tf.float32)
        assert vq.embeddings.dtype == "float32"
        results[policy] = keras.ops.convert_to_numpy(vq.quantize_vectors(quantized)["indices"])
    np.testing.assert_array_equal(results["float32"], true)
    np.testing.assert_array_equal(results["mixed_bfloat16"], true)


def test_lookup_and_serialization_round_trip(tmp_path):
    vq = VectorQuantizer(8, 3, seed=0, restart_after=4, name="vq")
    inputs = keras.Input((2, 2, 3))
    model = keras.Model(inputs, vq(inputs))
    vq.quantize_vectors(_x((4, 2, 2, 3)), training=True)
    path = tmp_path / "vq.keras"
    model.save(path)
    loaded = keras.saving.load_model(path).get_layer("vq")
    assert loaded.get_config() == vq.get_config()
    for a, b in zip(vq.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(vq.seed_generator.state),
        keras.ops.convert_to_numpy(loaded.seed_generator.state),
    )
    idx = np.array([[0, 7], [3, 3]])
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(vq.lookup(idx)), vq.embeddings.numpy()[idx]
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"num_embeddings": 0, "embedding_dim": 4},
            "num_embeddings must be a positive integer; got 0",
        ),
        ({"num_embeddings": 8, "embedding_dim": -1}, "embedding_dim must be a positive integer"),
        ({"num_embeddings": 8, "embedding_dim": 4, "codebook_update": "sgd"}, "codebook_update"),
        ({"num_embeddings": 8, "embedding_dim": 4, "decay": 1.0}, r"decay must be in \[0, 1\)"),
        ({"num_embeddings": 8, "embedding_dim": 4, "commitment_cost": -1}, "commitment_cost"),
        ({"num_embeddings": 8, "embedding_dim": 4, "restart_after": 0}, "restart_after"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VectorQuantizer(**kwargs)


def test_bad_inputs():
    vq = VectorQuantizer(8, 4, name="vq")
    with pytest.raises(
        ValueError, match=r"last axis of inputs must equal embedding_dim=4; got shape \(2, 3\)"
    ):
        vq(np.zeros((2, 3), "float32"))
    vq.build((None, 4))
    with pytest.raises(ValueError, match="last axis"):
        vq.quantize_vectors(np.zeros((2, 5, 5), "float32"))
    with pytest.raises(ValueError, match="floating point"):
        vq.quantize_vectors(np.zeros((2, 4), "int32"))
    with pytest.raises(ValueError, match=r"indices must be in \[0, 8\); got values in \[0, 8\]"):
        vq.lookup(np.array([0, 8]))
    with pytest.raises(ValueError, match="boolean mask of shape"):
        vq.restart_dead_codes(np.ones(3, bool))
