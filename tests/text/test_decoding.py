"""Decoding: beam search against greedy search on a hand-made distribution.

The text models' own tests live in tests/zoo/<model>/ (one folder per zoo model).
"""

import numpy as np
import pytest

from keras_gen.text import END_ID, decoding


def test_beam_search_beats_greedy_on_a_garden_path():
    # From <s>: token 4 (p=0.6) leads only to low-probability ends; token 5 (p=0.4) to a sure end.
    def step(tokens, state):
        logp = np.full((len(tokens), 6), -30.0)
        for i, t in enumerate(tokens):
            if t == 2:
                logp[i, 4], logp[i, 5] = np.log(0.6), np.log(0.4)
            elif t == 4:
                logp[i, END_ID], logp[i, 4], logp[i, 5] = np.log(0.3), np.log(0.35), np.log(0.35)
            else:
                logp[i, END_ID] = 0.0
        return logp, state

    greedy = decoding.greedy_search(step, [0], 1, 4)
    beam = decoding.beam_search(step, [0], lambda s, r: s, 1, 2, 4)
    assert greedy.best[0, :2].tolist() == [4, 4]
    assert beam.best[0, :2].tolist() == [5, END_ID]
    assert beam.log_probs[0, 0] == pytest.approx(np.log(0.4))


def _uniform_step(tokens, state):
    return np.log(np.full((len(tokens), 6), 1 / 6)), state


@pytest.mark.parametrize("beam_width", [-1, 0, 2.5, True])
def test_beam_width_must_be_a_positive_integer(beam_width):
    with pytest.raises(ValueError, match="beam_width must be a positive integer"):
        decoding.beam_search(_uniform_step, [0], lambda s, r: s, 1, beam_width, 4)


@pytest.mark.parametrize("temperature", [-1.0, float("inf"), float("nan"), "hot"])
def test_greedy_search_refuses_a_temperature_that_is_negative_or_not_finite(temperature):
    calls = []

    def step(tokens, state):
        calls.append(1)
        return _uniform_step(tokens, state)

    with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
        decoding.greedy_search(step, [0], 1, 4, temperature=temperature)
    assert not calls  # refused before the first decoder step


def test_max_length_must_be_a_positive_integer():
    with pytest.raises(ValueError, match=r"max_length must be a positive integer; got 2\.5"):
        decoding.greedy_search(_uniform_step, [0], 1, 2.5)
