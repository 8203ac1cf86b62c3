"""The base of the optimizer wrappers: one cross-replica sum, then a chain of wrappers.

Design (see ``docs/optimizers.md``):

- The OUTERMOST wrapper's :meth:`OptimizerWrapper.apply` sums the gradients over the
  replicas once (``training.backend.all_reduce_gradients``), so clipping, noise,
  accumulation and the non-finite check all see the gradient of the global batch,
  identical on every replica. It then calls ``_apply_reduced`` down the chain.
- The wrapped Keras optimizer at the bottom of the chain (the "base" optimizer) keeps
  its own ``apply`` (slots, weight decay, constraints, Keras' own clip arguments), with
  its internal all-reduce switched off (``training.backend.disable_all_reduce``).
- Each wrapper's ``variables`` are its own followed by the wrapped optimizer's, like
  Keras' ``LossScaleOptimizer``; ``save_own_variables`` stores only its own, since Keras'
  saving walks into the wrapped optimizer (the ``optimizer`` attribute) by itself.
"""

from __future__ import annotations

import re
import warnings
import weakref
from collections.abc import Iterable, Sequence

import keras

from keras_gen.training import backend


def _is_layer(obj) -> bool:
    return isinstance(obj, keras.layers.Layer)


def resolve_pattern(key, what: str) -> str:
    """A regex string for a variable-path pattern, or for all variables of a built layer.

    A layer (or model) key becomes an exact match of its variables' paths, which is what
    the zoo's functional bodies need: their paths (``dense_1/kernel``) do not contain the
    body's name.
    """
    if _is_layer(key):
        paths = [v.path for v in key.trainable_weights]
        if not paths:
            raise ValueError(
                f"{what}: layer {key.name!r} has no trainable variables (is it built?)"
            )
        return "^(?:" + "|".join(re.escape(p) for p in paths) + ")$"
    if not isinstance(key, str):
        raise TypeError(
            f"{what}: expected a regex string or a keras Layer; got {key!r} ({type(key).__name__})"
        )
    try:
        re.compile(key)
    except re.error as err:
        raise ValueError(f"{what}: invalid regex {key!r}: {err}") from err
    return key


def matches(pattern: str, variable) -> bool:
    """Whether ``pattern`` is found (``re.search``) in the variable's path."""
    return re.search(pattern, getattr(variable, "path", variable.name)) is not None


