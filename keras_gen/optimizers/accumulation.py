"""Gradient accumulation ("soft batch"): N micro-batches make one update."""

from __future__ import annotations

import keras
from keras import ops

from keras_gen.optimizers.base import OptimizerWrapper
from keras_gen.training import backend


@keras.saving.register_keras_serializable(package="keras_gen")
class GradientAccumulation(OptimizerWrapper):
    """Average the gradients of ``steps`` calls, then apply them once.

    With equal micro-batches of size B this is exactly the update of one batch of size
    ``steps * B`` (the model's loss is a mean over its batch), for any wrapped optimizer:
    the wrapped optimizer only runs on every ``steps``-th call, so Adam's moments, the
    base optimizer's ``iterations`` and learning-rate schedules advance once per real
    update. This wrapper's own ``_iterations`` counts micro-steps.

    Unlike Keras' ``gradient_accumulation_steps`` it works under MirroredStrategy: the
    conditional (accumulate, or update and reset) is taken in the cross-replica context
    and its branches re-enter the replicas, as in Keras' LossScaleOptimizer.

    Wrappers inside (e.g. a clip) see the averaged gradient; wrappers outside see each
    micro-batch's gradient.

    Args:
        steps: number of calls (micro-batches) averaged into one update, an int >= 1;
            1 applies every call's gradient directly.

    Other arguments: see :class:`~keras_gen.optimizers.OptimizerWrapper`.

    Example:

    >>> import keras, numpy as np
    >>> opt = GradientAccumulation(keras.optimizers.SGD(1.0), steps=2)
    >>> w = keras.Variable(np.zeros(1, "float32"))
    >>> opt.apply([np.array([1.0], "float32")], [w])
    >>> w.numpy().tolist(), int(opt.iterations)
    ([0.0], 0)
    >>> opt.apply([np.array([3.0], "float32")], [w])
    >>> w.numpy().tolist(), int(opt.iterations)
    ([-2.0], 1)
    """

    def __init__(
        self,
        optimizer,
        steps: int,
        *,
        loss_scale_factor: float | None = None,
        name: str | None = None,
    ):
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"GradientAccumulation: steps must be an int >= 1; got {steps!r}")
        super().__init__(optimizer, loss_scale_factor=loss_scale_factor, name=name)
        self.steps = steps

    def _build_own(self, variables):
        self._accumulators = self.add_optimizer_variables(variables, "accumulator")

    @property
    def micro_step(self):
        """Number of calls (micro-batches) so far."""
        return self._iterations

    def _apply_reduced(self, grads, variables):
        if self.steps == 1:
            self._apply_inner(grads, variables)
            return
        accumulators = [self._accumulators[self._get_variable_index(v)] for v in variables]
        micro = backend.snapshot(self._iterations)
        is_update = ops.equal((micro + 1) % self.steps, 0)
        backend.sync_assign([self._iterations], [micro + 1])

        # The accumulators are written inside the branches (a cheap add on micro-steps);
        # the branches run in sync on every replica (backend.cond_in_sync).
        def update(grads):
            means = [(ops.cast(a, g.dtype) + g) / self.steps for a, g in zip(accumulators, grads)]
            backend.sync_assign(accumulators, [ops.zeros_like(a) for a in accumulators])
            self._apply_inner(means, variables)

        def accumulate(grads):
            backend.sync_assign(accumulators, list(grads), op="assign_add")

        backend.cond_in_sync(is_update, update, accumulate, args=(list(grads),))

    def get_config(self):
        config = super().get_config()
        config["steps"] = self.steps
        return config
