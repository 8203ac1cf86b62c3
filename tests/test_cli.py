"""The keras-gen command line: train / sample / evaluate / models, run in-process with main()."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from keras_gen import cli
from keras_gen.callbacks import image_grid
from keras_gen.cli import MODELS, main

# Tiny settings: 256 images in batches of 64 is 4 optimizer steps an epoch.
TINY = ["--epochs", "1", "--latent-dim", "2", "--limit", "256", "--batch-size", "64", "--seed", "0"]


def _train(out, model="vae", *extra):
    return main(["train", model, *TINY, "--out", str(out), *extra])


def _metrics(run):
    return json.loads((Path(run) / "metrics.json").read_text())


def _one_error_line(capsys, *expected):
    """The captured stderr is one 'keras-gen: error: ...' line that mentions ``expected``."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keras-gen: error: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    """One tiny VAE run, shared read-only: tests that change a run copy it first."""
    out = tmp_path_factory.mktemp("cli") / "vae"
    assert _train(out) == 0
    return out


@pytest.fixture
def run_copy(vae_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(vae_run, out)
    return out


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


# --- train -----------------------------------------------------------------------------


def test_train_writes_model_metrics_and_samples(vae_run):
    assert (vae_run / "model.keras").is_file()
    metrics = _metrics(vae_run)
    assert metrics["model"] == "vae"
    assert metrics["args"]["epochs"] == 1 and metrics["args"]["latent_dim"] == 2
    assert [e["epoch"] for e in metrics["history"]] == [1]
    assert {"loss", "reconstruction", "kl"} <= set(metrics["history"][0])
    assert set(metrics["test"]) == {"loss", "reconstruction", "kl"}
    assert all(np.isfinite(v) for v in metrics["test"].values())
    assert metrics["precision"] in ("float32", "mixed_bfloat16", "mixed_float16")
    assert metrics["num_replicas"] == 1
    assert metrics["optimizer_iterations"] == 4
    assert metrics["wall_time_s"] > 0
    assert {"keras", "tensorflow"} <= set(metrics["versions"])
    pngs = {p.name for p in (vae_run / "samples").glob("*.png")}
    assert {"samples_epoch_001.png", "samples_final.png", "reconstructions_final.png"} <= pngs
    # Nothing temporary left next to the results.
    assert sorted(p.name for p in vae_run.iterdir()) == ["metrics.json", "model.keras", "samples"]


def test_refuses_a_directory_that_holds_a_model(vae_run, capsys):
    before = (vae_run / "model.keras").read_bytes()
    assert _train(vae_run) == 2
    _one_error_line(capsys, "model.keras already exists", "--resume", "--overwrite")
    assert (vae_run / "model.keras").read_bytes() == before


def test_resume_continues_history_and_optimizer(run_copy, capsys):
    assert _train(run_copy, "vae", "--resume") == 0
    metrics = _metrics(run_copy)
    assert [e["epoch"] for e in metrics["history"]] == [1, 2]
    assert metrics["optimizer_iterations"] == 8
    assert [r["epochs"] for r in metrics["runs"]] == [[1, 1], [2, 2]]
    model = keras.saving.load_model(run_copy / "model.keras")
    assert int(model.optimizer.iterations.numpy()) == 8
    assert "after epoch 2" in capsys.readouterr().out


def test_resume_without_a_model(tmp_path, capsys):
    assert _train(tmp_path / "empty", "vae", "--resume") == 2
    _one_error_line(capsys, "--resume", "no model.keras")


def test_resume_refuses_another_latent_dim(run_copy, capsys):
    args = ["train", "vae", "--resume", "--latent-dim", "3", "--limit", "64", "--out"]
    assert main([*args, str(run_copy)]) == 2
    _one_error_line(capsys, "latent_dim 2", "--latent-dim 3")


def test_overwrite_starts_again(run_copy):
    stale = _metrics(run_copy)
    stale["history"] *= 3  # pretend three epochs were trained before
    (run_copy / "metrics.json").write_text(json.dumps(stale))
    assert _train(run_copy, "vae", "--overwrite") == 0
    metrics = _metrics(run_copy)
    assert [e["epoch"] for e in metrics["history"]] == [1]
    assert len(metrics["runs"]) == 1 and metrics["optimizer_iterations"] == 4


def test_resume_and_overwrite_exclude_each_other(tmp_path, capsys):
    assert _train(tmp_path, "vae", "--resume", "--overwrite") == 2
    _one_error_line(capsys, "not allowed with argument")


def test_a_failed_save_keeps_the_previous_model(run_copy, monkeypatch, capsys):
    before = {name: (run_copy / name).read_bytes() for name in ("model.keras", "metrics.json")}

    def broken_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device", str(filepath))

    monkeypatch.setattr(keras.Model, "save", broken_save)
    assert _train(run_copy, "vae", "--overwrite") == 2
    _one_error_line(capsys, "No space left on device")
    for name, content in before.items():
        assert (run_copy / name).read_bytes() == content, name
    assert sorted(p.name for p in run_copy.iterdir()) == ["metrics.json", "model.keras", "samples"]


@pytest.mark.parametrize("name", [m for m in MODELS if m not in ("vae", "cvae")])
def test_every_model_trains(name, tmp_path):
    out = tmp_path / name
    args = ["train", name, "--epochs", "1", "--latent-dim", "2", "--limit", "128"]
    assert main([*args, "--batch-size", "64", "--out", str(out)]) == 0
    metrics = _metrics(out)
    model = keras.saving.load_model(out / "model.keras")
    assert set(metrics["test"]) == set(model.term_names)
    assert (out / "samples" / "samples_final.png").is_file()


def test_mirrored_strategy(tmp_path):
    args = ["--distribute", "mirrored", "--precision", "float32", "--limit", "128"]
    assert _train(tmp_path / "m", "vae", *args) == 0
    metrics = _metrics(tmp_path / "m")
    assert metrics["num_replicas"] == 2  # the two logical CPUs of conftest.py
    assert metrics["precision"] == "float32"


# --- sample ----------------------------------------------------------------------------


def test_sample_writes_a_grid(vae_run, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", str(vae_run / "model.keras"), "--n", "10", "--out", str(out)]) == 0
    height, width, _ = image_grid(np.zeros((10, 28, 28, 1))).shape
    with Image.open(out) as img:
        assert img.size == (width, height)
    assert str(out) in capsys.readouterr().out


def test_sample_label_of_an_unconditional_model(vae_run, tmp_path, capsys):
    args = ["sample", str(vae_run / "model.keras"), "--label", "3", "--out"]
    assert main([*args, str(tmp_path / "g.png")]) == 2
    _one_error_line(capsys, "--label", "class-conditional")


def test_sample_a_class_of_a_cvae(tmp_path):
    assert _train(tmp_path / "cvae", "cvae") == 0
    out = tmp_path / "threes.png"
    args = ["sample", str(tmp_path / "cvae" / "model.keras"), "--label", "3", "--n", "4"]
    assert main([*args, "--out", str(out)]) == 0
    assert out.is_file()
    metrics = _metrics(tmp_path / "cvae")
    assert metrics["num_classes"] == 10
    assert set(metrics["test"]) == {"loss", "reconstruction", "kl"}


# --- evaluate --------------------------------------------------------------------------


def test_evaluate_prints_terms_and_nll(vae_run, capsys):
    model = str(vae_run / "model.keras")
    assert main(["evaluate", model, "--limit", "64", "--num-samples", "4"]) == 0
    out = capsys.readouterr().out
    for term in ("loss", "reconstruction", "kl"):
        assert term in out
    assert "NLL" in out and "k=4" in out and "N=64" in out

    assert main(["evaluate", model, "--limit", "64", "--num-samples", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["terms"]) == {"loss", "reconstruction", "kl"}
    assert result["data"] == "mnist_mini" and result["split"] == "test"
    assert result["binarize"] == "dynamic"  # as in training, read from metrics.json
    nll = result["nll"]
    assert nll["num_samples"] == 4 and nll["num_examples"] == 64
    # The importance-sampled bound is no looser than the one-sample ELBO on average.
    assert 0 < nll["mean_nats"] < result["terms"]["loss"] + 3 * nll["std_error"] + 1


# --- errors: one line on stderr, exit status 2 -------------------------------------------


def test_models_lists_every_name(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    from keras_gen.cli_text import TEXT_MODELS

    assert all(name in out for name in [*MODELS, *TEXT_MODELS])
    assert len(out.strip().splitlines()) == len(MODELS) + len(TEXT_MODELS)


def test_unknown_model(capsys):
    assert main(["train", "gan-of-doom"]) == 2
    _one_error_line(capsys, "'gan-of-doom'", "vae", "linear-autoencoder")


def test_unknown_data_name(tmp_path, capsys):
    assert _train(tmp_path / "r", "vae", "--data", "no_such_dataset_xyz") == 2
    _one_error_line(capsys, "no_such_dataset_xyz")


def test_missing_data_path(tmp_path, capsys):
    assert _train(tmp_path / "r", "vae", "--data", str(tmp_path / "missing.npz")) == 2
    _one_error_line(capsys, "missing.npz")


def test_missing_model_file(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope.keras")]) == 2
    _one_error_line(capsys, "nope.keras")


def test_wrong_image_shape(vae_run, tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    cifar = _npz(tmp_path / "cifar.npz", x_test=x, y_test=np.arange(4))
    assert main(["evaluate", str(vae_run / "model.keras"), "--data", cifar]) == 2
    _one_error_line(capsys, "(32, 32, 3)", "(28, 28, 1)")


def test_nan_in_the_data(tmp_path, capsys):
    x = np.full((8, 28, 28), 0.5, np.float32)
    x[3, 4, 5] = np.nan
    data = _npz(tmp_path / "nan.npz", x_train=x, y_train=np.arange(8))
    assert _train(tmp_path / "r", "vae", "--data", data) == 2
    _one_error_line(capsys, "NaN")
    assert not (tmp_path / "r" / "model.keras").exists()


def test_bad_option_value(capsys):
    assert main(["train", "vae", "--epochs", "0"]) == 2
    _one_error_line(capsys, "--epochs", "positive integer")


def test_atomic_save_removes_its_temporary_file(tmp_path):
    class Broken:
        def save(self, filepath):
            Path(filepath).write_bytes(b"partial")
            raise RuntimeError("crash mid-save")

    (tmp_path / "model.keras").write_bytes(b"good")
    with pytest.raises(RuntimeError):
        cli.save_model_atomic(Broken(), tmp_path / "model.keras")
    assert (tmp_path / "model.keras").read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_console_script_error_path(tmp_path):
    """The real entry point, in a subprocess: unknown model, one error line, status 2."""
    result = subprocess.run(
        [sys.executable, "-m", "keras_gen.cli", "train", "nope", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # TensorFlow may log its own start-up lines first; ours is exactly one line, the last.
    ours = [line for line in result.stderr.splitlines() if line.startswith("keras-gen")]
    assert ours == [result.stderr.strip().splitlines()[-1]]
    assert ours[0].startswith("keras-gen: error: unknown model 'nope'")
