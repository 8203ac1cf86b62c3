"""Greedy and batched beam search over any incremental step function.

The search is NumPy bookkeeping around a (compiled) step function
``step(tokens, state) -> (log_probs, state)`` that advances every row by one
token; ``reorder(state, rows)`` gathers the rows of the state that the
surviving beams came from. A model runs its decoder incrementally by keeping
its recurrent state (and its cached attention keys) in ``state``; the same
search can also run a step that recomputes the whole prefix, which is what the
speed benchmark and the equivalence test compare.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from keras_gen.losses.categorical import check_temperature, sample_categorical
from keras_gen.text.vocab import END_ID, PAD_ID, START_ID, UNK_ID


@dataclasses.dataclass
class SearchResult:
    """Token ids (batch, beams, length) sorted best first, with their scores.

    What :func:`beam_search` and :func:`greedy_search` return (greedy search has one
    beam). The property ``best`` is ``tokens[:, 0]``, the best hypothesis of each
    example, shape (batch, length).

    Attributes:
        tokens: int32 array (batch, beams, length) of the hypotheses' token ids, the
            best first; the end token (3) closes a hypothesis and padding (0) follows
            it. The start token is not included.
        log_probs: float array (batch, beams), the summed log-probability of each
            hypothesis (end token included).
        scores: float array (batch, beams), ``log_probs`` divided by the length
            penalty (:func:`length_penalty`; equal to ``log_probs`` without one), the
            order of the beams.
        lengths: int array (batch, beams), the number of tokens of each hypothesis,
            end token included.

    Example:

    >>> import numpy as np
    >>> result = SearchResult(
    ...     tokens=np.array([[[5, 3, 0], [6, 7, 3]]]),
    ...     log_probs=np.array([[-0.5, -0.9]]),
    ...     scores=np.array([[-0.5, -0.9]]),
    ...     lengths=np.array([[2, 3]]),
    ... )
    >>> result.best.tolist()
    [[5, 3, 0]]
    """

    tokens: np.ndarray
    log_probs: np.ndarray
    scores: np.ndarray
    lengths: np.ndarray

    @property
    def best(self) -> np.ndarray:
        return self.tokens[:, 0]


def length_penalty(lengths, alpha: float) -> np.ndarray:
    """GNMT's length penalty ``((5 + length) / 6) ** alpha`` (Wu et al. 2016)."""
    return ((5.0 + np.asarray(lengths, np.float64)) / 6.0) ** alpha


def _mask(logp, t, finished, forbid, lengths, allow_unknown):
    """Forbidden tokens get -inf; a finished row may only continue with padding at cost 0."""
    logp[..., PAD_ID] = -np.inf
    logp[..., START_ID] = -np.inf
    if not allow_unknown:
        logp[..., UNK_ID] = -np.inf
    if forbid is not None:
        banned = forbid(t)  # (batch, vocab) bool or None
        if banned is not None:
            logp[np.broadcast_to(banned[:, None, :], logp.shape)] = -np.inf
    if lengths is not None:
        before = t < lengths
        logp[before, :, END_ID] = -np.inf
        at = t == lengths
        end = logp[at, :, END_ID].copy()
        logp[at] = -np.inf
        logp[at, :, END_ID] = end
    logp[finished] = -np.inf
    logp[finished, PAD_ID] = 0.0
    return logp


def _top_k(values, k):
    """Indices of the k largest values per row, best first, ties to the lower index.

    ``argpartition`` is linear in the row length: a full sort of the (batch, beams *
    vocabulary) candidates cost more than the decoder step itself.
    """
    if k == 1:
        return values.argmax(axis=1)[:, None]  # the first maximum, as greedy search takes
    part = np.argpartition(-values, k - 1, axis=1)[:, :k]
    chosen = np.take_along_axis(values, part, axis=1)
    order = np.lexsort((part, -chosen), axis=1)
    return np.take_along_axis(part, order, axis=1)


def _positive_int(value, name: str) -> int:
    # The zoo's checks.positive_int, without importing the zoo (which imports this module).
    try:
        ok = not isinstance(value, bool | str) and int(value) == value and int(value) >= 1
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _check(batch_size, max_length, lengths):
    max_length = _positive_int(max_length, "max_length")
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (batch_size,) or (lengths >= max_length).any():
            raise ValueError(
                f"lengths must have shape ({batch_size},) and be < max_length={max_length}"
            )
        return lengths
    return None


