"""The one registry of named configurations ("presets") of the zoo's models.

A :class:`Preset` is a model class and its constructor arguments, the compile recipe
(optimizers, loss, regularisers), the data it expects and its default training budget.
Each model folder defines its presets in ``keras_gen/zoo/<model>/<model>_presets.py`` as
a list ``PRESETS``; the registry finds those files by itself, so a new model registers by
adding one. The command line, the benchmarks and the tests read the registry; nothing
else keeps a table of models. A preset may carry trained weights and a model card
(``weights``, ``card``): that is where the zoo's checkpoints attach.

A preset is plain data (strings, numbers, dicts), so that it can be written into a
model card or a run's ``metrics.json`` as it is. Optimizers are written as
``{"class": "Adam", "learning_rate": 1e-3}`` and built by :func:`build_optimizer`;
keras-gen's wrappers nest: ``{"class": "EMA", "optimizer": {...}, "momentum": 0.999}``.

>>> from keras_gen import presets
>>> preset = presets.get("vae")
>>> preset.model, preset.data.kind
('VAE', 'images')
>>> model = preset.build(image_shape=(28, 28, 1))
>>> preset.compile(model)
>>> type(model.optimizer).__name__
'Adam'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

DATA_KINDS = ("images", "couplets", "titles", "sentences")


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """The data a preset trains on.

    Args:
        kind: ``"images"`` (``keras_gen.data.load_images``), ``"couplets"``,
            ``"titles"`` or ``"sentences"`` (``keras_gen.text`` loaders).
        source: the default data: a data set name for images (``"mnist_mini"``), or
            paths relative to the shared data folder for text.
        binarize: ``"dynamic"`` to draw binary pixels afresh every epoch, or None.
        labels: whether the model trains on ``(images, labels)``.
        options: what the model's data preparation needs besides (e.g. text
            lengths: ``{"max_source_length": 120}``).
    """

    kind: str
    source: str | tuple[str, ...] = "mnist_mini"
    binarize: str | None = None
    labels: bool = False
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in DATA_KINDS:
            raise ValueError(f"DataSpec.kind must be one of {DATA_KINDS}; got {self.kind!r}")
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "source": list(self.source) if isinstance(self.source, tuple) else self.source,
            "binarize": self.binarize,
            "labels": self.labels,
            "options": dict(self.options),
        }


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named configuration of a zoo model (see the module docstring).

    Args:
        name: the registry's key, what ``keras-gen train NAME`` takes.
        model: the class name in ``keras_gen.zoo``.
        description: one line for ``keras-gen models``.
        config: constructor arguments. Image models get ``image_shape`` from the data
            when it is not here; text models get the vocabulary built from the data.
        recipe: ``model.compile`` arguments (optimizers, loss, regularisers);
            optimizers as specs for :func:`build_optimizer`.
        data: the data it expects.
        epochs: the default training budget of ``keras-gen train``.
        batch_size: the default global batch size.
        architecture: what ``--precision auto`` decides on (``"conv"``, ``"mlp"``,
            ``"rnn"``); default: ``config["architecture"]`` or ``"mlp"``.
        kl_warmup: for models with a KL weight, the fraction of the run over which
            ``keras_gen.callbacks.KLAnnealing`` raises it from 0 to 1.
        stages: later stages of a multi-stage recipe, e.g. ``{"prior": {...}}`` for the
            VQ-VAE's PixelCNN prior (see ``keras_gen.pipelines``).
        weights, card: trained weights and their model card, when the preset ships them.
    """

    name: str
    model: str
    description: str
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    recipe: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    data: DataSpec = dataclasses.field(default_factory=lambda: DataSpec("images"))
    epochs: int = 10
    batch_size: int = 128
    architecture: str | None = None
    kl_warmup: float = 0.0
    stages: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    weights: str | None = None
    card: Mapping[str, Any] | None = None

    def __post_init__(self):
        for field in ("config", "recipe", "stages"):
            object.__setattr__(self, field, MappingProxyType(dict(getattr(self, field))))
        if int(self.epochs) < 1 or int(self.batch_size) < 1:
            raise ValueError(f"preset {self.name!r}: epochs and batch_size must be >= 1")
        if not 0.0 <= self.kl_warmup <= 1.0:
            raise ValueError(f"preset {self.name!r}: kl_warmup must be in [0, 1]")

    @property
    def model_class(self) -> type:
        """The zoo class this preset builds."""
        from keras_gen import zoo

        try:
            return getattr(zoo, self.model)
        except AttributeError:
            raise ValueError(
                f"preset {self.name!r} names the model {self.model!r}, which keras_gen.zoo "
                "does not have"
            ) from None

    @property
    def precision_architecture(self) -> str:
        """What ``--precision auto`` decides on."""
        return self.architecture or self.config.get("architecture", "mlp")

    def accepts(self, argument: str) -> bool:
        """Whether the model's constructor takes ``argument`` (e.g. ``"seed"``)."""
        import inspect

        for cls in self.model_class.__mro__:
            init = cls.__dict__.get("__init__")
            if init is not None and argument in inspect.signature(init).parameters:
                return True
        return False

    def build(self, **overrides):
        """The model, built from ``config`` updated with ``overrides`` (not compiled).

        ``overrides`` set what the data decides (``image_shape``, ``num_classes``, a text
        model's ``vocabulary``) or what a user changes (``latent_dim``, ``seed``).
        """
        return self.model_class(**{**self.config, **overrides})

    def compile(self, model, learning_rate: float | None = None, **overrides) -> None:
        """Compile ``model`` with this preset's ``recipe``.

        ``learning_rate`` replaces the learning rate of every optimizer in the recipe;
        ``overrides`` replace compile arguments.
        """
        kwargs = {**self.recipe, **overrides}
        for key in ("optimizer", "g_optimizer", "d_optimizer"):
            spec = kwargs.get(key)
            if isinstance(spec, Mapping):
                if learning_rate is not None:
                    spec = with_learning_rate(spec, learning_rate)
                kwargs[key] = build_optimizer(spec)
        model.compile(**kwargs)

    def stage(self, name: str) -> Preset:
        """Stage ``name`` of a multi-stage recipe as a preset of its own.

        The stage's dict gives ``model``, ``config``, ``recipe``, ``epochs`` and
        ``batch_size``; what it leaves out (data, budget) is this preset's.

        >>> prior = get("vqvae").stage("prior")
        >>> prior.name, prior.model, prior.epochs
        ('vqvae/prior', 'PixelCNN', 20)
        """
        if name not in self.stages:
            raise ValueError(
                f"preset {self.name!r} has no stage {name!r}; its stages: {list(self.stages)}"
            )
        spec = self.stages[name]
        return Preset(
            f"{self.name}/{name}",
            spec["model"],
            spec.get("description", f"the {name} stage of {self.name}"),
            config=spec.get("config", {}),
            recipe=spec.get("recipe", {}),
            data=self.data,
            epochs=spec.get("epochs", self.epochs),
            batch_size=spec.get("batch_size", self.batch_size),
            architecture=spec.get("architecture", self.architecture),
        )

    def learning_rates(self) -> dict[str, float]:
        """The recipe's learning rate per optimizer (what a run records)."""
        rates = {}
        for key in ("optimizer", "g_optimizer", "d_optimizer"):
            spec = self.recipe.get(key)
            while isinstance(spec, Mapping) and "optimizer" in spec:
                spec = spec["optimizer"]
            if isinstance(spec, Mapping) and "learning_rate" in spec:
                rates[key] = peak_learning_rate(spec["learning_rate"])
        return rates

    def to_dict(self) -> dict:
        """The preset as JSON-ready data (for model cards and run records)."""
        return {
            "name": self.name,
            "model": self.model,
            "description": self.description,
            "config": _plain(self.config),
            "recipe": _plain(self.recipe),
            "data": self.data.to_dict(),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "architecture": self.architecture,
            "kl_warmup": self.kl_warmup,
            "stages": _plain(self.stages),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preset:
        """The preset that :meth:`to_dict` wrote (e.g. into a model card)."""
        data = dict(data)
        data["data"] = DataSpec(**data["data"])
        if isinstance(data["data"].source, list):
            data["data"] = dataclasses.replace(data["data"], source=tuple(data["data"].source))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _plain(value):
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


# --- optimizers as data ------------------------------------------------------------------


def adam(learning_rate: float, **kwargs) -> dict:
    """The spec of ``keras.optimizers.Adam(learning_rate, **kwargs)``.

    >>> adam(2e-4, beta_1=0.5)
    {'class': 'Adam', 'learning_rate': 0.0002, 'beta_1': 0.5}
    """
    return {"class": "Adam", "learning_rate": learning_rate, **kwargs}


def ema(optimizer: Mapping, momentum: float = 0.999, **kwargs) -> dict:
    """The spec of ``keras_gen.optimizers.EMA(optimizer, momentum)``."""
    return {"class": "EMA", "optimizer": dict(optimizer), "momentum": momentum, **kwargs}


def cosine_schedule(peak: float, decay_steps: int, warmup_steps: int = 0, alpha: float = 0.0):
    """The spec of a ``keras.optimizers.schedules.CosineDecay`` with a linear warm-up.

    The rate rises from 0 to ``peak`` over ``warmup_steps``, then follows a cosine to
    ``alpha * peak`` over ``decay_steps``.

    >>> cosine_schedule(2e-3, 1000, warmup_steps=10)["warmup_target"]
    0.002
    """
    if warmup_steps:
        return {
            "class": "CosineDecay",
            "initial_learning_rate": 0.0,
            "decay_steps": int(decay_steps),
            "alpha": alpha,
            "warmup_target": peak,
            "warmup_steps": int(warmup_steps),
        }
    return {
        "class": "CosineDecay",
        "initial_learning_rate": peak,
        "decay_steps": int(decay_steps),
        "alpha": alpha,
    }


def build_optimizer(spec: Mapping):
    """A Keras optimizer from its spec: keras-gen's wrappers first, then Keras' optimizers.

    A ``learning_rate`` may itself be a spec of a ``keras.optimizers.schedules`` class.

    >>> opt = build_optimizer(ema(adam(1e-3), momentum=0.99))
    >>> type(opt).__name__, type(opt.optimizer).__name__
    ('EMA', 'Adam')
    """
    import keras

    from keras_gen import optimizers as kgo

    kwargs = dict(spec)
    name = kwargs.pop("class")
    for key, value in kwargs.items():
        if isinstance(value, Mapping) and "class" in value:
            kwargs[key] = build_optimizer(value)
    cls = (
        getattr(kgo, name, None)
        or getattr(keras.optimizers, name, None)
        or getattr(keras.optimizers.schedules, name, None)
    )
    if cls is None:
        raise ValueError(f"unknown optimizer or schedule class {name!r} in an optimizer spec")
    return cls(**kwargs)


def peak_learning_rate(spec: Mapping | float) -> float:
    """The largest rate of a learning-rate spec: a number, or a schedule's peak."""
    if not isinstance(spec, Mapping):
        return float(spec)
    for key in ("warmup_target", "initial_learning_rate"):
        if spec.get(key):
            return float(spec[key])
    raise ValueError(f"cannot tell the peak learning rate of the schedule {dict(spec)}")


def with_learning_rate(spec: Mapping, learning_rate: float, constant: bool = False) -> dict:
    """``spec`` with every (inner) optimizer's learning rate set to ``learning_rate``.

    A schedule keeps its shape, with its peak moved to ``learning_rate``, or with
    ``constant=True`` becomes that constant rate (fine-tuning).

    >>> with_learning_rate(ema(adam(cosine_schedule(2e-3, 99))), 1e-4, constant=True)
    {'class': 'EMA', 'optimizer': {'class': 'Adam', 'learning_rate': 0.0001}, 'momentum': 0.999}
    """
    spec = dict(spec)
    if "optimizer" in spec:
        spec["optimizer"] = with_learning_rate(spec["optimizer"], learning_rate, constant)
    elif isinstance(spec.get("learning_rate"), Mapping) and not constant:
        schedule = dict(spec["learning_rate"])
        key = "warmup_target" if schedule.get("warmup_target") else "initial_learning_rate"
        schedule[key] = learning_rate
        spec["learning_rate"] = schedule
    else:
        spec["learning_rate"] = learning_rate
    return spec


# --- the registry ------------------------------------------------------------------------

_REGISTRY: dict[str, Preset] = {}
_DISCOVERED = False


def register_presets(presets: Iterable[Preset]) -> None:
    """Add presets to the registry; a name may be registered once."""
    for preset in presets:
        if preset.name in _REGISTRY and _REGISTRY[preset.name] is not preset:
            raise ValueError(f"preset {preset.name!r} is registered twice")
        _REGISTRY[preset.name] = preset


def _discover() -> None:
    """Import every ``keras_gen/zoo/<model>/<model>_presets.py`` and register its PRESETS."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    from keras_gen.presets.discovery import presets_modules

    for module in presets_modules():
        register_presets(module.PRESETS)
    _DISCOVERED = True


def names() -> list[str]:
    """Every registered preset name, in registration order (by model folder)."""
    _discover()
    return list(_REGISTRY)


def all_presets() -> list[Preset]:
    """Every registered preset."""
    _discover()
    return list(_REGISTRY.values())


def get(name: str) -> Preset:
    """The preset called ``name``; an unknown name is a ValueError listing the known ones.

    >>> get("no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown preset 'no-such-model'; known presets: ...
    """
    _discover()
    if name not in _REGISTRY:
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]
