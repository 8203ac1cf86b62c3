"""What the ``keras-gen`` parser needs before a command runs, without importing Keras.

The program name, the user-error type, the argument types and the help layout: the
parser, ``--help``, ``--version`` and ``keras-gen models`` import nothing heavier (the
commands import TensorFlow when they run).

>>> positive_int("3")
3
"""

from __future__ import annotations

import argparse
import math

PROG = "keras-gen"
# The names of keras_gen.training.distribute (which imports TensorFlow); a test keeps
# them equal.
STRATEGIES = ("none", "mirrored", "multi-worker")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


class CLIError(Exception):
    """A user error: printed as one line ``keras-gen: error: ...`` with exit status 2."""


# Its documented home: the commands raise it as keras_gen.cli.common.CLIError.
CLIError.__module__ = "keras_gen.cli.common"


class HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default, ``(default: X)``, unless its help already says it.

    Options without a meaningful default (None, False, an empty list) show none: their
    help says in words what happens without them (``(default: the preset's)``).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or "default" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or default == []
        ):
            return text
        return f"{text} (default: %(default)s)"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}") from None
    if not 0 < value < math.inf:  # nan and inf parse as floats: --lr inf trained to NaN
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (``--temperature``: 0 takes the most likely token).

    >>> non_negative_float("0")
    0.0
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number >= 0; got {text!r}")
    return value
