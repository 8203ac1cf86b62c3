"""Variational autoencoders: VAE and the class-conditional CVAE."""

from keras_gen.zoo.vae.vae import CVAE, VAE

__all__ = ["CVAE", "VAE"]
