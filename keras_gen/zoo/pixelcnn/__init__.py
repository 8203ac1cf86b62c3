"""The gated PixelCNN prior over code grids."""

from keras_gen.zoo.pixelcnn.pixelcnn import PixelCNN

__all__ = ["PixelCNN"]
