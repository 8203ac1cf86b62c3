"""Running moments of a code, so that a deterministic autoencoder can sample."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_gen.training import backend


@keras.saving.register_keras_serializable(package="keras_gen")
class LatentMoments(keras.layers.Layer):
    """Identity layer that keeps a moving mean and covariance of its inputs in training.

    A plain autoencoder has no prior; fitting a Gaussian to its codes (the
    "ex-post density estimation" of Ghosh et al. 2020) lets it generate.
    The statistics are updated like BatchNormalization's moving averages, so
    they are saved with the model and averaged across replicas.

    Args:
        momentum: weight of the old statistics at each training call, in [0, 1);
            default 0.99. 0 keeps the moments of the last batch only.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Input shape:
        ``(batch_size, ..., dim)``: the moments are over the last axis (all the other
        axes count as examples). The output is the input, unchanged.

    Example:

    >>> import numpy as np
    >>> layer = LatentMoments(momentum=0.0)
    >>> _ = layer(np.random.default_rng(0).normal(size=(512, 2)).astype("float32"), training=True)
    >>> z = layer.sample(3, seed=0)
    >>> z.shape
    (3, 2)
    """

    def __init__(self, momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        self.momentum = float(momentum)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        kw = {"trainable": False, "dtype": "float32", "aggregation": "mean", "autocast": False}
        self.moving_mean = self.add_weight(shape=(dim,), initializer="zeros", name="mean", **kw)
        self.moving_cov = self.add_weight(
            shape=(dim, dim), initializer="identity", name="cov", **kw
        )

    def call(self, inputs, training=None):
        if training:
            z = ops.cast(ops.reshape(inputs, (-1, ops.shape(inputs)[-1])), "float32")
            # Sums over all replicas, so that every replica applies the global batch's
            # moments (a mean of per-replica covariances would miss the between-replica part).
            n = backend.all_reduce_sum(ops.cast(ops.shape(z)[0], "float32"))
            mean = backend.all_reduce_sum(ops.sum(z, axis=0)) / n
            second = backend.all_reduce_sum(ops.matmul(ops.transpose(z), z))
            cov = (second - n * ops.outer(mean, mean)) / ops.maximum(n - 1.0, 1.0)
            m = self.momentum
            self.moving_mean.assign(m * self.moving_mean + (1.0 - m) * mean)
            self.moving_cov.assign(m * self.moving_cov + (1.0 - m) * cov)
        return inputs

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """Draw ``n`` codes from N(moving_mean, moving_cov) with NumPy (float32)."""
        mean = np.asarray(self.moving_mean.numpy(), np.float64)
        cov = np.asarray(self.moving_cov.numpy(), np.float64)
        rng = np.random.default_rng(seed)
        return rng.multivariate_normal(mean, cov, size=n, method="eigh").astype("float32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}
