"""A callback that reports the optimizer's skipped (non-finite) updates in the logs."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="keras_gen")
class SkippedUpdates(keras.callbacks.Callback):
    """Add ``skipped_updates`` (summed over every GradientTransform in the chain) to the logs.

    It then shows in the progress bar and in ``History``, next to the loss terms.

    Example:

    >>> import keras, numpy as np
    >>> from keras_gen.optimizers import GradientTransform
    >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    >>> model.compile(GradientTransform(keras.optimizers.SGD(0.1), ["skip_non_finite"]), "mse")
    >>> x = np.array([[1.0], [np.inf]], "float32")
    >>> h = model.fit(x, np.ones((2, 1)), batch_size=1, verbose=0, callbacks=[SkippedUpdates()])
    >>> h.history["skipped_updates"]
    [1]
    """

    def get_config(self) -> dict:
        return {}

    def _count(self) -> int:
        from keras_gen.optimizers.transform import GradientTransform

        opt, total = self.model.optimizer, 0
        while opt is not None:
            if isinstance(opt, GradientTransform) and opt.built:
                total += int(opt.skipped_updates.numpy())
            opt = getattr(opt, "optimizer", None) or getattr(opt, "inner_optimizer", None)
        return total

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None:
            logs["skipped_updates"] = self._count()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["skipped_updates"] = self._count()
