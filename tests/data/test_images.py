"""Behaviour of keras_gen.data: every source gives uint8 NHWC arrays and a float [0, 1] pipeline."""

import gzip
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_gen.data import load_arrays, load_images

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _epoch(ds):
    return np.concatenate([np.asarray(x) for x in ds])


def _write_idx(path, array):
    array = np.asarray(array, np.uint8)
    header = b"\0\0\x08" + bytes([array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def _write_png(path, size=(8, 6), mode="L", value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value).save(path)


def _image_tree(root):
    """root/<split>/<class>/*.png with grey levels that encode the class (0 -> 10, 1 -> 20)."""
    for split, count in [("train", 3), ("test", 1)]:
        for label, name in enumerate(["cat", "dog"]):
            for i in range(count):
                _write_png(root / split / name / f"{i:02d}.png", value=10 * (label + 1))
    return root


# --- the embedded default ----------------------------------------------------------------


def test_mnist_mini_arrays():
    x, y = load_arrays("mnist_mini")
    assert x.shape == (6000, 28, 28, 1) and x.dtype == np.uint8
    assert y.shape == (6000,) and y.dtype == np.int64
    assert x.max() == 255 and set(np.unique(y)) == set(range(10))
    x_test, y_test = load_arrays("mnist_mini", "test", limit=10)
    assert x_test.shape == (10, 28, 28, 1) and y_test.shape == (10,)


def test_mnist_mini_unknown_split_names_the_available_ones():
    with pytest.raises(ValueError, match=r"'validation'.*\['test', 'train'\]"):
        load_arrays("mnist_mini", "validation")


# --- load_images -------------------------------------------------------------------------


def test_load_images_batches_floats_in_unit_range():
    ds = load_images("mnist_mini", "test", batch_size=100, limit=250)
    batches = list(ds)
    assert [b.shape[0] for b in batches] == [100, 100, 50]
    assert all(b.dtype == tf.float32 and b.shape[1:] == (28, 28, 1) for b in batches)
    x = _epoch(batches)
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x * 255, load_arrays("mnist_mini", "test", limit=250)[0])

    ds = load_images("mnist_mini", "test", batch_size=100, limit=250, drop_remainder=True)
    assert ds.element_spec.shape == (100, 28, 28, 1) and len(list(ds)) == 2


def test_with_labels_gives_int32_labels_in_step_with_images():
    x_ref, y_ref = load_arrays("mnist_mini", "test", limit=64)
    ds = load_images("mnist_mini", "test", batch_size=32, with_labels=True, limit=64)
    pairs = list(ds)
    assert all(isinstance(p, tuple) and len(p) == 2 for p in pairs)
    assert pairs[0][1].dtype == tf.int32
    np.testing.assert_array_equal(np.concatenate([y for _, y in pairs]), y_ref)
    np.testing.assert_allclose(np.concatenate([x for x, _ in pairs]) * 255, x_ref)


def test_train_split_is_shuffled_reproducibly_and_test_is_not():
    def labels(split, **kwargs):
        ds = load_images("mnist_mini", split, 50, with_labels=True, limit=200, **kwargs)
        return np.concatenate([y for _, y in ds])

    first = labels("train", seed=1)
    y_ref = load_arrays("mnist_mini", limit=200)[1]
    assert not np.array_equal(first, y_ref)
    assert np.array_equal(np.sort(first), np.sort(y_ref))
    np.testing.assert_array_equal(first, labels("train", seed=1))
    np.testing.assert_array_equal(labels("test"), load_arrays("mnist_mini", "test", limit=200)[1])


def test_dynamic_binarization_redraws_each_epoch_reproducibly():
    def make():
        return load_images("mnist_mini", batch_size=64, binarize="dynamic", seed=3, limit=256)

    ds = make()
    first, second = _epoch(ds), _epoch(ds)
    assert set(np.unique(first)) == {0.0, 1.0}
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, _epoch(make()))
    # The draw is Bernoulli(pixel): its mean follows the grey-level mean.
    mean = load_arrays("mnist_mini", limit=256)[0].mean() / 255
    assert abs(first.mean() - mean) < 0.01


def test_dynamic_binarization_keeps_labels():
    ds = load_images("mnist_mini", "test", 32, with_labels=True, binarize="dynamic", limit=32)
    x, y = next(iter(ds))
    assert set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, load_arrays("mnist_mini", "test", limit=32)[1])


def test_static_binarization_is_the_same_every_epoch():
    ds = load_images("mnist_mini", "test", batch_size=64, binarize="static", seed=0, limit=128)
    first = _epoch(ds)
    assert set(np.unique(first)) == {0.0, 1.0}
    np.testing.assert_array_equal(first, _epoch(ds))
    again = load_images("mnist_mini", "test", 64, binarize="static", seed=0, limit=128)
    np.testing.assert_array_equal(first, _epoch(again))


