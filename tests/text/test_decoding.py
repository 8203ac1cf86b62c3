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
