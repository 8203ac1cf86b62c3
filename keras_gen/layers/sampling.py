"""The reparameterization trick as a layer."""

from __future__ import annotations

import keras
from keras import ops

from keras_gen.layers.seeding import SavesSeedState
from keras_gen.training import backend


@keras.saving.register_keras_serializable(package="keras_gen")
class GaussianSampling(SavesSeedState, keras.layers.Layer):
    """Draw ``z = mean + exp(0.5 * log_var) * eps`` with ``eps ~ N(0, I)``.

    The noise comes from the layer's own ``SeedGenerator`` (reproducible with
    ``seed``), is drawn in the inputs' dtype (so it works under
    ``mixed_bfloat16``/``mixed_float16``) and differs between the replicas of a
    distribution strategy. Gradients flow to ``mean`` and ``log_var``.

    Args:
        seed: optional int seed of the layer's ``SeedGenerator``; None: a random one.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Call arguments:
        inputs: a pair ``[mean, log_var]`` of tensors of the same shape; the output
            has that shape too.

    Example:

    >>> import numpy as np
    >>> layer = GaussianSampling(seed=0)
    >>> z = layer([np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")])
    >>> tuple(z.shape)
    (2, 3)
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # No weights. Built now, so that a model holding it counts as built: Keras would
        # otherwise build a distributed model by calling it on the replica MEAN of the
        # first batch (no labels for a CVAE, and an error for an uneven split).
        self.built = True

    def call(self, inputs):
        mean, log_var = inputs
        log_var = ops.cast(log_var, mean.dtype)
        eps = backend.stateless_normal(ops.shape(mean), self.seed_generator, dtype=mean.dtype)
        return mean + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
