"""Named configurations of the DCGANs: the recommended recipe and the plain-loss variants.

``dcgan`` is what keras-gen recommends: the non-saturating loss with the R1 penalty
(gamma 10, Mescheder et al. 2018) and an EMA of the generator's weights. On MNIST it
reached 0.60x the Frechet distance of the plain loss at an equal number of updates, below
it on each of 8 seeds (``benchmarks/gan_mnist.py``, RESULTS.md).
"""

from keras_gen.presets.registry import DataSpec, Preset, adam, ema

MNIST = DataSpec("images", "mnist_mini")
DCGAN_ADAM = adam(2e-4, beta_1=0.5)  # Radford et al.'s settings

PRESETS = [
    Preset(
        "dcgan",
        "DCGAN",
        "DCGAN, non-saturating loss + R1 (gamma 10), EMA generator: the recommended recipe",
        config={"filters": (64, 128), "latent_dim": 100},
        recipe={
            "g_optimizer": ema(DCGAN_ADAM, momentum=0.999),
            "d_optimizer": DCGAN_ADAM,
            "loss": "non_saturating",
            "r1_penalty": 10.0,
        },
        data=MNIST,
        epochs=2,
        architecture="conv",
    ),
    Preset(
        "dcgan-ns",
        "DCGAN",
        "DCGAN, plain non-saturating loss (Radford et al. 2016; the keras-io recipe)",
        config={"filters": (64, 128), "latent_dim": 100},
        recipe={"g_optimizer": DCGAN_ADAM, "d_optimizer": DCGAN_ADAM, "loss": "non_saturating"},
        data=MNIST,
        epochs=2,
        architecture="conv",
    ),
    Preset(
        "wgan-gp",
        "DCGAN",
        "DCGAN critic and generator, Wasserstein loss + gradient penalty 10, 5 critic steps",
        config={"filters": (64, 128), "latent_dim": 100},
        recipe={
            "g_optimizer": adam(1e-4, beta_1=0.5, beta_2=0.9),
            "d_optimizer": adam(1e-4, beta_1=0.5, beta_2=0.9),
            "loss": "wasserstein",
            "gradient_penalty": 10.0,
            "d_steps": 5,
        },
        data=MNIST,
        epochs=2,
        batch_size=320,  # 5 critic steps of 64 each per train step
        architecture="conv",
    ),
    Preset(
        "dcgan-hinge-sn",
        "DCGAN",
        "DCGAN, hinge loss, spectral norm in D, two learning rates (Miyato et al. 2018)",
        config={"filters": (64, 128), "latent_dim": 100, "spectral_norm": True},
        recipe={
            "g_optimizer": adam(1e-4, beta_1=0.0, beta_2=0.9),
            "d_optimizer": adam(4e-4, beta_1=0.0, beta_2=0.9),
            "loss": "hinge",
        },
        data=MNIST,
        epochs=2,
        architecture="conv",
    ),
    Preset(
        "conditional-gan",
        "ConditionalGAN",
        "class-conditional DCGAN, hinge loss (needs labelled data; sample with --label K)",
        config={"filters": (64, 128), "latent_dim": 100},
        recipe={"g_optimizer": DCGAN_ADAM, "d_optimizer": DCGAN_ADAM, "loss": "hinge"},
        data=DataSpec("images", "mnist_mini", labels=True),
        epochs=2,
        architecture="conv",
    ),
    Preset(
        "conditional_gan_mnist",
        "ConditionalGAN",
        "class-conditional MNIST DCGAN (hinge loss, EMA generator), trained: draws the digit asked",
        config={"filters": (64, 128), "latent_dim": 100},
        recipe={
            "g_optimizer": ema(DCGAN_ADAM, momentum=0.999),
            "d_optimizer": DCGAN_ADAM,
            "loss": "hinge",
        },
        data=DataSpec("images", "mnist", labels=True),
        epochs=20,
        batch_size=64,
        architecture="conv",
        weights="conditional_gan_mnist",
    ),
]
