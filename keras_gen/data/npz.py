"""The ``.npz`` reader: the keras.datasets layout, and clear errors for a broken file.

NumPy reads a file that is not a zip as a pickle and then suggests ``allow_pickle=True``,
unsafe advice for a truncated or random file; a truncated zip is a ``BadZipFile``.

>>> import io
>>> read_npz(io.BytesIO(b"not a zip"), "train", source="d.npz")
Traceback (most recent call last):
...
ValueError: d.npz is not a valid .npz file (truncated?): expected a zip of .npy arrays, as \
numpy.savez writes
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import numpy as np

from keras_gen.data.formats import Arrays, to_labels, to_uint8_images, unknown_split


def read_npz(file: str | Path | io.IOBase, split: str, source: str | None = None) -> Arrays:
    """Read ``x_<split>`` / ``y_<split>`` (keras.datasets layout), or ``x`` / ``y`` for any split."""
    source = source or str(file)
    if not _is_zip(file):  # np.load would try pickle and suggest the unsafe allow_pickle=True
        raise ValueError(
            f"{source} is not a valid .npz file (truncated?): expected a zip of .npy arrays, "
            "as numpy.savez writes"
        )
    try:
        data = np.load(file, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{source} is not a valid .npz file (truncated?): {err}") from err
    with data:
        keys = set(data.files)
        if "x" in keys:
            x_key, y_key = "x", "y"
        else:
            splits = {key[2:] for key in keys if key.startswith("x_")}
            if not splits:
                raise ValueError(
                    f"{source} holds no images: expected arrays x_train, y_train, x_test, y_test "
                    f"(the keras.datasets layout) or x, y; found {sorted(keys)}"
                )
            if split not in splits:
                raise unknown_split(split, splits, source)
            x_key, y_key = f"x_{split}", f"y_{split}"
        x = to_uint8_images(_npz_array(data, x_key, source), f"{source} (array {x_key!r})")
        y = None
        if y_key in keys:
            y = to_labels(_npz_array(data, y_key, source), len(x), f"{source} (array {y_key!r})")
    return x, y


def _is_zip(file: str | Path | io.IOBase) -> bool:
    if not hasattr(file, "seek"):
        return zipfile.is_zipfile(file)
    position = file.tell()
    try:
        return zipfile.is_zipfile(file)
    finally:
        file.seek(position)


def _npz_array(data, key: str, source: str) -> np.ndarray:
    """``data[key]``, with a corrupt member or an array of Python objects named clearly."""
    try:
        return data[key]
    except ValueError as err:
        if "allow_pickle" in str(err):  # NumPy's message suggests allow_pickle=True: unsafe
            raise ValueError(
                f"{source}: array {key!r} holds Python objects (pickled data), which keras-gen "
                "does not load; save numeric arrays"
            ) from None
        raise ValueError(f"{source} is not a valid .npz file: array {key!r}: {err}") from err
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise ValueError(f"{source} is not a valid .npz file (truncated?): {err}") from err
