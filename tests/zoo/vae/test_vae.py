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


# --- bad data: one clear error, before or inside the traced step, and no update -------------


def _tiny_cvae(**compile_kwargs):
    model = zoo.CVAE(**{**TINY, "num_classes": 4})
    model.compile(optimizer="adam", **compile_kwargs)
    return model


@pytest.mark.parametrize("bad", [4, -1, 1.5], ids=["too-large", "negative", "fraction"])
def test_cvae_labels_out_of_range_are_an_error_up_front(bad):
    model = _tiny_cvae()
    y = Y.astype("float32") if bad == 1.5 else Y.copy()
    y[3] = bad
    with pytest.raises(ValueError, match=rf"CVAE: labels must be integers in \[0, 4\); got {bad}"):
        model.fit(X, y, epochs=1, verbose=0)
    assert model.optimizer.iterations.numpy() == 0


@pytest.mark.parametrize("replicas, steps_per_execution", [(2, 1), (1, 3)])
def test_cvae_labels_out_of_range_fail_inside_the_traced_step(
    mirrored, replicas, steps_per_execution
):
    """A tf.data input is checked in the traced step: on 2 replicas (only one sees the bad
    label) and with several steps per execution. Both at once fail in Keras 3.15 itself
    ("You must feed a value for placeholder", keras-team/keras#19246), with any model."""
    import contextlib

    import tensorflow as tf

    scope = mirrored.scope() if replicas == 2 else contextlib.nullcontext()
    with scope:
        model = _tiny_cvae(steps_per_execution=steps_per_execution)
        fresh = _tiny_cvae(steps_per_execution=steps_per_execution)
    fresh.set_weights(model.get_weights())
    y = Y.copy()
    y[13] = 7  # the second batch of 8, the second replica's half of it
    ds = tf.data.Dataset.from_tensor_slices((X, y)).batch(8)
    with pytest.raises(ValueError, match=r"CVAE: labels must be integers in \[0, 4\); got") as e:
        model.fit(ds, epochs=1, verbose=0)
    assert "7" in str(e.value) and "\n" not in str(e.value)
    if steps_per_execution == 1:  # the first (good) step ran, the failing one changed nothing
        fresh.fit(ds.take(1), epochs=1, verbose=0)
        for a, b in zip(model.get_weights(), fresh.get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-6)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 4\); got 9"):
        model.encode(X[:2], np.array([9, 0]))


@pytest.mark.parametrize(
    "transform, message",
    [
        (lambda x: x * 255, r"0\.\d+ to 25\d\.\d+"),
        (lambda x: np.where(x > 0.9, np.nan, x), "nan to nan"),
        (lambda x: np.where(x > 0.9, np.inf, x), r"0\.\d+ to inf"),
        (lambda x: x - 0.5, r"-0\.\d+ to 0\.\d+$"),
    ],
    ids=["0-255", "nan", "inf", "negative"],
)
@pytest.mark.parametrize("as_dataset", [False, True], ids=["numpy", "tf.data"])
def test_vae_refuses_pixels_that_are_not_finite_or_not_in_the_unit_range(
    transform, message, as_dataset
):
    import tensorflow as tf

    model = zoo.VAE(**TINY)
    model.compile(optimizer="adam")
    before = model.get_weights()
    x = transform(X).astype("float32")
    data = tf.data.Dataset.from_tensor_slices(x).batch(16) if as_dataset else x
    expected = r"VAE expects finite pixel values in \[0, 1\] \(8-bit images: divide them by 255\); "
    expected += "got values from " + message
    with pytest.raises(ValueError, match=expected) as e:
        model.fit(data, epochs=1, verbose=0)
    assert "\n" not in str(e.value)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="VAE expects finite pixel values"):
        model.evaluate(data, verbose=0)


def test_gaussian_vae_takes_any_finite_values_but_not_nan():
    model = zoo.VAE(**{**TINY, "likelihood": "gaussian"})
    model.compile(optimizer="adam")
    model.fit(X * 255 - 100, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"VAE expects finite pixel values; got values from nan"):
        model.fit(np.where(X > 0.5, np.nan, X), epochs=1, verbose=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"latent_dim": 2.5}, "latent_dim must be a positive integer; got 2.5"),
        ({"hidden_units": (16.5,)}, r"hidden_units must be a sequence of positive integers"),
        ({"hidden_units": 64}, r"hidden_units must be a sequence of positive integers; got 64"),
        ({"hidden_units": (0,)}, r"hidden_units must be a sequence of positive integers"),
        ({"architecture": "conv", "filters": (8, 2.5)}, "filters must be a sequence"),
        ({"num_classes": -1}, r"num_classes must be an integer >= 0; got -1"),
    ],
)
def test_sizes_must_be_positive_integers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        zoo.VAE(**{**TINY, **kwargs})


@pytest.mark.parametrize("num_classes", [1, 2.5, "10"])
def test_cvae_num_classes_is_an_integer_of_at_least_two(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        zoo.CVAE(**TINY, num_classes=num_classes)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_fit_batch_size_must_be_a_positive_integer(batch_size):
    # Keras itself takes 0 as 32 and fails on -1 and 2.5 with a shape error.
    model = zoo.VAE(**TINY)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer or None; got"):
        model.fit(X, batch_size=batch_size, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.evaluate(X, batch_size=batch_size, verbose=0)
