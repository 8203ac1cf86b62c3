"""The model zoo: one folder per model, each saying what it optimises; the training core does the rest.

>>> from keras_gen.zoo import VAE
>>> vae = VAE((28, 28, 1), latent_dim=16, architecture="conv")
"""

from keras_gen.zoo.aae import AdversarialAutoencoder
from keras_gen.zoo.ali import ALI
from keras_gen.zoo.autoencoder import (
    Autoencoder,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    LinearAutoencoder,
)
from keras_gen.zoo.couplet_cvae import CoupletCVAE
from keras_gen.zoo.couplet_tagger import CoupletTagger
from keras_gen.zoo.dcgan import DCGAN, ConditionalGAN
from keras_gen.zoo.pixelcnn import PixelCNN
from keras_gen.zoo.seq2seq import Seq2Seq
from keras_gen.zoo.text_vae import TextVAE
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
