"""What a Frechet classifier distance (FCD) on MNIST means: real images, perturbed.

The GAN benchmark (``gan_mnist.py``) scores generators by the FCD of 10,000 samples to
the 10,000 test images, with the real training images as the floor. This script puts
those numbers on a scale: the FCD to the test set of 10,000 *real* training images after
perturbations a generator might make (pixel noise, blur, binarisation, a one-pixel
shift, a wrong class balance, a missing class), and the spread of the floor over
disjoint subsets of the training set. It takes about a minute on 2 CPU cores.

Usage (from the repository root):

    python benchmarks/fcd_sensitivity.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import common
import numpy as np
from scipy import ndimage

from keras_gen.metrics import mnist_classifier
from keras_gen.metrics.features import extract_features
from keras_gen.metrics.frechet import frechet_distance

N = 10000


def class_mix(x: np.ndarray, y: np.ndarray, counts: dict[int, int]) -> np.ndarray:
    """The first ``counts[k]`` training images of each digit ``k``."""
    return np.concatenate([x[y == k][:n] for k, n in counts.items()])


def perturbations(rng: np.random.Generator) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    def noise(std):
        return lambda x: np.clip(x + rng.normal(0.0, std, x.shape), 0.0, 1.0)

    def blur(sigma):
        return lambda x: ndimage.gaussian_filter(x, (0, sigma, sigma, 0))

    return {
        "Gaussian pixel noise, std 0.02": noise(0.02),
        "Gaussian pixel noise, std 0.05": noise(0.05),
        "Gaussian pixel noise, std 0.1": noise(0.1),
        "Gaussian blur, sigma 0.3 px": blur(0.3),
        "Gaussian blur, sigma 0.5 px": blur(0.5),
        "Gaussian blur, sigma 0.8 px": blur(0.8),
        "binarised at 0.5": lambda x: (x > 0.5).astype(x.dtype),
        "shifted right by 1 px": lambda x: np.roll(x, 1, axis=2),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=common.DEFAULT_DATA)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = common.load_average()
    x_train, x_test = common.load_mnist(args.data)
    with np.load(f"{args.data}/mnist/mnist.npz") as d:
        y_train = d["y_train"]
    x_train = (x_train[..., None] / 255.0).astype("float32")
    x_test = (x_test[..., None] / 255.0).astype("float32")
    classifier = mnist_classifier()
    test_features = extract_features(classifier, x_test)

    def fcd(images: np.ndarray) -> float:
        return frechet_distance(
            extract_features(classifier, images.astype("float32")), test_features
        )

    floors = [fcd(x_train[i : i + N]) for i in range(0, len(x_train), N)]
    base = x_train[:N]
    rows = [("real training images 0-9,999 (the GAN benchmark's floor)", floors[0])]
    rng = np.random.default_rng(0)
    rows += [(name, fcd(f(base))) for name, f in perturbations(rng).items()]
    balanced = {k: 1000 for k in range(10)}
    rows += [
        ("balanced classes, 1,000 per digit", fcd(class_mix(x_train, y_train, balanced))),
        (
            "twice as many 1s (2,000, others 1,000)",
            fcd(class_mix(x_train, y_train, {**balanced, 1: 2000})),
        ),
        (
            "half as many 8s (500, others 1,000)",
            fcd(class_mix(x_train, y_train, {**balanced, 8: 500})),
        ),
        (
            "no 8s (9 digits, 1,000 each)",
            fcd(class_mix(x_train, y_train, {k: 1000 for k in range(10) if k != 8})),
        ),
    ]
    floor = floors[0]
    lines = [
        f"- Command: `{common.command_line()}`",
        "- Data: MNIST (`../shared/data/mnist/mnist.npz`); every row: FCD of about 10,000 "
        "training images (perturbed as named) to the 10,000 test images, features of the "
        "shipped MNIST classifier (`keras_gen.metrics.mnist_classifier`).",
        *common.machine_lines(),
        f"- Load average before/after: {load_before} / {common.load_average()}; wall time "
        f"{time.perf_counter() - started:.0f} s",
        "",
        f"Floor over the 6 disjoint 10k subsets of the training set: "
        f"{', '.join(f'{v:.2f}' for v in floors)} (mean {np.mean(floors):.2f}, max "
        f"{max(floors):.2f}). The GAN target (3x the floor) is {3 * floor:.2f}.",
        "",
        "| images (10k training images unless said) | FCD to test | / floor |",
        "|---|---|---|",
        *[f"| {name} | {value:.2f} | {value / floor:.1f} |" for name, value in rows],
    ]
    print("\n".join(lines))
    if not args.no_record:
        common.append_results("What an MNIST FCD means: real images, perturbed", lines)


if __name__ == "__main__":
    main()
