"""What both trainers share: one ``keras.metrics.Mean`` per reported term, the reduction by
the GLOBAL batch size, the build workaround under ``tf.distribute`` and the config filter.

:class:`~keras_gen.training.GenerativeModel` (one objective) and
:class:`~keras_gen.training.AdversarialModel` (two players) differ only in their steps.

>>> class Counter(TrainingCore):
...     pass
>>> model = Counter()
>>> model.set_term_names(("loss", "kl"))
>>> model.term_names
('loss', 'kl')
>>> sorted(model.get_config())
['dtype', 'name', 'trainable']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
from keras import ops

from keras_gen.training import backend

# keras.Model's own config keys that a zoo model keeps; its constructor arguments follow.
BASE_CONFIG_KEYS = ("name", "trainable", "dtype")


class TrainingCore(keras.Model):
    """Base of the trainers: term trackers, global-batch reduction, build, config."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._term_trackers: dict[str, keras.metrics.Mean] = {}

    def set_term_names(self, names: Sequence[str]) -> None:
        """Track one ``keras.metrics.Mean`` per name, in order (replacing earlier ones)."""
        names = tuple(names)
        if len(set(names)) != len(names):
            raise ValueError(f"term_names must be unique; got {names}")
        self._term_trackers = {name: keras.metrics.Mean(name=name) for name in names}

    @property
    def term_names(self) -> tuple[str, ...]:
        """Names of the reported terms, in order."""
        return tuple(self._term_trackers)

    @property
    def metrics(self):
        return list(self._term_trackers.values())

    def update_terms(self, terms: Mapping, local_n=None) -> None:
        """Add a step's terms to their trackers; names without a tracker are skipped.

        A scalar term counts ``local_n`` times when ``local_n`` is given (a per-batch
        value of a batch of that many examples), once otherwise.
        """
        for name, value in terms.items():
            tracker = self._term_trackers.get(name)
            if tracker is None:
                continue
            value = ops.cast(value, "float32")
            if local_n is not None and ops.ndim(value) == 0:
                tracker.update_state(value, sample_weight=local_n)
            else:
                tracker.update_state(value)

    def step_logs(self) -> dict:
        """Every metric's current result, shaped for Keras' cross-replica reduction."""
        return backend.step_outputs({metric.name: metric.result() for metric in self.metrics})

    @staticmethod
    def global_batch_share(per_example):
        """This replica's share of the global-batch mean: ``sum(local) / global batch``.

        The optimizers sum gradients over the replicas, so summing these shares gives the
        gradient of the mean over the GLOBAL batch (``ops.mean`` would give N times it).
        """
        per_example = ops.cast(per_example, "float32")
        return ops.sum(per_example) / backend.global_batch_size(ops.shape(per_example)[0])

    @staticmethod
    def global_mean(values):
        """The mean of ``values`` (one per local example) over the GLOBAL batch, all-reduced.

        The same number on every replica, and on one device for the whole batch (what a
        loss that needs a batch statistic, e.g. a relativistic average, must see).
        """
        values = ops.cast(values, "float32")
        total = backend.all_reduce_sum(ops.sum(values))
        return total / backend.global_batch_size(ops.shape(values)[0])

    # -- input checks -----------------------------------------------------------------------

    def checked_batch(self, x, y=None):
        """``(x, y)`` with the model's input checks attached (identity here).

        Both trainers pass every batch through it at the start of their train and test steps;
        a model that needs, e.g., labels in range or pixels in [0, 1] returns its inputs
        through :func:`keras_gen.training.backend.checked`. :meth:`fit` and :meth:`evaluate`
        also call it once on NumPy data, so such errors come before any step is traced.
        """
        return x, y

    def fit(self, x=None, y=None, batch_size=None, *args, **kwargs):
        self._check_inputs(x, y, batch_size)
        with backend.input_errors():
            return super().fit(x, y, batch_size, *args, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, *args, **kwargs):
        self._check_inputs(x, y, batch_size)
        with backend.input_errors():
            return super().evaluate(x, y, batch_size, *args, **kwargs)

    def _check_inputs(self, x, y, batch_size) -> None:
        # Keras takes batch_size=0 as 32, and fails on -1 or 2.5 with a shape error.
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int | np.integer)
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer or None; got {batch_size!r}")
        if isinstance(x, np.ndarray):
            self.checked_batch(x, y)

    def built_without_data(self) -> bool:
        """Whether every weight exists before the first batch (see ``_maybe_symbolic_build``)."""
        return all(layer.built for layer in self._flatten_layers())

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras (3.15) builds a distributed model from the MEAN of the first batch over the
        # replicas, which fails when that batch is split unevenly (e.g. 31 examples on 2
        # replicas). A model whose layers are all built needs only its optimizer built.
        if self._distribute_strategy is not None and self.built_without_data():
            if self.optimizer is not None and not self.optimizer.built:
                with self.distribute_strategy.scope():
                    self.optimizer.build(self.trainable_variables)
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def get_config(self):
        # Subclasses add their constructor arguments; the term names follow from them.
        config = super().get_config()
        return {k: v for k, v in config.items() if k in BASE_CONFIG_KEYS}
