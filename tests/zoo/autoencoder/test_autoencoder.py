"""The deterministic autoencoders: the model harness, numerical identities and corruptions."""

import keras
import numpy as np
import pytest
from scipy import linalg

from keras_gen import zoo
from keras_gen.testing import run_model_test

RNG = np.random.default_rng(0)
X = RNG.random((15, 12, 12, 1), dtype="float32")  # odd: the replicas get 8 and 7 examples
TINY = {"image_shape": (12, 12, 1), "latent_dim": 3, "hidden_units": (8,)}


def _outputs(model):
    return model.encode(X[:3]), model.reconstruct(X[:3]), model.generate(3, seed=5)


@pytest.mark.parametrize(
    ("cls", "config", "recipe"),
    [
        (zoo.Autoencoder, {}, "autoencoder"),
        (zoo.Autoencoder, {"architecture": "conv", "filters": (4, 8)}, "conv-autoencoder"),
        (zoo.DenoisingAutoencoder, {"noise": "masking", "seed": 2}, "denoising-autoencoder"),
        (zoo.ContractiveAutoencoder, {"contraction": 0.5}, "contractive-autoencoder"),
        (zoo.LinearAutoencoder, {}, "linear-autoencoder"),
    ],
    ids=["mlp", "conv", "denoising", "contractive", "linear"],
)
def test_passes_the_model_harness(cls, config, recipe, mirrored):
    config = {**TINY, **config}
    if cls is zoo.LinearAutoencoder:
        config = {"image_shape": (12, 12, 1), "latent_dim": 3}
    run_model_test(cls, config, (X,), recipe, outputs=_outputs, strategy=mirrored)


def test_linear_autoencoder_spans_the_pca_subspace():
    keras.utils.set_random_seed(0)
    # 6-d data whose covariance has a clear top-2 subspace.
    basis = linalg.qr(RNG.normal(size=(6, 6)))[0]
    scales = np.array([3.0, 2.0, 0.5, 0.3, 0.2, 0.1])
    # An offset exercises the biases (a large one only slows Adam down).
    data = (RNG.normal(size=(4096, 6)) * scales) @ basis.T + 1.0
    data = data.astype("float32")
    model = zoo.LinearAutoencoder((6,), latent_dim=2)
    model.compile(optimizer=keras.optimizers.Adam(0.03))
    model.fit(data, batch_size=128, epochs=30, verbose=0)
    centred = data - data.mean(0)
    top2 = linalg.svd(centred, full_matrices=False)[2][:2].T  # (6, 2)
    learned = model.decoder_kernel().T  # (6, 2)
    angles = linalg.subspace_angles(top2, learned)
    assert np.degrees(angles).max() < 2.0
    # And it reconstructs as well as PCA does.
    pca_error = 0.5 * ((centred - centred @ top2 @ top2.T) ** 2).sum(-1).mean()
    loss = model.evaluate(data, verbose=0)
    assert loss == pytest.approx(pca_error, rel=0.02)


def test_contractive_penalty_matches_the_closed_form():
    # One sigmoid layer: ||J||_F^2 = sum_j (h_j (1 - h_j))^2 sum_i W_ij^2 (Rifai et al.).
    model = zoo.ContractiveAutoencoder((12,), latent_dim=3, hidden_units=(), contraction=0.5)
    x = RNG.random((4, 12), dtype="float32")
    terms = model.compute_terms(x)
    kernel, bias = model.code_head.kernel.numpy(), model.code_head.bias.numpy()
    h = 1 / (1 + np.exp(-(x @ kernel + bias)))
    expected = ((h * (1 - h)) ** 2 * (kernel**2).sum(0)).sum(-1)
    np.testing.assert_allclose(terms["jacobian"], expected, rtol=1e-4)
    np.testing.assert_allclose(
        terms["loss"], terms["reconstruction"] + 0.5 * terms["jacobian"], rtol=1e-6
    )


def test_denoising_corruptions():
    masking = zoo.DenoisingAutoencoder((28, 28, 1), noise="masking", noise_level=0.25, seed=0)
    ones = np.ones((64, 28, 28, 1), "float32")
    kept = keras.ops.convert_to_numpy(masking.corrupt(ones)).mean()
    assert kept == pytest.approx(0.75, abs=0.01)
    gaussian = zoo.DenoisingAutoencoder((28, 28, 1), noise="gaussian", noise_level=0.3, seed=0)
    noise = keras.ops.convert_to_numpy(gaussian.corrupt(ones)) - 1.0
    assert noise.std() == pytest.approx(0.3, rel=0.02)
    first, second = gaussian.corrupt(ones), gaussian.corrupt(ones)
    assert not np.allclose(first, second)  # fresh noise each call


def test_autoencoder_generates_from_its_fitted_code_distribution():
    x = RNG.random((64, 28, 28, 1), dtype="float32")
    model = zoo.Autoencoder((28, 28, 1), latent_dim=3, hidden_units=(16,))
    model.compile(optimizer="adam")
    model.fit(x, epochs=2, batch_size=16, verbose=0)
    codes = model.encode(x)
    moments = model.latent_moments
    assert not np.allclose(moments.moving_mean.numpy(), 0.0)
    samples = model._sample_codes(5000, seed=0)
    # The moving average lags the codes, but lies in their range.
    assert np.all(np.abs(samples.mean(0) - codes.mean(0)) < 3 * codes.std(0) + 1e-3)
    images = model.generate(4, seed=0)
    assert images.shape == (4, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal(images, model.generate(4, seed=0))
