"""`train --logdir` writes TensorBoard scalars; progress suits a terminal or a log file."""

import contextlib
import io
import json
import re
import shutil

import pytest

from keras_gen.callbacks import read_scalars
from keras_gen.cli import main
from keras_gen.cli.progress import LongEpochLines, StatusLine

TINY = ["--latent-dim", "2", "--limit", "256", "--batch-size", "64", "--seed", "0"]


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    """Two tiny VAE epochs with --logdir, and what they printed (stdout is not a terminal)."""
    root = tmp_path_factory.mktemp("logdir")
    out, logs = root / "run", root / "logs"
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture):
        code = main(
            ["train", "vae", *TINY, "--epochs", "2", "--out", str(out), "--logdir", str(logs)]
        )
    assert code == 0
    return out, logs, capture.getvalue()


def test_logdir_holds_the_loss_of_every_epoch(logged_run):
    out, logs, _ = logged_run
    scalars = read_scalars(logs / "train")
    history = json.loads((out / "metrics.json").read_text())["history"]
    losses = {step: value for step, tag, value in scalars if tag == "epoch_loss"}
    assert losses == pytest.approx({i: epoch["loss"] for i, epoch in enumerate(history)})
    tags = {tag for _, tag, _ in scalars}
    assert {"epoch_loss", "epoch_learning_rate"} <= tags
    assert any(tag.startswith("epoch_kl") for tag in tags), tags


def test_resumed_run_continues_the_steps(logged_run, tmp_path):
    out, logs, _ = logged_run
    run, run_logs = tmp_path / "run", tmp_path / "logs"
    shutil.copytree(out, run)
    shutil.copytree(logs, run_logs)
    argv = ["train", "vae", *TINY, "--epochs", "1", "--out", str(run), "--resume"]
    assert main([*argv, "--logdir", str(run_logs)]) == 0
    steps = sorted(s for s, tag, _ in read_scalars(run_logs / "train") if tag == "epoch_loss")
    assert steps == [0, 1, 2]


def test_without_logdir_no_event_files(tmp_path):
    assert main(["train", "vae", *TINY, "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    assert not list(tmp_path.rglob("events.out.tfevents.*"))


def test_log_output_has_one_line_per_epoch_and_no_carriage_returns(logged_run):
    *_, printed = logged_run
    assert "\r" not in printed and "\b" not in printed
    lines = printed.splitlines()
    assert [line for line in lines if line.startswith("Epoch ")] == ["Epoch 1/2", "Epoch 2/2"]
    epoch_lines = [line for line in lines if " - loss: " in line]
    assert len(epoch_lines) == 2, printed


def test_long_epochs_get_a_plain_line_each_interval():
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    out = io.StringIO()
    model.fit(
        np.ones((8, 2)),
        np.ones((8, 1)),
        batch_size=2,
        epochs=2,
        verbose=0,
        callbacks=[LongEpochLines(interval=0, stream=out)],
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 8 and "\r" not in out.getvalue()
    assert re.match(r"epoch 1: step 1/4 - \d+:\d\d - loss: \d", lines[0]), lines[0]
    assert lines[-1].startswith("epoch 2: step 4/4")
    # The default interval (a minute) prints nothing for short epochs.
    quiet = io.StringIO()
    model.fit(np.ones((8, 2)), np.ones((8, 1)), verbose=0, callbacks=[LongEpochLines(stream=quiet)])
    assert quiet.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_status_line_rewrites_itself_on_a_terminal_only():
    tty = _Terminal()
    line = StatusLine("NLL", "examples", tty)
    for done in (10, 50, 100):
        line.update(done, 100)
    assert tty.getvalue().startswith("\rNLL: 10/100 examples (10%)")
    assert tty.getvalue().endswith("\n") and tty.getvalue().count("\n") == 1

    log = io.StringIO()
    line = StatusLine("NLL", "examples", log)  # a line at most every 30 s, and the last
    for done in (10, 50, 100):
        line.update(done, 100)
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines() == [
        "NLL: 10/100 examples (10%), 0:00, about 0:00 left",
        "NLL: 100/100 examples (100%), 0:00",
    ]


def test_evaluate_reports_nll_progress_on_stderr_when_asked(logged_run, capsys):
    out, *_ = logged_run
    argv = ["evaluate", str(out / "model.keras"), "--num-samples", "3", "--limit", "40"]
    assert main([*argv, "--batch-size", "16", "--json"]) == 0
    quiet = capsys.readouterr()
    assert "NLL:" not in quiet.err  # stderr is not a terminal: no progress by default
    assert main([*argv, "--batch-size", "16", "--json", "--progress"]) == 0
    shown = capsys.readouterr()
    assert json.loads(shown.out)["nll"]["num_examples"] == 40  # stdout stays clean JSON
    assert "\r" not in shown.err
    assert "NLL: 40/40 examples (100%)" in shown.err
    assert "evaluate: reading the data" in shown.err
