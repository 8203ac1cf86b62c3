"""keras-gen: a Keras 3 model zoo for generative modelling.

>>> import keras_gen
>>> model = keras_gen.zoo.VAE((28, 28, 1), latent_dim=8)
"""

import os

# The training core is written for the TensorFlow backend (tf.distribute, GradientTape).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "keras_gen needs the TensorFlow backend of Keras; got "
        f"KERAS_BACKEND={keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow."
    )

from keras_gen import callbacks, data, layers, losses, metrics, optimizers, training, zoo

__version__ = "0.1.0"

__all__ = ["callbacks", "data", "layers", "losses", "metrics", "optimizers", "training", "zoo"]