def test_repeat_makes_an_endless_data_set():
    ds = load_images("mnist_mini", "test", batch_size=8, limit=10, repeat=True)
    assert ds.cardinality() == tf.data.INFINITE_CARDINALITY
    assert len(list(ds.take(5))) == 5


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"binarize": "foo"}, r"binarize must be one of .*'dynamic'.*got 'foo'"),
        ({"batch_size": 0}, r"batch_size must be a positive integer; got 0"),
        ({"limit": -1}, r"limit must be a positive integer or None; got -1"),
    ],
)
def test_bad_arguments_are_named(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        load_images("mnist_mini", **kwargs)


# --- .npz --------------------------------------------------------------------------------


def test_npz_round_trip_uint8(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    y = np.arange(5).reshape(5, 1)  # keras.datasets.cifar10 keeps labels as (N, 1)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    x_back, y_back = load_arrays(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(x_back, x)
    np.testing.assert_array_equal(y_back, np.arange(5))
    assert y_back.dtype == np.int64
    assert load_arrays(str(tmp_path / "d.npz"), "test")[0].shape == (2, 4, 4, 3)
    with pytest.raises(ValueError, match=r"'val'.*\['test', 'train'\]"):
        load_arrays(str(tmp_path / "d.npz"), "val")


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_npz_float_images_become_uint8(tmp_path, scale):
    x = np.random.default_rng(0).integers(0, 256, (4, 5, 5)).astype(np.uint8)
    np.savez(tmp_path / "f.npz", x=(x / 255.0 * scale).astype(np.float32))
    x_back, y_back = load_arrays(str(tmp_path / "f.npz"), "any split")
    assert x_back.dtype == np.uint8 and x_back.shape == (4, 5, 5, 1) and y_back is None
    np.testing.assert_array_equal(x_back[..., 0], x)
    batch = next(iter(load_images(str(tmp_path / "f.npz"), "test", batch_size=4)))
    np.testing.assert_allclose(batch[..., 0], x / 255.0, atol=1e-6)


def test_npz_with_nan_is_refused(tmp_path):
    x = np.full((2, 3, 3), 0.5, np.float32)
    x[1, 1, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x_train=x, y_train=np.zeros(2))
    with pytest.raises(ValueError, match=r"nan\.npz.*NaN"):
        load_arrays(str(tmp_path / "nan.npz"))


@pytest.mark.parametrize(
    "bad, message",
    [(np.inf, "NaN or infinite"), (-0.5, r"\[0, 1\] or \[0, 255\]"), (300.0, r"\[0, 255\]")],
    ids=["inf", "negative", "above-255"],
)
def test_npz_with_pixels_out_of_range_is_refused(tmp_path, bad, message):
    x = np.full((2, 3, 3), 0.5, np.float32)
    x[0, 2, 2] = bad
    np.savez(tmp_path / "bad.npz", x=x)
    with pytest.raises(ValueError, match=r"bad\.npz.*" + message):
        load_arrays(str(tmp_path / "bad.npz"))


def _corrupt_npz(path, kind):
    x = np.random.default_rng(0).integers(0, 256, (64, 8, 8), dtype=np.uint8)
    (np.savez_compressed if kind == "corrupt member" else np.savez)(path, x=x, y=np.arange(64))
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(1).bytes(2000))
    else:  # flip bytes inside the compressed data of the first member, keep the zip directory
        middle = 200
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:260]) + data[260:])


@pytest.mark.parametrize("kind", ["truncated", "empty", "random bytes", "corrupt member"])
def test_corrupt_npz_is_a_one_line_error_naming_the_file(tmp_path, kind):
    # A truncated file raised zipfile.BadZipFile, an empty one EOFError, random bytes a
    # message suggesting the unsafe allow_pickle=True.
    path = tmp_path / "data.npz"
    _corrupt_npz(path, kind)
    with pytest.raises(ValueError, match=r"data\.npz is not a valid \.npz file") as info:
        load_arrays(str(path))
    assert "allow_pickle" not in str(info.value) and "\n" not in str(info.value)


def test_npz_of_python_objects_is_refused_without_suggesting_pickle(tmp_path):
    np.savez(tmp_path / "objects.npz", x=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"objects\.npz: array 'x' holds Python objects") as info:
        load_arrays(str(tmp_path / "objects.npz"))
    assert "allow_pickle" not in str(info.value)


# --- MNIST idx files ---------------------------------------------------------------------


def test_idx_folder_gz_and_raw(tmp_path):
    rng = np.random.default_rng(0)
    x_train, y_train = rng.integers(0, 256, (6, 7, 5)), rng.integers(0, 10, 6)
    x_test, y_test = rng.integers(0, 256, (3, 7, 5)), rng.integers(0, 10, 3)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", x_train)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y_train)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", x_test)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", y_test)

    x, y = load_arrays(str(tmp_path))
    assert x.shape == (6, 7, 5, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[..., 0], x_train)
    np.testing.assert_array_equal(y, y_train)
    x, y = load_arrays(str(tmp_path), "test", limit=2)
    np.testing.assert_array_equal(x[..., 0], x_test[:2])
    np.testing.assert_array_equal(y, y_test[:2])
    with pytest.raises(ValueError, match=r"'validation'.*\['test', 'train'\]"):
        load_arrays(str(tmp_path), "validation")


