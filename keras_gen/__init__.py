"""keras-gen: a Keras 3 model zoo for generative modelling.

>>> import keras_gen
>>> model = keras_gen.zoo.VAE((28, 28, 1), latent_dim=8)
"""

import importlib
import os
import sys

# The training core is written for the TensorFlow backend (tf.distribute, GradientTape).
if not os.environ.get("KERAS_BACKEND"):
    os.environ["KERAS_BACKEND"] = "tensorflow"
# Keras reads KERAS_BACKEND when it is imported, so the check needs no import of Keras
# (which imports TensorFlow): `keras-gen --help` and `keras-gen models` stay fast.
_backend = (
    sys.modules["keras"].backend.backend()
    if "keras" in sys.modules
    else os.environ["KERAS_BACKEND"]
)
if _backend != "tensorflow":
    raise ImportError(
        "keras_gen needs the TensorFlow backend of Keras; got "
        f"KERAS_BACKEND={_backend!r}. Set KERAS_BACKEND=tensorflow."
    )

__version__ = "0.1.0"

__all__ = ["callbacks", "data", "layers", "losses", "metrics", "optimizers", "training", "zoo"]

# Also reachable as attributes (imported on first use, PEP 562).
_SUBMODULES = frozenset([*__all__, "io", "pipelines", "presets", "text"])


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULES})


def _importing_the_command_line() -> bool:
    """Whether this package is being imported on the way to ``keras_gen.cli`` (the
    ``keras-gen`` command, ``python -m keras_gen.cli``), read from the import machinery's
    frames. Were it ever wrong, keras_gen would import everything: slower, still right."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_locals.get("name") or frame.f_locals.get("mod_name")
        if (
            frame.f_code.co_name
            in ("_find_and_load", "_find_and_load_unlocked", "_get_module_details")
            and isinstance(name, str)
            and (name == "keras_gen.cli" or name.startswith("keras_gen.cli."))
        ):
            return True
        frame = frame.f_back
    return False


# `import keras_gen` imports the whole package, so that the zoo's classes are registered
# with Keras (`keras.saving.load_model` finds them). The command line alone imports what
# a command needs when it runs: `keras-gen --help` and `keras-gen models` do without
# TensorFlow (0.1 s instead of 6-7 s, 19 MB instead of 530 MB); its commands that use Keras
# import the zoo themselves.
if "keras" in sys.modules or not _importing_the_command_line():
    from keras_gen import callbacks, data, layers, losses, metrics, optimizers, training, zoo
