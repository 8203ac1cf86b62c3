"""Frechet and kernel distances, feature extractors and the FrechetEvaluation callback."""

import keras
import numpy as np
import pytest
import scipy.linalg

from keras_gen.callbacks import FrechetEvaluation
from keras_gen.metrics import (
    ClassifierFeatures,
    InceptionFeatures,
    extract_features,
    feature_statistics,
    frechet_classifier_distance,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_distance,
    train_classifier,
)
from keras_gen.zoo import VAE, Autoencoder


def _random_cov(rng, d, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


def _sqrtm_formula(mu_a, cov_a, mu_b, cov_b):
    """The textbook formula with scipy's sqrtm of the product (pytorch-fid's computation)."""
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    diff = mu_a - mu_b
    return diff @ diff + np.trace(cov_a + cov_b - 2 * covmean)


# -- Frechet distance -----------------------------------------------------------------------


def test_diagonal_gaussians_closed_form():
    mu_a, mu_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s_a, s_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum(s_a + s_b - 2 * np.sqrt(s_a * s_b))
    got = frechet_distance_from_stats(mu_a, np.diag(s_a), mu_b, np.diag(s_b))
    assert got == pytest.approx(expected, rel=1e-12)


def test_full_covariances_match_sqrtm_formula_and_are_symmetric():
    rng = np.random.default_rng(0)
    mu_a, mu_b = rng.normal(size=6), rng.normal(size=6)
    cov_a, cov_b = _random_cov(rng, 6), _random_cov(rng, 6)
    got = frechet_distance_from_stats(mu_a, cov_a, mu_b, cov_b)
    assert got == pytest.approx(_sqrtm_formula(mu_a, cov_a, mu_b, cov_b), rel=1e-9)
    assert frechet_distance_from_stats(mu_b, cov_b, mu_a, cov_a) == pytest.approx(got, rel=1e-9)


def test_singular_covariances_stay_finite_and_non_negative():
    rng = np.random.default_rng(1)
    cov = _random_cov(rng, 8, rank=3)  # rank 3 of 8, like always-zero ReLU features
    assert frechet_distance_from_stats(np.zeros(8), cov, np.zeros(8), cov) == pytest.approx(
        0.0, abs=1e-9
    )
    value = frechet_distance_from_stats(np.zeros(8), cov, np.ones(8), _random_cov(rng, 8, 2))
    assert np.isfinite(value) and value > 8.0


def test_samples_of_gaussians_converge_to_closed_form():
    rng = np.random.default_rng(2)
    s_a, s_b = np.array([1.0, 4.0]), np.array([4.0, 1.0])
    a = rng.normal(size=(200_000, 2)) * np.sqrt(s_a)
    b = rng.normal(size=(200_000, 2)) * np.sqrt(s_b) + [2.0, 0.0]
    expected = 4.0 + np.sum(s_a + s_b - 2 * np.sqrt(s_a * s_b))  # 4 + 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=0.02)


def test_same_set_is_zero_and_distance_is_symmetric():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(500, 16)), rng.normal(size=(400, 16)) * 1.5
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_feature_statistics_are_float64_unbiased():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    mu, cov = feature_statistics(x)
    assert mu.dtype == cov.dtype == np.float64
    np.testing.assert_allclose(cov, np.cov(x.astype(np.float64), rowvar=False))


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.zeros((10, 3)), np.zeros((10, 4)), "same feature dimension; got 3 and 4"),
        (np.zeros((1, 3)), np.zeros((10, 3)), "features_a needs at least 2 samples"),
        (np.zeros(10), np.zeros((10, 1)), r"features_a must be a 2-D array .* got shape \(10,\)"),
        (np.zeros((10, 3)), np.full((10, 3), np.nan), "features_b holds NaN"),
    ],
)
def test_bad_features_raise(a, b, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)
    with pytest.raises(ValueError, match=match):
        kernel_distance(a, b)


def test_bad_statistics_raise():
    with pytest.raises(ValueError, match=r"cov_b must have shape \(2, 2\)"):
        frechet_distance_from_stats(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="cov_a must be a symmetric"):
        frechet_distance_from_stats(np.zeros(2), [[1.0, 1.0], [0.0, 1.0]], np.zeros(2), np.eye(2))


