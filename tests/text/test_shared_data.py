"""The shared text data: found through $KERAS_GEN_DATA or --data-dir, or a one-line error."""

import json

import pytest

from keras_gen import presets
from keras_gen.cli import datasets, main
from keras_gen.text import loaders

COUPLETS = [("春风暖", "秋月明"), ("山高", "水长")] * 4


def _shared_folder(root):
    """A stand-in shared data folder holding the couplet-tagger preset's files."""
    for source in presets.get("couplet-tagger").data.source:
        path = root.joinpath(*source.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{a}\t=>\t{b}\n" for a, b in COUPLETS), encoding="utf-8")
    return root


@pytest.fixture
def no_checkout_data(monkeypatch, tmp_path):
    """As from an installed package: no ../shared/data beside it, no $KERAS_GEN_DATA."""
    monkeypatch.setattr(loaders, "SHARED_DATA", tmp_path / "site-packages" / "shared" / "data")
    monkeypatch.delenv(loaders.DATA_ENV, raising=False)


def test_environment_variable_locates_the_shared_folder(no_checkout_data, monkeypatch, tmp_path):
    shared = _shared_folder(tmp_path / "mine")
    monkeypatch.setenv("KERAS_GEN_DATA", str(shared))
    spec = presets.get("couplet-tagger").data
    paths = datasets.text_paths(spec, None)
    assert paths and all(p.is_file() and shared in p.parents for p in paths)
    assert loaders.shared_data_dir() == shared


def test_data_dir_wins_over_the_environment(no_checkout_data, monkeypatch, tmp_path):
    shared = _shared_folder(tmp_path / "given")
    monkeypatch.setenv("KERAS_GEN_DATA", str(tmp_path / "elsewhere"))
    spec = presets.get("couplet-tagger").data
    assert all(shared in p.parents for p in datasets.text_paths(spec, None, str(shared)))


def test_train_text_preset_from_the_environment_folder(
    no_checkout_data, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("KERAS_GEN_DATA", str(_shared_folder(tmp_path / "data")))
    out = tmp_path / "run"
    argv = ["train", "couplet-tagger", "--epochs", "1", "--batch-size", "8"]
    assert main([*argv, "--precision", "float32", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["num_examples"] == 7 * len(COUPLETS)
    assert all(p.startswith(str(tmp_path / "data")) for p in metrics["data"])


def test_train_with_data_dir_flag(no_checkout_data, tmp_path):
    shared = _shared_folder(tmp_path / "flag")
    argv = ["train", "couplet-tagger", "--epochs", "1", "--batch-size", "8", "--limit", "4"]
    argv += ["--precision", "float32", "--data-dir", str(shared), "--out", str(tmp_path / "r")]
    assert main(argv) == 0


def test_missing_shared_data_says_what_to_set_in_one_line(no_checkout_data, tmp_path, capsys):
    assert main(["train", "couplet-tagger", "--out", str(tmp_path / "run")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-gen: error: "), lines
    line = lines[0]
    assert "couplets/zijianzhao/" in line and "not found" in line
    assert "KERAS_GEN_DATA=DIR" in line and "--data-dir DIR" in line and "--data" in line
    assert "ZiJianZhao/Couplet-Machine" in line  # where the data comes from
    assert "$KERAS_GEN_DATA is not set" in line


def test_missing_file_under_the_environment_folder_names_it(
    no_checkout_data, monkeypatch, tmp_path
):
    monkeypatch.setenv("KERAS_GEN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"ptb/ptb\.train\.txt\.gz.*from \$KERAS_GEN_DATA"):
        loaders.shared_path("ptb", "ptb.train.txt.gz")
