"""Finding the ``<model>_presets.py`` files of the zoo without importing Keras.

The zoo's packages import Keras (and so TensorFlow: seconds and hundreds of MB) in their
``__init__``, but a presets file imports only :mod:`keras_gen.presets.registry` and plain
modules. Until something imports ``keras_gen.zoo``, the files are loaded by their paths,
so that ``keras-gen models`` and ``keras-gen --help`` answer in a fraction of a second.

>>> from keras_gen.presets.discovery import presets_modules
>>> any(m.__name__ == "keras_gen.zoo.vae.vae_presets" for m in presets_modules())
True
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

ZOO = "keras_gen.zoo"


def presets_modules() -> list[ModuleType]:
    """``keras_gen.zoo.<model>.<model>_presets`` of every model folder that has one."""
    # find_spec locates the zoo without running its __init__.
    locations = list(importlib.util.find_spec(ZOO).submodule_search_locations)
    folders = [info.name for info in pkgutil.iter_modules(locations) if info.ispkg]
    if ZOO in sys.modules:  # the zoo is loaded anyway: import as usual
        modules = [_import(folder) for folder in folders]
    else:
        modules = _load_files(folders, locations)
    return [m for m in modules if m is not None]


def _name(folder: str) -> str:
    return f"{ZOO}.{folder}.{folder}_presets"


def _import(folder: str) -> ModuleType | None:
    try:
        return importlib.import_module(_name(folder))
    except ModuleNotFoundError as err:
        if err.name != _name(folder):
            raise
        return None


def _load_files(folders: list[str], locations: list[str]) -> list[ModuleType | None]:
    """The presets modules, loaded from their files without the zoo's packages.

    The modules are lazy (``importlib.util.LazyLoader``: executed on first use) and all in
    ``sys.modules`` before any runs, so one presets file may import another's names
    (``from keras_gen.zoo.couplet_tagger.couplet_tagger_presets import COUPLETS``)
    whatever the order of the folders.
    """
    modules, added = [], []
    for folder in folders:
        name = _name(folder)
        files = (Path(d, folder, f"{folder}_presets.py") for d in locations)
        file = next((f for f in files if f.is_file()), None)
        if name in sys.modules or file is None:
            modules.append(sys.modules.get(name))
            continue
        spec = importlib.util.spec_from_file_location(name, file)
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        added.append(name)
        spec.loader.exec_module(module)
        modules.append(module)
    try:
        for module in modules:
            if module is not None:
                getattr(module, "PRESETS", None)  # runs the file
    except BaseException:
        for name in added:  # nothing half-loaded stays: a later import runs the file again
            sys.modules.pop(name, None)
        raise
    return modules
