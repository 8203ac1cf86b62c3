"""Stop a run whose loss is NaN or infinite, with an error instead of a saved NaN model.

Keras' own ``TerminateOnNaN`` watches only ``logs["loss"]`` (a GAN reports ``d_loss`` and
``g_loss``, so it never fires) and by default stops quietly, after which a script saves
the broken model as if training went well. :class:`StopOnNonFinite` watches every loss
term and raises :class:`NonFiniteLossError`, which names the term, the epoch and the batch.

>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
>>> model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
>>> x = np.full((8, 2), 1e3, "float32")
>>> model.fit(x, x[:, :1], batch_size=4, epochs=3, verbose=0, callbacks=[StopOnNonFinite()])
Traceback (most recent call last):
...
keras_gen.callbacks.nonfinite.NonFiniteLossError: the training loss became ... in epoch 1, batch ...
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras


class NonFiniteLossError(FloatingPointError, ValueError):
    """Training produced a NaN or infinite loss (raised by :class:`StopOnNonFinite`).

    Also a ``ValueError``: what the run was given (a learning rate, the data) was unusable,
    and code that reports bad values as user errors (the ``keras-gen`` command) reports it.
    """


@keras.saving.register_keras_serializable(package="keras_gen")
class StopOnNonFinite(keras.callbacks.Callback):
    """Raise :class:`NonFiniteLossError` as soon as a loss term is NaN or infinite.

    Checked after every training batch (``steps_per_execution`` batches at a time) and on
    the epoch's logs, which include the validation terms. The weights are then not worth
    keeping: the caller should not save them.

    Args:
        monitor: the log names to watch; None watches every name that contains ``"loss"``
            (``loss``, ``d_loss``, ``g_loss``, ``val_loss``, ...). Other terms, e.g. a
            Frechet distance that is inf before the first evaluation, are ignored.
    """

    def __init__(self, monitor: Sequence[str] | None = None):
        super().__init__()
        self.monitor = None if monitor is None else tuple(monitor)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, f"in epoch {self._epoch + 1}, batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, f"at the end of epoch {epoch + 1}")

    def _check(self, logs, where: str) -> None:
        for name, value in (logs or {}).items():
            watched = name in self.monitor if self.monitor is not None else "loss" in name
            if not watched:
                continue
            try:
                value = float(value)
            except (TypeError, ValueError):  # not a scalar
                continue
            if not math.isfinite(value):
                self.model.stop_training = True
                what = "training loss" if name == "loss" else f"loss term {name!r}"
                raise NonFiniteLossError(
                    f"the {what} became {value} {where}; the weights are not usable "
                    "(a learning rate too high? NaN or extreme values in the data?)"
                )

    def get_config(self) -> dict:
        return {"monitor": None if self.monitor is None else list(self.monitor)}

    @classmethod
    def from_config(cls, config: dict) -> StopOnNonFinite:
        return cls(**config)
