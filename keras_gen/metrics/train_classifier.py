"""Train and save the feature classifier of the Frechet classifier distance (FCD).

Usage (from the repository root; about 1.5 minutes on 2 CPU cores for full MNIST)::

    python -m keras_gen.metrics.train_classifier --data ../shared/data/mnist/mnist.npz \\
        --out runs/mnist_classifier.keras
    python -m keras_gen.metrics.train_classifier --data mnist --out runs/mnist_classifier.keras

``--data`` is a data set name (TFDS, e.g. ``mnist``) or a local file/folder, as for
``keras-gen train``. It prints the test accuracy and writes the ``.keras`` file in one
step (a failed run leaves no partial file). Load it with ``ClassifierFeatures.load(path)``.

    >>> from keras_gen.metrics.train_classifier import main
    >>> main(["--data", "mnist_mini", "--epochs", "1", "--out", "/tmp/c.keras"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from keras_gen import data
from keras_gen.io import save_model_atomic
from keras_gen.metrics.features import train_classifier


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m keras_gen.metrics.train_classifier", description=__doc__.splitlines()[0]
    )
    p.add_argument("--data", default="mnist", help="data set name or path (mnist)")
    p.add_argument("--out", required=True, help="the .keras file to write")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-accuracy", type=float, default=0.0, help="fail below this accuracy")
    args = p.parse_args(argv)
    if not args.out.endswith(".keras"):
        p.error(f"--out must end in .keras; got {args.out!r}")
    x_train, y_train = data.load_arrays(args.data, "train")
    x_test, y_test = data.load_arrays(args.data, "test")
    if y_train is None or y_test is None:
        p.error(f"--data {args.data!r} has no labels; the classifier needs labelled images")
    start = time.perf_counter()
    model = train_classifier(
        x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, verbose=2
    )
    seconds = time.perf_counter() - start
    accuracy = model.accuracy(x_test, y_test)
    print(
        f"trained on {len(x_train)} images in {seconds:.0f} s; "
        f"test accuracy {accuracy:.2%} on {len(x_test)} images"
    )
    if accuracy < args.min_accuracy:
        print(f"error: test accuracy below --min-accuracy {args.min_accuracy}", file=sys.stderr)
        return 1
    save_model_atomic(model, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
