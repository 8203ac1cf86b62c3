"""The adversarial autoencoder: the model harness with the registry's recipe."""

import numpy as np

from keras_gen import zoo
from keras_gen.testing import run_model_test

RNG = np.random.default_rng(0)
X = RNG.random((15, 8, 8, 1), dtype="float32")  # odd: the replicas get 8 and 7 examples


def test_passes_the_model_harness(mirrored):
    config = {
        "image_shape": (8, 8, 1),
        "latent_dim": 3,
        "hidden_units": (8,),
        "discriminator_units": (8,),
        "seed": 0,
    }

    def outputs(model):
        return model.generate(3, seed=3), model.encode(X[:3]), model.reconstruct(X[:3])

    run_model_test(
        zoo.AdversarialAutoencoder, config, (X,), "aae", outputs=outputs, strategy=mirrored
    )


def test_reports_the_reconstruction_with_the_players_terms():
    aae = zoo.AdversarialAutoencoder((8, 8, 1), latent_dim=3, hidden_units=(8,), seed=0)
    aae.compile()
    logs = aae.train_on_batch(X, return_dict=True)
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake", "reconstruction"}
    assert logs["reconstruction"] > 0
