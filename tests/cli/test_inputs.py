"""The command line refuses bad input with one line and status 2: labels, learning rates,
temperatures, corrupt model files (issue 22)."""

import argparse
import os
import zipfile

import numpy as np
import pytest

from keras_gen import zoo
from keras_gen.cli import main
from keras_gen.cli.base import non_negative_float, positive_float
from keras_gen.cli.datasets import class_count
from keras_gen.data import load_arrays
from keras_gen.text import TextVocabulary

TINY = ["--epochs", "1", "--limit", "64", "--batch-size", "32", "--precision", "float32"]


def _one_error_line(capsys, *expected):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-gen: error: "), err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _labelled_npz(path, labels, split="train"):
    x, _ = load_arrays("mnist_mini", "train", limit=len(labels))
    np.savez(path, **{f"x_{split}": x, f"y_{split}": np.asarray(labels)})
    return str(path)


# --- labels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stray, expected",
    [
        (50000, ["must be the classes 0..K-1 with K <= 1000", "got 50000"]),
        (-3, ["must be >= 0", "got -3"]),
        (500, ["classes 10..499 have none", "the labels 500 follow"]),
    ],
    ids=["huge", "negative", "gap"],
)
def test_stray_labels_are_an_error_before_a_model_is_built(tmp_path, capsys, stray, expected):
    # 50000 used to build a 50001-class CVAE and stall; -3 trained as a zero one-hot row.
    labels = np.arange(64) % 10
    labels[5] = stray
    data = _labelled_npz(tmp_path / "d.npz", labels)
    assert main(["train", "cvae", "--data", data, *TINY, "--out", str(tmp_path / "r")]) == 2
    _one_error_line(capsys, "labels of", "d.npz", *expected)
    assert not (tmp_path / "r" / "model.keras").exists()


def test_class_count():
    assert class_count(np.array([2, 0, 1, 1]), "d") == 3
    with pytest.raises(Exception, match="class 0 has none, but the labels 1, 2 follow"):
        class_count(np.array([1, 2]), "d")


def test_evaluate_with_labels_the_model_does_not_know(tmp_path, capsys):
    data = _labelled_npz(tmp_path / "four.npz", np.arange(64) % 4)
    out = tmp_path / "cvae"
    args = ["train", "cvae", "--data", data, *TINY, "--latent-dim", "2", "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    test = _labelled_npz(tmp_path / "nine.npz", np.arange(32) % 9, split="test")
    assert main(["evaluate", str(out / "model.keras"), "--data", test, "--num-samples", "2"]) == 2
    _one_error_line(capsys, "CVAE: labels must be integers in [0, 4); got 4, 5, 6, 7, 8")


# --- learning rate, temperature -----------------------------------------------------------


@pytest.mark.parametrize("lr", ["inf", "nan", "0", "-1e-3", "fast"])
def test_lr_must_be_a_finite_positive_number(capsys, lr):
    # --lr inf used to train to NaN weights and save them, with status 0.
    assert main(["train", "vae", f"--lr={lr}"]) == 2
    _one_error_line(capsys, "--lr", "expected a positive number", repr(lr))


def test_number_argument_types():
    assert positive_float("1e-3") == 1e-3
    assert non_negative_float("0") == 0.0
    for bad in ("-1", "inf", "nan", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a number >= 0"):
            non_negative_float(bad)


def test_a_run_whose_loss_becomes_nan_fails_and_saves_nothing(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "vae", *TINY, "--lr", "1e30", "--out", str(out)]) == 2
    _one_error_line(capsys, "loss", "became")
    assert not (out / "model.keras").exists()


@pytest.mark.parametrize("temperature", ["-1", "inf"])
def test_generate_temperature_must_be_finite_and_not_negative(tmp_path, capsys, temperature):
    vocab = TextVocabulary.build(["the cat sat", "a dog ran"] * 4, level="word")
    path = tmp_path / "text.keras"
    zoo.TextVAE(vocab, latent_dim=2, embedding_dim=4, hidden_dim=4).save(path)
    assert main(["generate", str(path), "--temperature", temperature]) == 2
    _one_error_line(capsys, "temperature", ">= 0")


# --- corrupt model files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    zoo.VAE((28, 28, 1), latent_dim=2, hidden_units=(8,)).save(path)
    return path


def _rewrite(source, target, config=None, weights=None):
    """A copy of the .keras zip ``source`` with its config.json or weights changed."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "config.json" and config:
                data = config(data.decode()).encode()
            if item.filename.endswith(".h5") and weights:
                data = weights(data)
            new.writestr(item, data)
    return target


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("truncated", "is not a valid .keras file (truncated?)"),
        ("empty", "is not a valid .keras file (truncated?)"),
        ("random bytes", "is not a valid .keras file (truncated?)"),
        ("truncated weights", "is not a valid .keras file (truncated?)"),
        ("broken config", "is not a valid .keras file (truncated?)"),
        ("unknown class", "names the class 'NoSuchVAE', which keras-gen does not know"),
        ("unknown activation", "names the activation function 'no_such_fn', which keras-gen"),
    ],
)
def test_a_broken_model_file_is_one_line(model_file, tmp_path, capsys, kind, expected):
    # Keras said "File not found" for the first three (the file exists) and gave a
    # traceback with the whole config for an unknown class.
    path = tmp_path / "model.keras"
    data = model_file.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random bytes":
        path.write_bytes(os.urandom(3000))
    elif kind == "truncated weights":
        _rewrite(model_file, path, weights=lambda b: b[: len(b) // 2])
    elif kind == "broken config":
        _rewrite(model_file, path, config=lambda s: s[:40])
    elif kind == "unknown class":
        _rewrite(model_file, path, config=lambda s: s.replace("VAE", "NoSuchVAE"))
    else:
        _rewrite(model_file, path, config=lambda s: s.replace('"relu"', '"no_such_fn"'))
    assert main(["sample", str(path), "--out", str(tmp_path / "grid.png")]) == 2
    _one_error_line(capsys, str(path), expected)
    assert not (tmp_path / "grid.png").exists()
