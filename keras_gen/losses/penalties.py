"""Gradient penalties of a discriminator, per example, in float32.

Each takes the squared norm of the gradient of the discriminator's output with respect
to its inputs, one value per example (the training core computes it with
``keras_gen.training.backend.input_gradient_sq_norm``, the only place that needs a
gradient tape), and returns the penalty per example, to be MINIMISED by the
discriminator.

>>> import numpy as np
>>> sq_norm = np.array([0.0, 1.0, 4.0], "float32")  # |grad D| = 0, 1, 2
>>> gradient_penalty(sq_norm).numpy().round(4).tolist()
[1.0, 0.0, 1.0]
>>> r1_penalty(sq_norm, gamma=10.0).numpy().tolist()
[0.0, 5.0, 20.0]
"""

from __future__ import annotations

import keras
from keras import ops


def interpolate(real, fake, u):
    """``u * real + (1 - u) * fake`` per example, in float32: WGAN-GP's ``x_hat``.

    ``real`` and ``fake`` are tensors or matching nested structures (e.g. ALI's
    ``(x, z)``); ``u`` has one weight per example, shape ``(batch,)``, broadcast over
    every other axis of each part.

    >>> import numpy as np
    >>> interpolate(np.ones((2, 3)), np.zeros((2, 3)), np.array([0.25, 1.0])).numpy()[:, 0]
    array([0.25, 1.  ], dtype=float32)
    """
    u = ops.cast(u, "float32")

    def mix(a, b):
        w = ops.reshape(u, (-1,) + (1,) * (len(a.shape) - 1))
        return w * ops.cast(a, "float32") + (1.0 - w) * ops.cast(b, "float32")

    return keras.tree.map_structure(mix, real, fake)


def gradient_penalty(grad_sq_norm, target: float = 1.0):
    """WGAN-GP (Gulrajani et al. 2017): ``(|grad D(x_hat)| - target)^2`` per example.

    ``grad_sq_norm`` is ``|grad D(x_hat)|^2`` at the interpolates of :func:`interpolate`.
    A tiny constant under the square root keeps its gradient finite at a zero gradient.
    """
    norm = ops.sqrt(ops.cast(grad_sq_norm, "float32") + 1e-12)
    return ops.square(norm - target)


def r1_penalty(grad_sq_norm, gamma: float):
    """R1 (Mescheder et al. 2018): ``gamma / 2 * |grad D(x)|^2`` per example, on real data."""
    return 0.5 * gamma * ops.cast(grad_sq_norm, "float32")
