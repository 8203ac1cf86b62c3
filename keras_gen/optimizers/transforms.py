"""Gradient transforms for :class:`keras_gen.optimizers.GradientTransform`, chained like optax.

A transform maps the list of gradients (already summed over the replicas, identical on
every replica) to a new list. Every transform takes ``mask``: a regex (searched in
``variable.path``), a layer, or a list of them; it then only touches the matching
variables (a mask that matches nothing is an error at build time).

Names for :func:`get`: ``clip_by_norm``, ``clip_by_global_norm``, ``clip_by_value``,
``centralize``, ``add_noise``, ``skip_non_finite``, ``function``.

Example:

>>> import numpy as np, keras
>>> t = ClipByGlobalNorm(1.0)
>>> v = keras.Variable(np.zeros(2, "float32"), name="w")
>>> t.build([v])
>>> (g,) = t([np.array([3.0, 4.0], "float32")], [v], 0)
>>> [round(float(x), 4) for x in g]
[0.6, 0.8]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
from keras import ops

from keras_gen.optimizers.base import check_patterns_used, matches, resolve_pattern
from keras_gen.training import backend

_REGISTRY: dict[str, type] = {}


def _register(name: str):
    def decorate(cls):
        cls.transform_name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


class Transform:
    """Base class: ``transform(grads, variables, step) -> grads`` on the masked variables.

    Subclasses implement ``transform_one(g, v, i, step)`` (one gradient) or override
    ``__call__`` (transforms that look at all gradients, like the global norm).

    The argument below is shared by every transform; the subclasses' docstrings only
    describe their own.

    Args:
        mask: which variables the transform touches; the others' gradients pass
            unchanged. None (default): all of them. Otherwise a regex (searched with
            ``re.search`` in ``variable.path``), a built layer or model (exactly its
            trainable variables), or a list of these (their union). A key that matches
            none of the optimizer's variables raises a ``ValueError`` at :meth:`build`.

    Example:

    >>> import numpy as np, keras
    >>> w = keras.Variable(np.zeros(2, "float32"), name="kernel")
    >>> b = keras.Variable(np.zeros(2, "float32"), name="bias")
    >>> t = ClipByValue(1.0, mask="kernel")
    >>> t.build([w, b])
    >>> [np.asarray(g).tolist() for g in t([np.full(2, 3.0, "float32")] * 2, [w, b], 0)]
    [[1.0, 1.0], [3.0, 3.0]]
    """

    transform_name = "transform"

    def __init__(self, mask=None):
        if mask is None:
            self.mask = None
        else:
            keys = mask if isinstance(mask, (list, tuple)) else [mask]
            self.mask = [resolve_pattern(k, f"{type(self).__name__} mask") for k in keys]

    def build(self, variables: Sequence) -> None:
        """Check the mask against the optimizer's variables."""
        if self.mask is not None:
            check_patterns_used(self.mask, variables, f"{type(self).__name__} mask")

    def selected(self, variable) -> bool:
        """Whether the transform applies to ``variable``."""
        return self.mask is None or any(matches(p, variable) for p in self.mask)

    def __call__(self, grads: list, variables: list, step) -> list:
        return [
            self.transform_one(g, v, i, step) if self.selected(v) else g
            for i, (g, v) in enumerate(zip(grads, variables))
        ]

    def transform_one(self, g, v, i, step):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"mask": self.mask}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _positive(owner: str, name: str, value) -> float:
    """``value`` as a float, or a ValueError naming ``owner`` and ``name`` unless it is > 0."""
    if not value > 0:
        raise ValueError(f"{owner}: {name} must be > 0; got {value}")
    return float(value)


def _safe_norm(squares):
    # sqrt with a zero-safe gradient path is not needed here (no gradients flow through).
    return ops.sqrt(squares)


@_register("clip_by_norm")
class ClipByNorm(Transform):
    """Rescale each variable's gradient to an L2 norm of at most ``max_norm``.

    Each gradient is clipped on its own (see :class:`ClipByGlobalNorm` for all together).

    Args:
        max_norm: the largest L2 norm a variable's gradient keeps, > 0.

    Other arguments: see :class:`Transform`.

    Example:

    >>> import numpy as np, keras
    >>> w, b = keras.Variable(np.zeros(2, "float32")), keras.Variable(np.zeros(2, "float32"))
    >>> grads = [np.array([3.0, 4.0], "float32"), np.array([0.3, 0.4], "float32")]
    >>> [np.asarray(g, float).round(4).tolist() for g in ClipByNorm(1.0)(grads, [w, b], 0)]
    [[0.6, 0.8], [0.3, 0.4]]
    """

    def __init__(self, max_norm: float, mask=None):
        super().__init__(mask)
        self.max_norm = _positive("ClipByNorm", "max_norm", max_norm)

    def transform_one(self, g, v, i, step):
        norm = _safe_norm(ops.sum(ops.square(g)))
        return g * (self.max_norm / ops.maximum(norm, self.max_norm))

    def get_config(self):
        return {"max_norm": self.max_norm, **super().get_config()}