def beam_search(
    step: Callable,
    state,
    reorder: Callable,
    batch_size: int,
    beam_width: int,
    max_length: int,
    alpha: float = 0.0,
    forbid: Callable | None = None,
    lengths=None,
    allow_unknown: bool = False,
) -> SearchResult:
    """Batched beam search; ``state`` holds ``batch_size * beam_width`` rows (example-major).

    ``alpha`` is the length-penalty exponent (0: none); ``forbid(t)`` returns a
    (batch, vocab) bool array of tokens banned at step t; ``lengths`` forces the
    end token exactly after ``lengths[i]`` tokens (couplets). Finished
    hypotheses stay in the beam and are extended with padding at no cost.
    Beam width 1 is greedy search.

    >>> import numpy as np
    >>> table = np.log(np.full((6, 6), 0.05)); table[:, 4] = np.log(0.75)
    >>> def step(tokens, state):
    ...     out = table[tokens].copy(); out[:, 3] = np.log(0.9) if state[0] else -9
    ...     return out, [True]
    >>> beam_search(step, [False], lambda s, r: s, 1, 1, 5).best.tolist()
    [[4, 3]]
    """
    k, b = _positive_int(beam_width, "beam_width"), int(batch_size)
    lengths = _check(b, max_length, lengths)
    tokens = np.full(b * k, START_ID, np.int32)
    scores = np.zeros((b, k))
    scores[:, 1:] = -np.inf  # all beams start equal: keep one
    finished = np.zeros((b, k), bool)
    out_lengths = np.zeros((b, k), np.int64)
    seqs = np.zeros((b, k, 0), np.int32)
    for t in range(int(max_length)):
        logp, state = step(tokens, state)
        logp = np.array(logp, np.float64).reshape(b, k, -1)
        vocab = logp.shape[-1]
        logp = _mask(logp, t, finished, forbid, lengths, allow_unknown)
        flat = (scores[..., None] + logp).reshape(b, k * vocab)
        top = _top_k(flat, k)
        beam, token = top // vocab, (top % vocab).astype(np.int32)
        scores = np.take_along_axis(flat, top, axis=1)
        was_finished = np.take_along_axis(finished, beam, axis=1)
        finished = was_finished | (token == END_ID)
        out_lengths = np.take_along_axis(out_lengths, beam, axis=1) + ~was_finished
        seqs = np.concatenate([np.take_along_axis(seqs, beam[..., None], 1), token[..., None]], -1)
        rows = (np.arange(b)[:, None] * k + beam).reshape(-1)
        tokens = token.reshape(-1)
        if finished.all():
            break
        state = reorder(state, rows)
    normalized = scores / length_penalty(out_lengths, alpha) if alpha else scores.copy()
    order = np.argsort(-normalized, axis=1, kind="stable")
    take = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    return SearchResult(
        tokens=np.take_along_axis(seqs, order[..., None], axis=1),
        log_probs=take(scores),
        scores=take(normalized),
        lengths=take(out_lengths),
    )


def greedy_search(
    step: Callable,
    state,
    batch_size: int,
    max_length: int,
    forbid: Callable | None = None,
    lengths=None,
    allow_unknown: bool = False,
    temperature: float = 0.0,
    rng: np.random.Generator | None = None,
) -> SearchResult:
    """Greedy decoding (or ancestral sampling with ``temperature > 0``), one row per example."""
    b = int(batch_size)
    temperature = check_temperature(temperature)
    lengths = _check(b, max_length, lengths)
    rng = rng if rng is not None else np.random.default_rng()
    tokens = np.full(b, START_ID, np.int32)
    finished = np.zeros((b, 1), bool)
    total = np.zeros(b)
    out_lengths = np.zeros(b, np.int64)
    seqs = []
    for t in range(int(max_length)):
        logp, state = step(tokens, state)
        logp = _mask(
            np.array(logp, np.float64)[:, None], t, finished, forbid, lengths, allow_unknown
        )
        logp = logp[:, 0]
        tokens = sample_categorical(logp, temperature, rng).astype(np.int32)
        total += logp[np.arange(b), tokens]
        out_lengths += ~finished[:, 0]
        finished[:, 0] |= tokens == END_ID
        seqs.append(tokens)
        if finished.all():
            break
    seqs = np.stack(seqs, axis=-1)[:, None]
    return SearchResult(seqs, total[:, None], total[:, None], out_lengths[:, None])
