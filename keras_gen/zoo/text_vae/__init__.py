"""The sentence VAE."""

from keras_gen.zoo.text_vae.text_vae import TextVAE

__all__ = ["TextVAE"]
