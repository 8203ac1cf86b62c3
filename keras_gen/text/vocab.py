"""Character- and word-level vocabularies that live inside a ``.keras`` file."""

from __future__ import annotations

import collections
import unicodedata
from collections.abc import Iterable, Sequence

import keras
import numpy as np

# The special tokens, handled here and nowhere else. StringLookup puts its mask token at
# index 0 and its OOV token at index 1; the start and end tokens follow.
PAD, UNK, START, END = "", "[UNK]", "<s>", "</s>"
PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
SPECIAL_IDS = (PAD_ID, UNK_ID, START_ID, END_ID)
LEVELS = ("char", "word")


def tokenize(text: str, level: str) -> list[str]:
    """Split ``text`` into tokens: characters (whitespace dropped) or whitespace-separated words.

    >>> tokenize("春 风 十里", "char")
    ['春', '风', '十', '里']
    >>> tokenize(" the cat  sat ", "word")
    ['the', 'cat', 'sat']
    """
    if level == "char":
        return [c for c in text if not c.isspace()]
    if level == "word":
        return text.split()
    raise ValueError(f"level must be one of {LEVELS}; got {level!r}")


def is_punctuation(token: str) -> bool:
    """Whether every character of ``token`` is Unicode punctuation (，。！ , . and so on).

    >>> is_punctuation("，"), is_punctuation("春")
    (True, False)
    """
    return bool(token) and all(unicodedata.category(c).startswith("P") for c in token)


@keras.saving.register_keras_serializable(package="keras_gen")
class TextVocabulary(keras.layers.Layer):
    """Maps text to padded token ids and back, with a ``StringLookup`` at its core.

    Ids: 0 padding, 1 unknown (``[UNK]``), 2 start (``<s>``), 3 end (``</s>``), then
    ``tokens``. The tokens are part of the layer's config, so a model that owns the
    layer carries its vocabulary in its ``.keras`` file.

    Args:
        tokens: the ordinary tokens, unique strings given ids 4, 5, ... in order (none
            of the reserved ``""``, ``[UNK]``, ``<s>``, ``</s>``); default () (special ids
            only). :meth:`build` makes them from texts, most frequent first.
        level: how text splits into tokens: "char" (default; characters, whitespace
            dropped, decoded without separator) or "word" (whitespace-separated words,
            decoded joined by spaces).
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ...); ``trainable``
            defaults to False.

    Example:

    >>> vocab = TextVocabulary.build(["春风", "秋月"], level="char")
    >>> vocab.size
    8
    >>> ids = vocab.encode(["春月", "风"], add_end=True)
    >>> ids.shape
    (2, 3)
    >>> vocab.decode(ids)
    ['春月', '风']
    """

    def __init__(self, tokens: Sequence[str] = (), level: str = "char", **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}; got {level!r}")
        tokens = [str(t) for t in tokens]
        reserved = {PAD, UNK, START, END}
        clash = sorted(reserved.intersection(tokens))
        if clash:
            raise ValueError(f"tokens must not contain the reserved tokens {clash}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("tokens must be unique")
        self.tokens = tokens
        self.level = level
        self._lookup = keras.layers.StringLookup(
            vocabulary=[START, END, *tokens], mask_token=PAD, oov_token=UNK, dtype="string"
        )
        self._id_to_token = np.array([PAD, UNK, START, END, *tokens], dtype=object)
        # No weights to create: built now, so that a model owning it counts as built.
        self._lookup.built = True
        self.built = True

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        level: str = "char",
        max_tokens: int | None = None,
        min_count: int = 1,
    ) -> TextVocabulary:
        """A vocabulary of the tokens of ``texts``, most frequent first.

        Counted with ``collections.Counter`` rather than ``StringLookup.adapt``: the
        same result, ties broken by the token so that it is deterministic.
        """
        counts = collections.Counter()
        for text in texts:
            counts.update(tokenize(text, level))
        for special in (PAD, UNK, START, END):
            counts.pop(special, None)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t)
        )
        if max_tokens is not None:
            ranked = ranked[: max(0, int(max_tokens) - len(SPECIAL_IDS))]
        return cls(ranked, level=level)

    @property
    def size(self) -> int:
        """Number of ids, the special ones included."""
        return len(self.tokens) + len(SPECIAL_IDS)

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self.level)

    def punctuation_mask(self) -> np.ndarray:
        """Bool array over the ids: True for punctuation tokens."""
        return np.array([is_punctuation(str(t)) for t in self._id_to_token])

    def encode(
        self,
        texts: Sequence[str],
        max_length: int | None = None,
        add_start: bool = False,
        add_end: bool = False,
    ) -> np.ndarray:
        """Token ids of ``texts``, shape (n, length), padded with 0 and cut to ``max_length``.

        Unknown tokens map to 1. ``max_length`` counts the start/end tokens too.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one string")
        pieces = []
        for text in texts:
            tokens = self.tokenize(str(text))
            if max_length is not None:
                tokens = tokens[: max(0, max_length - int(add_start) - int(add_end))]
            pieces.append(([START] if add_start else []) + tokens + ([END] if add_end else []))
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        width = int(lengths.max()) if len(pieces) else 0
        if max_length is not None and not len(pieces):
            width = max_length
        out = np.zeros((len(pieces), max(width, 1)), np.int32)
        flat = [t for p in pieces for t in p]
        if flat:
            ids = keras.ops.convert_to_numpy(self._lookup(np.array(flat, dtype=object)))
            rows = np.repeat(np.arange(len(pieces)), lengths)
            cols = np.concatenate([np.arange(n) for n in lengths])
            out[rows, cols] = ids
        return out

    def decode(self, ids, strip: bool = True) -> list[str]:
        """Texts of id rows; stops at the end token and drops padding and the start token."""
        ids = np.asarray(ids)
        if ids.ndim == 1:
            ids = ids[None]
        joiner = "" if self.level == "char" else " "
        texts = []
        for row in ids:
            tokens = []
            for i in row.tolist():
                if i == END_ID and strip:
                    break
                if i in (PAD_ID, START_ID) and strip:
                    continue
                tokens.append(self._id_to_token[i] if 0 <= i < self.size else UNK)
            texts.append(joiner.join(tokens))
        return texts

    def call(self, inputs):
        return self._lookup(inputs)

    def get_config(self):
        return {**super().get_config(), "tokens": list(self.tokens), "level": self.level}
