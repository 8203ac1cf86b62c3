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


def length_bucketed_dataset(*arrays: np.ndarray, batch_size: int = 64, seed: int | None = 0):
    """A ``tf.data.Dataset`` of batches of similar lengths, each cut to its longest row.

    Padding a whole corpus to its longest sentence wastes most of an RNN's or a
    CNN's work on short lines; sorting by length (with random tie-breaks), cutting
    into batches and shuffling the batches every epoch keeps the waste small. The
    batch shapes are ``(None, None)``, so a model traces its step once.

    >>> import numpy as np
    >>> x = np.array([[5, 6, 0, 0], [5, 0, 0, 0], [5, 6, 7, 8]])
    >>> sorted(b.shape for b in length_bucketed_dataset(x, batch_size=2).as_numpy_iterator())
    [(1, 4), (2, 2)]
    """
    import tensorflow as tf

    if not arrays or any(len(a) != len(arrays[0]) for a in arrays):
        raise ValueError("arrays must be one or more arrays of the same length")
    lengths = np.max([(a != PAD_ID).sum(1) for a in arrays], axis=0)
    rng = np.random.default_rng(seed)

    def batches():
        order = np.argsort(lengths + rng.random(len(lengths)), kind="stable")
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        rng.shuffle(chunks)
        for idx in chunks:
            width = max(int(lengths[idx].max()), 1)
            cut = tuple(a[idx, :width].astype(np.int32) for a in arrays)
            yield cut if len(cut) > 1 else cut[0]

    spec = tf.TensorSpec((None, None), tf.int32)
    signature = tuple(spec for _ in arrays) if len(arrays) > 1 else spec
    return tf.data.Dataset.from_generator(batches, output_signature=signature).prefetch(2)