# --- image folders and archives ----------------------------------------------------------


def test_image_folder_with_splits_labels_classes_by_folder(tmp_path):
    root = _image_tree(tmp_path / "pets")
    x, y = load_arrays(str(root))
    assert x.shape == (6, 6, 8, 1) and x.dtype == np.uint8
    # cat = 0, dog = 1; the classes come in turn, so a limit keeps them balanced.
    np.testing.assert_array_equal(y, [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(x[:, 0, 0, 0], 10 * (y + 1))
    assert load_arrays(str(root), "test")[1].tolist() == [0, 1]
    assert load_arrays(str(root), limit=2)[1].tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"'valid'.*\['test', 'train'\]"):
        load_arrays(str(root), "valid")


def test_image_folder_class_and_flat_layouts(tmp_path):
    _write_png(tmp_path / "classes" / "b" / "1.jpg", mode="RGB", value=(0, 0, 255))
    _write_png(tmp_path / "classes" / "a" / "1.png", mode="RGB", value=(255, 0, 0))
    x, y = load_arrays(str(tmp_path / "classes"))
    assert x.shape == (2, 6, 8, 3) and y.tolist() == [0, 1]
    assert x[0, 0, 0].tolist() == [255, 0, 0]

    for i in range(3):
        _write_png(tmp_path / "flat" / f"{i}.png")
    x, y = load_arrays(str(tmp_path / "flat"))
    assert x.shape == (3, 6, 8, 1) and y is None
    with pytest.raises(ValueError, match="no labels"):
        load_images(str(tmp_path / "flat"), with_labels=True)


def test_image_folder_with_mismatched_sizes_names_the_file(tmp_path):
    _write_png(tmp_path / "a.png", size=(8, 8))
    _write_png(tmp_path / "b.png", size=(9, 8))
    with pytest.raises(ValueError, match=r"'b\.png'.*\(8, 9, 1\).*'a\.png'.*\(8, 8, 1\)"):
        load_arrays(str(tmp_path))


def test_image_folder_with_mixed_modes_names_the_file(tmp_path):
    _write_png(tmp_path / "a.png", mode="L")
    _write_png(tmp_path / "b.png", mode="RGB")
    with pytest.raises(ValueError, match=r"'b\.png'"):
        load_arrays(str(tmp_path))


def test_tar_of_pngs_under_a_wrapping_folder(tmp_path):
    root = _image_tree(tmp_path / "pets")
    archive = tmp_path / "pets.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="pets")  # pets/<split>/<class>/*.png
    x, y = load_arrays(str(archive), "train", limit=3)
    assert x.shape == (3, 6, 8, 1) and y.tolist() == [0, 1, 0]
    ds = load_images(str(archive), "test", batch_size=4, with_labels=True)
    x, y = next(iter(ds))
    np.testing.assert_allclose(x[:, 0, 0, 0], np.array([10, 20]) / 255)
    assert y.numpy().tolist() == [0, 1]


def test_zip_of_pngs(tmp_path):
    root = _image_tree(tmp_path / "pets")
    with zipfile.ZipFile(tmp_path / "pets.zip", "w") as archive:
        for path in sorted(root.rglob("*.png")):
            archive.write(path, path.relative_to(root).as_posix())
    x, y = load_arrays(str(tmp_path / "pets.zip"), "test")
    assert x.shape == (2, 6, 8, 1) and y.tolist() == [0, 1]


def test_real_cifar_tar_reads_only_what_limit_asks():
    archive = SHARED_DATA / "cifar10" / "CIFAR-10-images.tar.gz"
    if not archive.exists():
        pytest.skip(f"{archive} is absent")
    x, y = load_arrays(str(archive), "test", limit=10)
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8
    assert y.tolist() == list(range(10))  # one image of each class, in turn
    assert x.std() > 10


# --- names and missing paths -------------------------------------------------------------


def test_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        load_arrays(str(tmp_path / "missing.npz"))
    with pytest.raises(FileNotFoundError, match="no/such/folder"):
        load_images("no/such/folder")


def test_unknown_name_raises_value_error():
    with pytest.raises(ValueError, match=r"unknown data set 'no_such_data_set'.*TFDS name"):
        load_arrays("no_such_data_set")


def test_tfds_name_through_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        x, y = load_arrays("mnist", "test")
        assert x.shape == (12, 28, 28, 1) and x.dtype == np.uint8
        assert y.shape == (12,) and y.dtype == np.int64 and 0 <= y.min() <= y.max() < 10
        ds = load_images("mnist", batch_size=5, with_labels=True, limit=10)
        assert [tuple(x.shape) for x, _ in ds] == [(5, 28, 28, 1)] * 2


def test_tfds_that_cannot_download_points_at_local_files(monkeypatch):
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(RuntimeError, match=r"'mnist'.*\.npz.*idx.*data_dir") as info:
        load_arrays("mnist", data_dir="/nonexistent/tfds")
    assert isinstance(info.value.__cause__, ConnectionError)
