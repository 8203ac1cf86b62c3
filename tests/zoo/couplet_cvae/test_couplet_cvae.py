"""The couplet conditional VAE: the model harness and its diverse second lines."""

import pytest

from keras_gen import zoo
from keras_gen.testing import run_model_test
from keras_gen.text import pipeline

TINY = {"latent_dim": 4, "embedding_dim": 8, "filters": 16, "num_blocks": 1}


def test_passes_the_model_harness(couplets, couplet_vocab, mirrored):
    first, second = (lines[:15] for lines in couplets)  # odd: 8 and 7 on the replicas
    x, y = pipeline.couplet_arrays(couplet_vocab, first, second)

    def outputs(model):
        return model((x[:4], y[:4])), model.generate_from(first[0], num_samples=3, seed=1)

    config = {"vocabulary": couplet_vocab, "seed": 3, **TINY}
    run_model_test(
        zoo.CoupletCVAE, config, (x, y), "couplet-cvae", outputs=outputs, strategy=mirrored
    )


def test_gives_different_second_lines_for_one_first_line(couplets, couplet_vocab):
    model = zoo.CoupletCVAE(couplet_vocab, seed=0, **TINY)
    samples = model.generate_from(couplets[0][0], num_samples=8, seed=0, temperature=1.0)
    assert len(set(samples)) > 1
    assert all(len(s) == len(couplets[0][0]) for s in samples)
    with pytest.raises(ValueError, match="first_line"):
        model.generate_from("  ")


@pytest.mark.parametrize("temperature", [-1.0, float("inf")])
def test_temperature_must_be_finite_and_not_negative(couplet_vocab, temperature):
    model = zoo.CoupletCVAE(couplet_vocab, seed=0, **TINY)
    with pytest.raises(ValueError, match=r"temperature must be a finite number >= 0"):
        model.generate_from("春风", temperature=temperature)
