"""Named configurations of the VAEs (``keras-gen train vae``, ``conv-vae``, ``cvae``)."""

from keras_gen.presets.registry import DataSpec, Preset, adam

# Budgets chosen so that `keras-gen train NAME` on mnist_mini takes about a minute on 2 CPU
# cores (with the default precision: mixed_bfloat16 for conv models on a CPU with AMX).
MNIST_DYNAMIC = DataSpec("images", "mnist_mini", binarize="dynamic")

PRESETS = [
    Preset(
        "vae",
        "VAE",
        "variational autoencoder, dense encoder and decoder, Bernoulli likelihood",
        config={"architecture": "mlp", "latent_dim": 16},
        recipe={"optimizer": adam(1e-3)},
        data=MNIST_DYNAMIC,
        epochs=30,
    ),
    Preset(
        "conv-vae",
        "VAE",
        "variational autoencoder, strided-convolution encoder and decoder",
        config={"architecture": "conv", "hidden_units": (256,), "latent_dim": 16},
        recipe={"optimizer": adam(1e-3)},
        data=MNIST_DYNAMIC,
        epochs=8,
    ),
    Preset(
        "cvae",
        "CVAE",
        "class-conditional VAE (needs labelled data; sample with --label K)",
        config={"architecture": "mlp", "latent_dim": 16},
        recipe={"optimizer": adam(1e-3)},
        data=DataSpec("images", "mnist_mini", binarize="dynamic", labels=True),
        epochs=30,
    ),
]
