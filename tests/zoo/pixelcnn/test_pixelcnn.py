"""The gated PixelCNN prior: the model harness, causality and errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen.testing import run_model_test
from keras_gen.zoo import PixelCNN

CODES = np.random.default_rng(0).integers(0, 16, size=(15, 7, 7))


def test_passes_the_model_harness(mirrored):
    def outputs(model):
        return model.log_prob(CODES[:4]), model(CODES[:4])

    config = {"grid_shape": (7, 7), "num_embeddings": 16, "channels": 8, "num_layers": 2}
    run_model_test(
        PixelCNN,
        {**config, "head_channels": 8},
        (CODES,),
        {"optimizer": {"class": "Adam", "learning_rate": 1e-3}},
        outputs=outputs,
        strategy=mirrored,
    )


def test_is_causal():
    keras.utils.set_random_seed(0)  # the neighbour checks need no all-dead ReLU head
    prior = PixelCNN((5, 5), 4, channels=8, num_layers=3, kernel_size=3, head_channels=32)
    embedded = tf.Variable(np.random.default_rng(0).normal(size=(1, 5, 5, 8)).astype("float32"))
    for i in range(5):
        for j in range(5):
            with tf.GradientTape() as tape:
                logits = prior.network(embedded)
                target = tf.reduce_sum(logits[0, i, j] * tf.range(1.0, 5.0))
            grad = np.abs(tape.gradient(target, embedded).numpy()[0]).sum(-1)
            order = np.arange(25).reshape(5, 5)
            assert grad[order >= i * 5 + j].max() == 0, (i, j)  # no future, not itself
            if j > 0:
                assert grad[i, j - 1] > 0  # sees its left neighbour
            if i > 0:
                assert grad[i - 1, j] > 0 and grad[i - 1, min(j + 1, 4)] > 0  # and above-right


def test_bad_inputs():
    prior = PixelCNN((7, 7), 16, channels=8, num_layers=2, head_channels=8)
    with pytest.raises(ValueError, match=r"codes must be in \[0, 16\)"):
        prior.log_prob(np.full((1, 7, 7), 16))
    with pytest.raises(ValueError, match="kernel_size must be an odd integer"):
        PixelCNN((7, 7), 16, kernel_size=4)
