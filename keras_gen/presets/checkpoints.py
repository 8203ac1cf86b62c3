"""Trained presets: a model's configuration, weights and model card in one folder.

A saved preset is a folder in keras-hub's layout:

- ``config.json``: the model's Keras config (``keras.saving.serialize_keras_object``);
- ``model.weights.h5``: its weights (float32, or float16 with ``weights_dtype="float16"``
  where the measured numbers hold);
- ``metadata.json``: the model card: the preset (recipe, data), what trained it and what
  was measured, and the size and sha256 of the weights file, which :func:`load` checks.

:func:`load` takes a registered preset name (its weights ship inside the package or at a
URL with a sha256), a preset folder, a ``.keras`` file, or an ``https://`` / ``file://``
URL of a ``.keras`` file or of a preset folder archived as ``.tar.gz`` or ``.zip``, which
is downloaded once into the Keras cache through ``keras.utils.get_file`` and checked
against its sha256.

>>> import tempfile
>>> from keras_gen import presets
>>> model = presets.get("vae").build(image_shape=(28, 28, 1), latent_dim=2)
>>> folder = presets.save_to_preset(model, tempfile.mkdtemp(), preset="vae")
>>> again = presets.load(folder)
>>> type(again).__name__, again.optimizer is not None
('VAE', True)
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
CARD_FORMAT = 1
CACHE_SUBDIR = "keras_gen_presets"


class PresetError(ValueError):
    """A preset that cannot be loaded: unknown, corrupt, of another class, a bad hash."""


def sha256_of(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_to_preset(
    model,
    directory: str | os.PathLike,
    preset: str | None = None,
    card: Mapping[str, Any] | None = None,
    weights_dtype: str = "float32",
) -> Path:
    """Write ``model`` as a preset folder; return its path.

    Args:
        model: a keras-gen zoo model.
        directory: the folder to write (created; its three files are replaced).
        preset: the registry name whose recipe ``load(..., compile=True)`` compiles with;
            default: none (the model is loaded uncompiled unless it says otherwise).
        card: what the model card says besides (data, licence, the command that trained
            it, measured numbers with their commands).
        weights_dtype: ``"float32"`` or ``"float16"`` (half the size; say in the card
            whether the measured numbers hold).
    """
    import keras

    from keras_gen.presets.registry import get

    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be 'float32' or 'float16'; got {weights_dtype!r}")
    recipe = get(preset).to_dict() if preset is not None else None
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    # Written beside the folder and moved in at the end: a failed save leaves no half preset.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.tmp-") as tmp:
        tmp = Path(tmp)
        config = keras.saving.serialize_keras_object(model)
        # A preset ships the weights, not the optimizer state: its card's recipe compiles
        # the loaded model afresh. An uncompiled twin writes the weights without the state.
        config.pop("compile_config", None)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=_json_default) + "\n")
        twin = keras.saving.deserialize_keras_object(config)
        twin.set_weights(model.get_weights())
        # Models that keep a second model outside Keras' tracking (a VQ-VAE's attached
        # prior) write its weights in save_own_variables: copy them into the twin too.
        prior = getattr(model, "prior", None)
        if prior is not None:
            twin.prior.set_weights(prior.get_weights())
        twin.save_weights(tmp / WEIGHTS_FILE)
        if weights_dtype == "float16":
            _cast_weights_file(tmp / WEIGHTS_FILE, "float16")
        metadata = {
            "format": CARD_FORMAT,
            "model": type(model).__name__,
            "preset": recipe,
            "weights_dtype": weights_dtype,
            "weights_sha256": sha256_of(tmp / WEIGHTS_FILE),
            "weights_bytes": (tmp / WEIGHTS_FILE).stat().st_size,
            "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions(),
            **dict(card or {}),
        }
        (tmp / METADATA_FILE).write_text(
            json.dumps(metadata, indent=2, ensure_ascii=False, default=_json_default) + "\n"
        )
        for name in (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE):
            os.replace(tmp / name, out / name)
    return out


def _cast_weights_file(path: Path, dtype: str) -> None:
    """Store every float32 array of a Keras weights file as ``dtype`` (loading casts back).

    Written as a new file: HDF5 does not give back the space of deleted datasets.
    """
    import h5py

    def copy(src, dst):
        dst.attrs.update(src.attrs)
        for key, item in src.items():
            if isinstance(item, h5py.Group):
                copy(item, dst.create_group(key))
            else:
                data = item[()]
                # Arrays float16 cannot hold (counters, large statistics) stay float32.
                if getattr(data, "dtype", None) == "float32" and _fits(data, dtype):
                    data = data.astype(dtype)
                dst.create_dataset(key, data=data)
                dst[key].attrs.update(item.attrs)

    cast = path.with_suffix(".cast.h5")
    with h5py.File(path, "r") as src, h5py.File(cast, "w") as dst:
        copy(src, dst)
    os.replace(cast, path)


def _fits(data, dtype: str) -> bool:
    import numpy as np

    return not data.size or float(np.max(np.abs(data))) <= float(np.finfo(dtype).max)


def read_metadata(folder: str | os.PathLike) -> dict:
    """The model card of a preset folder."""
    path = Path(folder) / METADATA_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PresetError(f"{folder} is not a preset folder: it has no {METADATA_FILE}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PresetError(f"{path} is not valid JSON ({err})") from None


def load(
    name_or_path: str | os.PathLike,
    compile: bool = True,
    file_hash: str | None = None,
    cache_dir: str | os.PathLike | None = None,
):
    """A trained model from a preset name, a preset folder, a ``.keras`` file or a URL.

    Args:
        name_or_path: a registered preset that ships weights, a preset folder, a
            ``.keras`` file, or an ``https://`` / ``file://`` URL of either (a folder as a
            ``.tar.gz`` or ``.zip`` archive).
        compile: compile the model with its preset's recipe (the optimizer state is not
            shipped), so that ``fit`` continues training at once.
        file_hash: the sha256 a URL's download must have (a registered preset's URL
            carries its own).
        cache_dir: where downloads are kept (default: ``$KERAS_HOME`` or ``~/.keras``,
            as ``keras.utils.get_file``), in its ``keras_gen_presets`` folder.
    """
    return _load_path(locate(name_or_path, file_hash, cache_dir), compile)


def locate(
    name_or_path: str | os.PathLike,
    file_hash: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """The preset folder or ``.keras`` file that :func:`load` loads (a URL: downloaded).

    Arguments as for :func:`load`.

    >>> locate("no-such-preset")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    keras_gen.presets.checkpoints.PresetError: 'no-such-preset' is neither a preset name ...
    """
    from keras_gen.presets.registry import get, names

    text = os.fspath(name_or_path)
    if "://" in text:
        return _download(text, file_hash, cache_dir)
    path = Path(text)
    if path.exists():
        return path
    if text in names():
        preset = get(text)
        if preset.weights is None:
            raise PresetError(
                f"preset {text!r} ships no trained weights; train it with "
                f"'keras-gen train {text}' (presets with weights: "
                f"{', '.join(trained_names()) or 'none yet'})"
            )
        if "://" in preset.weights:
            sha = (preset.card or {}).get("weights_sha256")
            return _download(preset.weights, sha, cache_dir)
        return _package_path(preset.weights)
    raise PresetError(
        f"{text!r} is neither a preset name nor an existing path or URL; presets with "
        f"trained weights: {', '.join(trained_names()) or 'none yet'}"
    )


def trained_names() -> list[str]:
    """Names of the registered presets that ship trained weights."""
    from keras_gen.presets.registry import all_presets

    return [p.name for p in all_presets() if p.weights is not None]


def _package_path(relative: str) -> Path:
    return Path(__file__).parent / "assets" / relative


def _download(url: str, file_hash: str | None, cache_dir=None) -> Path:
    """``url`` fetched once into the Keras cache (``keras.utils.get_file``), hash-checked."""
    import keras

    cache_dir = Path(cache_dir or os.environ.get("KERAS_HOME", "~/.keras")).expanduser()
    if file_hash is None:
        raise PresetError(f"a preset URL needs its sha256 (file_hash=...): {url}")
    fname = url.rstrip("/").rsplit("/", 1)[-1]
    archive = fname.endswith((".tar.gz", ".tgz", ".zip"))
    try:
        path = keras.utils.get_file(
            fname=f"{file_hash[:16]}-{fname}",
            origin=url,
            file_hash=file_hash,
            hash_algorithm="sha256",
            cache_subdir=CACHE_SUBDIR,
            cache_dir=cache_dir,
            extract=archive,
        )
    except Exception as err:  # get_file raises ValueError / Exception on a bad download
        # keras leaves a file that failed its hash in the cache: nothing half-written stays.
        for leftover in (cache_dir / CACHE_SUBDIR).glob(f"{file_hash[:16]}-*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        raise PresetError(f"could not download the preset {url}: {err}") from None
    path = Path(path)
    if archive and path.is_dir():
        inner = [p for p in path.iterdir() if (p / METADATA_FILE).is_file()]
        return inner[0] if inner else path
    return path


def _load_path(path: Path, compile: bool):
    import keras

    from keras_gen.presets.registry import Preset

    if path.is_file() and path.suffix == ".keras":
        try:
            return keras.saving.load_model(path, compile=compile)
        except Exception as err:  # a truncated or foreign file: say so in one line
            raise PresetError(f"cannot load {path} as a .keras model file: {err}") from None
    if not path.is_dir():
        raise PresetError(f"{path} is neither a preset folder nor a .keras file")
    metadata = read_metadata(path)
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise PresetError(f"{path} has no {WEIGHTS_FILE}")
    expected = metadata.get("weights_sha256")
    if expected and sha256_of(weights) != expected:
        raise PresetError(
            f"{weights} does not match its model card's sha256 (truncated or replaced?)"
        )
    try:
        config = json.loads((path / CONFIG_FILE).read_text())
        model = keras.saving.deserialize_keras_object(config)
    except (OSError, json.JSONDecodeError, TypeError, ValueError) as err:
        raise PresetError(f"cannot rebuild the model of {path}: {err}") from None
    model.load_weights(weights)
    if compile and metadata.get("preset"):
        Preset.from_dict(metadata["preset"]).compile(model)
    return model


def _versions() -> dict[str, str]:
    import keras

    import keras_gen

    return {"keras_gen": keras_gen.__version__, "keras": keras.version()}


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
