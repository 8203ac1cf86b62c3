"""The one registry of named configurations of the zoo's models (see :mod:`.registry`).

>>> from keras_gen import presets
>>> "dcgan" in presets.names()
True
>>> presets.get("dcgan").recipe["loss"], presets.get("dcgan").recipe["r1_penalty"]
('non_saturating', 10.0)
"""

from keras_gen.presets.checkpoints import PresetError, load, save_to_preset, trained_names
from keras_gen.presets.registry import (
    DataSpec,
    Preset,
    adam,
    all_presets,
    build_optimizer,
    cosine_schedule,
    ema,
    get,
    names,
    peak_learning_rate,
    register_presets,
    with_learning_rate,
)

__all__ = [
    "DataSpec",
    "Preset",
    "PresetError",
    "adam",
    "all_presets",
    "build_optimizer",
    "cosine_schedule",
    "ema",
    "get",
    "load",
    "names",
    "peak_learning_rate",
    "register_presets",
    "save_to_preset",
    "trained_names",
    "with_learning_rate",
]
