"""Behaviour of the autoencoder/VAE family: numerical identities and clear errors."""

import keras
import numpy as np
import pytest
from scipy import linalg, stats

from keras_gen import zoo

RNG = np.random.default_rng(0)
X = RNG.random((64, 28, 28, 1), dtype="float32")


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


def test_importance_sampled_likelihood_converges_to_the_exact_one():
    """A VAE with a linear Gaussian decoder has a closed-form marginal p(x)."""
    keras.utils.set_random_seed(1)
    d, k = 5, 2
    w = RNG.normal(size=(k, d))
    data = (RNG.normal(size=(2048, k)) @ w + 0.3 * RNG.normal(size=(2048, d))).astype("float32")
    vae = zoo.VAE(
        (d,), latent_dim=k, hidden_units=(), activation="linear", likelihood="gaussian", seed=0
    )
    vae.compile(optimizer=keras.optimizers.Adam(0.01))
    vae.fit(data, batch_size=128, epochs=20, verbose=0)
    dense = vae.decoder.layers[-2]
    kernel, bias = dense.kernel.numpy().astype("float64"), dense.bias.numpy()
    sigma2 = np.exp(2 * vae.log_scale.numpy().astype("float64"))
    exact = stats.multivariate_normal(bias, kernel.T @ kernel + np.diag(sigma2)).logpdf(data[:50])
    elbo = vae.log_likelihood(data[:50], num_samples=1, seed=0)
    iwae = vae.log_likelihood(data[:50], num_samples=2000, seed=0)
    assert elbo.mean() < iwae.mean() <= exact.mean() + 0.02
    np.testing.assert_allclose(iwae, exact, atol=0.05)
    # k = 1 is the ELBO that evaluate() reports as -loss (up to Monte Carlo noise).
    elbo_all = vae.log_likelihood(data, num_samples=1, seed=1).mean()
    assert -vae.evaluate(data, verbose=0, return_dict=True)["loss"] == pytest.approx(
        elbo_all, abs=0.1
    )


def test_log_likelihood_chunks_do_not_change_the_estimate():
    vae = zoo.VAE((28, 28, 1), latent_dim=3, hidden_units=(16,), seed=0)
    from keras_gen.metrics import likelihood

    small = likelihood.importance_sampled_log_likelihood
    ll_default = vae.log_likelihood(X[:6], num_samples=40, seed=3)
    calls = []

    def spy(fn, arrays, num_samples, batch_size=100, max_rows=50_000):
        calls.append(1)
        return small(fn, arrays, num_samples, batch_size=batch_size, max_rows=7)

    likelihood_module = __import__("keras_gen.zoo.vae.vae", fromlist=["x"])
    original = likelihood_module.importance_sampled_log_likelihood
    likelihood_module.importance_sampled_log_likelihood = spy
    try:
        ll_chunked = vae.log_likelihood(X[:6], num_samples=40, seed=3)
    finally:
        likelihood_module.importance_sampled_log_likelihood = original
    assert calls
    # Same noise stream, different chunking: same numbers up to float32 rounding.
    np.testing.assert_allclose(ll_default, ll_chunked, rtol=1e-5)


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
    model = zoo.Autoencoder((28, 28, 1), latent_dim=3, hidden_units=(16,))
    model.compile(optimizer="adam")
    model.fit(X, epochs=2, batch_size=16, verbose=0)
    codes = model.encode(X)
    moments = model.latent_moments
    assert not np.allclose(moments.moving_mean.numpy(), 0.0)
    samples = model._sample_codes(5000, seed=0)
    # The moving average lags the codes, but lies in their range.
    assert np.all(np.abs(samples.mean(0) - codes.mean(0)) < 3 * codes.std(0) + 1e-3)
    images = model.generate(4, seed=0)
    assert images.shape == (4, 28, 28, 1) and 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal(images, model.generate(4, seed=0))


def test_cvae_generates_the_chosen_class():
    cvae = zoo.CVAE((28, 28, 1), num_classes=10, latent_dim=2, hidden_units=(16,), seed=0)
    a = cvae.generate(3, labels=1, seed=0)
    b = cvae.generate(3, labels=7, seed=0)
    assert not np.allclose(a, b)  # same latents, different class: different images
    with pytest.raises(ValueError, match="labels must be in"):
        cvae.generate(2, labels=10)
    with pytest.raises(ValueError, match="class-conditional"):
        cvae.compute_terms(X[:2])
    with pytest.raises(ValueError, match="not class-conditional"):
        zoo.VAE((28, 28, 1), latent_dim=2).generate(2, labels=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"architecture": "rnn"}, "architecture must be one of"),
        ({"likelihood": "poisson"}, "likelihood must be one of"),
        ({"architecture": "conv", "input_shape": (30, 30, 1)}, "divisible by 4"),
        ({"architecture": "conv", "input_shape": (784,)}, "height, width, channels"),
        ({"beta": -1.0}, "beta"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs, message):
    kwargs = {"input_shape": (28, 28, 1), **kwargs}
    with pytest.raises(ValueError, match=message):
        zoo.VAE(**kwargs)


def test_wrong_image_shape_is_a_clear_error():
    vae = zoo.VAE((28, 28, 1), latent_dim=2, hidden_units=(8,))
    vae.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"28, 28, 1|incompatible|expected"):
        vae.fit(np.zeros((4, 32, 32, 3), "float32"), verbose=0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        vae.generate(0)


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_variable_paths_name_the_encoder_and_the_decoder(architecture):
    # So that optimizer patterns like {"encoder/.*": 0.1} select a part of any zoo model.
    for model in (
        zoo.VAE((28, 28, 1), architecture=architecture),
        zoo.CVAE((28, 28, 1), architecture=architecture),
        zoo.Autoencoder((28, 28, 1), architecture=architecture),
    ):
        paths = [v.path for v in model.trainable_variables]
        assert all(p.startswith(("encoder/", "decoder/")) for p in paths), paths
        assert any(p.startswith("encoder/") for p in paths)