def test_fewer_samples_than_features_warns():
    with pytest.warns(UserWarning, match="covariance is singular"):
        feature_statistics(np.random.default_rng(0).normal(size=(5, 10)))


# -- kernel distance ------------------------------------------------------------------------


def test_kernel_distance_near_zero_for_same_distribution_positive_when_shifted():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same = kernel_distance(a, b, num_subsets=10, subset_size=200)
    shifted = kernel_distance(a, b + 0.5, num_subsets=10, subset_size=200)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert shifted.mean > 10 * max(same.std, 1e-3)


def test_kernel_distance_matches_direct_formula_and_is_symmetric():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=(30, 4)) + 0.3
    # Subsets of the whole sets: every estimate is the full-sample unbiased MMD^2.
    got = kernel_distance(a, b, num_subsets=3, subset_size=100)
    k = lambda x, y: (x @ y.T / 4 + 1) ** 3  # noqa: E731
    m = 30
    expected = (
        (k(a, a).sum() - np.trace(k(a, a))) / (m * (m - 1))
        + (k(b, b).sum() - np.trace(k(b, b))) / (m * (m - 1))
        - 2 * k(a, b).mean()
    )
    assert got.mean == pytest.approx(expected, rel=1e-9) and got.std < 1e-9
    assert kernel_distance(b, a, num_subsets=3, subset_size=100).mean == pytest.approx(got.mean)


def test_kernel_distance_bad_arguments():
    a = np.zeros((10, 2))
    with pytest.raises(ValueError, match="num_subsets must be a positive integer; got 0"):
        kernel_distance(a, a, num_subsets=0)
    with pytest.raises(ValueError, match="subset_size must be >= 2"):
        kernel_distance(a, a, subset_size=1)


# -- feature extractors ---------------------------------------------------------------------


def test_extract_features_checks_images():
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    with pytest.raises(ValueError, match=r"images must be in \[0, 1\].*got values in \[0, 255\]"):
        extract_features(flat, np.linspace(0, 255, 32, dtype="float32").reshape(2, 4, 4, 1))
    with pytest.raises(ValueError, match="images holds NaN"):
        extract_features(flat, np.full((2, 4, 4, 1), np.nan, "float32"))
    with pytest.raises(ValueError, match=r"shape \(n, 28, 28, 1\) for ClassifierFeatures"):
        extract_features(ClassifierFeatures(), np.zeros((2, 8, 8, 1), "float32"))
    # uint8 is read as 0..255 and (n, H, W) gets a channel axis.
    out = extract_features(flat, np.full((2, 4, 4), 255, "uint8"))
    np.testing.assert_array_equal(out, np.ones((2, 16)))


def test_classifier_features_round_trip_through_keras_file(tmp_path):
    rng = np.random.default_rng(6)
    x, y = rng.random((64, 12, 12, 1), dtype="float32"), rng.integers(0, 3, 64)
    model = train_classifier(x, y, epochs=1, filters=(4, 8), feature_dim=16)
    assert model.num_classes == 3 and model.image_shape == (12, 12, 1)
    path = tmp_path / "classifier.keras"
    model.save(path)
    loaded = ClassifierFeatures.load(path)
    assert isinstance(loaded, ClassifierFeatures) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(extract_features(loaded, x), extract_features(model, x), atol=1e-6)
    np.testing.assert_array_equal(loaded.classify(x), model.classify(x))
    assert frechet_classifier_distance(x, x, loaded) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(FileNotFoundError, match="train_classifier"):
        ClassifierFeatures.load(tmp_path / "missing.keras")


def test_classifier_too_small_images():
    with pytest.raises(ValueError, match=r"image_shape \(12, 12, 1\) is too small"):
        ClassifierFeatures(image_shape=(12, 12, 1))


def test_classifier_learns_separable_classes():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 256)
    x = np.zeros((256, 12, 12, 1), "float32")
    x[y == 0, :6] = 1.0  # top half bright vs bottom half bright
    x[y == 1, 6:] = 1.0
    model = train_classifier(x, y, epochs=3, batch_size=32, filters=(4, 4), feature_dim=8)
    assert model.accuracy(x, y) == 1.0


@pytest.mark.parametrize("weights", [None, "imagenet"])
def test_inception_needs_a_weights_file(weights):
    with pytest.raises(ValueError, match=r"needs weights_path.*never downloads"):
        InceptionFeatures(weights)


