"""What the ``keras-gen`` commands share: the user-error type, files, model loading."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import re
import sys
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

# The user-error type and argument types live where the parser reads them without Keras.
from keras_gen.cli.base import PROG, CLIError, positive_float, positive_int  # noqa: F401
from keras_gen.io import atomic_write
from keras_gen.training.adversarial import PlayerOptimizers
from keras_gen.zoo.text_model import TextModel

MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
SAMPLES_DIR = "samples"
TEXT_SAMPLES_FILE = "samples.txt"


# --- files --------------------------------------------------------------------------------


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):  # e.g. the registry's read-only mappings
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically (readable non-ASCII text, as for couplets)."""

    def write(tmp: str) -> None:
        with open(tmp, "x", encoding="utf-8") as f:
            json.dump(payload, f, indent=2, default=json_default, ensure_ascii=False)
            f.write("\n")

    atomic_write(path, write, suffix=".json")


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), suffix=".txt")


def read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise CLIError(f"{path} is not valid JSON: {err}") from err


def training_metrics(model_path: str) -> dict:
    """The ``metrics.json`` next to a model file, or ``{}`` (a model saved elsewhere)."""
    metrics_file = Path(model_path).parent / METRICS_FILE
    if not metrics_file.is_file():
        return {}
    with contextlib.suppress(OSError, json.JSONDecodeError):
        with open(metrics_file, encoding="utf-8") as f:
            return json.load(f)
    return {}


def load_model(path: str | os.PathLike, capability: type | tuple[type, ...] | None = None):
    """A model from a ``.keras`` file or a trained preset (a folder, a registered name with
    weights, a URL); a user error unless it is a ``capability`` instance."""
    from keras_gen import presets

    text = os.fspath(path)
    file = Path(text)
    if file.is_dir() or "://" in text or (not file.exists() and text in presets.names()):
        try:
            model = presets.load(text, compile=False)
        except presets.PresetError as err:
            raise CLIError(str(err)) from err
    elif not file.is_file():
        raise CLIError(f"no such model file or preset: {text!r}")
    else:
        model = load_keras_file(file)
    if capability is not None and not isinstance(model, capability):
        wanted = capability if isinstance(capability, tuple) else (capability,)
        raise CLIError(
            f"{os.fspath(path)!r} holds a {type(model).__name__}, which is not a "
            f"{' or '.join(c.__name__ for c in wanted)} (keras_gen.zoo.capabilities)"
        )
    return model


# What Keras says when a .keras file names a class, function or activation it cannot find.
_UNKNOWN_NAME = re.compile(
    r"Could not (?:locate|deserialize) (class|function|)\s*'([^']+)'"
    r"|Could not interpret (\w+) function identifier: (\S+)"
)


def load_keras_file(file: Path):
    """``keras.saving.load_model(file)`` with one-line user errors for a broken file.

    Keras says "File not found" for a truncated, empty or random ``.keras`` file that
    exists, and a name it cannot resolve is a traceback with the whole config.
    """
    if file.suffix == ".keras" and not zipfile.is_zipfile(file):
        raise CLIError(f"{file} is not a valid .keras file (truncated?)")
    try:
        return keras.saving.load_model(file)
    except (zipfile.BadZipFile, KeyError, EOFError, zlib.error, json.JSONDecodeError) as err:
        raise CLIError(f"{file} is not a valid .keras file (truncated?): {err}") from err
    except OSError as err:
        if err.errno is not None:  # the disk, not the file: main() reports it
            raise
        # h5py's errors carry no errno: "Unable to open file (truncated file: eof = ...)".
        raise CLIError(f"{file} is not a valid .keras file (truncated?): {err}") from err
    except (TypeError, ValueError) as err:
        match = _UNKNOWN_NAME.search(str(err))
        if match is None:
            if isinstance(err, TypeError):
                raise
            raise CLIError(f"cannot load {file}: {err}") from err
        if match[2]:
            kind, name = match[1] or "class", match[2]
        else:
            kind, name = f"{match[3]} function", match[4]
        raise CLIError(
            f"{file} names the {kind} {name!r}, which keras-gen does not know (saved by "
            "another version, or with custom objects that are not imported?)"
        ) from None


def is_text_model(model) -> bool:
    """Whether ``model`` reads and writes text (the text family), not images."""
    return isinstance(model, TextModel)


# --- calling models -----------------------------------------------------------------------


def accepted(fn: Callable, options: Mapping[str, Any]) -> dict:
    """The ``options`` that ``fn`` takes (the zoo's generate methods differ in their options).

    >>> accepted(lambda texts, seed=None: texts, {"seed": 0, "beam_width": 4})
    {'seed': 0}
    """
    parameters = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return dict(options)
    return {k: v for k, v in options.items() if k in parameters}


def sampling_options(model) -> dict:
    """``generate``'s options for the best samples: the EMA generator where training kept one."""
    if "ema" not in inspect.signature(model.generate).parameters:
        return {}
    try:
        with model.ema_generator():  # raises when the generator's optimizer keeps no EMA
            pass
    except ValueError:
        return {}
    return {"ema": True}


def optimizers_of(model) -> dict:
    """The model's optimizers by recipe key: ``optimizer``, or ``g_optimizer``/``d_optimizer``."""
    if isinstance(model.optimizer, PlayerOptimizers):
        return {
            "g_optimizer": model.optimizer.generator,
            "d_optimizer": model.optimizer.discriminator,
        }
    return {"optimizer": model.optimizer}


def learning_rates(model) -> dict[str, float]:
    """The learning rate of each of the model's optimizers, as it trains now."""
    return {
        # 7 significant digits: the float32 value, without its binary noise (2e-4, not 1.9999e-4).
        key: float(f"{float(keras.ops.convert_to_numpy(opt.learning_rate)):.7g}")
        for key, opt in optimizers_of(model).items()
    }


def versions() -> dict[str, str]:
    backend = keras.backend.backend()
    # The backend module's own version, without naming the backend here.
    return {"keras": keras.version(), backend: importlib.import_module(backend).__version__}


def floats(values: Mapping) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()}


def verbose() -> int:
    return 1 if sys.stdout.isatty() else 2
