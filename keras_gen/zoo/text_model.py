"""What every text model of the zoo shares: the vocabulary, raw-text encoding, token losses.

Every model owns its :class:`~keras_gen.text.TextVocabulary` (in its config, so in
its ``.keras`` file), takes token ids in ``fit`` (see :mod:`keras_gen.text.pipeline`)
and raw strings when it generates. Losses are per example, summed over the
(non-padding) tokens, in float32; the training core reduces them by the global
batch size.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_gen.text.vocab import PAD_ID, TextVocabulary
from keras_gen.training import GenerativeModel
from keras_gen.zoo.capabilities import FromPreset

CELLS = ("lstm", "gru")


def vocabulary_from(value, level: str = "char") -> TextVocabulary:
    if isinstance(value, TextVocabulary):
        return TextVocabulary(value.tokens, level=value.level)
    if isinstance(value, dict):  # from a config
        return TextVocabulary(value["tokens"], level=value.get("level", level))
    if isinstance(value, str):
        raise TypeError("vocabulary must be a TextVocabulary or a list of tokens, not a string")
    return TextVocabulary(list(value), level=level)


def vocab_config(vocab: TextVocabulary) -> dict:
    return {"tokens": list(vocab.tokens), "level": vocab.level}


def token_cross_entropy(targets, logits):
    """Per-example sum over non-padding positions of -log p(target), in float32."""
    logits = ops.cast(logits, "float32")
    ce = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    mask = ops.cast(ops.not_equal(targets, PAD_ID), "float32")
    return ops.sum(ce * mask, axis=-1), mask


def per_example_accuracy(targets, logits, mask):
    correct = ops.cast(
        ops.equal(ops.argmax(logits, axis=-1), ops.cast(targets, "int64")), "float32"
    )
    return ops.sum(correct * mask, axis=-1) / ops.maximum(ops.sum(mask, axis=-1), 1.0)


def check_texts(texts, name="texts"):
    if isinstance(texts, str):
        texts = [texts]
    texts = [str(t) for t in texts]
    for i, t in enumerate(texts):
        if not t.strip():
            raise ValueError(f"{name}[{i}] is empty; give non-empty text")
    return texts


def reorder_state(state, rows):
    return [ops.take(s, rows, axis=0) for s in state]


def ban_in_place(logits, x, vocab: TextVocabulary):
    """Set the logit of the first line's character at each position to -inf (not punctuation)."""
    punct = vocab.punctuation_mask()
    b, t = np.nonzero((x != PAD_ID) & ~punct[x])
    logits[b, t, x[b, t]] = -np.inf


class TextModel(FromPreset, GenerativeModel):
    """Base of the text models: the vocabulary, raw-text encoding, a dummy build.

    Args:
        vocabulary: a :class:`~keras_gen.text.TextVocabulary`, a list of tokens, or a
            vocabulary's config dict (as in a saved model's config). The model keeps its
            own copy, saved in its ``.keras`` file.
        level: ``"char"`` or ``"word"``, how a list of tokens splits raw text (a
            ``TextVocabulary`` carries its own).
        term_names: the loss terms the subclass reports (see ``GenerativeModel``).
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).
    """

    def __init__(self, vocabulary, level="char", term_names=("loss",), **kwargs):
        super().__init__(term_names=term_names, **kwargs)
        self.vocab = vocabulary_from(vocabulary, level)
        if len(self.vocab.tokens) < 1:
            raise ValueError("vocabulary must hold at least one token")

    def build(self, *args, **kwargs):
        # Every layer is built in __init__ (so that weights load and strategies see them).
        self.built = True

    @property
    def vocab_size(self) -> int:
        return self.vocab.size

    def encode_texts(self, texts, max_length=None, **kwargs) -> np.ndarray:
        """Token ids of raw ``texts`` with this model's vocabulary."""
        return self.vocab.encode(check_texts(texts), max_length=max_length, **kwargs)

    def get_config(self):
        return {**super().get_config(), "vocabulary": vocab_config(self.vocab)}
