"""Dropout layers whose masks come from the layer's own saved ``SeedGenerator``, per replica."""

from __future__ import annotations

import keras
from keras import ops

from keras_gen.layers.seeding import SavesSeedState
from keras_gen.text.vocab import SPECIAL_IDS, UNK_ID
from keras_gen.training import backend


@keras.saving.register_keras_serializable(package="keras_gen")
class WordDropout(SavesSeedState, keras.layers.Layer):
    """Replace each non-special token id by the unknown id with probability ``rate``.

    Bowman et al. (2016): weakening the decoder's view of the sentence makes it use the
    latent code. Noise from the layer's ``SeedGenerator``, different on every replica.
    Only active in training; the special ids (padding, unknown, start, end) are never
    replaced.

    Args:
        rate: probability of replacing each token, in [0, 1]; default 0.0 (a no-op).
        seed: optional int seed of the layer's ``SeedGenerator``; None: a random one.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Call arguments:
        ids: int token ids of any shape (see :class:`~keras_gen.text.TextVocabulary`).
        training: whether to drop tokens; default False (the ids pass unchanged).

    Example:

    >>> import numpy as np
    >>> ids = WordDropout(1.0, seed=0)(np.array([[2, 7, 8, 0]]), training=True)
    >>> ids.numpy().tolist()
    [[2, 1, 1, 0]]
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"rate must be in [0, 1]; got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # no weights

    def call(self, ids, training=False):
        if not training or self.rate == 0.0:
            return ids
        u = backend.stateless_uniform(ops.shape(ids), self.seed_generator)
        droppable = ops.greater_equal(ids, len(SPECIAL_IDS))
        return ops.where(ops.logical_and(droppable, u < self.rate), UNK_ID, ids)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_gen")
class SeededDropout(SavesSeedState, keras.layers.Layer):
    """Dropout whose mask comes from the layer's saved ``SeedGenerator``, per replica.

    Keras' ``Dropout`` draws the same mask on every replica of a MirroredStrategy and
    does not save its generator's state, so a reloaded model would not continue
    training exactly; this one does both right.

    Args:
        rate: fraction of the inputs to drop, in [0, 1); the kept ones are scaled by
            ``1 / (1 - rate)``. Default 0.0 (a no-op).
        seed: optional int seed of the layer's ``SeedGenerator``; None: a random one.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a float tensor of any shape.
        training: whether to drop; default False (the inputs pass unchanged).

    Example:

    >>> import numpy as np
    >>> out = SeededDropout(0.5, seed=0)(np.ones((1, 1000), "float32"), training=True)
    >>> sorted(set(np.unique(out.numpy()).tolist()))
    [0.0, 2.0]
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"rate must be in [0, 1); got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # no weights

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        u = backend.stateless_uniform(ops.shape(inputs), self.seed_generator)
        kept = inputs / ops.cast(1.0 - self.rate, inputs.dtype)
        return ops.where(u >= self.rate, kept, ops.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
