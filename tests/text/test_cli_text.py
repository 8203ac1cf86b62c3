"""The text commands of the CLI: train a couplet tagger, generate, clear errors."""

import json

import keras
import numpy as np

from keras_gen import zoo
from keras_gen.cli import main
from keras_gen.text import TextVocabulary


def test_train_couplet_tagger_then_generate(tmp_path, capsys):
    data = tmp_path / "couplets.txt"
    data.write_text(
        "".join(f"{a}\t=>\t{b}\n" for a, b in [("春风暖", "秋月明"), ("山高", "水长")] * 8),
        encoding="utf-8",
    )
    out = tmp_path / "run"
    args = ["train", "couplet-tagger", "--data", str(data), "--epochs", "1", "--out", str(out)]
    assert main([*args, "--batch-size", "8"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model_class"] == "CoupletTagger" and metrics["num_examples"] == 16
    assert main(args) == 2  # the run directory is taken
    assert "already exists" in capsys.readouterr().err
    assert main(["generate", str(out / "model.keras"), "--text", "春风暖", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["春风暖"]) == 3 and all(a != b for a, b in zip("春风暖", result["春风暖"]))


def test_generate_from_a_text_vae_and_clear_errors(tmp_path, capsys):
    sentences = ["the cat sat", "a dog ran", "the dog sat down"]
    vocab = TextVocabulary.build(sentences, level="word")
    vae = zoo.TextVAE(vocab, latent_dim=2, embedding_dim=4, hidden_dim=4, seed=0)
    path = tmp_path / "vae.keras"
    vae.save(path)
    assert main(["generate", str(path), "--n", "2", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert (
        main(["generate", str(path), "--text", "the cat", "--text", "a dog", "--steps", "3"]) == 0
    )
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main(["generate", str(tmp_path / "missing.keras"), "--text", "x"]) == 2
    assert "no such model file" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_bytes("春风\t=>\t秋月\n".encode("gbk"))
    assert main(["train", "couplet-tagger", "--data", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "is not UTF-8" in capsys.readouterr().err
    assert main(["train", "no-such-model"]) == 2
    keras.backend.clear_session()


def test_train_title_seq2seq_copies_with_its_own_learning_rate(tmp_path, capsys):
    data = tmp_path / "titles.tsv"
    pairs = [("春风暖", "今天春风很暖和大家出门"), ("山高水长", "这里山高水长风景很好")] * 8
    data.write_text("".join(f"{t}\t{b}\n" for t, b in pairs), encoding="utf-8")
    base = ["train", "title-seq2seq", "--data", str(data), "--epochs", "1", "--batch-size", "8"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    model = keras.saving.load_model(tmp_path / "a" / "model.keras")
    assert model.copy  # the pointer-generator, for the few-thousand-pair title data
    assert model.optimizer.learning_rate.numpy() == np.float32(5e-3)
    assert model.optimizer.global_clipnorm == 1.0
    assert main([*base, "--out", str(tmp_path / "b"), "--lr", "1e-3"]) == 0
    model = keras.saving.load_model(tmp_path / "b" / "model.keras")
    assert model.optimizer.learning_rate.numpy() == np.float32(1e-3)  # --lr wins
    capsys.readouterr()
    path = str(tmp_path / "a" / "model.keras")
    assert main(["generate", path, "--text", "今天春风很暖和", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["今天春风很暖和"]
    keras.backend.clear_session()
