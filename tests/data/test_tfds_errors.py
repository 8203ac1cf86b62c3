"""TFDS names: the real prepare path on local files, and errors that name the real cause."""

import numpy as np
import pytest
import tensorflow_datasets as tfds
import tiny_tfds  # noqa: F401 (registers keras_gen_tiny_digits)

from keras_gen.cli import main
from keras_gen.data import load_arrays


def test_tfds_real_prepare_path_on_local_files(tmp_path):
    # The same path as "mnist" on a fresh install: DatasetBuilder.code_path imports
    # importlib_resources, which TFDS does not declare (keras-gen's requirements do).
    x, y = load_arrays("keras_gen_tiny_digits", "train", data_dir=str(tmp_path))
    assert x.shape == (6, 8, 8, 1) and x.dtype == np.uint8
    assert sorted(x[:, 0, 0, 0].tolist()) == [0, 10, 20, 30, 40, 50]
    assert sorted(y.tolist()) == [0, 0, 0, 1, 1, 1]
    assert (tmp_path / "keras_gen_tiny_digits").is_dir()


def _failing_prepare(monkeypatch, err):
    def prepare(self, *args, **kwargs):
        raise err

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", prepare)


def test_missing_module_inside_tfds_is_named_not_blamed_on_the_network(monkeypatch):
    err = ModuleNotFoundError("No module named 'importlib_resources'", name="importlib_resources")
    _failing_prepare(monkeypatch, err)
    with pytest.raises(RuntimeError) as info:
        load_arrays("mnist", data_dir="/nonexistent/tfds")
    message = str(info.value)
    assert "No module named 'importlib_resources'" in message
    assert "pip install importlib-resources" in message
    assert "no network" not in message
    assert info.value.__cause__ is err


def test_missing_module_is_one_cli_error_line(monkeypatch, capsys):
    err = ModuleNotFoundError("No module named 'importlib_resources'", name="importlib_resources")
    _failing_prepare(monkeypatch, err)
    assert main(["train", "vae", "--data", "mnist", "--out", "/nonexistent/run"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-gen: error: "), lines
    assert "No module named 'importlib_resources'" in lines[0] and "no network" not in lines[0]


def test_network_errors_say_no_network_with_the_exception_text(monkeypatch):
    import requests

    cause = ConnectionError("Failed to resolve 'storage.googleapis.com'")
    err = requests.exceptions.ConnectionError("Max retries exceeded")
    err.__cause__ = cause
    _failing_prepare(monkeypatch, err)
    with pytest.raises(RuntimeError, match=r"'mnist'.*\.npz.*idx.*data_dir") as info:
        load_arrays("mnist", data_dir="/nonexistent/tfds")
    assert "no network? ConnectionError: Max retries exceeded" in str(info.value)


def test_other_failures_show_their_text(monkeypatch):
    _failing_prepare(monkeypatch, OSError(28, "No space left on device"))
    with pytest.raises(RuntimeError) as info:
        load_arrays("mnist", data_dir="/nonexistent/tfds")
    assert "No space left on device" in str(info.value)
    assert "no network" not in str(info.value)


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_data_dir_reaches_the_image_loader(command, monkeypatch, tmp_path, capsys):
    import keras_gen.data

    seen = []

    def load_images(source, split="train", *args, data_dir=None, **kwargs):
        seen.append((source, split, data_dir))
        raise RuntimeError("stop here")

    monkeypatch.setattr(keras_gen.data, "load_images", load_images)
    data_dir = str(tmp_path / "tfds")
    if command == "train":
        argv = ["train", "vae", "--out", str(tmp_path / "run")]
    else:
        from keras_gen.zoo import VAE

        model = VAE((28, 28, 1), latent_dim=2, hidden_units=(8,))
        model.save(tmp_path / "vae.keras")
        argv = ["evaluate", str(tmp_path / "vae.keras")]
    assert main([*argv, "--data", "mnist", "--data-dir", data_dir]) == 2
    assert "stop here" in capsys.readouterr().err
    assert seen and seen[0] == ("mnist", seen[0][1], data_dir)
