"""A softmax head that shares its matrix with an ``Embedding`` (tied input and output embeddings)."""

from __future__ import annotations

import keras
from keras import ops


class TiedSoftmaxHead(keras.layers.Layer):
    """Vocabulary logits ``h @ E.T + b`` that reuse an ``Embedding``'s matrix ``E``.

    Only the bias is this layer's own weight; ``E`` is read from the embedding layer
    at every call (and trained by both uses), so a model that owns both saves it once.
    Built inside the model that owns the embedding, from that model's config.

    Args:
        embedding: the ``keras.layers.Embedding`` whose matrix ``E`` (shape
            ``(vocabulary_size, dim)``) is shared; it must be built before the head is
            called. The bias has one entry per row of ``E`` (``embedding.input_dim``).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``, ...).

    Input shape:
        ``(batch_size, ..., dim)``, the embedding's output dimension.

    Output shape:
        ``(batch_size, ..., vocabulary_size)``: logits, no softmax applied.

    Example:

    >>> import numpy as np
    >>> emb = keras.layers.Embedding(5, 3)
    >>> emb.build((None,))
    >>> head = TiedSoftmaxHead(emb)
    >>> head(np.zeros((2, 3), "float32")).shape
    TensorShape([2, 5])
    """

    def __init__(self, embedding: keras.layers.Embedding, **kwargs):
        super().__init__(**kwargs)
        # A function, not an attribute: tracking the layer here too would list E twice.
        self._matrix = lambda: embedding.embeddings
        self.bias = self.add_weight(shape=(embedding.input_dim,), initializer="zeros", name="bias")

    def call(self, h):
        matrix = ops.cast(self._matrix(), h.dtype)
        return ops.matmul(h, ops.transpose(matrix)) + ops.cast(self.bias, h.dtype)
