"""Readers that turn a data source into ``(images, labels)`` NumPy arrays.

Every reader returns uint8 images in NHWC and int64 labels (or ``None``) and raises a
``ValueError`` that names the file when the data is not what it should be.

>>> from keras_gen.data.formats import to_uint8_images
>>> to_uint8_images(np.ones((2, 4, 4), np.float32), "ones").max()
np.uint8(255)
"""

from __future__ import annotations

import gzip
import io
import math
import posixpath
import re
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from itertools import zip_longest
from pathlib import Path

import numpy as np
from PIL import Image

Arrays = tuple[np.ndarray, np.ndarray | None]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

LOCAL_FORMATS = (
    "an .npz in the keras.datasets layout (x_train, y_train, x_test, y_test) or with x, y; "
    "a folder of MNIST idx files (train-images-idx3-ubyte[.gz], t10k-...); "
    "an image folder (root/<split>/<class>/*.png, root/<class>/*.png or root/*.png); "
    "or a tar / zip of such an image folder"
)


def unknown_split(split: str, available: Iterable[str], source: object) -> ValueError:
    """The error for a split that ``source`` does not have, listing the ones it has."""
    return ValueError(
        f"unknown split {split!r} for {source}: available splits are {sorted(available)}"
    )


def to_uint8_images(x: np.ndarray, source: str) -> np.ndarray:
    """Return images as uint8 NHWC; floats in [0, 1] or [0, 255] are rescaled and rounded."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    elif x.ndim == 4 and x.shape[-1] not in (1, 3, 4) and x.shape[1] in (1, 3, 4):
        x = x.transpose(0, 2, 3, 1)  # NCHW, as saved from PyTorch
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{source}: expected images of shape (N, H, W) or (N, H, W, C) with C in (1, 3, 4); "
            f"got shape {x.shape}"
        )
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_:
        return x.astype(np.uint8) * np.uint8(255)
    is_float = np.issubdtype(x.dtype, np.floating)
    if not (is_float or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"{source}: expected integer or float pixels; got dtype {x.dtype}")
    if is_float and not np.isfinite(x).all():
        raise ValueError(
            f"{source} contains NaN or infinite pixel values; expected finite values "
            "in [0, 1] or [0, 255]"
        )
    if x.size == 0:
        return x.astype(np.uint8)
    low, high = x.min(), x.max()
    if low < 0 or high > 255:
        raise ValueError(
            f"{source}: pixel values must lie in [0, 1] or [0, 255]; got [{low}, {high}]"
        )
    if is_float and high <= 1:
        # Ambiguous only for a [0, 255] set that is entirely near-black; [0, 1] is far likelier.
        x = x * 255
    return np.round(x).astype(np.uint8)


def to_labels(y: np.ndarray, n: int, source: str) -> np.ndarray:
    """Return integer class labels of shape (n,) as int64."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # keras.datasets.cifar10 stores labels as (N, 1)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{source}: expected {n} labels of shape ({n},); got shape {y.shape}")
    integral = np.issubdtype(y.dtype, np.integer) or (
        np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all() and (y == np.round(y)).all()
    )
    if not integral:
        raise ValueError(f"{source}: labels must be whole numbers; got dtype {y.dtype}")
    return y.astype(np.int64)


# --- MNIST idx files ---------------------------------------------------------------------

# Type byte of the idx header (http://yann.lecun.com/exdb/mnist/); all big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# Also matches prefixed names such as EMNIST's `emnist-digits-train-images-idx3-ubyte.gz`
# and the dotted `train-images.idx3-ubyte` some mirrors use.
_IDX_NAME = re.compile(r"(?:^|[-_.])(train|t10k|test)-(images|labels)[-.]idx\d-ubyte(?:\.gz)?$")


