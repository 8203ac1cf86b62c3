"""TensorBoard scalars of every epoch, written with TensorFlow alone.

``keras.callbacks.TensorBoard`` needs the ``tensorboard`` package even to write scalars
(``tf.summary.scalar`` lives there), and the ``tensorflow-cpu`` wheel does not depend on
it. :class:`TensorBoardScalars` writes the same events with TensorFlow's own
``tf.summary.write`` and the scalar plugin's metadata, so ``tensorboard --logdir DIR``
(installed wherever it is viewed) shows them as the usual scalar charts.

>>> import tempfile
>>> import numpy as np
>>> import keras
>>> from keras_gen.callbacks.tensorboard import TensorBoardScalars, read_scalars
>>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> logdir = tempfile.mkdtemp()
>>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=0,
...               callbacks=[TensorBoardScalars(logdir)])
>>> [(step, tag) for step, tag, _ in read_scalars(logdir + "/train")][:2]
[(0, 'epoch_loss'), (0, 'epoch_learning_rate')]
"""

from __future__ import annotations

import glob
import os

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2
from tensorflow.core.util import event_pb2

# What tensorboard.summary.scalar writes: the scalars plugin (content: version 0, empty).
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR,
)


@keras.saving.register_keras_serializable(package="keras_gen")
class TensorBoardScalars(keras.callbacks.Callback):
    """Writes every epoch's logs (losses, metrics) and learning rate(s) as TensorBoard scalars.

    The layout is Keras' TensorBoard callback's: ``DIR/train`` holds ``epoch_<name>``
    for each entry of the epoch's logs, ``DIR/validation`` the ``val_`` entries, at step
    ``epoch`` (0-based, continuing across a resumed run). The learning rate is
    ``epoch_learning_rate`` (a GAN: ``epoch_g_learning_rate``, ``epoch_d_learning_rate``).

    Args:
        logdir: the run's log folder (created if needed).
    """

    def __init__(self, logdir: str | os.PathLike):
        super().__init__()
        self.logdir = os.fspath(logdir)
        self._writers: dict[str, tf.summary.SummaryWriter] = {}

    def _writer(self, name: str) -> tf.summary.SummaryWriter:
        if name not in self._writers:
            self._writers[name] = tf.summary.create_file_writer(os.path.join(self.logdir, name))
        return self._writers[name]

    def _learning_rates(self) -> dict[str, float]:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return {}
        players = {"g_": getattr(optimizer, "generator", None)}
        players["d_"] = getattr(optimizer, "discriminator", None)
        if not any(players.values()):
            players = {"": optimizer}
        rates = {}
        for prefix, opt in players.items():
            try:
                rates[f"{prefix}learning_rate"] = float(
                    keras.ops.convert_to_numpy(opt.learning_rate)
                )
            except (AttributeError, TypeError, ValueError):
                continue  # an optimizer without one learning rate
        return rates

    def on_epoch_end(self, epoch, logs=None):
        values = dict(logs or {})
        for name, rate in self._learning_rates().items():
            values.setdefault(name, rate)
        for name, value in values.items():
            try:
                value = float(np.asarray(value))
            except (TypeError, ValueError):
                continue  # not a scalar
            validation = name.startswith("val_")
            writer = self._writer("validation" if validation else "train")
            tag = f"epoch_{name[4:] if validation else name}"
            with writer.as_default():
                tf.summary.write(
                    tag, tf.constant(value, tf.float32), step=epoch, metadata=_SCALAR_METADATA
                )
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def get_config(self) -> dict:
        return {"logdir": self.logdir}


def read_scalars(folder: str | os.PathLike) -> list[tuple[int, str, float]]:
    """``(step, tag, value)`` of the scalars in the event files of ``folder``, in order.

    Reads with TensorFlow alone (no ``tensorboard`` package), for tests and scripts.
    """
    out = []
    for path in sorted(glob.glob(os.path.join(os.fspath(folder), "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.HasField("tensor"):
                    number = float(tf.make_ndarray(value.tensor))
                else:
                    number = float(value.simple_value)
                out.append((int(event.step), value.tag, number))
    return out
