"""GaussianSampling, VariationalBottleneck and LatentMoments."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen.layers import GaussianSampling, LatentMoments, VariationalBottleneck


def test_sampling_has_the_right_moments_and_is_seeded():
    mean = np.full((20_000, 2), [1.0, -2.0], "float32")
    log_var = np.full((20_000, 2), np.log([0.25, 4.0]), "float32")
    z = keras.ops.convert_to_numpy(GaussianSampling(seed=3)([mean, log_var]))
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.03)
    again = keras.ops.convert_to_numpy(GaussianSampling(seed=3)([mean, log_var]))
    np.testing.assert_array_equal(z, again)


def test_sampling_passes_gradients_to_mean_and_log_var():
    layer = GaussianSampling(seed=0)
    mean = tf.Variable(tf.zeros((4, 3)))
    log_var = tf.Variable(tf.zeros((4, 3)))
    with tf.GradientTape() as tape:
        z = layer([mean, log_var])
        loss = tf.reduce_sum(z)
    g_mean, g_log_var = tape.gradient(loss, [mean, log_var])
    np.testing.assert_allclose(g_mean, np.ones((4, 3)))
    # d z / d log_var = 0.5 * exp(0.5 log_var) * eps, with eps = z - mean here
    np.testing.assert_allclose(g_log_var, 0.5 * z.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_sampling_draws_noise_in_the_input_dtype(dtype):
    keras.config.set_dtype_policy(f"mixed_{dtype}")
    layer = GaussianSampling(seed=0)
    z = layer([tf.zeros((2, 3), dtype), tf.zeros((2, 3), dtype)])
    assert z.dtype == dtype


def test_sampling_round_trips_with_its_seed_state(tmp_path):
    inputs = keras.Input((3,))
    out = GaussianSampling(seed=5)([inputs, inputs])
    model = keras.Model(inputs, out)
    x = np.zeros((2, 3), "float32")
    model(x)  # advance the generator once
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(model(x), loaded(x))  # the next draw is the same


def test_bottleneck_trains_a_classifier_and_reports_kl(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    inputs = keras.Input((8,))
    z = VariationalBottleneck(2, beta=1e-2, seed=0, name="vib")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(z))
    model.compile(
        keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(x, y, epochs=20, batch_size=64, verbose=0)
    assert "vib_kl" in history.history
    # At inference the bottleneck passes its mean: the classifier is then sharp.
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9
    assert history.history["vib_kl"][-1] > 0
    layer = model.get_layer("vib")
    # The KL joins the loss through add_loss.
    model(x[:4], training=False)
    assert len(model.losses) == 1
    model.save(tmp_path / "vib.keras")
    loaded = keras.saving.load_model(tmp_path / "vib.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert loaded.get_layer("vib").get_config() == layer.get_config()


def test_bottleneck_rejects_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        VariationalBottleneck(0)
    with pytest.raises(ValueError, match="beta"):
        VariationalBottleneck(2, beta=-1.0)


def test_latent_moments_track_mean_and_covariance():
    rng = np.random.default_rng(1)
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    z = rng.multivariate_normal([1.0, -1.0], cov, size=4000).astype("float32")
    layer = LatentMoments(momentum=0.0)
    out = layer(z, training=True)
    np.testing.assert_array_equal(out, z)
    np.testing.assert_allclose(layer.moving_mean.numpy(), z.mean(0), atol=1e-4)
    np.testing.assert_allclose(layer.moving_cov.numpy(), np.cov(z.T), rtol=1e-3)
    samples = layer.sample(20_000, seed=0)
    np.testing.assert_allclose(np.cov(samples.T), cov, atol=0.1)
    with pytest.raises(ValueError, match="momentum"):
        LatentMoments(momentum=1.0)