def read_idx(path: Path) -> np.ndarray:
    """Parse one idx file, gzipped or not, with NumPy."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an idx file: bad magic number {data[:4].hex()!r}")
    ndim, header = data[3], 4 + 4 * data[3]
    if len(data) < header:
        raise ValueError(f"{path} is truncated: the idx header is cut short")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    count = math.prod(shape)
    if len(data) - header != count * dtype.itemsize:
        raise ValueError(
            f"{path}: the idx header says shape {shape}, but the file holds "
            f"{len(data) - header} bytes of data instead of {count * dtype.itemsize}"
        )
    return np.frombuffer(data, dtype, count, offset=header).reshape(shape)


def find_idx_files(folder: Path) -> dict[tuple[str, str], Path]:
    """Map (split, "images" | "labels") to the idx files directly inside `folder`."""
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(folder.iterdir()):  # sorted: an unzipped copy wins over its .gz
        match = _IDX_NAME.search(path.name)
        if match and path.is_file():
            split = "test" if match[1] == "t10k" else match[1]
            found.setdefault((split, match[2]), path)
    return found


def read_idx_folder(files: dict[tuple[str, str], Path], split: str, source: Path) -> Arrays:
    """Read ``split`` from MNIST idx files found by :func:`find_idx_files` (labels if present)."""
    splits = {s for s, kind in files if kind == "images"}
    if split not in splits:
        raise unknown_split(split, splits, source)
    images = files[split, "images"]
    x = to_uint8_images(read_idx(images), str(images))
    labels = files.get((split, "labels"))
    return x, None if labels is None else to_labels(read_idx(labels), len(x), str(labels))


# --- image folders and archives -----------------------------------------------------------

# Pillow modes onto the three layouts a model sees: 1 (grey), 3 (RGB) or 4 (RGBA) channels.
_MODES = {
    **dict.fromkeys(["1", "L"], "L"),
    **dict.fromkeys(["P", "RGB", "CMYK", "YCbCr"], "RGB"),
    **dict.fromkeys(["LA", "PA", "RGBA"], "RGBA"),
}


def _is_image(name: str) -> bool:
    parts = name.split("/")
    # Skip hidden files and the `__MACOSX/._*` resource forks that macOS puts in archives.
    hidden = any(p.startswith(".") or p == "__MACOSX" for p in parts)
    return not hidden and name.lower().endswith(IMAGE_SUFFIXES)


def select_images(
    names: Iterable[str], split: str, source: object
) -> tuple[list[str], list[int] | None]:
    """Pick the image files of `split` and label them by the index of their class folder.

    Layouts: ``<split>/<class>/<file>``, ``<class>/<file>`` (any split gives all files) or
    ``<file>`` (no labels), under any number of single wrapping folders. Files come class by
    class in turn (the first file of every class, then the second, ...) so that a ``limit``
    keeps the classes balanced.
    """
    entries = sorted((tuple(name.split("/")), name) for name in names if _is_image(name))
    if not entries:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {source}")
    # A lone top folder above split folders is only a wrapper (e.g. `cifar10/train/cat/1.png`).
    while min(len(p) for p, _ in entries) >= 4 and len({p[0] for p, _ in entries}) == 1:
        entries = [(p[1:], name) for p, name in entries]
    depths = {len(p) for p, _ in entries}
    if len(depths) > 1 or max(depths) > 3:
        shallow = min(entries, key=lambda e: len(e[0]))[1]
        deep = max(entries, key=lambda e: len(e[0]))[1]
        raise ValueError(
            f"images in {source} must all sit at the same depth, as in <split>/<class>/<file>, "
            f"<class>/<file> or <file>; found {shallow!r} and {deep!r}"
        )
    if depths == {1}:
        return [name for _, name in entries], None
    if depths == {3}:
        splits = {p[0] for p, _ in entries}
        if split not in splits:
            raise unknown_split(split, splits, source)
        # Classes from every split, so that a label means the same class in train and test.
        classes = sorted({p[1] for p, _ in entries})
        entries = [(p[1:], name) for p, name in entries if p[0] == split]
    else:
        classes = sorted({p[0] for p, _ in entries})
    by_class: dict[str, list[tuple[str, int]]] = {c: [] for c in classes}
    for p, name in entries:
        by_class[p[0]].append((name, classes.index(p[0])))
    interleaved = [e for group in zip_longest(*by_class.values()) for e in group if e is not None]
    return [name for name, _ in interleaved], [label for _, label in interleaved]


def decode_images(items: Iterable[tuple[str, bytes]], source: object) -> np.ndarray:
    """Decode (name, encoded bytes) pairs with Pillow into one uint8 NHWC array."""
    arrays: list[np.ndarray] = []
    first = ""
    for name, blob in items:
        try:
            with Image.open(io.BytesIO(blob)) as img:
                mode = _MODES.get(img.mode)
                if mode is None:
                    raise ValueError(
                        f"{name!r} in {source} has image mode {img.mode!r}; expected 8-bit "
                        f"images ({', '.join(sorted(_MODES))})"
                    )
                array = np.asarray(img.convert(mode))
        except OSError as err:  # Pillow's UnidentifiedImageError and truncated files
            raise ValueError(f"cannot decode {name!r} in {source}: {err}") from err
        if array.ndim == 2:
            array = array[..., None]
        if not arrays:
            first = name
        elif array.shape != arrays[0].shape:
            raise ValueError(
                f"{name!r} in {source} has shape {array.shape} (height, width, channels), but "
                f"{first!r} has {arrays[0].shape}; all images of one set must have the same "
                "size and colour mode"
            )
        arrays.append(array)
    return np.stack(arrays)


def _read_image_set(
    names: Iterable[str],
    fetch: Callable[[list[str]], Iterator[tuple[str, bytes]]],
    split: str,
    limit: int | None,
    source: object,
) -> Arrays:
    picked, labels = select_images(names, split, source)
    picked = picked[:limit]
    x = decode_images(fetch(picked), source)
    return x, None if labels is None else np.asarray(labels[:limit], np.int64)


def read_image_folder(root: Path, split: str, limit: int | None) -> Arrays:
    """Read ``split`` (up to ``limit`` images) from an image folder (see :func:`select_images`)."""
    names = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]

    def fetch(picked: list[str]) -> Iterator[tuple[str, bytes]]:
        return ((name, (root / name).read_bytes()) for name in picked)

    return _read_image_set(names, fetch, split, limit, root)


def _archive_name(name: str) -> str:
    return posixpath.normpath(name).lstrip("/")  # `./train/a.png` and `train/a.png` alike


def read_tar(path: Path, split: str, limit: int | None) -> Arrays:
    """Read ``split`` (up to ``limit`` images) from a tar (.gz, .bz2, .xz) of an image folder."""
    with tarfile.open(path) as tar:
        members = {_archive_name(m.name): m for m in tar.getmembers() if m.isfile()}

        def fetch(picked: list[str]) -> Iterator[tuple[str, bytes]]:
            # A gzip stream only seeks forward cheaply: read in archive order, and stop at the
            # last picked member, so that a small `limit` does not read the whole archive.
            blobs = {}
            for name in sorted(picked, key=lambda n: members[n].offset):
                with tar.extractfile(members[name]) as f:
                    blobs[name] = f.read()
            return ((name, blobs[name]) for name in picked)

        return _read_image_set(members, fetch, split, limit, path)


def read_zip(path: Path, split: str, limit: int | None) -> Arrays:
    """Read ``split`` (up to ``limit`` images) from a zip of an image folder."""
    with zipfile.ZipFile(path) as archive:
        members = {_archive_name(i.filename): i for i in archive.infolist() if not i.is_dir()}

        def fetch(picked: list[str]) -> Iterator[tuple[str, bytes]]:
            return ((name, archive.read(members[name])) for name in picked)

        return _read_image_set(members, fetch, split, limit, path)


def read_local(path: Path, split: str, limit: int | None) -> Arrays:
    """Read a local .npz, idx folder, image folder, or tar / zip of images."""
    if path.is_dir():
        idx_files = find_idx_files(path)
        if idx_files:
            return read_idx_folder(idx_files, split, path)
        return read_image_folder(path, split, limit)
    if path.suffix.lower() == ".npz":
        from keras_gen.data.npz import read_npz  # it uses this module's converters

        return read_npz(path, split)
    if tarfile.is_tarfile(path):
        return read_tar(path, split, limit)
    if zipfile.is_zipfile(path):
        return read_zip(path, split, limit)
    raise ValueError(f"cannot read {path}: expected {LOCAL_FORMATS}")


# --- TensorFlow Datasets ------------------------------------------------------------------


def tfds_has_builder(name: str) -> bool:
    """Whether `name` (``dataset[/config][:version]``) starts with a registered TFDS data set."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*(/[\w.-]+)*(:[\w.*]+)?", name):
        return False  # saves importing TFDS (about 3 s) for what is plainly a file name
    import tensorflow_datasets as tfds

    try:
        tfds.builder_cls(re.split(r"[/:]", name)[0])
    except tfds.core.DatasetNotFoundError:
        return False
    return True


