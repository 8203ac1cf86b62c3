"""The couplet tagger: the model harness, no in-place repeats, errors."""

import numpy as np
import pytest

from keras_gen import zoo
from keras_gen.testing import run_model_test
from keras_gen.text import pipeline


def _tagger(vocab, **kw):
    return zoo.CoupletTagger(vocab, embedding_dim=8, filters=16, num_blocks=2, **kw)


def test_passes_the_model_harness(couplets, couplet_vocab, mirrored):
    first, second = (lines[:15] for lines in couplets)  # odd: 8 and 7 on the replicas
    x, y = pipeline.couplet_arrays(couplet_vocab, first, second)

    def outputs(model):
        return model(x[:4]), model.generate_from(first[:3])

    config = {"vocabulary": couplet_vocab, "embedding_dim": 8, "filters": 16, "num_blocks": 2}
    run_model_test(
        zoo.CoupletTagger, config, (x, y), "couplet-tagger", outputs=outputs, strategy=mirrored
    )


def test_never_repeats_the_first_lines_character_in_place(couplet_vocab):
    model = _tagger(couplet_vocab)
    # A head that prefers the character 春 everywhere, whatever the input.
    spring = couplet_vocab.encode(["春"])[0, 0]
    bias = model.head.bias.numpy()
    bias[spring] = 1e3
    model.head.bias.assign(bias)
    line = "春风春雨"
    unconstrained = model.generate_from([line], no_repeat=False)[0]
    assert unconstrained == "春春春春"
    constrained = model.generate_from([line, "明月"])
    assert len(constrained[0]) == 4 and len(constrained[1]) == 2
    for position, char in enumerate(constrained[0]):
        assert char != line[position]
    assert (
        constrained[0][1] == "春" and constrained[0][3] == "春"
    )  # only in-place repeats are banned
    assert constrained[1] == "春春"
    # Punctuation is exempt: both lines of a couplet put their stops in the same places.
    stop = couplet_vocab.encode(["。"])[0, 0]
    bias[stop] = 2e3
    model.head.bias.assign(bias)
    assert model.generate_from(["春。雨"])[0] == "。。。"


def test_bad_input_is_a_clear_error(couplet_vocab):
    tagger = _tagger(couplet_vocab)
    with pytest.raises(ValueError, match=r"first_lines\[1\] is empty"):
        tagger.generate_from(["春风", ""])
    with pytest.raises(ValueError, match="y is missing"):
        tagger.compute_terms(np.ones((2, 3), "int32"))
