"""VQVAE and PixelCNN: saving, mixed precision, distribution, causality, the monitor callback."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen.callbacks import CodebookMonitor
from keras_gen.zoo import VQVAE, PixelCNN


def _images(n=16, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1), dtype="float32")


def _vqvae(**kwargs):
    config = {
        "num_embeddings": 16,
        "embedding_dim": 4,
        "hidden_channels": 8,
        "residual_channels": 4,
        "num_residual_layers": 1,
        "seed": 0,
    }
    return VQVAE((28, 28, 1), **{**config, **kwargs})


def _prior(**kwargs):
    return PixelCNN((7, 7), 16, **{"channels": 8, "num_layers": 2, "head_channels": 8, **kwargs})


def _assert_same_weights(a, b, atol=0.0):
    assert len(a) == len(b)
    for va, vb in zip(a, b):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(va), keras.ops.convert_to_numpy(vb), rtol=0, atol=atol
        )


def test_vqvae_round_trip_continues_exactly(tmp_path):
    x = _images()
    model = _vqvae(restart_after=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "vqvae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, VQVAE) and loaded.get_config() == model.get_config()
    assert np.abs(loaded.quantizer.ema_dw_hidden.numpy()).sum() > 0  # EMA statistics came back
    _assert_same_weights(model.weights, loaded.weights)
    _assert_same_weights(model.optimizer.variables, loaded.optimizer.variables)
    np.testing.assert_array_equal(model.encode_indices(x), loaded.encode_indices(x))
    model.train_on_batch(x[:8])
    loaded.train_on_batch(x[:8])
    _assert_same_weights(model.weights, loaded.weights, atol=1e-6)


def test_prior_round_trip_continues_exactly(tmp_path):
    codes = np.random.default_rng(0).integers(0, 16, size=(16, 7, 7))
    prior = _prior()
    prior.compile(optimizer=keras.optimizers.Adam(1e-3))
    prior.fit(codes, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "prior.keras"
    prior.save(path)
    loaded = keras.saving.load_model(path)
    _assert_same_weights(prior.optimizer.variables, loaded.optimizer.variables)
    np.testing.assert_allclose(loaded.log_prob(codes), prior.log_prob(codes), rtol=1e-6)
    prior.train_on_batch(codes[:8])
    loaded.train_on_batch(codes[:8])
    _assert_same_weights(prior.weights, loaded.weights, atol=1e-6)


def test_mixed_bfloat16_trains_without_nan():
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = _vqvae()
    model.compile(optimizer="adam")
    history = model.fit(_images(), batch_size=8, epochs=2, verbose=0)
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in model.weights)
    assert model.quantizer.embeddings.dtype == "float32"
    codes = model.encode_indices(_images(4))
    assert codes.dtype == np.int32 and codes.min() >= 0 and codes.max() < 16
    prior = _prior()
    prior.compile(optimizer="adam")
    history = prior.fit(codes, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert prior(codes).dtype == "float32"


def test_vqvae_under_mirrored_equals_one_device(mirrored):
    x = _images()
    single = _vqvae()
    with mirrored.scope():
        dist = _vqvae()
        dist.compile(optimizer=keras.optimizers.SGD(0.1))
    dist.set_weights(single.get_weights())
    single.compile(optimizer=keras.optimizers.SGD(0.1))
    h1 = single.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h2 = dist.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for name in ("loss", "perplexity", "usage"):
        np.testing.assert_allclose(h2.history[name], h1.history[name], rtol=1e-4)
    np.testing.assert_allclose(
        dist.quantizer.embeddings.numpy(), single.quantizer.embeddings.numpy(), atol=1e-5
    )
    # Restarts triggered between steps (cross-replica context) keep the replicas identical.
    monitor = CodebookMonitor(unused_steps=1, restart=True)
    h3 = dist.fit(x, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    assert h3.history["restarted_codes"][0] == h3.history["dead_codes"][0] > 0
    for name in ("embeddings", "ema_dw_hidden", "ema_cluster_size_hidden", "restart_buffer"):
        a, b = mirrored.experimental_local_results(getattr(dist.quantizer, name).value)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_pixelcnn_is_causal():
    keras.utils.set_random_seed(0)  # the neighbour checks need no all-dead ReLU head
    prior = PixelCNN((5, 5), 4, channels=8, num_layers=3, kernel_size=3, head_channels=32)
    embedded = tf.Variable(np.random.default_rng(0).normal(size=(1, 5, 5, 8)).astype("float32"))
    for i in range(5):
        for j in range(5):
            with tf.GradientTape() as tape:
                logits = prior.network(embedded)
                target = tf.reduce_sum(logits[0, i, j] * tf.range(1.0, 5.0))
            grad = np.abs(tape.gradient(target, embedded).numpy()[0]).sum(-1)
            order = np.arange(25).reshape(5, 5)
            assert grad[order >= i * 5 + j].max() == 0, (i, j)  # no future, not itself
            if j > 0:
                assert grad[i, j - 1] > 0  # sees its left neighbour
            if i > 0:
                assert grad[i - 1, j] > 0 and grad[i - 1, min(j + 1, 4)] > 0  # and above-right


def test_generate_through_prior_and_errors():
    model = _vqvae()
    with pytest.raises(ValueError, match="needs a prior"):
        model.generate(2)
    with pytest.raises(ValueError, match=r"prior must model \(7, 7\) grids of 16 codes"):
        model.attach_prior(PixelCNN((8, 8), 16, channels=4, num_layers=1))
    model.attach_prior(_prior())
    assert model.generate(3, seed=0).shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(model.generate(2, seed=1), model.generate(2, seed=1))
    assert model.prior not in model._flatten_layers()  # not saved or trained with the VQ-VAE
    assert len(model.trainable_weights) == len(_vqvae().trainable_weights)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"divisible by 4.*got \(30, 30, 1\)"):
        VQVAE((30, 30, 1))
    with pytest.raises(ValueError, match="num_embeddings must be a positive integer; got 0"):
        VQVAE((28, 28, 1), num_embeddings=0)
    model = _vqvae()
    with pytest.raises(
        ValueError, match=r"x must have shape \(batch, 28, 28, 1\); got shape \(2, 32, 32, 3\)"
    ):
        model.encode_indices(np.zeros((2, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match="NaN"):
        model.reconstruct(np.full((1, 28, 28, 1), np.nan, "float32"))
    with pytest.raises(ValueError, match=r"indices must have shape \(n, 7, 7\)"):
        model.decode_indices(np.zeros((2, 8, 8), "int32"))
    prior = _prior()
    with pytest.raises(ValueError, match=r"codes must be in \[0, 16\)"):
        prior.log_prob(np.full((1, 7, 7), 16))
    with pytest.raises(ValueError, match="kernel_size must be an odd integer"):
        PixelCNN((7, 7), 16, kernel_size=4)


def test_codebook_monitor_restarts_dead_codes():
    model = _vqvae(num_residual_layers=0)
    far = np.full((16, 4), 100.0, "float32")
    far[0] = 0.0
    model.quantizer.embeddings.assign(far)
    model.compile(optimizer="adam")
    monitor = CodebookMonitor(restart=True)
    history = model.fit(_images(), batch_size=8, epochs=2, verbose=0, callbacks=[monitor])
    assert history.history["dead_codes"][0] >= 14
    assert history.history["restarted_codes"][0] >= 14
    assert np.abs(model.quantizer.embeddings.numpy()).max() < 50
    assert history.history["codebook_usage"][1] > history.history["codebook_usage"][0]


def test_cli_vqvae_pipeline(tmp_path, capsys):
    from keras_gen import cli

    argv = ["vqvae", "--out", str(tmp_path), "--limit", "32", "--epochs", "1"]
    argv += ["--prior-epochs", "1", "--num-samples", "2", "--num-embeddings", "8"]
    argv += ["--embedding-dim", "4", "--hidden-channels", "8", "--prior-channels", "4"]
    argv += ["--prior-layers", "1"]
    assert cli.main(argv) == 0
    assert "prior_test_bits_per_code" in capsys.readouterr().out
    assert (tmp_path / "samples.png").exists() and (tmp_path / "prior.keras").exists()
    assert cli.main(["vqvae", "--out", str(tmp_path), "--data", "no_such_set_xyz"]) != 0
