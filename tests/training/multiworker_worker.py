"""One worker of the multi-worker test: trains a small VAE and saves its final weights.

Run by test_multiworker.py with TF_CONFIG set; argv: output .npz path.
"""

import sys

import numpy as np
import tensorflow as tf

import keras_gen
from keras_gen.training import make_strategy


def main(out_path: str) -> None:
    strategy = make_strategy("multi-worker")
    x = np.random.default_rng(0).random((256, 28, 28, 1), dtype="float32")
    with strategy.scope():
        model = keras_gen.zoo.VAE((28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0)
        model.compile(optimizer="adam")
    data = tf.data.Dataset.from_tensor_slices(x).batch(32)
    history = model.fit(data, epochs=2, verbose=0)
    weights = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    np.savez(
        out_path,
        loss=np.array(history.history["loss"]),
        replicas=strategy.num_replicas_in_sync,
        **weights,
    )


if __name__ == "__main__":
    main(sys.argv[1])
