"""Lookahead (Zhang et al. 2019): k fast steps forward, one step back."""

from __future__ import annotations

import keras
from keras import ops

from keras_gen.optimizers.base import OptimizerWrapper
from keras_gen.training import backend


@keras.saving.register_keras_serializable(package="keras_gen")
class Lookahead(OptimizerWrapper):
    """Keep slow weights ``phi``; every ``k`` real updates set ``phi += alpha * (w - phi)``, ``w = phi``.

    The wrapped optimizer updates the (fast) weights ``w`` as usual. The slow weights are
    taken from ``w`` at the start of every cycle of ``k`` updates (so also at the first
    update, and after weights are loaded into a fresh optimizer) and saved with the
    optimizer. Cycles count real updates (the base optimizer's ``iterations``), so it
    composes with GradientAccumulation in either order.

    Args:
        k: number of real updates of the fast weights per cycle, an int >= 1; default 5.
        alpha: step of the slow weights towards the fast ones at the end of a cycle, in
            (0, 1]; default 0.5. 1 keeps the fast weights (plain training).

    Other arguments: see :class:`~keras_gen.optimizers.OptimizerWrapper`.

    Example:

    >>> import keras, numpy as np
    >>> opt = Lookahead(keras.optimizers.SGD(1.0), k=2, alpha=0.5)
    >>> w = keras.Variable(np.zeros(1, "float32"))
    >>> for _ in range(2):
    ...     opt.apply([np.array([1.0], "float32")], [w])
    >>> w.numpy().tolist()  # fast weights went to -2, back half-way to the slow 0
    [-1.0]
    """

    def __init__(
        self,
        optimizer,
        k: int = 5,
        alpha: float = 0.5,
        *,
        loss_scale_factor: float | None = None,
        name: str | None = None,
    ):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"Lookahead: k must be an int >= 1; got {k!r}")
        if not 0.0 < float(alpha) <= 1.0:
            raise ValueError(f"Lookahead: alpha must be in (0, 1]; got {alpha!r}")
        super().__init__(optimizer, loss_scale_factor=loss_scale_factor, name=name)
        self.k = k
        self.alpha = float(alpha)

    def _build_own(self, variables):
        self._slow_weights = self.add_optimizer_variables(variables, "slow")

    def _apply_reduced(self, grads, variables):
        grad_variables = variables
        variables = list(self._trainable_variables)  # all weights, also those without a grad
        slow_vars = self._slow_weights
        before = backend.snapshot(self.iterations)
        at_cycle_start = ops.equal(before % self.k, 0)
        slow = [
            ops.where(at_cycle_start, backend.snapshot(v), backend.snapshot(s))
            for v, s in zip(variables, slow_vars)
        ]
        self._apply_inner(grads, grad_variables)
        after = self.iterations
        sync = ops.logical_and(ops.not_equal(after, before), ops.equal(after % self.k, 0))
        new_slow, new_fast = [], []
        for v, s in zip(variables, slow):
            fast = backend.snapshot(v)
            moved = s + ops.cast(self.alpha, s.dtype) * (fast - s)
            new_slow.append(ops.where(sync, moved, s))
            new_fast.append(ops.where(sync, moved, fast))
        backend.sync_assign([*slow_vars, *variables], [*new_slow, *new_fast])

    def get_config(self):
        config = super().get_config()
        config.update(k=self.k, alpha=self.alpha)
        return config
