"""Named configurations of the VAEs (``keras-gen train vae``, ``conv-vae``, ``cvae``)."""

from keras_gen.presets.registry import DataSpec, Preset, adam, cosine_schedule

# Budgets chosen so that `keras-gen train NAME` on mnist_mini takes about a minute on 2 CPU
# cores (with the default precision: mixed_bfloat16 for conv models on a CPU with AMX).
MNIST_DYNAMIC = DataSpec("images", "mnist_mini", binarize="dynamic")

# The trained presets train on all 60k MNIST training images (469 batches of 128 an epoch).
MNIST_STEPS_PER_EPOCH = 469
VAE_MNIST_EPOCHS = 400

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
    Preset(
        "vae_mnist",
        "VAE",
        "Burda et al.'s one-layer MNIST VAE (2x200 tanh, 50-d latent), trained: test NLL",
        config={
            "architecture": "mlp",
            "hidden_units": (200, 200),
            "activation": "tanh",
            "latent_dim": 50,
            "likelihood": "bernoulli",
        },
        recipe={
            "optimizer": adam(
                cosine_schedule(
                    2e-3,
                    decay_steps=(VAE_MNIST_EPOCHS - 1) * MNIST_STEPS_PER_EPOCH,
                    warmup_steps=MNIST_STEPS_PER_EPOCH,
                )
            ),
            "steps_per_execution": 10,
        },
        data=DataSpec("images", "mnist", binarize="dynamic"),
        epochs=VAE_MNIST_EPOCHS,
        kl_warmup=10 / VAE_MNIST_EPOCHS,
    ),
]
