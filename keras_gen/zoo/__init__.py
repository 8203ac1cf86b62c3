"""The model zoo: each model says what it optimises; the training core does the rest.

>>> from keras_gen.zoo import VAE
>>> vae = VAE((28, 28, 1), latent_dim=16, architecture="conv")
"""

from keras_gen.zoo.autoencoders import (
    Autoencoder,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    LinearAutoencoder,
)
from keras_gen.zoo.gan import ALI, DCGAN, AdversarialAutoencoder, ConditionalGAN
from keras_gen.zoo.pixelcnn import PixelCNN
from keras_gen.zoo.text import CoupletCVAE, CoupletTagger, Seq2Seq, TextVAE
from keras_gen.zoo.vae import CVAE, VAE
from keras_gen.zoo.vqvae import VQVAE

__all__ = [
    "ALI",
    "CVAE",
    "DCGAN",
    "VAE",
    "VQVAE",
    "AdversarialAutoencoder",
    "Autoencoder",
    "ConditionalGAN",
    "ContractiveAutoencoder",
    "CoupletCVAE",
    "CoupletTagger",
    "DenoisingAutoencoder",
    "LinearAutoencoder",
    "PixelCNN",
    "Seq2Seq",
    "TextVAE",
]
