"""``keras-gen presets``: the presets that ship trained weights, from their model cards."""

import json

import pytest

from keras_gen import presets
from keras_gen.cli import main
from keras_gen.presets import registry

CARD = {
    "data": {"name": "mnist", "split": "train", "licence": "CC BY-SA 3.0"},
    "headline": "test NLL (k=5000) 86.9 nats",
}


@pytest.fixture
def no_trained_presets(monkeypatch):
    monkeypatch.setattr(presets, "trained_names", lambda: [])


@pytest.fixture
def trained_preset(tmp_path, monkeypatch):
    """A registered preset whose weights are a preset folder (an absolute path)."""
    model = presets.get("vae").build(image_shape=(28, 28, 1), latent_dim=2, hidden_units=(8,))
    folder = presets.save_to_preset(model, tmp_path / "vae", preset="vae", card=CARD)
    presets.names()  # discover the registry before adding to it
    preset = presets.Preset("tiny-vae-trained", "VAE", "a test preset", weights=str(folder))
    monkeypatch.setitem(registry._REGISTRY, preset.name, preset)
    return preset


def test_without_trained_presets_a_note_says_how_to_train_one(no_trained_presets, capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "keras-gen train NAME" in lines[0], lines
    assert main(["presets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_all_lists_the_configurations_without_weights(no_trained_presets, capsys):
    assert main(["presets", "--all"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["name", "model", "data", "size", "headline"]
    assert len(lines) == 1 + len(presets.names())
    vae = next(line for line in lines if line.startswith("vae "))
    assert vae.split() == ["vae", "VAE", "mnist_mini", "-", "-"]


def test_a_trained_preset_shows_its_card(trained_preset, capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    row = next(line for line in lines if line.startswith("tiny-vae-trained "))
    assert "VAE" in row and "mnist/train" in row and row.endswith(CARD["headline"])
    assert " kB " in row  # the size of the weights file
    assert main(["presets", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    record = records["tiny-vae-trained"]
    assert record["trained"] and record["model"] == "VAE" and record["data"] == CARD["data"]
    assert record["headline"] == CARD["headline"] and record["weights_bytes"] > 0
    card = presets.checkpoints.read_metadata(trained_preset.weights)
    assert record["weights_sha256"] == card["weights_sha256"]
