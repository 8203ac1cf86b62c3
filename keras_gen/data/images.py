"""Image data sets as NumPy arrays or batched ``tf.data`` pipelines.

A source is ``"mnist_mini"`` (shipped with the package), a TFDS name, or a local path: an
``.npz`` in the keras.datasets layout, a folder of MNIST idx files, an image folder, or a
tar / zip of an image folder.

>>> ds = load_images("mnist_mini", batch_size=32, binarize="dynamic", seed=0)
>>> ds.element_spec.shape.as_list()
[None, 28, 28, 1]
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_gen.data import formats, npz

# Names of the data sets shipped in keras_gen/data/assets (see its README for the source).
EMBEDDED = {"mnist_mini": "mnist_mini.npz"}
BINARIZE = (None, "dynamic", "static")
_PATH_SUFFIXES = (".npz", ".tar", ".gz", ".tgz", ".zip")


def _looks_like_path(name: str) -> bool:
    separators = {"/", os.sep, os.altsep} - {None}
    return (
        any(s in name for s in separators)
        or name.startswith(("~", "."))
        or name.lower().endswith(_PATH_SUFFIXES)
    )


def _local_path(name: str) -> Path | None:
    """The local file or folder `name` refers to, or None when it names a TFDS data set."""
    path = Path(name).expanduser()
    if _looks_like_path(name):
        if path.exists():
            return path
        # TFDS names carry configs after a slash, e.g. "cifar10_corrupted/brightness_1".
        if name.lower().endswith(_PATH_SUFFIXES) or not formats.tfds_has_builder(name):
            raise FileNotFoundError(f"no such file or folder: {name!r}")
        return None
    # A bare word is a TFDS name first; a folder of that name in the working directory next.
    if path.exists() and not formats.tfds_has_builder(name):
        return path
    return None


def _check_positive_int(name: str, value: object, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        expected = "a positive integer or None" if optional else "a positive integer"
        raise ValueError(f"{name} must be {expected}; got {value!r}")


def load_arrays(
    name_or_path: str,
    split: str = "train",
    *,
    data_dir: str | None = None,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load a whole split as uint8 images (N, H, W, C) and int64 labels (or None).

    ``limit`` keeps the first ``limit`` images and, for image folders and archives, stops
    reading there. Image folders give their classes in turn (first image of each class,
    then the second, ...), so a ``limit`` keeps them balanced. ``data_dir`` is passed to TFDS.

    >>> x, y = load_arrays("mnist_mini", "test")
    >>> x.shape, x.dtype, y.dtype
    ((1000, 28, 28, 1), dtype('uint8'), dtype('int64'))
    """
    _check_positive_int("limit", limit, optional=True)
    if name_or_path in EMBEDDED:
        asset = resources.files(__package__).joinpath("assets", EMBEDDED[name_or_path])
        with asset.open("rb") as f:
            x, y = npz.read_npz(f, split, source=f"embedded data set {name_or_path!r}")
    elif (path := _local_path(name_or_path)) is not None:
        x, y = formats.read_local(path, split, limit)
    else:
        x, y = formats.read_tfds(name_or_path, split, data_dir, limit)
    if limit is not None:
        x, y = x[:limit], None if y is None else y[:limit]
    if len(x) == 0:
        raise ValueError(f"split {split!r} of {name_or_path!r} holds no images")
    return x, y


def _static_binarize(x: np.ndarray, seed: int | None) -> np.ndarray:
    """One Bernoulli(x / 255) draw per pixel, as 0 / 255 so the float map stays the same."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    step = 4096  # chunks keep the float32 noise small next to the uint8 images
    for start in range(0, len(x), step):
        chunk = x[start : start + step]
        # x / 255 is exactly 1.0 for white pixels, and uniform draws are < 1.
        draw = rng.random(chunk.shape, dtype=np.float32) < chunk / np.float32(255)
        out[start : start + step] = draw.astype(np.uint8) * np.uint8(255)
    return out


def _to_float(x: tf.Tensor) -> tf.Tensor:
    return tf.cast(x, tf.float32) / 255.0


def load_images(
    name_or_path: str,
    split: str = "train",
    batch_size: int = 128,
    *,
    with_labels: bool = False,
    binarize: str | None = None,
    shuffle: bool | None = None,
    seed: int | None = None,
    limit: int | None = None,
    drop_remainder: bool = False,
    data_dir: str | None = None,
    repeat: bool = False,
) -> tf.data.Dataset:
    """A batched, prefetched ``tf.data.Dataset`` of float32 images in [0, 1], NHWC.

    Elements are ``x``, or ``(x, y)`` with int32 labels when ``with_labels``. ``shuffle``
    defaults to True for the "train" split only; ``seed`` makes shuffling and binarization
    reproducible. ``binarize="dynamic"`` draws every pixel from Bernoulli(x) afresh each
    epoch; ``"static"`` draws once, so every epoch sees the same binary images. ``repeat``
    makes the data set endless (then give ``model.fit`` its ``steps_per_epoch``).

    >>> ds = load_images("mnist_mini", "test", batch_size=32, with_labels=True)
    >>> x, y = next(iter(ds))
    >>> x.shape, x.dtype.name, y.dtype.name
    (TensorShape([32, 28, 28, 1]), 'float32', 'int32')
    """
    _check_positive_int("batch_size", batch_size)
    if binarize not in BINARIZE:
        raise ValueError(f"binarize must be one of {BINARIZE}; got {binarize!r}")
    x, y = load_arrays(name_or_path, split, data_dir=data_dir, limit=limit)
    if with_labels and y is None:
        raise ValueError(
            f"with_labels=True, but split {split!r} of {name_or_path!r} has no labels "
            "(a flat image folder or an .npz without y); pass with_labels=False"
        )
    if shuffle is None:
        shuffle = split == "train"
    if binarize == "static":
        x = _static_binarize(x, seed)

    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)) if with_labels else x)
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    if binarize == "dynamic":
        # Stateful random ops in a tf.data map restart with every epoch's iterator and would
        # repeat the same draw; Dataset.random re-seeds each iteration yet stays seedable.
        noise_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, noise_seeds)

        def convert(batch, noise_seed):
            images, labels = batch if with_labels else (batch, None)
            p = _to_float(images)
            bits = tf.cast(tf.random.stateless_uniform(tf.shape(p), noise_seed) < p, tf.float32)
            return bits if labels is None else (bits, labels)
    else:

        def convert(images, *labels):
            return (_to_float(images), *labels) if labels else _to_float(images)

    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
