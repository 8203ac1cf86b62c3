"""ALI / BiGAN: the model harness with the registry's recipe."""

import numpy as np

from keras_gen import zoo
from keras_gen.testing import run_model_test

RNG = np.random.default_rng(0)
X = RNG.random((15, 8, 8, 1), dtype="float32")  # odd: the replicas get 8 and 7 examples


def test_passes_the_model_harness(mirrored):
    config = {
        "image_shape": (8, 8, 1),
        "latent_dim": 3,
        "filters": (4, 8),
        "seed": 0,
    }

    def outputs(model):
        return model.generate(3, seed=3), model.encode(X[:3]), model.reconstruct(X[:3])

    run_model_test(zoo.ALI, config, (X,), "ali", outputs=outputs, strategy=mirrored)
