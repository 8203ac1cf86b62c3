"""The VQ-VAE."""

from keras_gen.zoo.vqvae.vqvae import VQVAE

__all__ = ["VQVAE"]
