"""Files written in one step: a crash never leaves a half-written file in place of a good one."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import keras


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], suffix: str = "") -> Path:
    """Write a file through ``write(tmp_path)`` and move it into place in one step.

    The temporary file sits in the same directory, so ``os.replace`` is atomic: a
    crash (or a full disk) leaves the previous file intact and no partial one behind.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> _ = atomic_write(target, lambda tmp: pathlib.Path(tmp).write_text("hi"), ".txt")
    >>> target.read_text()
    'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name rather than mkstemp: the writer creates the file with the usual permissions.
    tmp = path.parent / f".{path.stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
    try:
        write(str(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def save_model_atomic(model: keras.Model, path: str | os.PathLike) -> Path:
    """``model.save(path)`` that never leaves a half-written file at ``path``."""
    # Keras infers the format from the suffix, so the temporary name ends in .keras too.
    return atomic_write(path, model.save, suffix=".keras")
