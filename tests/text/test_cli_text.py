"""The CLI with text presets: train (the same run rules as images), generate, clear errors."""

import json

import keras
import numpy as np
import pytest

from keras_gen import presets, zoo
from keras_gen.cli import main
from keras_gen.text import TextVocabulary

COUPLETS = [("春风暖", "秋月明"), ("山高", "水长")] * 8
SENTENCES = ["the cat sat", "a dog ran", "the dog sat down", "a cat ran away"] * 4
# Small networks for the text presets trained below (the tagger and title-seq2seq at size).
SMALL = {
    "couplet-seq2seq": {"embedding_dim": 8, "hidden_dim": 8},
    "couplet-cvae": {"latent_dim": 2, "embedding_dim": 8, "filters": 8, "num_blocks": 1},
    "text-vae": {"latent_dim": 2, "embedding_dim": 8, "hidden_dim": 8},
}


def _one_error_line(capsys, *expected):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-gen: error: "), err
    for text in expected:
        assert text in err[0], err[0]


def _couplet_file(tmp_path):
    data = tmp_path / "couplets.txt"
    data.write_text("".join(f"{a}\t=>\t{b}\n" for a, b in COUPLETS), encoding="utf-8")
    return data


def _metrics(run):
    return json.loads((run / "metrics.json").read_text(encoding="utf-8"))


def test_the_cli_tests_train_every_text_preset():
    text = {p.name for p in presets.all_presets() if p.data.kind != "images"}
    assert text == {*SMALL, "couplet-tagger", "title-seq2seq"}, "a new preset: add it to SMALL"


def test_train_couplet_tagger_with_the_run_rules_then_generate(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "couplet-tagger", "--data", str(_couplet_file(tmp_path)), "--epochs", "1"]
    args += ["--batch-size", "8", "--precision", "float32", "--out", str(out)]
    assert main(args) == 0
    metrics = _metrics(out)
    assert metrics["model_class"] == "CoupletTagger" and metrics["num_examples"] == 16
    assert metrics["preset"]["name"] == "couplet-tagger"
    assert metrics["hyperparameters"]["learning_rates"] == {"optimizer": 1e-3}
    assert set(metrics["samples"]) == {"春风暖", "山高"}
    lines = (out / "samples.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[0] for line in lines] == ["春风暖", "山高"]
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model.keras", "samples.txt"]

    before = (out / "model.keras").read_bytes()
    assert main(args) == 2  # the run directory is taken
    _one_error_line(capsys, "model.keras already exists", "--resume", "--overwrite")
    assert (out / "model.keras").read_bytes() == before
    assert main([*args, "--resume", "--overwrite"]) == 2
    _one_error_line(capsys, "not allowed with argument")
    assert main([*args[:-1], str(tmp_path / "empty"), "--resume"]) == 2
    _one_error_line(capsys, "--resume", "no model.keras")
    other = ["train", "couplet-cvae", "--data", args[3], "--out", str(out), "--resume"]
    assert main(other) == 2
    _one_error_line(capsys, "'couplet-tagger' run, not 'couplet-cvae'")

    assert main([*args, "--resume"]) == 0  # one more epoch, same optimizer state
    metrics = _metrics(out)
    assert [e["epoch"] for e in metrics["history"]] == [1, 2]
    assert metrics["optimizer_iterations"] == 4
    assert [r["epochs"] for r in metrics["runs"]] == [[1, 1], [2, 2]]
    assert main([*args, "--overwrite"]) == 0
    metrics = _metrics(out)
    assert [e["epoch"] for e in metrics["history"]] == [1] and len(metrics["runs"]) == 1
    capsys.readouterr()

    assert main(["generate", str(out / "model.keras"), "--text", "春风暖", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["春风暖"]) == 3 and all(a != b for a, b in zip("春风暖", result["春风暖"]))
    assert (
        main(["generate", str(out / "model.keras"), "--text", "春风暖", "--beam-width", "2"]) == 2
    )
    _one_error_line(capsys, "--beam-width does not apply to a CoupletTagger")


@pytest.mark.parametrize("name", SMALL)
def test_every_text_preset_trains(name, tmp_path, shrink_preset, capsys):
    preset = shrink_preset(name, **SMALL[name])
    data = tmp_path / "sentences.txt"
    data.write_text("".join(f"{s}\n" for s in SENTENCES), encoding="utf-8")
    if preset.data.kind == "couplets":
        data = _couplet_file(tmp_path)
    out = tmp_path / name
    args = ["train", name, "--data", str(data), "--epochs", "1", "--batch-size", "8"]
    assert main([*args, "--seed", "0", "--precision", "float32", "--out", str(out)]) == 0
    metrics = _metrics(out)
    model = keras.saving.load_model(out / "model.keras")
    assert type(model).__name__ == preset.model and metrics["samples"]
    assert metrics["hyperparameters"]["learning_rates"] == preset.learning_rates()
    assert (out / "samples.txt").read_text(encoding="utf-8").strip()
    if preset.kl_warmup:  # the KL weight rises over that fraction of the run's 2 steps
        assert metrics["hyperparameters"]["kl_warmup_steps"] == 1
        assert metrics["history"][0]["beta"] == 1.0
    capsys.readouterr()
    path = str(out / "model.keras")
    if name == "text-vae":  # a text generator with a log-likelihood
        assert main(["evaluate", path, "--num-samples", "2", "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["num_examples"] == 16 and result["nll"]["mean_nats"] > 0
        assert main(["sample", path, "--n", "3"]) == 0
        assert capsys.readouterr().out.count("\n") == 3  # one a line (a sample may be empty)
    else:  # the options of each model's generate_from
        option = ["--num-samples", "2"] if name == "couplet-cvae" else ["--beam-width", "2"]
        assert main(["generate", path, "--text", "春风暖", *option, "--json"]) == 0
        outputs = json.loads(capsys.readouterr().out)["春风暖"]
        assert len(outputs) == 2 if name == "couplet-cvae" else isinstance(outputs, str)


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
    assert main(["generate", str(path), "--text", "the cat"]) == 2
    _one_error_line(capsys, "no --text (samples) or two (an interpolation)")
    assert main(["evaluate", str(path)]) == 2  # no metrics.json: the text format is unknown
    _one_error_line(capsys, "cannot tell the text format")
    assert main(["generate", str(tmp_path / "missing.keras"), "--text", "x"]) == 2
    _one_error_line(capsys, "no such model file")
    bad = tmp_path / "bad.txt"
    bad.write_bytes("春风\t=>\t秋月\n".encode("gbk"))
    assert main(["train", "couplet-tagger", "--data", str(bad), "--out", str(tmp_path / "r")]) == 2
    _one_error_line(capsys, "is not UTF-8")
    assert main(["train", "couplet-tagger", "--binarize", "dynamic"]) == 2
    _one_error_line(capsys, "--binarize is for images")
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
    assert _metrics(tmp_path / "a")["hyperparameters"]["learning_rates"] == {"optimizer": 5e-3}
    assert main([*base, "--out", str(tmp_path / "b"), "--lr", "1e-3"]) == 0
    model = keras.saving.load_model(tmp_path / "b" / "model.keras")
    assert model.optimizer.learning_rate.numpy() == np.float32(1e-3)  # --lr wins
    assert model.optimizer.global_clipnorm == 1.0  # the rest of the recipe stays
    capsys.readouterr()
    path = str(tmp_path / "a" / "model.keras")
    assert main(["generate", path, "--text", "今天春风很暖和", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["今天春风很暖和"]
    keras.backend.clear_session()
