"""Named configuration of the VQ-VAE and its PixelCNN prior (a two-stage recipe)."""

from keras_gen.presets.registry import DataSpec, Preset, adam

PRESETS = [
    Preset(
        "vqvae",
        "VQVAE",
        "VQ-VAE with an EMA codebook, then a gated PixelCNN prior over its codes",
        config={"num_embeddings": 64, "embedding_dim": 16, "hidden_channels": 64},
        recipe={"optimizer": adam(3e-4)},
        data=DataSpec("images", "mnist_mini"),
        epochs=10,
        batch_size=64,
        architecture="conv",
        stages={
            "prior": {
                "model": "PixelCNN",
                "config": {"channels": 64, "num_layers": 8},
                "recipe": {"optimizer": adam(1e-3)},
                "epochs": 20,
                "batch_size": 64,
            }
        },
    ),
    Preset(
        "vqvae_mnist",
        "VQVAE",
        "MNIST VQ-VAE (K=64, D=16, 7x7 codes) and its gated PixelCNN prior, trained",
        config={
            "num_embeddings": 64,
            "embedding_dim": 16,
            "hidden_channels": 64,
            "restart_after": 100,
        },
        recipe={"optimizer": adam(3e-4)},
        data=DataSpec("images", "mnist"),
        epochs=5,
        batch_size=64,
        architecture="conv",
        stages={
            "prior": {
                "model": "PixelCNN",
                "config": {"channels": 64, "num_layers": 8},
                "recipe": {"optimizer": adam(1e-3)},
                "epochs": 8,
                "batch_size": 64,
            }
        },
        weights="vqvae_mnist",
    ),
]
