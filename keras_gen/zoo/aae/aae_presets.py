"""Named configuration of the adversarial autoencoder."""

from keras_gen.presets.registry import DataSpec, Preset, adam

PRESETS = [
    Preset(
        "aae",
        "AdversarialAutoencoder",
        "adversarial autoencoder: dense autoencoder, codes pushed to N(0, I) by a discriminator",
        config={"architecture": "mlp", "latent_dim": 8},
        recipe={
            "g_optimizer": adam(1e-3),
            "d_optimizer": adam(2e-4, beta_1=0.5),
            "loss": "non_saturating",
        },
        data=DataSpec("images", "mnist_mini"),
        epochs=10,
    ),
]
