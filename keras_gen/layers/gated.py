"""Gated blocks: the gated residual 1-D convolution and the gated activation ``tanh * sigmoid``."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gen")
class GatedResidualBlock(keras.layers.Layer):
    """``h + conv_a(h) * sigmoid(conv_b(h))``, zeroed at padded positions (a gated residual CNN).

    ``conv_a`` and ``conv_b`` are the two halves of one ``Conv1D`` with ``2 * filters``
    outputs and ``"same"`` padding, so the length is kept.

    Args:
        filters: int, the channels of the convolution's output; equal to the inputs'
            last axis (the residual sum needs it).
        kernel_size: int, width of the 1-D convolution window; default 3.
        dilation_rate: int, dilation of the convolution; default 1.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Call arguments:
        inputs: float tensor of shape ``(batch_size, length, filters)``.
        mask: bool (or 0/1) tensor of shape ``(batch_size, length)``, False at padded
            positions, whose outputs are set to 0.

    Example:

    >>> import numpy as np
    >>> block = GatedResidualBlock(8, kernel_size=3)
    >>> tuple(block(np.ones((2, 5, 8), "float32"), np.ones((2, 5), bool)).shape)
    (2, 5, 8)
    """

    def __init__(self, filters: int, kernel_size: int = 3, dilation_rate: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.dilation_rate = filters, kernel_size, dilation_rate
        self.conv = keras.layers.Conv1D(
            2 * filters, kernel_size, padding="same", dilation_rate=dilation_rate, name="conv"
        )

    def build(self, inputs_shape, mask_shape=None):
        self.conv.build(inputs_shape)

    def call(self, inputs, mask):
        a, g = ops.split(self.conv(inputs), 2, axis=-1)
        out = inputs + a * ops.sigmoid(g)
        return out * ops.cast(mask, out.dtype)[..., None]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dilation_rate": self.dilation_rate,
        }


@keras.saving.register_keras_serializable(package="keras_gen")
class GatedActivation(keras.layers.Layer):
    """``tanh(a) * sigmoid(b)`` of the two halves (a, b) of the last axis.

    Example:

    >>> import numpy as np
    >>> tuple(GatedActivation()(np.zeros((1, 4), "float32")).shape)
    (1, 2)
    """

    def call(self, inputs):
        a, b = ops.split(inputs, 2, axis=-1)
        return ops.tanh(a) * ops.sigmoid(b)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)
