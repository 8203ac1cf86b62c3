"""Image grids: many images in one picture, written atomically to a PNG."""

from __future__ import annotations

import math
import os

import keras
import numpy as np

from keras_gen.io import atomic_write


def _to_uint8(images: np.ndarray) -> np.ndarray:
    """uint8 images from uint8 or from floats in [0, 1] (clipped; NaN becomes black)."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"images must be uint8 or floats in [0, 1]; got dtype {images.dtype}")
    images = np.nan_to_num(images.astype("float32"), nan=0.0)
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)


def as_image_batch(images, name: str = "images") -> np.ndarray:
    """(n, H, W, C) uint8 from (n, H, W, C) or (n, H, W); C must be 1, 3 or 4."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{name} must have shape (n, height, width, channels) with 1, 3 or 4 channels, "
            f"or (n, height, width); got shape {images.shape}"
        )
    if len(images) == 0:
        raise ValueError(f"{name} must hold at least one image; got shape {images.shape}")
    return _to_uint8(images)


def image_grid(
    images: np.ndarray,
    ncols: int | None = None,
    pad: int = 2,
    pad_value: float = 1.0,
) -> np.ndarray:
    """Tile ``n`` images into one uint8 picture of shape (H_grid, W_grid, C).

    ``images`` are floats in [0, 1] (clipped) or uint8, shaped (n, H, W, C)
    or (n, H, W). With ``rows = ceil(n / ncols)`` the grid is
    ``rows * H + (rows - 1) * pad`` high and ``ncols * W + (ncols - 1) * pad``
    wide (``ncols`` defaults to ``ceil(sqrt(n))`` and is at most ``n``).
    Images fill it row by row, separated by ``pad`` pixels of ``pad_value``
    (a fraction of full intensity); empty cells of the last row get
    ``pad_value`` too. Gray images stay one channel, which is what
    ``keras.utils.save_img`` needs (H x W x 1 or H x W x 3).

    Example:

    >>> import numpy as np
    >>> image_grid(np.zeros((10, 28, 28, 1)), ncols=4).shape
    (88, 118, 1)
    """
    images = as_image_batch(images)
    n, h, w, c = images.shape
    ncols = math.ceil(math.sqrt(n)) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f"ncols must be a positive integer or None; got {ncols!r}")
    if int(pad) < 0:
        raise ValueError(f"pad must be >= 0; got {pad!r}")
    if not 0.0 <= float(pad_value) <= 1.0:
        raise ValueError(f"pad_value must be in [0, 1]; got {pad_value!r}")
    pad = int(pad)
    ncols = min(ncols, n)
    rows = math.ceil(n / ncols)
    fill = round(float(pad_value) * 255)
    grid = np.full((rows * h + (rows - 1) * pad, ncols * w + (ncols - 1) * pad, c), fill, np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, ncols)
        top, left = r * (h + pad), col * (w + pad)
        grid[top : top + h, left : left + w] = image
    return grid


def save_image_grid(
    path: str | os.PathLike,
    images: np.ndarray,
    ncols: int | None = None,
    pad: int = 2,
    pad_value: float = 1.0,
) -> str:
    """Write :func:`image_grid` of ``images`` to ``path`` (format from the suffix) and return it.

    The file is written next to its destination and then renamed, so an
    interrupted run never leaves a truncated picture behind.

    Example:

    >>> import numpy as np, tempfile, os
    >>> path = save_image_grid(os.path.join(tempfile.mkdtemp(), "g.png"), np.ones((4, 8, 8)))
    >>> os.path.exists(path)
    True
    """
    path = os.fspath(path)
    grid = image_grid(images, ncols=ncols, pad=pad, pad_value=pad_value)
    suffix = os.path.splitext(path)[1]
    # scale=False: save_img would otherwise stretch each grid to its own min/max.
    atomic_write(
        path,
        lambda tmp: keras.utils.save_img(
            tmp, grid, scale=False, file_format=suffix[1:].lower() or "png"
        ),
        suffix=suffix,
    )
    return path


def interleave_rows(top: np.ndarray, bottom: np.ndarray, ncols: int, fill: int) -> np.ndarray:
    """Alternate rows of ``ncols`` images: top[0:ncols], bottom[0:ncols], top[ncols:2*ncols], ..."""
    n = len(top)
    rows = math.ceil(n / ncols)
    blank = np.full((rows * ncols - n, *top.shape[1:]), fill, np.uint8)
    top = np.concatenate([top, blank]).reshape(rows, ncols, *top.shape[1:])
    bottom = np.concatenate([bottom, blank]).reshape(rows, ncols, *bottom.shape[1:])
    return np.stack([top, bottom], axis=1).reshape(-1, *top.shape[2:])