def read_tfds(name: str, split: str, data_dir: str | None, limit: int | None) -> Arrays:
    """Read a TFDS data set (downloading and preparing it if needed) into NumPy arrays."""
    import tensorflow_datasets as tfds

    from keras_gen.data.errors import tfds_failure

    unknown = (
        f"unknown data set {name!r}: expected 'mnist_mini', a TFDS name (e.g. mnist, "
        "fashion_mnist, cifar10) or a path to .npz / idx folder / image folder / tar"
    )
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        raise ValueError(unknown) from None  # TFDS' own message lists all 400+ data sets
    except ValueError as err:  # a malformed name, or an unknown config of a known data set
        raise ValueError(unknown) from err
    try:
        builder.download_and_prepare()
    except Exception as err:  # TFDS fails in many ways: offline, a missing package, checksums
        raise RuntimeError(tfds_failure(name, err, LOCAL_FORMATS)) from err

    features = builder.info.features
    image_keys = [k for k, f in features.items() if isinstance(f, tfds.features.Image)]
    if not image_keys:
        raise ValueError(f"TFDS data set {name!r} has no image feature: {features}")
    image_key = "image" if "image" in image_keys else image_keys[0]
    if None in features[image_key].shape:
        raise ValueError(
            f"TFDS data set {name!r} has images of varying size {features[image_key].shape}; "
            "expected one fixed size (resize them and save an .npz or image folder)"
        )
    candidates = ["label"]
    supervised = builder.info.supervised_keys
    if isinstance(supervised, tuple) and len(supervised) == 2 and isinstance(supervised[1], str):
        candidates.insert(0, supervised[1])
    label_key = next(
        (
            k
            for k in candidates
            if k in features and isinstance(features[k], tfds.features.ClassLabel)
        ),
        None,
    )
    keys = (image_key,) if label_key is None else (image_key, label_key)

    ds = builder.as_dataset(split=split, shuffle_files=False)
    if limit is not None:
        ds = ds.take(limit)
    ds = ds.map(lambda example: tuple(example[k] for k in keys)).batch(4096)
    batches = list(tfds.as_numpy(ds))
    source = f"TFDS data set {name!r} split {split!r}"
    if not batches:
        raise ValueError(f"{source} holds no images")
    x = to_uint8_images(np.concatenate([b[0] for b in batches]), source)
    y = None if label_key is None else np.concatenate([b[1] for b in batches])
    return x, None if y is None else to_labels(y, len(x), source)
