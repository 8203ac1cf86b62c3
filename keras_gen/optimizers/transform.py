"""GradientTransform: a chain of gradient transforms applied AFTER the cross-replica sum."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from keras_gen.optimizers import transforms as transforms_lib
from keras_gen.optimizers.base import OptimizerWrapper
from keras_gen.training import backend


@keras.saving.register_keras_serializable(package="keras_gen")
class GradientTransform(OptimizerWrapper):
    """Transform the gradients (summed over replicas) in order, then apply them.

    Unlike Keras' ``clipnorm``/``global_clipnorm``/``clipvalue``, which clip each
    replica's partial gradient before the all-reduce, these transforms see the gradient
    of the global batch, so 2 replicas give the update of 1 device.

    With ``skip_non_finite`` in the chain, an update whose gradients are not finite is
    skipped entirely (the wrapped optimizer does not step) and counted in
    :attr:`skipped_updates`.

    Args:
        transforms: the gradient transforms, applied in order: a non-empty list whose
            items are :mod:`keras_gen.optimizers.transforms` objects, names
            (``"centralize"``), ``(name, kwargs)`` pairs, ``{"name": ..., **kwargs}``
            dicts or callables ``fn(gradient, variable)`` (a ``Function`` transform);
            a single transform or name may be passed without a list.

    Other arguments: see :class:`~keras_gen.optimizers.OptimizerWrapper`.

    Example:

    >>> import keras, numpy as np
    >>> opt = GradientTransform(
    ...     keras.optimizers.SGD(1.0),
    ...     ["skip_non_finite", ("clip_by_global_norm", {"max_norm": 1.0})],
    ... )
    >>> w = keras.Variable(np.zeros(2, "float32"))
    >>> opt.apply([np.array([3.0, 4.0], "float32")], [w])
    >>> [round(float(x), 4) for x in w.numpy()]
    [-0.6, -0.8]
    >>> opt.apply([np.array([np.nan, 1.0], "float32")], [w])
    >>> int(opt.skipped_updates), int(opt.iterations)
    (1, 1)
    """

    def __init__(
        self,
        optimizer,
        transforms: Sequence,
        *,
        loss_scale_factor: float | None = None,
        name: str | None = None,
    ):
        super().__init__(optimizer, loss_scale_factor=loss_scale_factor, name=name)
        if isinstance(transforms, (str, transforms_lib.Transform)):
            transforms = [transforms]
        self.transforms = [transforms_lib.get(t) for t in transforms]
        if not self.transforms:
            raise ValueError("GradientTransform: transforms is empty")

    def _build_own(self, variables):
        for t in self.transforms:
            t.build(variables)
        self._skipped = self.add_variable(
            (), initializer="zeros", dtype="int64", name="skipped_updates"
        )

    @property
    def skipped_updates(self):
        """How many updates ``skip_non_finite`` has skipped (a scalar int variable)."""
        return self._skipped

    def _apply_reduced(self, grads, variables):
        step = backend.snapshot(self.iterations)
        finite = None
        for t in self.transforms:
            if isinstance(t, transforms_lib.SkipNonFinite):
                ok = t.is_finite(grads, variables)
                finite = ok if finite is None else ops.logical_and(finite, ok)
            grads = t(grads, variables, step)
        if finite is None:
            self._apply_inner(grads, variables)
            return

        def apply(grads):
            self._apply_inner(list(grads), variables)

        def skip(grads):
            backend.sync_assign([self._skipped], [self._skipped + 1])

        backend.cond_in_sync(finite, apply, skip, args=(list(grads),))

    def get_config(self):
        config = super().get_config()
        config["transforms"] = [transforms_lib.serialize(t) for t in self.transforms]
        return config
