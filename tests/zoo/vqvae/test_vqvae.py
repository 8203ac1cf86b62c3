"""The VQ-VAE: the model harness, restarts across replicas, the prior, the monitor, errors."""

import keras
import numpy as np
import pytest

from keras_gen.callbacks import CodebookMonitor
from keras_gen.testing import run_model_test
from keras_gen.zoo import VQVAE, PixelCNN

RNG = np.random.default_rng(0)
X = RNG.random((16, 28, 28, 1), dtype="float32")
TINY = {
    "image_shape": (28, 28, 1),
    "num_embeddings": 16,
    "embedding_dim": 4,
    "hidden_channels": 8,
    "residual_channels": 4,
    "num_residual_layers": 1,
    "seed": 0,
}


def _vqvae(**kwargs):
    return VQVAE(**{**TINY, **kwargs})


def _prior(**kwargs):
    return PixelCNN((7, 7), 16, **{"channels": 8, "num_layers": 2, "head_channels": 8, **kwargs})


def _assert_same_weights(a, b, atol=0.0):
    assert len(a) == len(b)
    for va, vb in zip(a, b):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(va), keras.ops.convert_to_numpy(vb), rtol=0, atol=atol
        )


def _codes(model):
    codes = model.encode_indices(X[:4])
    assert codes.dtype == np.int32 and codes.min() >= 0 and codes.max() < 16
    return codes, model.decode_indices(codes)


def test_passes_the_model_harness(mirrored):
    run_model_test(
        VQVAE,
        TINY,
        (X[:15],),
        "vqvae",
        outputs=_codes,
        strategy=mirrored,
        # Each replica samples its own encoder outputs into the buffer that restarts draw
        # from (one device samples the whole batch); the replicas' copies still agree.
        replica_dependent=["quantizer/restart_buffer"],
    )


def test_restarts_and_their_buffer_resume_exactly():
    # Restarts draw from the buffer that each replica fills from its own examples: one
    # device and two replicas restart different codes, so only the resume is checked.
    run_model_test(VQVAE, {**TINY, "restart_after": 1}, (X,), "vqvae", precisions=())


def test_restarts_between_steps_keep_the_replicas_identical(mirrored):
    # A restart triggered between steps (cross-replica context) writes every replica.
    with mirrored.scope():
        model = _vqvae()
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    monitor = CodebookMonitor(unused_steps=1, restart=True)
    history = model.fit(X, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    assert history.history["restarted_codes"][0] == history.history["dead_codes"][0] > 0
    for name in ("embeddings", "ema_dw_hidden", "ema_cluster_size_hidden", "restart_buffer"):
        a, b = mirrored.experimental_local_results(getattr(model.quantizer, name).value)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_generate_through_prior_and_errors():
    model = _vqvae()
    with pytest.raises(ValueError, match="needs a prior"):
        model.generate(2)
    with pytest.raises(ValueError, match=r"prior must model \(7, 7\) grids of 16 codes"):
        model.attach_prior(PixelCNN((8, 8), 16, channels=4, num_layers=1))
    model.attach_prior(_prior())
    assert model.generate(3, seed=0).shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(model.generate(2, seed=1), model.generate(2, seed=1))
    assert model.prior not in model._flatten_layers()  # not trained with the VQ-VAE
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


def test_codebook_monitor_restarts_dead_codes():
    model = _vqvae(num_residual_layers=0)
    far = np.full((16, 4), 100.0, "float32")
    far[0] = 0.0
    model.quantizer.embeddings.assign(far)
    model.compile(optimizer="adam")
    monitor = CodebookMonitor(restart=True)
    history = model.fit(X, batch_size=8, epochs=2, verbose=0, callbacks=[monitor])
    assert history.history["dead_codes"][0] >= 14
    assert history.history["restarted_codes"][0] >= 14
    assert np.abs(model.quantizer.embeddings.numpy()).max() < 50
    assert history.history["codebook_usage"][1] > history.history["codebook_usage"][0]


def test_the_prior_travels_in_the_vqvae_file(tmp_path):
    """config, weights and optimizer state of the attached prior; then both train on exactly."""
    x = X
    model = _vqvae()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.train_on_batch(x[:8])  # optimizer state to carry over
    prior = _prior()
    prior.compile(optimizer=keras.optimizers.Adam(1e-3))
    codes = model.encode_indices(x)
    prior.train_on_batch(codes[:8])
    model.attach_prior(prior)
    path = tmp_path / "vqvae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.prior, PixelCNN) and loaded.prior is not prior
    assert loaded.prior.get_config() == prior.get_config()
    _assert_same_weights(prior.weights, loaded.prior.weights)
    _assert_same_weights(prior.optimizer.variables, loaded.prior.optimizer.variables)
    _assert_same_weights(model.optimizer.variables, loaded.optimizer.variables)
    assert len(loaded.trainable_weights) == len(model.trainable_weights)  # the prior is apart
    np.testing.assert_array_equal(loaded.generate(2, seed=0), model.generate(2, seed=0))
    for m in (model, loaded):
        m.train_on_batch(x[:8])
        m.prior.train_on_batch(codes[:8])
    _assert_same_weights(model.weights, loaded.weights, atol=1e-6)
    _assert_same_weights(prior.weights, loaded.prior.weights, atol=1e-6)
    # A VQ-VAE saved without a prior loads without one.
    _vqvae().save(tmp_path / "bare.keras")
    assert keras.saving.load_model(tmp_path / "bare.keras").prior is None
