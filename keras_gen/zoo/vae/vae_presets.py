"""Named configurations of the VAEs (``keras-gen train vae``, ``conv-vae``, ``cvae``)."""

from keras_gen.presets.registry import DataSpec, Preset, adam, cosine_schedule

# Budgets chosen so that `keras-gen train NAME` on mnist_mini takes about a minute on 2 CPU
# cores (with the default precision: mixed_bfloat16 for conv models on a CPU with AMX).
MNIST_DYNAMIC = DataSpec("images", "mnist_mini", binarize="dynamic")

# The trained presets train on all 60k MNIST training images (469 batches of 128 an epoch).
MNIST_STEPS_PER_EPOCH = 469
VAE_MNIST_EPOCHS = 400
CONV_VAE_MNIST_EPOCHS = 12
CVAE_MNIST_EPOCHS = 60

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
        weights="vae_mnist",
    ),
    Preset(
        "conv_vae_mnist",
        "VAE",
        "convolutional MNIST VAE (32-d latent, Bernoulli likelihood), trained: test NLL",
        config={"architecture": "conv", "hidden_units": (256,), "latent_dim": 32},
        recipe={
            "optimizer": adam(
                cosine_schedule(
                    1e-3,
                    decay_steps=(CONV_VAE_MNIST_EPOCHS - 1) * MNIST_STEPS_PER_EPOCH,
                    warmup_steps=MNIST_STEPS_PER_EPOCH,
                )
            )
        },
        data=DataSpec("images", "mnist", binarize="dynamic"),
        epochs=CONV_VAE_MNIST_EPOCHS,
        kl_warmup=1 / CONV_VAE_MNIST_EPOCHS,
        weights="conv_vae_mnist",
    ),
    Preset(
        "cvae_mnist",
        "CVAE",
        "class-conditional MNIST VAE (2x500 ReLU, 8-d latent), trained: draws the digit asked",
        config={"architecture": "mlp", "hidden_units": (500, 500), "latent_dim": 8},
        recipe={
            "optimizer": adam(
                cosine_schedule(
                    1e-3,
                    decay_steps=(CVAE_MNIST_EPOCHS - 1) * MNIST_STEPS_PER_EPOCH,
                    warmup_steps=MNIST_STEPS_PER_EPOCH,
                )
            ),
            "steps_per_execution": 10,
        },
        data=DataSpec("images", "mnist", binarize="dynamic", labels=True),
        epochs=CVAE_MNIST_EPOCHS,
        kl_warmup=2 / CVAE_MNIST_EPOCHS,
        weights="cvae_mnist",
    ),
]
