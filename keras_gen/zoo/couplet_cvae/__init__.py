"""The couplet conditional VAE."""

from keras_gen.zoo.couplet_cvae.couplet_cvae import CoupletCVAE

__all__ = ["CoupletCVAE"]