def check_patterns_used(patterns: Iterable[str], variables: Sequence, what: str) -> None:
    """Raise if a pattern matches none of ``variables`` (a typo would otherwise do nothing)."""
    for pattern in patterns:
        if not any(matches(pattern, v) for v in variables):
            paths = [getattr(v, "path", v.name) for v in variables]
            shown = ", ".join(paths[:12]) + (", ..." if len(paths) > 12 else "")
            raise ValueError(
                f"{what}: pattern {pattern!r} matches none of the {len(paths)} trainable "
                f"variables (patterns are regexes searched in variable.path: {shown})"
            )


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Base class of the keras-gen optimizer wrappers (not used directly).

    Subclasses implement ``_apply_reduced(grads, variables)`` (gradients already summed
    over the replicas) and call ``self._apply_inner(grads, variables)`` to pass them on.

    The arguments below are shared by every wrapper (:class:`GradientAccumulation`,
    :class:`EMA`, :class:`Lookahead`, :class:`LRMultiplier`, :class:`GradientTransform`);
    their docstrings only describe their own.

    Args:
        optimizer: the wrapped optimizer: a ``keras.optimizers.Optimizer`` instance
            (another wrapper included) or anything ``keras.optimizers.get`` takes (a
            name such as ``"adam"``, a config dict). It must not be a
            ``LossScaleOptimizer``, be wrapped already, or set ``use_ema``,
            ``gradient_accumulation_steps`` or ``loss_scale_factor`` itself. Its
            ``learning_rate`` and ``iterations`` are the wrapper's.
        loss_scale_factor: optional static loss scale, as in Keras: the gradients are
            divided by it before any transform. Only the outermost wrapper may set it (the
            dynamic one comes from ``keras.optimizers.LossScaleOptimizer``, which must be
            outermost). Default None: no scaling.
        name: the optimizer's name; None gives the class's snake-case name (``"ema"``).
    """

    def __init__(self, optimizer, *, loss_scale_factor=None, name=None):
        optimizer = keras.optimizers.get(optimizer)
        self._check_wrappable(optimizer)
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self.optimizer = optimizer
        if not isinstance(optimizer, OptimizerWrapper):
            backend.disable_all_reduce(optimizer)
        # Marks the wrapped optimizer as owned (without Keras' attribute tracking).
        object.__setattr__(optimizer, "_keras_gen_wrapped_by", weakref.ref(self))

    def _check_wrappable(self, optimizer) -> None:
        me = type(self).__name__
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                f"{me} wraps a keras.optimizers.Optimizer; got {optimizer!r} "
                f"({type(optimizer).__name__})"
            )
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            raise ValueError(
                f"{me} cannot wrap a LossScaleOptimizer: loss scaling must be the outermost "
                "wrapper, so that every transform sees unscaled gradients. Wrap the other "
                f"way round, LossScaleOptimizer({me}(...)); model.compile does this by "
                "itself under the 'mixed_float16' policy."
            )
        wrapped_by = getattr(optimizer, "_keras_gen_wrapped_by", None)
        if wrapped_by is not None and wrapped_by() is not None:
            raise ValueError(
                f"{me}: optimizer {optimizer.name!r} is already wrapped by "
                f"{wrapped_by().name!r}; use a new optimizer instance per wrapper"
            )
        if not isinstance(optimizer, OptimizerWrapper):
            if type(optimizer).apply is not keras.optimizers.Optimizer.apply:
                raise ValueError(
                    f"{me} cannot wrap {type(optimizer).__name__}: it overrides apply(), so "
                    "its gradients cannot be passed on already summed over the replicas"
                )
            if optimizer.use_ema:
                raise ValueError(
                    f"{me}: the wrapped optimizer {optimizer.name!r} has use_ema=True; use "
                    "keras_gen.optimizers.EMA instead (Keras' EMA fails with "
                    "ema_overwrite_frequency under MirroredStrategy and would average "
                    "a second time)"
                )
            if optimizer.gradient_accumulation_steps:
                raise ValueError(
                    f"{me}: the wrapped optimizer {optimizer.name!r} has "
                    f"gradient_accumulation_steps={optimizer.gradient_accumulation_steps}; "
                    "use keras_gen.optimizers.GradientAccumulation instead (Keras' "
                    "accumulation fails under MirroredStrategy)"
                )
        if optimizer.loss_scale_factor is not None:
            raise ValueError(
                f"{me}: the wrapped optimizer {optimizer.name!r} has loss_scale_factor="
                f"{optimizer.loss_scale_factor}; set it on the outermost wrapper instead "
                "(gradients must be unscaled before they are transformed)"
            )

    # -- the chain ---------------------------------------------------------------------

    def chain(self) -> list:
        """The optimizers from this one down to the base Keras optimizer."""
        chain = [self]
        while isinstance(chain[-1], OptimizerWrapper):
            chain.append(chain[-1].optimizer)
        return chain

    @property
    def base_optimizer(self) -> keras.optimizers.Optimizer:
        """The Keras optimizer at the bottom of the chain (the one with the slots)."""
        return self.chain()[-1]

    def build(self, variables):
        if self.built:
            return
        self._build_own(variables)
        if not self.optimizer.built:
            self.optimizer.build(variables)
        super().build(variables)
        self._distribution_strategy = backend.current_strategy()

    def _build_own(self, variables):
        """Create this wrapper's own variables (subclasses)."""

    @property
    def variables(self):
        return self._variables[:] + list(self.optimizer.variables)

    def save_own_variables(self, store):
        # Only this wrapper's variables: Keras' saving visits `self.optimizer` by itself
        # (storing the whole chain at every level would store the slots many times).
        for i, variable in enumerate(self._variables):
            store[str(i)] = keras.ops.convert_to_numpy(variable)

    def load_own_variables(self, store):
        if not self.built:  # as Keras' own optimizers do: the weights load, the state not
            warnings.warn(
                f"{type(self).__name__} {self.name!r}: skipping the optimizer state in the "
                "file because the optimizer is not built yet; build it first "
                "(optimizer.build(model.trainable_variables)) to restore it",
                stacklevel=2,
            )
            return
        if len(store.keys()) != len(self._variables):
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: the file holds {len(store.keys())} "
                f"variables for it, expected {len(self._variables)} (was the optimizer "
                "built on the same model?)"
            )
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    # -- applying gradients ------------------------------------------------------------

    def apply(self, grads, trainable_variables=None):
        """Sum ``grads`` over the replicas once, then apply them through the chain."""
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"{type(self).__name__}: pass trainable_variables on the first call, or "
                    "call build(variables) first"
                )
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
        self._check_variables_are_known(trainable_variables)
        pairs = [(g, v) for g, v in zip(grads, trainable_variables) if g is not None]
        if not pairs:
            return
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        with keras.name_scope(self.name, caller=self):
            grads = backend.all_reduce_gradients(grads)
            self._apply_reduced(grads, variables)

    def _apply_reduced(self, grads, variables):
        raise NotImplementedError

    def _apply_inner(self, grads, variables):
        if isinstance(self.optimizer, OptimizerWrapper):
            self.optimizer._apply_reduced(grads, variables)
        else:
            self.optimizer.apply(grads, variables)

    def _own_index(self, variable) -> int:
        return self._get_variable_index(variable)

    # -- what the wrapped optimizer owns -------------------------------------------------

    @property
    def learning_rate(self):
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        """Number of real updates of the model's weights (the base optimizer's step)."""
        return self.optimizer.iterations

    @property
    def _model_variables_moving_average(self):
        # What keras.callbacks.SwapEMAWeights swaps: the averages of an EMA in the chain.
        for opt in self.chain()[1:]:
            averages = getattr(opt, "_ema_averages", None)
            if averages is not None:
                return averages
        raise AttributeError(f"no keras_gen.optimizers.EMA in the chain of {self.name!r}")

    def finalize_variable_values(self, var_list):
        self.optimizer.finalize_variable_values(var_list)

    # -- config -------------------------------------------------------------------------

    def get_config(self):
        return {
            "optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "loss_scale_factor": self.loss_scale_factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        optimizer = keras.saving.deserialize_keras_object(
            config.pop("optimizer"), custom_objects=custom_objects
        )
        return cls(optimizer, **config)
