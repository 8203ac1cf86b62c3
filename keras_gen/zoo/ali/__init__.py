"""ALI / BiGAN."""

from keras_gen.zoo.ali.ali import ALI

__all__ = ["ALI"]
