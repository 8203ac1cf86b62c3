"""Per-variable learning-rate multipliers that scale the UPDATE, for any optimizer."""

from __future__ import annotations

import math
from collections.abc import Mapping

import keras

from keras_gen.optimizers.base import (
    OptimizerWrapper,
    check_patterns_used,
    matches,
    resolve_pattern,
)
from keras_gen.optimizers.schedules import as_float
from keras_gen.training import backend


@keras.saving.register_keras_serializable(package="keras_gen")
class LRMultiplier(OptimizerWrapper):
    """Multiply the change each update makes to some variables (a per-layer learning rate).

    The wrapped optimizer computes its update as usual; for a variable with multiplier
    ``m`` the new value is ``old + m * (new - old)``. For SGD (with momentum), Adam and
    decoupled weight decay this equals training those variables with ``m`` times the
    learning rate (Adam's moments do not depend on the rate). Scaling the gradient
    instead would do nothing for Adam. A variable with ``m == 0`` gets no gradient at all:
    its weights stay bit-identical and its slots do not advance. Unmatched variables use 1.

    Keys are regexes searched (``re.search``) in ``variable.path``, tried in order (the
    first match wins), or layers/models, which stand for exactly their trainable
    variables (the zoo's functional bodies have flat paths such as ``dense_1/kernel``).
    A pattern that matches no variable raises an error when the optimizer is built: a
    typo would otherwise silently train that layer at the full rate.

    EMA and Lookahead read the weights, so they must wrap LRMultiplier, not sit inside it.

    Args:
        multipliers: a non-empty mapping ``{key: multiplier}`` (or a list of
            ``[key, multiplier]`` pairs, as in a saved config); keys are regexes or
            layers as above, multipliers finite numbers >= 0.

    Other arguments: see :class:`~keras_gen.optimizers.OptimizerWrapper`.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="head")])
    >>> opt = LRMultiplier(keras.optimizers.SGD(0.1), {"head/bias": 0.0})
    >>> model.compile(optimizer=opt, loss="mse")
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
    >>> float(model.layers[0].bias[0])
    0.0
    """

    def __init__(
        self,
        optimizer,
        multipliers: Mapping,
        *,
        loss_scale_factor: float | None = None,
        name: str | None = None,
    ):
        from keras_gen.optimizers.ema import EMA
        from keras_gen.optimizers.lookahead import Lookahead

        super().__init__(optimizer, loss_scale_factor=loss_scale_factor, name=name)
        for inner in self.chain()[1:]:
            if isinstance(inner, (EMA, Lookahead)):
                raise ValueError(
                    f"LRMultiplier cannot wrap {type(inner).__name__}: it scales the change "
                    f"of the weights AFTER the wrapped optimizer, so {type(inner).__name__} "
                    "would see unscaled weights. Nest it the other way round, e.g. "
                    f"{type(inner).__name__}(LRMultiplier(...))."
                )
        if isinstance(multipliers, Mapping):
            items = list(multipliers.items())
        else:
            items = [tuple(item) for item in multipliers]  # [[pattern, m], ...] from a config
        if not items:
            raise ValueError("LRMultiplier: multipliers is empty; expected {pattern: multiplier}")
        resolved = []
        for key, value in items:
            pattern = resolve_pattern(key, "LRMultiplier multipliers")
            message = f"LRMultiplier: multiplier for {pattern!r} must be a number; got {value!r}"
            value = as_float(value, message)
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"LRMultiplier: multiplier for {pattern!r} must be a finite number >= 0; "
                    f"got {value}"
                )
            resolved.append((pattern, value))
        self.multipliers = resolved

    def multiplier_for(self, variable) -> float:
        """The multiplier of ``variable``: the first matching pattern's, else 1.0."""
        for pattern, value in self.multipliers:
            if matches(pattern, variable):
                return value
        return 1.0

    def _build_own(self, variables):
        check_patterns_used([p for p, _ in self.multipliers], variables, "LRMultiplier")

    def _apply_reduced(self, grads, variables):
        kept = [(g, v, self.multiplier_for(v)) for g, v in zip(grads, variables)]
        kept = [(g, v, m) for g, v, m in kept if m != 0.0]
        if not kept:
            return
        scaled = [(v, m) for _, v, m in kept if m != 1.0]
        # Reads are snapshots: later assignments do not change these tensors.
        before = [backend.snapshot(v) for v, _ in scaled]
        self._apply_inner([g for g, _, _ in kept], [v for _, v, _ in kept])
        # new = old + m * (new - old), written as new -= (1 - m) * (new - old).
        undo = [(1.0 - m) * (backend.snapshot(v) - old) for (v, m), old in zip(scaled, before)]
        backend.sync_assign([v for v, _ in scaled], undo, op="assign_sub")

    def get_config(self):
        config = super().get_config()
        config["multipliers"] = [[p, m] for p, m in self.multipliers]
        return config
