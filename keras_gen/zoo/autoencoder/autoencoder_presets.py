"""Named configurations of the deterministic autoencoders."""

from keras_gen.presets.registry import DataSpec, Preset, adam

MNIST = DataSpec("images", "mnist_mini")
ADAM = {"optimizer": adam(1e-3)}

PRESETS = [
    Preset(
        "autoencoder",
        "Autoencoder",
        "deterministic autoencoder, dense; samples from a Gaussian fit of its codes",
        config={"architecture": "mlp", "latent_dim": 32},
        recipe=ADAM,
        data=MNIST,
        epochs=20,
    ),
    Preset(
        "conv-autoencoder",
        "Autoencoder",
        "deterministic autoencoder, strided convolutions",
        config={"architecture": "conv", "hidden_units": (256,), "latent_dim": 32},
        recipe=ADAM,
        data=MNIST,
        epochs=8,
    ),
    Preset(
        "denoising-autoencoder",
        "DenoisingAutoencoder",
        "reconstructs clean images from inputs with Gaussian noise added (sigma 0.3)",
        config={"architecture": "mlp", "noise": "gaussian", "noise_level": 0.3, "latent_dim": 32},
        recipe=ADAM,
        data=MNIST,
        epochs=30,
    ),
    Preset(
        "contractive-autoencoder",
        "ContractiveAutoencoder",
        "autoencoder with a penalty on the encoder's Jacobian (contraction 0.1)",
        config={"architecture": "mlp", "contraction": 0.1, "latent_dim": 16},
        recipe=ADAM,
        data=MNIST,
        epochs=10,
    ),
    Preset(
        "linear-autoencoder",
        "LinearAutoencoder",
        "linear encoder and decoder on squared error: learns the PCA subspace",
        config={"latent_dim": 16},
        recipe=ADAM,
        data=MNIST,
        epochs=50,
    ),
]
