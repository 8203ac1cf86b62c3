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

from keras_gen import presets
from keras_gen.callbacks import image_grid
from keras_gen.cli import main
from keras_gen.io import save_model_atomic

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


# Small networks for the image presets that the tests train end to end.
SMALL = {
    "conv-vae": {"hidden_units": (32,), "filters": (8, 16)},
    "autoencoder": {"hidden_units": (32,)},
    "conv-autoencoder": {"hidden_units": (32,), "filters": (8, 16)},
    "denoising-autoencoder": {"hidden_units": (32,)},
    "contractive-autoencoder": {"hidden_units": (32,)},
    "linear-autoencoder": {},
    "aae": {"hidden_units": (32,), "discriminator_units": (16,)},
    "ali": {"filters": (8, 16)},
    **{name: {"filters": (8, 16)} for name in ("dcgan", "dcgan-ns", "dcgan-hinge-sn")},
    "conditional-gan": {"filters": (8, 16)},
}
QUICK = ["--epochs", "1", "--limit", "64", "--batch-size", "32", "--precision", "float32"]


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


# --- train -----------------------------------------------------------------------------


def test_train_writes_model_metrics_and_samples(vae_run):
    assert (vae_run / "model.keras").is_file()
    metrics = _metrics(vae_run)
    assert metrics["model"] == "vae" and metrics["preset"] == presets.get("vae").to_dict()
    used = metrics["hyperparameters"]
    assert used["epochs"] == 1 and used["batch_size"] == 64 and used["config"]["latent_dim"] == 2
    assert used["learning_rates"] == {"optimizer": 1e-3}  # the recipe's: --lr was not given
    assert metrics["args"]["lr"] is None and metrics["binarize"] == "dynamic"
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
    assert "samples/samples_final.png" in metrics["samples"]
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


def test_models_lists_every_preset_of_the_registry(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == presets.names()
    for line, preset in zip(lines, presets.all_presets()):
        assert line.endswith(preset.description)


def test_the_cli_tests_train_every_image_preset():
    # The trained presets' configurations (vae_mnist, ...: full data sets, long budgets)
    # build the same classes; tests/presets/test_shipped.py loads their weights.
    images = {
        p.name
        for p in presets.all_presets()
        if p.data.kind == "images" and p.data.source == "mnist_mini"
    }
    # vae: vae_run; cvae, vqvae: below. wgan-gp takes dcgan's path through the CLI (the
    # same class; its recipe is tested with the GANs) at four times the tracing time.
    assert images == {*SMALL, "vae", "cvae", "vqvae", "wgan-gp"}, "a new preset: add it to SMALL"


def _train_small(name, out, shrink_preset, *extra):
    """Train a small ``name`` on 64 images; check what every run writes; its metrics."""
    preset = shrink_preset(name, **SMALL[name])
    assert main(["train", name, *QUICK, "--out", str(out), *extra]) == 0
    metrics = _metrics(out)
    model = keras.saving.load_model(out / "model.keras")
    assert type(model).__name__ == preset.model == metrics["model_class"]
    assert set(metrics["test"]) == set(model.term_names)
    assert (out / "samples" / "samples_final.png").is_file()
    if "--lr" not in extra:  # the recipe's learning rates, not a default of the CLI
        assert metrics["hyperparameters"]["learning_rates"] == preset.learning_rates()
    return metrics


TRAINED_BELOW = ("dcgan", "dcgan-hinge-sn")


@pytest.mark.parametrize("name", [n for n in SMALL if n not in TRAINED_BELOW])
def test_every_image_preset_trains(name, tmp_path, shrink_preset):
    extra = ["--latent-dim", "4"] if presets.get(name).accepts("latent_dim") else []
    metrics = _train_small(name, tmp_path / name, shrink_preset, *extra)
    assert metrics["hyperparameters"]["config"]["latent_dim"] == 4


def test_train_dcgan_is_the_r1_recipe_with_an_ema_generator(tmp_path, shrink_preset):
    out = tmp_path / "dcgan"
    metrics = _train_small("dcgan", out, shrink_preset)
    recipe = metrics["hyperparameters"]["recipe"]
    assert recipe["loss"] == "non_saturating" and recipe["r1_penalty"] == 10.0
    assert recipe["g_optimizer"]["class"] == "EMA"
    assert "r1" in metrics["history"][0] and "r1" in metrics["test"]
    assert metrics["hyperparameters"]["learning_rates"] == {
        "g_optimizer": 2e-4,
        "d_optimizer": 2e-4,
    }
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out / "model.keras"), "--n", "4", "--out", str(grid)]) == 0
    assert grid.is_file()


def test_lr_replaces_every_learning_rate_of_the_recipe(tmp_path, shrink_preset):
    # Its recipe has two rates, 1e-4 and 4e-4.
    used = _train_small("dcgan-hinge-sn", tmp_path / "sn", shrink_preset, "--lr", "5e-4")[
        "hyperparameters"
    ]
    assert used["learning_rates"] == {"g_optimizer": 5e-4, "d_optimizer": 5e-4}
    assert used["recipe"]["d_optimizer"]["learning_rate"] == 5e-4


def test_train_vqvae_with_its_prior_then_sample(tmp_path, shrink_preset, capsys):
    prior = dict(presets.get("vqvae").stages["prior"])
    prior["config"] = {"channels": 8, "num_layers": 2, "head_channels": 8}
    shrink_preset(
        "vqvae",
        stages={"prior": prior},
        num_embeddings=16,
        embedding_dim=4,
        hidden_channels=8,
        residual_channels=4,
        num_residual_layers=1,
    )
    out = tmp_path / "vqvae"
    assert main(["train", "vqvae", *QUICK, "--out", str(out)]) == 0
    metrics = _metrics(out)
    stage = metrics["stages"]["prior"]
    assert stage["model_class"] == "PixelCNN" and [e["epoch"] for e in stage["history"]] == [1]
    assert stage["test"]["prior_test_bits_per_code"] > 0
    assert metrics["hyperparameters"]["stages"]["prior"]["learning_rates"] == {"optimizer": 1e-3}
    assert (out / "samples" / "samples_final.png").is_file()
    model = keras.saving.load_model(out / "model.keras")
    assert type(model.prior).__name__ == "PixelCNN"  # the prior travels in the file
    grid = tmp_path / "vq.png"
    assert main(["sample", str(out / "model.keras"), "--n", "4", "--out", str(grid)]) == 0
    assert grid.is_file() and str(grid) in capsys.readouterr().out
    # The deprecated subcommand is `train vqvae`; its errors are the same one line.
    assert main(["vqvae", "--data", "no_such_set_xyz", "--out", str(tmp_path / "x")]) == 2
    assert "no_such_set_xyz" in capsys.readouterr().err


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


def test_sample_from_a_trained_preset_folder(vae_run, tmp_path, capsys):
    model = keras.saving.load_model(vae_run / "model.keras")
    folder = model.save_to_preset(tmp_path / "preset", preset="vae")
    out = tmp_path / "grid.png"
    assert main(["sample", str(folder), "--n", "4", "--out", str(out)]) == 0
    assert out.is_file()
    assert main(["sample", "wgan-gp", "--out", str(out)]) == 2  # registered, not trained
    _one_error_line(capsys, "ships no trained weights")


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
    assert (
        metrics["num_classes"] == 10 and metrics["hyperparameters"]["config"]["num_classes"] == 10
    )
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
        save_model_atomic(Broken(), tmp_path / "model.keras")
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