@_register("clip_by_global_norm")
class ClipByGlobalNorm(Transform):
    """Rescale the (masked) gradients together to a global L2 norm of at most ``max_norm``.

    A non-finite norm makes the gradients NaN (as in Keras), for ``skip_non_finite`` to see.

    Args:
        max_norm: the largest L2 norm of all the masked gradients together, > 0.

    Other arguments: see :class:`Transform`.

    Example:

    >>> import numpy as np, keras
    >>> w, b = keras.Variable(np.zeros(2, "float32")), keras.Variable(np.zeros(1, "float32"))
    >>> grads = [np.array([3.0, 0.0], "float32"), np.array([4.0], "float32")]
    >>> clipped = ClipByGlobalNorm(1.0)(grads, [w, b], 0)
    >>> [np.asarray(g, float).round(4).tolist() for g in clipped]
    [[0.6, 0.0], [0.8]]
    """

    def __init__(self, max_norm: float, mask=None):
        super().__init__(mask)
        self.max_norm = _positive("ClipByGlobalNorm", "max_norm", max_norm)

    def __call__(self, grads, variables, step):
        chosen = [i for i, v in enumerate(variables) if self.selected(v)]
        if not chosen:
            return grads
        total = ops.sum(ops.stack([ops.sum(ops.square(grads[i])) for i in chosen]))
        norm = _safe_norm(total)
        scale = self.max_norm / ops.maximum(norm, self.max_norm) + (norm - norm)
        out = list(grads)
        for i in chosen:
            out[i] = grads[i] * ops.cast(scale, grads[i].dtype)
        return out

    def get_config(self):
        return {"max_norm": self.max_norm, **super().get_config()}


@_register("clip_by_value")
class ClipByValue(Transform):
    """Clip every gradient entry to ``[-max_value, max_value]``.

    Args:
        max_value: the bound on each entry's absolute value, > 0.

    Other arguments: see :class:`Transform` (whose example uses this transform).
    """

    def __init__(self, max_value: float, mask=None):
        super().__init__(mask)
        self.max_value = _positive("ClipByValue", "max_value", max_value)

    def transform_one(self, g, v, i, step):
        return ops.clip(g, -self.max_value, self.max_value)

    def get_config(self):
        return {"max_value": self.max_value, **super().get_config()}


@_register("centralize")
class Centralize(Transform):
    """Gradient centralization (Yong et al. 2020): subtract the mean over all axes but the last.

    For Keras' kernel layout (``(in, out)`` dense, ``(h, w, in, out)`` conv) that is the mean
    per output unit. Variables of rank < 2 (biases, scales) are left alone.

    Arguments: only ``mask``, see :class:`Transform`.
    """

    def transform_one(self, g, v, i, step):
        if len(g.shape) < 2:
            return g
        return g - ops.mean(g, axis=tuple(range(len(g.shape) - 1)), keepdims=True)


