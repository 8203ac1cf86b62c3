"""The second line of a couplet as sequence labelling over the first."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_gen.layers import GatedResidualBlock, SeededDropout
from keras_gen.text.vocab import PAD_ID, SPECIAL_IDS
from keras_gen.training import backend
from keras_gen.zoo.capabilities import InputConditional
from keras_gen.zoo.checks import positive_int
from keras_gen.zoo.text_model import (
    TextModel,
    ban_in_place,
    check_texts,
    per_example_accuracy,
    token_cross_entropy,
)


@keras.saving.register_keras_serializable(package="keras_gen")
class CoupletTagger(InputConditional, TextModel):
    """The second line of a couplet as sequence labelling over the first (same length).

    Embedding, ``num_blocks`` gated residual Conv1D blocks and a softmax over the
    vocabulary at every position. Decoding takes the most likely character at each
    position, never the first line's character at that position.

    Train on ``(first_ids, second_ids)`` of equal lengths
    (:func:`keras_gen.text.pipeline.couplet_arrays`). Reports ``loss`` (nats per couplet)
    and ``accuracy`` (per position).

    Args:
        vocabulary: the character vocabulary (see :class:`~keras_gen.zoo.text_model.TextModel`).
        embedding_dim: size of the character embedding.
        filters: width of the gated residual blocks.
        kernel_size: width of each block's convolution.
        num_blocks: number of gated residual blocks.
        dropout: dropout rate on the features (a :class:`~keras_gen.layers.SeededDropout`).
        **kwargs: passed to :class:`~keras_gen.zoo.text_model.TextModel`.

    Example:

    >>> from keras_gen.text import TextVocabulary, pipeline
    >>> first, second = ["春风暖", "秋月明"], ["秋月明", "春风暖"]
    >>> vocab = TextVocabulary.build(first + second)
    >>> model = CoupletTagger(vocab, embedding_dim=8, filters=8, num_blocks=1)
    >>> model.compile(optimizer="adam")
    >>> x, y = pipeline.couplet_arrays(vocab, first, second)
    >>> _ = model.fit(x, y, epochs=1, verbose=0)
    >>> [len(s) for s in model.generate_from(["春风暖"])]
    [3]
    """

    def __init__(
        self,
        vocabulary,
        embedding_dim: int = 128,
        filters: int = 256,
        kernel_size: int = 3,
        num_blocks: int = 6,
        dropout: float = 0.1,
        **kwargs,
    ):
        super().__init__(vocabulary, term_names=("loss", "accuracy"), **kwargs)
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        self.filters = positive_int(filters, "filters")
        self.kernel_size = positive_int(kernel_size, "kernel_size")
        self.num_blocks = positive_int(num_blocks, "num_blocks")
        self.dropout = float(dropout)
        self.embedding = keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, name="embedding"
        )
        self.project = keras.layers.Dense(self.filters, name="project")
        self.blocks = [
            GatedResidualBlock(self.filters, self.kernel_size, name=f"block_{i}")
            for i in range(self.num_blocks)
        ]
        self.drop = SeededDropout(self.dropout, seed=0, name="dropout")
        self.head = keras.layers.Dense(self.vocab_size, name="head")
        self.call(np.ones((1, 2), "int32"))  # build every layer now
        self.built = True

    def call(self, x, training=False):
        mask = ops.not_equal(x, PAD_ID)
        h = self.project(self.embedding(x))
        for block in self.blocks:
            h = block(h, mask)
        h = self.drop(h, training=training)
        return ops.cast(self.head(h), "float32")

    def compute_terms(self, x, y=None, training=False):
        if y is None:
            raise ValueError("CoupletTagger trains on (first_ids, second_ids); y is missing")
        logits = self(x, training=training)
        loss, mask = token_cross_entropy(y, logits)
        return {"loss": loss, "accuracy": per_example_accuracy(y, logits, mask)}

    _logits_fn = None

    def generate_from(
        self, first_lines, no_repeat: bool = True, batch_size: int = 256
    ) -> list[str]:
        """Second lines for ``first_lines``, one each, of the same lengths."""
        texts = check_texts(first_lines, "first_lines")
        if self._logits_fn is None:
            self._logits_fn = backend.compiled(lambda x: self(x, training=False))
        out = []
        for start in range(0, len(texts), batch_size):
            x = self.vocab.encode(texts[start : start + batch_size])
            logits = ops.convert_to_numpy(self._logits_fn(x)).copy()
            logits[..., list(SPECIAL_IDS)] = -np.inf
            if no_repeat:
                ban_in_place(logits, x, self.vocab)
            ids = np.where(x == PAD_ID, PAD_ID, logits.argmax(-1))
            out.extend(self.vocab.decode(ids))
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "num_blocks": self.num_blocks,
            "dropout": self.dropout,
        }
