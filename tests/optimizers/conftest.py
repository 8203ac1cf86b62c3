"""A tiny deterministic model trained through the training core, for exact comparisons."""

import keras
import numpy as np
import pytest

from keras_gen.training import GenerativeModel


@keras.saving.register_keras_serializable(package="keras_gen_tests")
class Regressor(GenerativeModel):
    """Two dense layers ("body", "head") and a per-example squared error; no randomness."""

    def __init__(self, **kwargs):
        super().__init__(term_names=("loss",), **kwargs)
        self.body = keras.layers.Dense(3, activation="tanh", name="body")
        self.head = keras.layers.Dense(2, name="head")
        self.body.build((None, 4))
        self.head.build((None, 3))

    def call(self, x):
        return self.head(self.body(x))

    def compute_terms(self, x, y=None, training=False):
        err = keras.ops.square(self(x) - keras.ops.cast(y, "float32"))
        return {"loss": keras.ops.sum(err, axis=-1)}


RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 4)).astype("float32")
Y = RNG.normal(size=(32, 2)).astype("float32")


def make_regressor(weights=None):
    keras.utils.set_random_seed(0)
    model = Regressor()
    if weights is not None:
        model.set_weights(weights)
    return model


def fit(model, optimizer, n, batch_size, x=X, y=Y):
    """Compile and fit on the first ``n`` examples in order."""
    model.compile(optimizer=optimizer)
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return [w.numpy() for w in model.trainable_weights]


@pytest.fixture
def data():
    return X, Y
