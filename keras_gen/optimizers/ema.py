"""Exponential moving average of the weights, kept by the optimizer and saved with it."""

from __future__ import annotations

import contextlib

import keras
from keras import ops

from keras_gen.optimizers.base import OptimizerWrapper
from keras_gen.training import backend


@keras.saving.register_keras_serializable(package="keras_gen")
class EMA(OptimizerWrapper):
    """Keep ``average = momentum * average + (1 - momentum) * weights`` after every real update.

    The first real update copies the weights (as Keras' ``use_ema`` does), so after
    updates ``w_1 .. w_T``::

        average_T = momentum**(T-1) * w_1 + (1 - momentum) * sum_{t=2..T} momentum**(T-t) * w_t

    Calls that do not change the weights (GradientAccumulation's micro-steps, skipped
    non-finite steps) leave the average alone. The model keeps training its own weights;
    evaluate or sample with the average through ``keras.callbacks.SwapEMAWeights`` (it
    finds this EMA anywhere in the chain, also inside a LossScaleOptimizer), or with
    :meth:`averaged_weights`. Unlike Keras' ``use_ema``, ``fit`` does not overwrite the
    weights with the average at the end.

    Args:
        momentum: weight of the old average at each real update, a float in [0, 1);
            default 0.999 (an average over roughly the last 1000 updates). 0 keeps a
            copy of the latest weights.

    Other arguments: see :class:`~keras_gen.optimizers.OptimizerWrapper`.

    Example:

    >>> import keras, numpy as np
    >>> opt = EMA(keras.optimizers.SGD(1.0), momentum=0.5)
    >>> w = keras.Variable(np.zeros(1, "float32"))
    >>> for _ in range(3):
    ...     opt.apply([np.array([-1.0], "float32")], [w])
    >>> w.numpy().tolist(), opt.average_of(w).numpy().tolist()  # 0.25*1 + 0.25*2 + 0.5*3
    ([3.0], [2.25])
    >>> with opt.averaged_weights():
    ...     w.numpy().tolist()
    [2.25]
    """

    _ema_averages = None

    def __init__(
        self,
        optimizer,
        momentum: float = 0.999,
        *,
        loss_scale_factor: float | None = None,
        name: str | None = None,
    ):
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"EMA: momentum must be in [0, 1); got {momentum!r}")
        super().__init__(optimizer, loss_scale_factor=loss_scale_factor, name=name)
        self.momentum = float(momentum)

    def _build_own(self, variables):
        self._ema_averages = self.add_optimizer_variables(variables, "average")

    @property
    def _model_variables_moving_average(self):
        return self._ema_averages

    @property
    def num_averaged(self):
        """How many real updates went into the average (this wrapper's own counter)."""
        return self._iterations

    def average_of(self, variable):
        """The EMA variable of a model variable."""
        return self._ema_averages[self._get_variable_index(variable)]

    def _apply_reduced(self, grads, variables):
        before = backend.snapshot(self.iterations)
        self._apply_inner(grads, variables)
        updated = ops.not_equal(self.iterations, before)
        count = backend.snapshot(self._iterations)
        # momentum 0 on the first update (copy), 1 when nothing changed (keep the average).
        momentum = ops.where(count > 0, self.momentum, 0.0)
        momentum = ops.where(updated, momentum, 1.0)
        # average -= (1 - momentum) * (average - w): three passes over the weights.
        weights = list(self._trainable_variables)
        steps = [
            ops.cast(1.0 - momentum, a.dtype) * (a - ops.cast(v, a.dtype))
            for v, a in zip(weights, self._ema_averages)
        ]
        backend.sync_assign(self._ema_averages, steps, op="assign_sub")
        backend.sync_assign([self._iterations], [count + ops.cast(updated, count.dtype)])

    def swap_weights(self) -> None:
        """Swap the model's weights and their averages in place (call it again to undo)."""
        if not self.built:
            raise ValueError("EMA.swap_weights(): the optimizer is not built yet")
        backend.swap_variables(list(self._trainable_variables), list(self._ema_averages))

    @contextlib.contextmanager
    def averaged_weights(self):
        """Context manager: the model holds the averaged weights inside the block."""
        self.swap_weights()
        try:
            yield
        finally:
            self.swap_weights()

    def get_config(self):
        config = super().get_config()
        config["momentum"] = self.momentum
        return config