@_register("add_noise")
class AddNoise(Transform):
    """Add Gaussian noise with variance ``eta / (1 + step) ** gamma`` (Neelakantan et al. 2015).

    ``step`` counts real updates. The noise is drawn from stateless seeds made of
    ``seed``, the variable's index and the step, so it is the same on every replica (the
    replicas apply the same update) and reproducible after a save and load.

    Args:
        eta: the noise variance at step 0, >= 0; default 0.01 (0 adds nothing).
        gamma: the decay exponent of the variance, >= 0; default 0.55 (the paper's).
        seed: an int, combined with the variable's index and the step; default 0.

    Other arguments: see :class:`Transform`.

    Example:

    >>> import numpy as np, keras
    >>> w = keras.Variable(np.zeros(3, "float32"))
    >>> grads = [np.zeros(3, "float32")]
    >>> a, b = AddNoise(seed=1)(grads, [w], 5), AddNoise(seed=1)(grads, [w], 5)
    >>> bool(np.all(np.asarray(a[0]) == np.asarray(b[0])))  # same seed and step: same noise
    True
    """

    def __init__(self, eta: float = 0.01, gamma: float = 0.55, seed: int = 0, mask=None):
        super().__init__(mask)
        if not eta >= 0:
            raise ValueError(f"AddNoise: eta must be >= 0; got {eta}")
        if not gamma >= 0:
            raise ValueError(f"AddNoise: gamma must be >= 0; got {gamma}")
        self.eta, self.gamma, self.seed = float(eta), float(gamma), int(seed)

    def transform_one(self, g, v, i, step):
        t = ops.cast(step, "float32")
        std = ops.sqrt(self.eta / ops.power(1.0 + t, self.gamma))
        seed = (ops.cast(self.seed * 100003 + i, "int64"), ops.cast(step, "int64"))
        noise = backend.stateless_normal_seeded(ops.shape(g), seed, dtype=g.dtype)
        return g + ops.cast(std, g.dtype) * noise

    def get_config(self):
        return {"eta": self.eta, "gamma": self.gamma, "seed": self.seed, **super().get_config()}


@_register("skip_non_finite")
class SkipNonFinite(Transform):
    """Skip the whole update (no step, no slot change) when a (masked) gradient is not finite.

    It checks the gradients as they are at its place in the chain; the skips are counted
    in ``GradientTransform.skipped_updates``.

    Arguments: only ``mask``, see :class:`Transform`.
    """

    def __call__(self, grads, variables, step):
        return grads

    def is_finite(self, grads, variables):
        """A scalar bool: all masked gradients are finite."""
        checks = [ops.all(ops.isfinite(g)) for g, v in zip(grads, variables) if self.selected(v)]
        return ops.all(ops.stack(checks)) if checks else ops.convert_to_tensor(True)


@_register("function")
class Function(Transform):
    """A user function ``fn(gradient, variable) -> gradient`` applied to each masked variable.

    To save it in a ``.keras`` file, register ``fn`` with
    ``keras.saving.register_keras_serializable``.

    Args:
        fn: a callable ``fn(gradient, variable) -> gradient`` (or its serialized form,
            as in a saved config), called once per masked variable.

    Other arguments: see :class:`Transform`.

    Example:

    >>> import numpy as np, keras
    >>> w = keras.Variable(np.zeros(2, "float32"))
    >>> Function(lambda g, v: 2 * g)([np.ones(2, "float32")], [w], 0)[0].tolist()
    [2.0, 2.0]
    """

    def __init__(self, fn: Callable, mask=None):
        super().__init__(mask)
        if isinstance(fn, dict):
            fn = keras.saving.deserialize_keras_object(fn)
        if not callable(fn):
            raise TypeError(f"Function: fn must be callable (g, v) -> g; got {fn!r}")
        self.fn = fn

    def transform_one(self, g, v, i, step):
        return self.fn(g, v)

    def get_config(self):
        return {"fn": keras.saving.serialize_keras_object(self.fn), **super().get_config()}


def get(spec) -> Transform:
    """A transform from an instance, a name, ``(name, kwargs)`` or ``{"name": ..., **kwargs}``.

    >>> get(("clip_by_norm", {"max_norm": 1.0}))
    ClipByNorm(max_norm=1.0, mask=None)
    """
    if isinstance(spec, Transform):
        return spec
    if isinstance(spec, type) and issubclass(spec, Transform):
        return spec()
    if callable(spec) and not isinstance(spec, (str, dict)):
        return Function(spec)
    kwargs = {}
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        spec, kwargs = spec
        kwargs = dict(kwargs)
    elif isinstance(spec, dict):
        kwargs = dict(spec)
        spec = kwargs.pop("name", None)
    if not isinstance(spec, str):
        raise TypeError(
            f"a gradient transform is a Transform, a name, (name, kwargs) or a dict with "
            f"'name'; got {spec!r}"
        )
    if spec not in _REGISTRY:
        raise ValueError(
            f"unknown gradient transform {spec!r}; expected one of {sorted(_REGISTRY)}"
        )
    return _REGISTRY[spec](**kwargs)


def serialize(transform: Transform) -> dict:
    """``{"name": ..., **config}``, the inverse of :func:`get`."""
    return {"name": transform.transform_name, **transform.get_config()}


__all__ = [
    "AddNoise",
    "Centralize",
    "ClipByGlobalNorm",
    "ClipByNorm",
    "ClipByValue",
    "Function",
    "SkipNonFinite",
    "Transform",
    "get",
    "serialize",
]
