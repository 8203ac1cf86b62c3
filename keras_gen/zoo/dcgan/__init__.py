"""DCGAN and its class-conditional variant."""

from keras_gen.zoo.dcgan.dcgan import DCGAN, ConditionalGAN

__all__ = ["DCGAN", "ConditionalGAN"]
