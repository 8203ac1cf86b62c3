"""``keras-gen finetune``: a trained preset trained further, as an ordinary run folder."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_gen import presets
from keras_gen.cli import main
from keras_gen.cli.finetune import _optimizer_variables, finetune_recipe, patterns_by_optimizer
from keras_gen.text import TextVocabulary

# 256 images in batches of 64: 4 optimizer steps an epoch.
TINY = ["--epochs", "1", "--limit", "256", "--batch-size", "64", "--precision", "float32"]
TINY += ["--seed", "0"]


def _metrics(run):
    return json.loads((Path(run) / "metrics.json").read_text(encoding="utf-8"))


def _one_error_line(capsys, *expected):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-gen: error: "), err
    for text in expected:
        assert text in err[0], err[0]


def _weights(model) -> dict:
    return {v.path: np.array(v) for v in model.trainable_variables}


@pytest.fixture(scope="module")
def vae_preset(tmp_path_factory):
    """A tiny trained-looking VAE preset folder (random weights, the 'vae' recipe)."""
    model = presets.get("vae").build(image_shape=(28, 28, 1), latent_dim=2, hidden_units=(32,))
    return presets.save_to_preset(model, tmp_path_factory.mktemp("presets") / "vae", preset="vae")


def _finetune(source, out, *extra):
    return main(["finetune", str(source), "--data", "mnist_mini", *TINY, "--out", str(out), *extra])


def test_finetune_freezes_the_encoder_then_resumes_as_a_run(vae_preset, tmp_path, capsys):
    out = tmp_path / "run"
    extra = ["--freeze", "^encoder/", "--lr-multiplier", "^decoder/=0.5"]
    assert _finetune(vae_preset, out, *extra) == 0
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model.keras", "samples"]
    before = _weights(presets.load(vae_preset, compile=False))
    after = _weights(keras.saving.load_model(out / "model.keras"))
    encoder = [p for p in before if p.startswith("encoder/")]
    assert encoder and all(np.array_equal(before[p], after[p]) for p in encoder)
    assert all(not np.array_equal(before[p], after[p]) for p in before if p not in encoder)

    metrics = _metrics(out)
    sha = json.loads((vae_preset / "metadata.json").read_text())["weights_sha256"]
    assert metrics["finetuned_from"] == {"source": str(vae_preset), "weights_sha256": sha,
                                         "preset": "vae"}  # fmt: skip
    assert metrics["finetune"]["frozen"] == ["^encoder/"]
    assert metrics["finetune"]["lr_multipliers"] == [["^decoder/", 0.5]]
    # a tenth of the recipe's peak
    assert metrics["finetune"]["learning_rates"] == {"optimizer": 1e-4}
    spec = metrics["hyperparameters"]["recipe"]["optimizer"]
    assert spec["class"] == "LRMultiplier" and spec["optimizer"]["learning_rate"] == 1e-4
    assert metrics["model"] == "vae" and metrics["optimizer_iterations"] == 4

    # An ordinary run: sample from it, resume it with keras-gen train.
    grid = ["--n", "4", "--out", str(tmp_path / "g.png")]
    assert main(["sample", str(out / "model.keras"), *grid]) == 0
    assert main(["train", "vae", "--resume", "--out", str(out), "--data", "mnist_mini", *TINY]) == 0
    metrics = _metrics(out)
    assert [e["epoch"] for e in metrics["history"]] == [1, 2]
    assert metrics["optimizer_iterations"] == 8
    assert metrics["finetuned_from"]["weights_sha256"] == sha  # kept by the resumed run
    assert metrics["hyperparameters"]["recipe"]["optimizer"]["class"] == "LRMultiplier"
    resumed = _weights(keras.saving.load_model(out / "model.keras"))
    assert all(np.array_equal(before[p], resumed[p]) for p in encoder)
    capsys.readouterr()


def test_lr_is_a_constant_rate_even_for_a_scheduled_recipe(tmp_path, capsys):
    model = presets.get("vae_mnist").build(image_shape=(28, 28, 1), hidden_units=(16,))
    folder = presets.save_to_preset(model, tmp_path / "p", preset="vae_mnist")
    assert _finetune(folder, tmp_path / "run", "--lr", "1e-4") == 0
    metrics = _metrics(tmp_path / "run")
    assert metrics["hyperparameters"]["recipe"]["optimizer"]["learning_rate"] == 1e-4
    assert metrics["hyperparameters"]["learning_rates"] == {"optimizer": 1e-4}
    assert "beta" not in metrics["history"][0]  # no KL warm-up for a trained model
    capsys.readouterr()


def test_a_text_preset_keeps_its_vocabulary_and_reports_the_oov_rate(tmp_path, capsys):
    vocab = TextVocabulary.build(["春风暖", "秋月明"])
    preset = presets.get("couplet-tagger")
    small = {"embedding_dim": 8, "filters": 8, "num_blocks": 1}
    model = preset.build(vocabulary=vocab, **small)
    folder = presets.save_to_preset(model, tmp_path / "p", preset="couplet-tagger")
    data = tmp_path / "couplets.txt"  # 10 characters, 山高水长 unseen
    data.write_text("春风暖\t=>\t秋月明\n山高\t=>\t水长\n", encoding="utf-8")
    out = tmp_path / "run"
    args = ["finetune", str(folder), "--data", str(data), "--epochs", "1", "--out", str(out)]
    assert main([*args, "--precision", "float32", "--batch-size", "2"]) == 0
    assert "OOV rate of the fine-tuning data: 40.0% of 10 tokens" in capsys.readouterr().out
    oov = _metrics(out)["finetune"]["oov"]
    assert oov == {"rate": 0.4, "unknown": 4, "tokens": 10}
    assert keras.saving.load_model(out / "model.keras").vocab.tokens == vocab.tokens
    assert main(["generate", str(out / "model.keras"), "--text", "春风暖"]) == 0
    capsys.readouterr()


def test_a_gan_gets_a_multiplier_per_optimizer_inside_its_ema():
    preset = presets.get("dcgan")
    model = preset.build(image_shape=(28, 28, 1), filters=(8, 16))
    keys = ["g_optimizer", "d_optimizer"]
    multipliers = [("^generator/generator_output", 0.0), ("^discriminator/", 0.5)]
    by_key = patterns_by_optimizer(_optimizer_variables(model, keys), multipliers, "the DCGAN")
    assert by_key == {
        "g_optimizer": [["^generator/generator_output", 0.0]],
        "d_optimizer": [["^discriminator/", 0.5]],
    }
    recipe = finetune_recipe(preset, {"g_optimizer": 1e-4, "d_optimizer": 2e-4}, by_key)
    g, d = recipe["g_optimizer"], recipe["d_optimizer"]
    assert g["class"] == "EMA" and g["optimizer"]["class"] == "LRMultiplier"
    assert g["optimizer"]["optimizer"] == {"class": "Adam", "learning_rate": 1e-4, "beta_1": 0.5}
    assert d["class"] == "LRMultiplier" and d["optimizer"]["learning_rate"] == 2e-4
    # Each wrapper is built on its player's variables without a "matches nothing" error.
    presets.Preset.from_dict({**preset.to_dict(), "recipe": recipe}).compile(model)
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype="float32")
    model.fit(x, epochs=1, batch_size=8, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 1


def test_errors_are_one_line_and_write_nothing(vae_preset, tmp_path, capsys):
    out = tmp_path / "run"
    assert _finetune(vae_preset, out, "--freeze", "^encoderr/") == 2
    _one_error_line(capsys, "'^encoderr/'", "encoder/encoder_dense_0/kernel")
    assert _finetune(tmp_path / "nope", out) == 2
    _one_error_line(capsys, "nope", "neither a preset name", "presets with trained weights")
    assert _finetune("vae", out) == 2
    _one_error_line(capsys, "ships no trained weights", "keras-gen train vae")
    x = np.zeros((16, 8, 8, 1), np.uint8)
    np.savez(tmp_path / "small.npz", x_train=x, x_test=x)
    args = ["finetune", str(vae_preset), "--data", str(tmp_path / "small.npz"), *TINY]
    assert main([*args, "--out", str(out)]) == 2
    _one_error_line(capsys, "(8, 8, 1)", "(28, 28, 1)")
    assert _finetune(vae_preset, out, "--lr-multiplier", "^decoder/") == 2
    _one_error_line(capsys, "PATTERN=FACTOR", "'^decoder/'")
    bare = tmp_path / "bare.keras"
    presets.load(vae_preset).save(bare)
    assert _finetune(bare, out) == 2
    _one_error_line(capsys, "without the metrics.json", "save_to_preset")
    assert not out.exists() or not (out / "model.keras").exists()


def test_a_registered_preset_with_weights_is_listed_and_fine_tunes(vae_preset, monkeypatch):
    from keras_gen.cli.finetune import resolve
    from keras_gen.presets import registry

    presets.names()  # discover the registry first
    trained = presets.Preset("tiny-vae-trained", "VAE", "a test preset", weights=str(vae_preset))
    monkeypatch.setitem(registry._REGISTRY, trained.name, trained)  # absolute: no assets/
    assert "tiny-vae-trained" in presets.trained_names()
    origin = resolve("tiny-vae-trained")
    assert origin.path == vae_preset and origin.preset is trained


def test_a_url_needs_its_sha256_and_resolves_to_the_downloaded_folder(
    vae_preset, tmp_path, monkeypatch, capsys
):
    import hashlib
    import tarfile

    from keras_gen.cli.finetune import resolve

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # the download cache
    archive = tmp_path / "vae.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(vae_preset, arcname="vae")
    url = archive.as_uri()
    assert _finetune(url, tmp_path / "run") == 2
    _one_error_line(capsys, "--sha256", url)
    origin = resolve(url, hashlib.sha256(archive.read_bytes()).hexdigest())
    assert (origin.path / "model.weights.h5").is_file() and origin.preset.name == "vae"
