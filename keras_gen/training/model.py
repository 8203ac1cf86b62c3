"""The training core: a ``keras.Model`` whose train/test steps are written once.

A zoo model only says WHAT it optimises: :meth:`GenerativeModel.compute_terms`
returns named per-example terms, one of them ``"loss"`` (the objective). This
class owns HOW: the gradient tape and loss scaling for ``mixed_float16``; with
:class:`~keras_gen.training.core.TrainingCore` (shared with the two-player trainer), the
reduction by the global batch size under ``tf.distribute`` and one ``keras.metrics.Mean``
per term, so every model is distribution- and precision-correct in the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf
from keras import ops

from keras_gen.training.core import TrainingCore


class GenerativeModel(TrainingCore):
    """Base class for models trained by minimising named per-example loss terms.

    Subclasses pass the names of the terms they report to ``__init__`` and
    implement ``compute_terms(x, y=None, training=False)``, returning a dict
    with a per-example tensor of shape ``(batch,)`` (or a scalar) for every
    name. ``"loss"`` is the objective that is minimised; the other terms are
    only reported. Losses added by layers (``add_loss``, regularizers) are
    added to the objective. Sample weights multiply the per-example loss; pass
    them with a (dummy) ``y``, since Keras drops them when ``y`` is None.

    Example:

    >>> import keras
    >>> class MeanSquare(GenerativeModel):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(term_names=("loss",), **kwargs)
    ...         self.net = keras.layers.Dense(4)
    ...     def call(self, x):
    ...         return self.net(x)
    ...     def compute_terms(self, x, y=None, training=False):
    ...         err = keras.ops.square(self(x, training=training) - x)
    ...         return {"loss": keras.ops.sum(err, axis=-1)}
    >>> model = MeanSquare()
    >>> model.compile(optimizer="adam")
    >>> import numpy as np
    >>> history = model.fit(np.ones((8, 4), "float32"), epochs=1, verbose=0)
    >>> sorted(history.history)
    ['loss']
    """

    def __init__(self, term_names: Sequence[str] = ("loss",), **kwargs):
        super().__init__(**kwargs)
        names = tuple(term_names)
        if "loss" not in names:
            raise ValueError(f"term_names must include 'loss'; got {names}")
        self.set_term_names(names)

    # -- what subclasses implement --------------------------------------------------

    def compute_terms(self, x, y=None, training: bool = False) -> dict:
        """Return ``{name: per-example tensor}`` for every name in ``term_names``."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_terms()")

    # -- the core ---------------------------------------------------------------------

    @property
    def metrics(self):
        # The terms first, then metrics that layers own (e.g. a bottleneck's KL).
        layer_metrics = [
            m
            for layer in self._flatten_layers(include_self=False, recursive=False)
            for m in layer.metrics
        ]
        return super().metrics + layer_metrics

    def _terms_and_objective(self, data, training: bool):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        x, y = self.checked_batch(x, y)
        terms = self.compute_terms(x, y=y, training=training)
        missing = set(self.term_names) - set(terms)
        if missing:
            raise ValueError(
                f"{type(self).__name__}.compute_terms() did not return {sorted(missing)}"
            )
        local_n = ops.shape(tf.nest.flatten(x)[0])[0]
        terms = {name: ops.cast(terms[name], "float32") for name in self.term_names}
        per_example = terms["loss"]
        if ops.ndim(per_example) == 0:
            per_example = ops.broadcast_to(per_example, (local_n,))
        if self.losses:
            # add_loss terms are per-replica batch means: spreading them over the local
            # examples keeps the global-batch reduction below exact.
            per_example = per_example + ops.cast(ops.sum(self.losses), "float32")
        if sample_weight is not None:
            per_example = per_example * ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
        terms["loss"] = per_example
        return terms, self.global_batch_share(per_example), local_n

    def train_step(self, data):
        with tf.GradientTape() as tape:
            terms, objective, local_n = self._terms_and_objective(data, training=True)
            scaled = self.optimizer.scale_loss(objective)
        variables = self.trainable_variables  # after the forward pass, which may build layers
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        self.update_terms(terms, local_n)
        return self.step_logs()

    def test_step(self, data):
        terms, _, local_n = self._terms_and_objective(data, training=False)
        self.update_terms(terms, local_n)
        return self.step_logs()
