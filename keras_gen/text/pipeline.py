"""Token-id arrays for training the text models, built with a model's vocabulary."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_gen.text.vocab import PAD_ID, TextVocabulary


def _check_pairs(a: Sequence[str], b: Sequence[str], names=("first", "second")):
    if len(a) != len(b):
        raise ValueError(
            f"unmatched pairs: {len(a)} {names[0]} texts but {len(b)} {names[1]} texts"
        )
    if not len(a):
        raise ValueError("no examples given")


def couplet_arrays(
    vocab: TextVocabulary, firsts: Sequence[str], seconds: Sequence[str], max_length: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """(first_ids, second_ids) of the pairs whose lines have equal lengths <= ``max_length``.

    Pairs of different lengths cannot be tagged position by position and are dropped.

    >>> vocab = TextVocabulary.build(["春风", "秋月"])
    >>> x, y = couplet_arrays(vocab, ["春风", "春"], ["秋月", "秋月"])
    >>> x.shape, y.shape
    ((1, 2), (1, 2))
    """
    _check_pairs(firsts, seconds)
    x = vocab.encode(firsts)
    y = vocab.encode(seconds)
    lx, ly = (x != PAD_ID).sum(1), (y != PAD_ID).sum(1)
    keep = (lx == ly) & (lx <= max_length) & (lx > 0)
    if not keep.any():
        raise ValueError("no pair has lines of equal length (<= max_length); nothing to train on")
    width = int(lx[keep].max())
    return x[keep, :width], _pad_to(y[keep], width)


def _pad_to(a: np.ndarray, width: int) -> np.ndarray:
    if a.shape[1] >= width:
        return a[:, :width]
    return np.pad(a, ((0, 0), (0, width - a.shape[1])))


def seq2seq_arrays(
    vocab: TextVocabulary,
    sources: Sequence[str],
    targets: Sequence[str],
    max_source_length: int | None = None,
    max_target_length: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(source_ids, target_ids + end token), cut to the given lengths (end token included)."""
    _check_pairs(sources, targets, ("source", "target"))
    x = vocab.encode(sources, max_length=max_source_length)
    y = vocab.encode(targets, max_length=max_target_length, add_end=True)
    return x, y


def sentence_arrays(
    vocab: TextVocabulary, sentences: Sequence[str], max_length: int | None = None
) -> np.ndarray:
    """Token ids + end token of ``sentences`` (a sentence VAE's input and target)."""
    if not len(sentences):
        raise ValueError("no sentences given")
    return vocab.encode(sentences, max_length=max_length, add_end=True)
