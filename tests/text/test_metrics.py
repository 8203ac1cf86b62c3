"""Text metrics against hand-computed values."""

import math

import pytest

from keras_gen import metrics


def test_bleu_matches_the_hand_computed_value():
    # Hypothesis ABCDEFG (7 chars) against ABCDEXG: n-gram precisions 6/7, 4/6, 3/5, 2/4
    # (sacrebleu's "exp" smoothing only acts on zero counts); brevity penalty 1.
    hyp, ref = "ABCDEFG", "ABCDEXG"
    expected = 100 * math.exp(
        (math.log(6 / 7) + math.log(4 / 6) + math.log(3 / 5) + math.log(2 / 4)) / 4
    )
    assert metrics.bleu([hyp], [ref]) == pytest.approx(expected, rel=1e-6)
    # Brevity penalty exp(1 - r/c) for a short hypothesis that matches exactly.
    assert metrics.bleu(["ABCD"], ["ABCDEFGH"]) == pytest.approx(
        100 * math.exp(1 - 8 / 4), rel=1e-6
    )
    # Chinese characters are tokens whether or not the text separates them.
    assert metrics.bleu(["春 风 化 雨 润 物"], ["春风化雨润物"]) == pytest.approx(100.0)
    # Word level, and several references per hypothesis.
    assert metrics.bleu(
        ["the cat sat on a mat"], [["a dog", "the cat sat on a mat"]], level="word"
    ) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="unmatched pairs"):
        metrics.bleu(["a"], ["a", "b"])


def test_rouge_matches_the_hand_computed_value():
    # Reference 春风化雨润物 (6), hypothesis 春雨润物无声 (6): LCS 春雨润物 = 4, so P = R = F = 4/6.
    scores = metrics.rouge(["春雨润物无声"], ["春风化雨润物"])
    assert scores["rougeL"] == pytest.approx(100 * 4 / 6)
    # Unigrams in common: 春 雨 润 物 -> 4/6; bigrams: 雨润 润物 -> 2/5.
    assert scores["rouge1"] == pytest.approx(100 * 4 / 6)
    assert scores["rouge2"] == pytest.approx(100 * 2 / 5)
    words = metrics.rouge(["the cat sat"], ["the cat sat down"], level="word")
    p, r = 1.0, 3 / 4
    assert words["rougeL"] == pytest.approx(100 * 2 * p * r / (p + r))


def test_distinct_and_couplet_scores():
    assert metrics.distinct_n(["春风春风", "春风"], n=1) == pytest.approx(2 / 6)
    assert metrics.distinct_n(["春风春风", "春风"], n=2) == pytest.approx(2 / 4)  # 春风, 风春
    assert metrics.distinct_n(["a"], n=2) == 0.0
    assert metrics.position_accuracy(["春风化雨", "明月"], ["春雨化风", "明日"]) == pytest.approx(
        3 / 6
    )
    assert metrics.same_position_repeat_rate(["春风", "明月"], ["春雨", "清月"]) == pytest.approx(
        2 / 4
    )
    assert metrics.length_match_rate(["春风", "明月"], ["春雨", "清"]) == 0.5
