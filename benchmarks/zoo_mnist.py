"""The autoencoder/VAE family on full MNIST, equal budgets: one row per zoo model.

Every model trains for the same number of epochs on the 60k MNIST training
images (intensities in [0, 1]; dynamically binarized for the VAEs) and is
measured on the 10k test images:

- reconstruction loss (Bernoulli negative log-likelihood, nats per image) of
  the clean test images, for every model;
- the training objective on the test set (`evaluate`), e.g. the denoising loss
  or the negative ELBO;
- for the VAEs, the importance-sampled NLL (k samples on the first N test
  images, binarized once by a fixed draw);
- for the CVAE, how often the project's MNIST classifier
  (`keras_gen.metrics.mnist_classifier()`, the one FCD uses) reads the requested
  digit in generated images (class-conditional accuracy).

Each model is the registry's preset of that name (`keras_gen.presets`), built with the
seed set here; its data (dynamic binarization, labels) is the preset's too.

Usage (from the repository root):

    python benchmarks/zoo_mnist.py                     # the recorded run
    python benchmarks/zoo_mnist.py --epochs 1 --models autoencoder --no-record   # smoke test
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import common
import keras
import numpy as np

import keras_gen
from keras_gen import losses, metrics, presets
from keras_gen.callbacks import save_image_grid

# preset name: what this benchmark sets besides the data's shape
MODELS = {
    "autoencoder": {},
    "conv-autoencoder": {},
    "denoising-autoencoder": {"seed": 0},
    "contractive-autoencoder": {},
    "vae": {"seed": 0},
    "conv-vae": {"seed": 0},
    "cvae": {"num_classes": 10, "seed": 0},
}
# the VAEs train on dynamically binarized images and are measured by their likelihood
VAES = tuple(name for name in MODELS if presets.get(name).data.binarize == "dynamic")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    p.add_argument("--nll-samples", type=int, default=1000)
    p.add_argument("--nll-images", type=int, default=1000)
    p.add_argument("--no-record", action="store_true")
    return p.parse_args(argv)


def reconstruction_nll(model, x) -> float:
    """Bernoulli NLL (nats per image) of ``x`` under the model's reconstruction probabilities."""
    probs = np.clip(model.reconstruct(x), 1e-6, 1 - 1e-6)
    logits = np.log(probs) - np.log1p(-probs)
    return float(-np.mean(losses.bernoulli_log_likelihood(x, logits)))


def main(argv=None) -> None:
    args = parse_args(argv)
    keras.config.set_dtype_policy(args.precision)
    path = str(args.data / "mnist" / "mnist.npz")
    x_test, y_test = keras_gen.data.load_arrays(path, "test")
    x_test = x_test.astype("float32") / 255.0
    binary_test = (np.random.default_rng(123).random(x_test.shape) < x_test).astype("float32")
    load_before = common.load_average()
    classifier, classifier_accuracy = None, None
    rows = []
    for name in args.models:
        preset = presets.get(name)
        keras.utils.set_random_seed(0)
        model = preset.build(image_shape=(28, 28, 1), **MODELS[name])
        preset.compile(model, learning_rate=args.lr)
        train = keras_gen.data.load_images(
            path,
            "train",
            args.batch_size,
            with_labels=preset.data.labels,
            binarize=preset.data.binarize,
            seed=0,
        )
        start = time.perf_counter()
        model.fit(train, epochs=args.epochs, verbose=2)
        seconds = time.perf_counter() - start
        test_x = binary_test if name in VAES else x_test
        test_args = (test_x, y_test) if name == "cvae" else (test_x,)
        objective = model.evaluate(*test_args, batch_size=500, verbose=0, return_dict=True)
        labels = {"y": y_test} if name == "cvae" else {}
        row = {
            "model": name,
            "seconds": seconds,
            "objective": objective["loss"],
            "recon": reconstruction_nll(model, x_test) if name not in VAES else None,
        }
        if name in VAES:
            n = args.nll_images
            ll = model.log_likelihood(
                binary_test[:n],
                **({"y": y_test[:n]} if labels else {}),
                num_samples=args.nll_samples,
            )
            row["nll"] = float(-ll.mean())
            row["nll_se"] = float(ll.std() / np.sqrt(len(ll)))
        if name == "cvae":
            if classifier is None:
                classifier = metrics.mnist_classifier()
                classifier_accuracy = classifier.accuracy(x_test, y_test)
            wanted = np.repeat(np.arange(10), 100)
            images = model.generate(len(wanted), seed=0, labels=wanted)
            read = classifier.classify(images)
            row["class_accuracy"] = float(np.mean(read == wanted))
            grid = model.generate(100, seed=1, labels=np.tile(np.arange(10), 10))
            save_image_grid(common.BENCH_DIR / "results" / "mnist_cvae_samples.png", grid, ncols=10)
        rows.append(row)
        print(row, flush=True)

    lines = [
        f"- Command: `{common.command_line()}`",
        "- Data: MNIST (`../shared/data/mnist/mnist.npz`), 60k training images in [0, 1] "
        "(dynamically binarized for the VAEs), 10k test images; VAE test images binarized "
        "once by a fixed draw (seed 123).",
        f"- Training: every model {args.epochs} epochs, batch {args.batch_size}, Adam "
        f"{args.lr}, precision {args.precision}.",
        *common.machine_lines(),
        f"- Load average before: {load_before}; after: {common.load_average()}",
        "",
        "| model | train time | test objective (`evaluate` loss) | clean reconstruction NLL "
        "| importance-sampled NLL | CVAE: generated digit read as requested |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        nll = (
            f"{r['nll']:.2f} +- {r['nll_se']:.2f} (k={args.nll_samples}, {args.nll_images} images)"
            if "nll" in r
            else "-"
        )
        recon = f"{r['recon']:.2f}" if r["recon"] is not None else "-"
        cls = f"{r['class_accuracy']:.1%}" if "class_accuracy" in r else "-"
        lines.append(
            f"| {r['model']} | {r['seconds']:.0f} s | {r['objective']:.2f} | {recon} | {nll} "
            f"| {cls} |"
        )
    if classifier_accuracy is not None:
        lines.append(
            f"\nThe digit classifier (`keras_gen.metrics.mnist_classifier()`) reads "
            f"{classifier_accuracy:.2%} "
            "of the real test digits correctly. CVAE samples: "
            "`benchmarks/results/mnist_cvae_samples.png` (column j asks for digit j)."
        )
    if not args.no_record:
        common.append_results("MNIST zoo: every autoencoder/VAE at an equal budget", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
