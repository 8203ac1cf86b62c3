"""Build the embedded default data set `keras_gen/data/assets/mnist_mini.npz`.

The first 6,000 train and 1,000 test MNIST images (28x28 uint8) with their labels, in the
layout of `keras.datasets.mnist` (x_train, y_train, x_test, y_test). Run from the repo root:

    python scripts/make_mnist_mini.py ../shared/data/mnist/mnist.npz \
        keras_gen/data/assets/mnist_mini.npz
"""

import argparse

import numpy as np

N_TRAIN, N_TEST = 6000, 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="full MNIST .npz in keras.datasets layout")
    parser.add_argument("dst", help="output .npz")
    args = parser.parse_args()
    with np.load(args.src) as src:
        np.savez_compressed(
            args.dst,
            x_train=src["x_train"][:N_TRAIN].astype(np.uint8),
            y_train=src["y_train"][:N_TRAIN].astype(np.uint8),
            x_test=src["x_test"][:N_TEST].astype(np.uint8),
            y_test=src["y_test"][:N_TEST].astype(np.uint8),
        )


if __name__ == "__main__":
    main()
