"""The parser, --help, --version and `keras-gen models` answer without importing TensorFlow."""

import argparse
import os
import re
import subprocess
import sys

import pytest

import keras_gen
from keras_gen.cli import build_parser, main
from keras_gen.cli.base import PRECISIONS, STRATEGIES

NO_TF = "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, sorted(sys.modules)"


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize(
    "argv",
    [["models"], ["--help"], ["train", "--help"], ["evaluate", "--help"], ["--version"]],
    ids=" ".join,
)
def test_light_commands_import_no_tensorflow(argv):
    result = _run(f"import sys; from keras_gen.cli import main; main({argv!r}); {NO_TF}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_the_registry_lists_every_preset_without_keras():
    result = _run(
        "import sys, keras_gen.cli; from keras_gen import presets; "
        f"print(len(presets.names())); print(presets.get('vae').model); {NO_TF}"
    )
    assert result.returncode == 0, result.stderr
    count, model = result.stdout.split()
    assert int(count) >= 10 and model == "VAE"


def test_python_m_keras_gen_cli_is_light_too():
    result = _run(
        "import runpy, sys; sys.argv = ['keras-gen', 'models']\n"
        "try:\n    runpy.run_module('keras_gen.cli', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exit:\n    assert exit.code == 0\n"
        f"{NO_TF}"
    )
    assert result.returncode == 0, result.stderr
    assert "vae" in result.stdout


@pytest.mark.parametrize(
    "first", ["import keras_gen; import keras", "import keras; import keras_gen"]
)
def test_import_keras_gen_still_registers_the_zoo_with_keras(first):
    # Outside the command line `import keras_gen` imports the package, so that
    # keras.saving.load_model finds the zoo's classes in a fresh process.
    result = _run(
        f"{first}; import sys; assert 'keras_gen.zoo' in sys.modules; "
        "assert keras.saving.get_registered_object('keras_gen>VAE') is not None; "
        "assert keras.saving.get_registered_object('keras_gen>EMA') is not None"
    )
    assert result.returncode == 0, result.stderr


def test_parser_choices_are_the_training_names():
    from keras_gen.training import distribute

    assert STRATEGIES == distribute.STRATEGIES
    assert PRECISIONS == distribute.PRECISIONS


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"keras-gen {keras_gen.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", keras_gen.__version__)


def _parsers():
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"keras-gen": parser, **commands.choices}


@pytest.mark.parametrize("name", sorted(_parsers()))
def test_help_shows_defaults_and_never_none(name):
    parser = _parsers()[name]
    text = " ".join(parser.format_help().split())
    assert "default: None" not in text
    for action in parser._actions:
        if not action.option_strings or action.help in (None, argparse.SUPPRESS):
            continue
        default = action.default
        if default not in (None, False, [], argparse.SUPPRESS):
            assert f"(default: {default})" in text, (name, action.option_strings)
