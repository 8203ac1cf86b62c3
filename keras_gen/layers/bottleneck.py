"""A variational information bottleneck usable inside any model."""

from __future__ import annotations

import keras
from keras import ops

from keras_gen.layers.sampling import GaussianSampling
from keras_gen.losses import gaussian_kl


@keras.saving.register_keras_serializable(package="keras_gen")
class VariationalBottleneck(keras.layers.Layer):
    """Dense -> (mean, log-variance) -> sample, with ``beta * KL(q(z|x) || N(0, I))`` as a loss.

    The deep variational information bottleneck (Alemi et al. 2017): put it
    before a classifier head and the KL term limits how much the code keeps of
    the input. The KL (mean over the batch, in nats) is added with
    ``add_loss`` and reported as the metric ``<layer name>_kl``. In training
    the layer samples; at inference it returns the mean unless
    ``sample_at_inference=True``.

    Args:
        units: positive int, the size of the code ``z`` (the output's last axis).
        beta: weight of the KL term in the loss, >= 0; default 1.0.
        seed: optional int seed of the sampling noise (its
            :class:`GaussianSampling` layer); None: a random one.
        sample_at_inference: whether calls outside training also sample; default
            False (they return the mean).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Input shape:
        ``(batch_size, ..., input_dim)``.

    Output shape:
        ``(batch_size, ..., units)``.

    Example:

    >>> import keras
    >>> inputs = keras.Input((16,))
    >>> z = VariationalBottleneck(4, beta=1e-3, seed=0)(inputs)
    >>> outputs = keras.layers.Dense(3, activation="softmax")(z)
    >>> model = keras.Model(inputs, outputs)
    >>> model.compile("adam", "sparse_categorical_crossentropy")
    """

    def __init__(
        self,
        units: int,
        beta: float = 1.0,
        seed: int | None = None,
        sample_at_inference: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"units must be a positive integer; got {units!r}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0; got {beta!r}")
        self.units = int(units)
        self.beta = float(beta)
        self.seed = seed
        self.sample_at_inference = bool(sample_at_inference)
        self.mean_dense = keras.layers.Dense(self.units, name="mean")
        self.log_var_dense = keras.layers.Dense(self.units, name="log_var")
        self.sampling = GaussianSampling(seed=seed, name="sampling")
        self.kl_tracker = keras.metrics.Mean(name=f"{self.name}_kl")

    def build(self, input_shape):
        self.mean_dense.build(input_shape)
        self.log_var_dense.build(input_shape)

    def call(self, inputs, training=None):
        mean = self.mean_dense(inputs)
        log_var = self.log_var_dense(inputs)
        kl = gaussian_kl(mean, log_var)
        kl_mean = ops.mean(kl)
        self.add_loss(self.beta * kl_mean)
        if training:
            self.kl_tracker.update_state(kl)
        if training or self.sample_at_inference:
            return self.sampling([mean, log_var])
        return mean

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "beta": self.beta,
            "seed": self.seed,
            "sample_at_inference": self.sample_at_inference,
        }
