"""What ``train_preset.py`` measures on each trained preset, by preset name.

Every evaluation is deterministic (fixed seeds for test binarization, importance samples
and generated images), so ``python benchmarks/train_preset.py NAME --evaluate-only``
re-measures the numbers a model card states on the shipped weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import common
import numpy as np

# Where the shared data sets named by a preset's DataSpec live under ../shared/data.
DATA_FILES = {"mnist": "mnist/mnist.npz", "cifar10": "cifar10/CIFAR-10-images.tar.gz"}
DATA_CARDS = {
    "mnist": {
        "name": "MNIST",
        "source": "../shared/data/mnist/mnist.npz (the layout of keras.datasets.mnist)",
        "split": "trained on all 60,000 training images; measured on the 10,000 test images",
        "licence": "CC BY-SA 3.0 (LeCun, Cortes, Burges)",
    },
}
TEST_BINARIZATION_SEED = 123  # as benchmarks/mnist_density.py
GRID_DIR = common.BENCH_DIR / "results" / "presets"


@dataclasses.dataclass
class Evaluation:
    """Numbers measured on a trained model.

    Attributes:
        metrics: named numbers (what the card's ``metrics`` holds).
        headline: one short line for ``keras-gen presets`` and the README.
        targets: ``{description: met}`` for the issue's targets.
        compare: the metrics whose relative change decides whether float16 weights are
            good enough (< 0.5%).
        notes: how each number was measured (RESULTS lines and the card's ``measured``).
    """

    metrics: dict[str, float]
    headline: str
    targets: dict[str, bool]
    compare: tuple[str, ...]
    notes: list[str]


def mnist_test(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images as float32 in [0, 1] (n, 28, 28, 1), and their labels."""
    with np.load(Path(data_dir) / DATA_FILES["mnist"]) as d:
        return (d["x_test"].astype("float32") / 255.0)[..., None], d["y_test"].astype("int32")


def binarized(x: np.ndarray) -> np.ndarray:
    """The fixed Bernoulli draw of the test images that every density number uses."""
    rng = np.random.default_rng(TEST_BINARIZATION_SEED)
    return (rng.random(x.shape) < x).astype("float32")


def save_grid(name: str, images: np.ndarray, ncols: int = 10) -> str:
    from keras_gen.callbacks import save_image_grid

    path = GRID_DIR / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image_grid(path, images, ncols=ncols)
    return str(path.relative_to(common.REPO_ROOT))


def _nll(model, x, y, num_samples: int, n_images: int) -> tuple[float, float]:
    ll = model.log_likelihood(
        x[:n_images], *([] if y is None else [y[:n_images]]), num_samples=num_samples, seed=7
    )
    return -float(ll.mean()), float(ll.std(ddof=1) / np.sqrt(len(ll)))


def vae_density(num_samples: int, n_images: int, target: float | None = None) -> Callable:
    """Test -ELBO and importance-sampled NLL on the fixed binarization of MNIST's test set."""

    def evaluate(name, model, data_dir) -> Evaluation:
        x, y = mnist_test(data_dir)
        x = binarized(x)
        labels = y if getattr(model, "num_classes", None) else None
        elbo = -float(
            np.mean(
                [
                    model.log_likelihood(
                        x, *([] if labels is None else [labels]), num_samples=1, seed=1000 + s
                    ).mean()
                    for s in range(5)
                ]
            )
        )
        nll, se = _nll(model, x, labels, num_samples, n_images)
        grid = save_grid(name, model.generate(100, seed=0))
        key = f"test_nll_k{num_samples}"
        metrics = {"test_neg_elbo": elbo, key: nll, f"{key}_standard_error": se}
        targets = (
            {} if target is None else {f"test NLL (k={num_samples}) <= {target}": nll <= target}
        )
        return Evaluation(
            metrics,
            f"test NLL (k={num_samples}) {nll:.2f} nats",
            targets,
            ("test_neg_elbo", key),
            [
                f"test images binarized once (numpy default_rng({TEST_BINARIZATION_SEED}))",
                f"-ELBO: mean of 5 one-sample estimates over all 10,000: {elbo:.2f} nats",
                f"NLL: importance sampling, k={num_samples}, first {n_images:,} test images, "
                f"seed 7: {nll:.2f} +- {se:.2f} nats (s.e. over images)",
                f"samples (means of p(x|z), z ~ N(0, I), seed 0): `{grid}`",
            ],
        )

    return evaluate


def cvae_digits(target: float = 0.95) -> Callable:
    """How often the shipped MNIST classifier reads a CVAE's sample as the digit asked."""

    def evaluate(name, model, data_dir) -> Evaluation:
        from keras_gen.metrics import frechet_classifier_distance, mnist_classifier

        classifier = mnist_classifier()
        x, y = mnist_test(data_dir)
        asked = np.repeat(np.arange(10, dtype="int32"), 100)
        images = model.generate(len(asked), seed=0, labels=asked)
        read = classifier.classify(images)
        accuracy = float(np.mean(read == asked))
        worst = min(float(np.mean(read[asked == k] == k)) for k in range(10))
        fcd = frechet_classifier_distance(images, x, classifier)
        nll, se = _nll(model, binarized(x), y, 1000, 2000)
        # Ten rows; column j holds the first ten samples asked to be digit j.
        order = (np.arange(10)[None, :] * 100 + np.arange(10)[:, None]).ravel()
        grid = save_grid(name, images[order])
        metrics = {
            "requested_digit_accuracy": accuracy,
            "worst_digit_accuracy": worst,
            "fcd_1000": fcd,
            "test_nll_k1000": nll,
        }
        return Evaluation(
            metrics,
            f"{accuracy:.1%} of samples read as the digit asked",
            {f"requested digit >= {target:.0%}": accuracy >= target},
            ("requested_digit_accuracy", "test_nll_k1000"),
            [
                "1,000 samples (100 per digit, seed 0), read by the shipped classifier "
                f"(`keras_gen.metrics.mnist_classifier`): {accuracy:.2%} as the digit asked "
                f"(worst digit {worst:.0%})",
                f"FCD of those 1,000 samples to the 10,000 test images: {fcd:.2f}",
                f"test NLL (k=1000, first 2,000 binarized test images, labels given): "
                f"{nll:.2f} +- {se:.2f} nats",
                f"samples (column j asks for digit j): `{grid}`",
            ],
        )

    return evaluate


def conditional_gan_digits(target: float = 0.95) -> Callable:
    """Digits read as asked, and the FCD of 10,000 samples (1,000 per digit) to the test set."""

    def evaluate(name, model, data_dir) -> Evaluation:
        from keras_gen.metrics import frechet_classifier_distance, mnist_classifier

        classifier = mnist_classifier()
        x, _ = mnist_test(data_dir)
        asked = np.repeat(np.arange(10, dtype="int32"), 1000)
        images = model.generate(len(asked), seed=0, labels=asked)
        read = classifier.classify(images)
        accuracy = float(np.mean(read == asked))
        worst = min(float(np.mean(read[asked == k] == k)) for k in range(10))
        fcd = frechet_classifier_distance(images, x, classifier)
        order = (np.arange(10)[None, :] * 1000 + np.arange(10)[:, None]).ravel()
        grid = save_grid(name, images[order])
        return Evaluation(
            {"requested_digit_accuracy": accuracy, "worst_digit_accuracy": worst, "fcd": fcd},
            f"{accuracy:.1%} read as the digit asked, FCD {fcd:.2f}",
            {f"requested digit >= {target:.0%}": accuracy >= target},
            ("requested_digit_accuracy", "fcd"),
            [
                "10,000 samples (1,000 per digit, seed 0) read by the shipped classifier: "
                f"{accuracy:.2%} as the digit asked (worst digit {worst:.1%})",
                f"FCD of those 10,000 samples to the 10,000 test images: {fcd:.2f}",
                f"samples (column j asks for digit j): `{grid}`",
            ],
        )

    return evaluate


def vqvae_prior(target_bits: float | None = None, target_reconstruction=None) -> Callable:
    """Reconstruction error / variance and the prior's bits per code on the test set."""

    def evaluate(name, model, data_dir) -> Evaluation:
        from keras_gen.pipelines.vqvae_prior import codebook_perplexity

        x, _ = mnist_test(data_dir)
        ratio = float(np.mean((model.reconstruct(x) - x) ** 2) / np.var(x))
        codes = model.encode_indices(x)
        k = model.quantizer.num_embeddings
        bits = float(model.prior.bits_per_code(codes))
        perplexity = codebook_perplexity(codes, k)
        grid = save_grid(name, model.generate(100, seed=0))
        metrics = {
            "test_reconstruction_over_variance": ratio,
            "prior_test_bits_per_code": bits,
            "test_code_perplexity": perplexity,
        }
        targets = {}
        if target_bits is not None:
            targets[f"prior bits per code <= {target_bits}"] = bits <= target_bits
        if target_reconstruction is not None:
            targets[f"reconstruction / variance <= {target_reconstruction}"] = (
                ratio <= target_reconstruction
            )
        return Evaluation(
            metrics,
            f"prior {bits:.3f} bits/code, reconstruction/variance {ratio:.4f}",
            targets,
            tuple(metrics),
            [
                f"test reconstruction MSE / pixel variance (10,000 images): {ratio:.4f}",
                f"prior test NLL: {bits:.4f} bits per code ({bits * codes[0].size:.1f} bits "
                f"per image; uniform: {np.log2(k):.2f})",
                f"test code perplexity: {perplexity:.1f} of {k}",
                f"samples (codes from the prior, seed 0, decoded): `{grid}`",
            ],
        )

    return evaluate


EVALUATORS: dict[str, Callable] = {
    "vae_mnist": vae_density(5000, 10000, target=87.3),
    "conv_vae_mnist": vae_density(1000, 2000),
    "cvae_mnist": cvae_digits(0.95),
    "vqvae_mnist": vqvae_prior(target_bits=2.14),
    "conditional_gan_mnist": conditional_gan_digits(0.95),
}
