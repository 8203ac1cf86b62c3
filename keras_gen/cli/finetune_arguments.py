"""The options of ``keras-gen finetune``, without importing Keras (the parser reads them).

>>> lr_multiplier("^decoder/=0.1"), frozen("^encoder/")
(('^decoder/', 0.1), ('^encoder/', 0.0))
"""

from __future__ import annotations

import argparse
import math
import re

from keras_gen.cli.base import PRECISIONS, STRATEGIES, positive_float, positive_int


def _pattern(text: str) -> str:
    try:
        re.compile(text)
    except re.error as err:
        raise argparse.ArgumentTypeError(f"invalid regex {text!r}: {err}") from None
    return text


def lr_multiplier(text: str) -> tuple[str, float]:
    """``--lr-multiplier PATTERN=FACTOR`` as ``(pattern, factor)``.

    >>> lr_multiplier("^decoder/=0.1")
    ('^decoder/', 0.1)
    """
    pattern, sep, factor = text.rpartition("=")
    try:
        value = float(factor)
    except ValueError:
        value = math.nan
    if not sep or not pattern or not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"expected PATTERN=FACTOR with a FACTOR >= 0 (e.g. '^decoder/=0.1'); got {text!r}"
        )
    return _pattern(pattern), value


def frozen(text: str) -> tuple[str, float]:
    """``--freeze PATTERN`` as ``(pattern, 0.0)``.

    >>> frozen("^encoder/")
    ('^encoder/', 0.0)
    """
    return _pattern(text), 0.0


def add_finetune_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``keras-gen finetune`` (those it shares with train mean the same)."""
    p.add_argument(
        "--data",
        required=True,
        help="image data set name or path, or comma-separated text files in the preset's format",
    )
    p.add_argument("--epochs", type=positive_int, required=True, help="epochs to train")
    p.add_argument(
        "--lr",
        type=positive_float,
        help="constant learning rate of every optimizer (default: a tenth of each one's peak rate)",
    )
    p.add_argument(
        "--lr-multiplier",
        dest="multipliers",
        metavar="PATTERN=FACTOR",
        type=lr_multiplier,
        action="append",
        default=[],
        help="scale the updates of the variables whose path matches the regex PATTERN "
        "(repeatable; the first matching pattern wins)",
    )
    p.add_argument(
        "--freeze",
        dest="multipliers",
        metavar="PATTERN",
        type=frozen,
        action="append",
        help="keep the variables whose path matches PATTERN as they are (factor 0)",
    )
    p.add_argument("--out", help="run directory (default: runs/PRESET-finetuned)")
    p.add_argument(
        "--batch-size", type=positive_int, help="global batch size (default: the preset's)"
    )
    p.add_argument("--seed", type=int, help="seed for shuffling and noise (default: random)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="dtype policy (auto: as keras-gen train decides for the preset)",
    )
    p.add_argument(
        "--distribute", default="none", choices=STRATEGIES, help="tf.distribute strategy"
    )
    p.add_argument("--binarize", choices=("none", "dynamic"), help="images (default: the preset's)")
    p.add_argument(
        "--limit", type=positive_int, help="use the first N examples of each split (default: all)"
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the TFDS data directory for image data set names (default: TFDS', "
        "~/tensorflow_datasets)",
    )
    p.add_argument(
        "--logdir",
        metavar="DIR",
        help="write TensorBoard scalars of every epoch to DIR (default: none)",
    )
    p.add_argument("--sha256", help="the sha256 of PRESET when it is a URL")
    p.add_argument("--overwrite", action="store_true", help="replace DIR/model.keras")
    p.set_defaults(resume=False, latent_dim=None)
