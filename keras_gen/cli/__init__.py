"""The ``keras-gen`` command: list, train, sample from, evaluate and generate with the presets.

Every model is a preset of :mod:`keras_gen.presets`; the command keeps no table of its own::

    keras-gen models                                  # every preset, one line each
    keras-gen presets                                 # the presets with trained weights
    keras-gen train vae                               # mnist_mini, about a minute on a CPU
    keras-gen train dcgan --epochs 8 --out runs/dcgan # non-saturating + R1, EMA generator
    keras-gen train vqvae                             # the VQ-VAE, then its PixelCNN prior
    keras-gen train couplet-tagger                    # text: the shared couplet files
    keras-gen train conv-vae --data mnist --epochs 30 --lr 5e-4
    keras-gen train vae --resume --epochs 10          # 10 more epochs, same optimizer state
    keras-gen train vae --overwrite                   # start again in runs/vae
    keras-gen finetune vae_mnist --data my_digits --epochs 5 --freeze ^encoder/
    keras-gen sample runs/vqvae/model.keras --n 64 --out grid.png --seed 0
    keras-gen sample runs/cvae/model.keras --label 3
    keras-gen evaluate runs/vae/model.keras --num-samples 1000
    keras-gen generate runs/couplet-tagger/model.keras --text "春风得意马蹄疾"

``train`` writes ``DIR/model.keras``, ``DIR/metrics.json`` and samples (see
:mod:`keras_gen.cli.train`); ``finetune`` writes the same from a trained preset (see
:mod:`keras_gen.cli.finetune`). Errors in what the user gave (unknown names, missing
files, wrong image shapes, NaN data, an occupied run directory) print one line,
``keras-gen: error: ...``, and exit with status 2.

The same entry point runs in-process::

    >>> from keras_gen.cli import main
    >>> main(["models"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

import keras_gen
from keras_gen import presets
from keras_gen.cli.base import (
    PRECISIONS,
    PROG,
    STRATEGIES,
    CLIError,
    HelpFormatter,
    non_negative_float,
    positive_float,
    positive_int,
)
from keras_gen.cli.finetune_arguments import add_finetune_arguments

__all__ = ["CLIError", "build_parser", "main"]


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """``keras_gen.cli.<module>.<name>``, imported when the command runs: the parser,
    ``--help`` and ``keras-gen models`` do not import TensorFlow (seconds, 500 MB)."""

    def command(args: argparse.Namespace) -> int:
        # What `import keras_gen` does outside the command line: every class registered
        # with Keras, so that any .keras file of the zoo loads.
        for package in keras_gen.__all__:
            importlib.import_module(f"keras_gen.{package}")
        return getattr(importlib.import_module(f"keras_gen.cli.{module}"), name)(args)

    command.__name__ = command.__qualname__ = name
    return command


cmd_presets = _lazy("catalog", "cmd_presets")
cmd_evaluate = _lazy("evaluate", "cmd_evaluate")
cmd_finetune = _lazy("finetune", "cmd_finetune")
cmd_generate = _lazy("generate", "cmd_generate")
cmd_sample = _lazy("sample", "cmd_sample")
cmd_train = _lazy("train", "cmd_train")


def cmd_models(args: argparse.Namespace) -> int:
    """Print every preset of the registry with its one-line description."""
    names = presets.names()
    width = max(len(name) for name in names)
    for preset in presets.all_presets():
        print(f"{preset.name:<{width}}  {preset.description}")
    return 0


def _vqvae_alias(args: argparse.Namespace) -> int:
    print(f"{PROG}: 'vqvae' is deprecated; use '{PROG} train vqvae'", file=sys.stderr)
    return cmd_train(args)


# --- the parser ---------------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage is in --help), and every --help
    shows the defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        help="image data set name or path (default: the preset's, mnist_mini); text presets: "
        "comma-separated files in the preset's format (default: its shared data files)",
    )
    p.add_argument(
        "--epochs",
        type=positive_int,
        help="epochs of each stage, or epochs to add with --resume (default: the preset's)",
    )
    p.add_argument(
        "--batch-size", type=positive_int, help="global batch size (default: the preset's)"
    )
    p.add_argument(
        "--lr",
        type=positive_float,
        help="replaces every learning rate of the recipe (default: the recipe's rates)",
    )
    p.add_argument(
        "--latent-dim", type=positive_int, help="size of the code (default: the preset's)"
    )
    p.add_argument("--out", help="run directory (default: runs/NAME)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="dtype policy; auto: mixed_bfloat16 for conv models on a CPU with bfloat16 "
        "units (measured 2.2x faster), else float32",
    )
    p.add_argument(
        "--distribute", default="none", choices=STRATEGIES, help="tf.distribute strategy"
    )
    p.add_argument(
        "--seed", type=int, help="seed for weights, shuffling and noise (default: random)"
    )
    p.add_argument(
        "--binarize",
        choices=("none", "dynamic"),
        help="images: draw binary pixels from Bernoulli(x) afresh every epoch "
        "(default: the preset's)",
    )
    p.add_argument(
        "--limit",
        type=positive_int,
        help="use the first N examples of each split, for quick runs (default: all)",
    )
    _add_data_dir_argument(p)
    p.add_argument(
        "--logdir",
        metavar="DIR",
        help="write TensorBoard scalars of every epoch (losses, metrics, learning rate) to DIR "
        "(default: none)",
    )
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue training DIR/model.keras")
    again.add_argument("--overwrite", action="store_true", help="replace DIR/model.keras")


def _add_data_dir_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="images: the TFDS data directory for data set names (default: TFDS', "
        "~/tensorflow_datasets); text: the shared data folder (default: $KERAS_GEN_DATA, "
        "else ../shared/data beside a source checkout)",
    )


def _command(commands, name: str, func, summary: str, description: str | None = None):
    """A subcommand that runs ``func(args)`` on a model file (or, for train, a preset name)."""
    p = commands.add_parser(name, help=summary, description=description or summary)
    p.set_defaults(func=func)
    if name == "train":
        p.add_argument("model", metavar="NAME", help="a preset name (see 'keras-gen models')")
    elif name == "finetune":
        p.add_argument(
            "model",
            metavar="PRESET",
            help="a preset with weights ('keras-gen presets'), a preset folder or URL, or a "
            "run's model.keras",
        )
    elif name not in ("models", "presets", "vqvae"):
        p.add_argument("model", metavar="MODEL.keras")
    return p


def _add_output_arguments(p: argparse.ArgumentParser, seed_help: str) -> None:
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    """The ``keras-gen`` argument parser."""
    parser = _Parser(
        prog=PROG,
        description="Train, sample from and evaluate the presets of keras-gen's model zoo.",
        epilog="Run 'keras-gen COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {keras_gen.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(commands, "models", cmd_models, "list every preset with a one-line description")
    p = _command(
        commands,
        "presets",
        cmd_presets,
        "list the presets that ship trained weights: model, data, size, headline number",
    )
    p.add_argument("--all", action="store_true", help="also the configurations without weights")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(
        commands,
        "train",
        cmd_train,
        "train a preset",
        "Train a preset (image or text, with its later stages) and write model.keras, "
        "metrics.json and samples.",
    )
    _add_train_arguments(p)

    p = _command(
        commands,
        "finetune",
        cmd_finetune,
        "train a trained preset further on new data",
        "Fine-tune a trained preset on new data with a constant learning rate, optionally "
        "freezing or slowing layers; writes a run folder as 'train' does.",
    )
    add_finetune_arguments(p)

    p = _command(commands, "sample", cmd_sample, "samples of a generator: an image grid or text")
    p.add_argument("--n", type=positive_int, default=64, help="number of samples")
    p.add_argument(
        "--out", help="file to write (default: grid.png for images; text is printed only)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the samples")
    p.add_argument(
        "--label",
        type=int,
        help="class to draw, for class-conditional models (default: random classes)",
    )

    p = _command(
        commands,
        "evaluate",
        cmd_evaluate,
        "loss terms on held-out data and, for likelihood models, the NLL",
        "Print every loss term on a data split and, for models with a log-likelihood, "
        "the importance-sampled negative log-likelihood in nats.",
    )
    p.add_argument("--data", help="data set name or path (default: the one it was trained on)")
    p.add_argument("--split", help="image data split (default: test)")
    p.add_argument(
        "--num-samples", type=positive_int, default=1000, help="importance samples k per example"
    )
    p.add_argument("--limit", type=positive_int, help="use the first N examples (default: all)")
    p.add_argument("--batch-size", type=positive_int, default=128, help="batch size")
    p.add_argument(
        "--binarize", choices=("none", "dynamic"), help="images (default: as in training)"
    )
    _add_data_dir_argument(p)
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the progress of the NLL on stderr (default: when stderr is a terminal)",
    )
    _add_output_arguments(p, "seed for binarization and the NLL")

    p = _command(
        commands,
        "generate",
        cmd_generate,
        "text from a text model: second lines, titles, sentences",
        "Outputs of an input-conditional model for each --text, or sentences of a text "
        "generator (two --text: an interpolation).",
    )
    p.add_argument(
        "--text",
        action="append",
        help="input text, repeat for several (default: none; a sentence VAE samples)",
    )
    p.add_argument("--beam-width", type=positive_int, help="beam width (default: Seq2Seq's 4)")
    p.add_argument(
        "--couplet",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="same length as the input, no in-place repeats (Seq2Seq; default: as trained)",
    )
    p.add_argument(
        "--num-samples", type=positive_int, help="outputs per input (default: CoupletCVAE's 5)"
    )
    p.add_argument(
        "--max-length", type=positive_int, help="longest output in tokens (default: the model's)"
    )
    p.add_argument("--n", type=positive_int, default=5, help="sentences to sample")
    p.add_argument("--steps", type=positive_int, default=5, help="interpolation steps")
    p.add_argument(
        "--temperature",
        type=non_negative_float,
        help="0: most likely tokens (default: the model's, 0)",
    )
    _add_output_arguments(p, "seed of the samples")

    p = _command(commands, "vqvae", _vqvae_alias, "deprecated: the same as 'train vqvae'")
    _add_train_arguments(p)
    p.set_defaults(model="vqvae")
    return parser


def _error(message: object) -> int:
    text = " ".join(str(message).split())  # one line, whatever the library's message holds
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``keras-gen`` command line with ``argv`` (default ``sys.argv[1:]``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        return _error(err)
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0
    try:
        return args.func(args)
    except (CLIError, ValueError, FileNotFoundError) as err:
        # The library's ValueError / FileNotFoundError name the argument and what was given.
        return _error(err)
    except OSError as err:  # disk full, permission denied: not a bug, and nothing half-written
        return _error(f"{err.strerror or err}: {err.filename}" if err.filename else err)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