def test_inception_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a file"):
        InceptionFeatures(tmp_path / "nope.h5")


def test_inception_preprocessing():
    gray = np.zeros((2, 28, 28, 1), "uint8")
    gray[1] = 255
    x = keras.ops.convert_to_numpy(InceptionFeatures.preprocess(gray))
    assert x.shape == (2, 299, 299, 3)
    np.testing.assert_allclose(x[0], -1.0)
    np.testing.assert_allclose(x[1], 1.0)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        InceptionFeatures.preprocess(np.zeros((1, 8, 8, 2), "float32"))


# -- the callback ---------------------------------------------------------------------------


def _flat(images):
    return images.reshape(len(images), -1)[:, :6]


def test_callback_writes_metric_into_history():
    x = np.random.default_rng(8).random((64, 8, 8, 1), dtype="float32")
    model = VAE((8, 8, 1), latent_dim=2, hidden_units=(8,))
    model.compile(optimizer="adam")
    seen = []
    reader = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs["fcd"]))
    cb = FrechetEvaluation(_flat, x, num_samples=32, kernel_name="kcd", kernel_subset_size=16)
    history = model.fit(x, epochs=2, batch_size=32, verbose=0, callbacks=[cb, reader])
    values = history.history["fcd"]
    assert len(values) == 2 and all(np.isfinite(v) and v >= 0 for v in values)
    assert seen == values  # later callbacks see the value too
    assert len(history.history["kcd"]) == len(history.history["kcd_std"]) == 2
    # Same codes every evaluation: the value is a deterministic function of the weights.
    assert cb.evaluate()["fcd"] == pytest.approx(values[-1], rel=1e-6)


def test_callback_every_and_errors():
    x = np.random.default_rng(9).random((32, 8, 8, 1), dtype="float32")
    model = Autoencoder((8, 8, 1), latent_dim=2, hidden_units=(8,))
    model.compile(optimizer="adam")
    cb = FrechetEvaluation(_flat, x, num_samples=16, every=2, name="fd")
    history = model.fit(x, epochs=3, batch_size=32, verbose=0, callbacks=[cb])
    assert cb.epochs == [2] and len(history.history["fd"]) == 1
    with pytest.raises(ValueError, match="every must be a positive integer; got 0"):
        FrechetEvaluation(_flat, x, every=0)
    with pytest.raises(ValueError, match="real_images must be at least 2 images"):
        FrechetEvaluation(_flat, x[:1])
    plain = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    plain.compile(loss="mse")
    with pytest.raises(TypeError, match="needs a model with generate"):
        plain.fit(x, x.reshape(32, -1), epochs=1, verbose=0, callbacks=[cb])


def test_callback_logs_nan_for_nan_images():
    x = np.random.default_rng(10).random((32, 8, 8, 1), dtype="float32")
    model = Autoencoder((8, 8, 1), latent_dim=2, hidden_units=(8,))
    model.compile(optimizer="adam")
    cb = FrechetEvaluation(_flat, x, num_samples=16)
    cb.set_model(model)
    model.generate = lambda n, seed=None: np.full((n, 8, 8, 1), np.nan, "float32")
    with pytest.warns(UserWarning, match="NaN"):
        assert np.isnan(cb.evaluate()["fcd"])


def test_train_classifier_command(tmp_path, capsys):
    from keras_gen.metrics.train_classifier import main

    rng = np.random.default_rng(11)
    data = tmp_path / "digits.npz"
    np.savez(
        data,
        x_train=rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 3, 64),
        x_test=rng.integers(0, 256, (16, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 3, 16),
    )
    out = tmp_path / "c.keras"
    assert main(["--data", str(data), "--out", str(out), "--epochs", "1"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert ClassifierFeatures.load(out).image_shape == (28, 28, 1)
    # Below --min-accuracy: exit status 1 and no file written.
    other = tmp_path / "d.keras"
    assert main(["--data", str(data), "--out", str(other), "--min-accuracy", "1.01"]) == 1
    assert not other.exists()


def test_shipped_mnist_classifier():
    from keras_gen.metrics import mnist_classifier

    model = mnist_classifier()
    assert (model.image_shape, model.feature_dim, model.num_classes) == ((28, 28, 1), 128, 10)
