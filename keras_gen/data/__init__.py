"""Image data: the embedded default ``"mnist_mini"``, TFDS names and local files.

>>> from keras_gen.data import load_arrays, load_images
>>> ds = load_images("mnist_mini", batch_size=32, binarize="dynamic", seed=0)
>>> x_test, y_test = load_arrays("mnist_mini", "test")
"""

from keras_gen.data.images import load_arrays, load_images

__all__ = ["load_arrays", "load_images"]
