"""Text scores: BLEU (sacrebleu), ROUGE (rouge-score), distinct-n and couplet position scores.

BLEU and ROUGE come from the reference packages, fed with our own tokens
(characters for Chinese, whitespace words for English), so that the numbers are
the standard ones: sacrebleu's corpus BLEU with ``tokenize="none"`` and
rouge-score's F-measures (rouge-score's own tokenizer drops non-ASCII text, so
Chinese needs the character tokenizer given here). The rest is a few lines of
Python with hand-checked tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_gen.text.vocab import is_punctuation, tokenize

LEVELS = ("char", "word")


def _tokens(text: str, level: str) -> list[str]:
    return tokenize(text, level)


def _check_pairs(hypotheses, references):
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses and references must be sequences of strings")
    if len(hypotheses) != len(references):
        raise ValueError(
            f"unmatched pairs: {len(hypotheses)} hypotheses but {len(references)} references"
        )
    if not len(hypotheses):
        raise ValueError("no hypotheses given")


def bleu(hypotheses: Sequence[str], references: Sequence, level: str = "char") -> float:
    """Corpus BLEU (0-100) over characters or words, by sacrebleu (4-grams, brevity penalty).

    ``references`` holds one string per hypothesis, or a list of strings (several references).

    >>> round(bleu(["春风化雨"], ["春风化雨"]), 1)
    100.0
    """
    import sacrebleu

    _check_pairs(hypotheses, references)
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    width = max(len(r) for r in refs)
    streams = [
        [" ".join(_tokens(r[i], level)) if i < len(r) else None for r in refs] for i in range(width)
    ]
    hyps = [" ".join(_tokens(h, level)) for h in hypotheses]
    return float(sacrebleu.corpus_bleu(hyps, streams, tokenize="none").score)


class _Tokenizer:
    """rouge-score's tokenizer interface (an object with ``tokenize``)."""

    def __init__(self, level: str):
        self.level = level

    def tokenize(self, text: str) -> list[str]:
        return _tokens(text, self.level)


def rouge(
    hypotheses: Sequence[str], references: Sequence[str], level: str = "char"
) -> dict[str, float]:
    """Mean ROUGE-1, ROUGE-2 and ROUGE-L F1 (0-100) over the pairs, by rouge-score.

    >>> scores = rouge(["春风"], ["春雨"])
    >>> scores["rouge1"], scores["rouge2"]
    (50.0, 0.0)
    """
    from rouge_score import rouge_scorer

    _check_pairs(hypotheses, references)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_Tokenizer(level))
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for hyp, ref in zip(hypotheses, references):
        scores = scorer.score(ref, hyp)  # (target, prediction)
        for name in totals:
            totals[name] += scores[name].fmeasure
    return {name: 100.0 * value / len(hypotheses) for name, value in totals.items()}


def distinct_n(texts: Sequence[str], n: int = 1, level: str = "char") -> float:
    """Distinct n-grams over all n-grams of ``texts`` (Li et al. 2016); 0 without any n-gram.

    >>> distinct_n(["春春风", "春风"], n=1)
    0.4
    """
    if int(n) < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    grams = []
    for text in texts:
        tokens = _tokens(text, level)
        grams.extend(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return len(set(grams)) / len(grams) if grams else 0.0


def position_accuracy(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of reference characters matched by the hypothesis at the same position.

    >>> position_accuracy(["春风"], ["春雨"])
    0.5
    """
    _check_pairs(hypotheses, references)
    hits = total = 0
    for hyp, ref in zip(hypotheses, references):
        h, r = _tokens(hyp, "char"), _tokens(ref, "char")
        hits += sum(a == b for a, b in zip(h, r))
        total += len(r)
    return hits / max(total, 1)


def same_position_repeat_rate(firsts: Sequence[str], seconds: Sequence[str]) -> float:
    """Fraction of second-line characters equal to the first line's character in place.

    Punctuation in the first line is not counted (couplets repeat it in place).

    >>> same_position_repeat_rate(["春风，雨"], ["春雨，风"])
    0.3333333333333333
    """
    _check_pairs(firsts, seconds)
    rates = [
        (a == b)
        for f, s in zip(firsts, seconds)
        for a, b in zip(_tokens(f, "char"), _tokens(s, "char"))
        if not is_punctuation(a)
    ]
    return float(np.mean(rates)) if rates else 0.0


def length_match_rate(firsts: Sequence[str], seconds: Sequence[str]) -> float:
    """Fraction of couplets whose lines have the same number of characters."""
    _check_pairs(firsts, seconds)
    return float(
        np.mean(
            [len(_tokens(f, "char")) == len(_tokens(s, "char")) for f, s in zip(firsts, seconds)]
        )
    )
