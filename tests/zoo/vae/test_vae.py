"""VAE and CVAE: the model harness, the likelihood estimate, conditioning and errors."""

import keras
import numpy as np
import pytest
from scipy import stats

from keras_gen import zoo
from keras_gen.testing import run_model_test

RNG = np.random.default_rng(0)
X = RNG.random((15, 12, 12, 1), dtype="float32")  # odd: the replicas get 8 and 7 examples
Y = np.arange(15) % 4
TINY = {"image_shape": (12, 12, 1), "latent_dim": 3, "hidden_units": (8,), "seed": 1}


def _outputs(model):
    return model.generate(3, seed=5), model.encode(X[:3]), model.reconstruct(X[:3])


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"architecture": "conv", "filters": (4, 8)},
        {"likelihood": "gaussian"},
    ],
    ids=["mlp", "conv", "gaussian"],
)
def test_vae_passes_the_model_harness(config, mirrored):
    outputs = _outputs
    if config.get("likelihood") == "gaussian":  # and the likelihood is finite in float16

        def outputs(model):
            return (*_outputs(model), model.log_likelihood(X[:3], num_samples=4, seed=0))

    run_model_test(zoo.VAE, {**TINY, **config}, (X,), "vae", outputs=outputs, strategy=mirrored)


def test_cvae_passes_the_model_harness(mirrored):
    def outputs(model):
        labels = [0, 1, 3]
        return (
            model.generate(3, seed=5, labels=labels),
            model.encode(X[:3], Y[:3]),
            model.reconstruct(X[:3], Y[:3]),
        )

    run_model_test(
        zoo.CVAE, {**TINY, "num_classes": 4}, (X, Y), "cvae", outputs=outputs, strategy=mirrored
    )


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_conv_vae_trains_under_mixed_precision(policy):
    keras.config.set_dtype_policy(policy)
    model = zoo.VAE(**{**TINY, "architecture": "conv", "filters": (4, 8), "seed": 0})
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = RNG.random((64, 12, 12, 1), dtype="float32")
    losses = np.array(model.fit(x, batch_size=16, epochs=2, verbose=0).history["loss"])
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


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
    x = RNG.random((6, 28, 28, 1), dtype="float32")
    vae = zoo.VAE((28, 28, 1), latent_dim=3, hidden_units=(16,), seed=0)
    from keras_gen.metrics import likelihood

    small = likelihood.importance_sampled_log_likelihood
    ll_default = vae.log_likelihood(x, num_samples=40, seed=3)
    calls = []

    def spy(fn, arrays, num_samples, batch_size=100, max_rows=50_000):
        calls.append(1)
        return small(fn, arrays, num_samples, batch_size=batch_size, max_rows=7)

    likelihood_module = __import__("keras_gen.zoo.vae.vae", fromlist=["x"])
    original = likelihood_module.importance_sampled_log_likelihood
    likelihood_module.importance_sampled_log_likelihood = spy
    try:
        ll_chunked = vae.log_likelihood(x, num_samples=40, seed=3)
    finally:
        likelihood_module.importance_sampled_log_likelihood = original
    assert calls
    # Same noise stream, different chunking: same numbers up to float32 rounding.
    np.testing.assert_allclose(ll_default, ll_chunked, rtol=1e-5)


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
        ({"architecture": "conv", "image_shape": (30, 30, 1)}, "divisible by 4"),
        ({"architecture": "conv", "image_shape": (784,)}, "height, width, channels"),
        ({"beta": -1.0}, "beta"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs, message):
    kwargs = {"image_shape": (28, 28, 1), **kwargs}
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
