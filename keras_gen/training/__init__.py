"""The training core: the only package that knows the TensorFlow backend.

>>> from keras_gen.training import GenerativeModel
"""

from keras_gen.training import backend
from keras_gen.training.model import GenerativeModel

__all__ = ["GenerativeModel", "backend"]
