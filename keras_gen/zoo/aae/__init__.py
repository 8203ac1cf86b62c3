"""The adversarial autoencoder."""

from keras_gen.zoo.aae.aae import AdversarialAutoencoder

__all__ = ["AdversarialAutoencoder"]
