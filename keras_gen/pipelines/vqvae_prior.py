"""VQ-VAE + PixelCNN prior in one call: train the VQ-VAE, extract codes, train the prior, sample.

From the command line (writes vqvae.keras, prior.keras, samples.png, metrics.json)::

    python -m keras_gen.pipelines.vqvae_prior --data mnist_mini --out runs/vqvae_mnist

In Python:

>>> import os, tempfile
>>> from keras_gen.pipelines.vqvae_prior import train_pipeline
>>> out = tempfile.mkdtemp()
>>> result = train_pipeline("mnist_mini", out_dir=out, limit=32, vqvae_epochs=1, prior_epochs=1,
...                         num_samples=2, vqvae_kwargs={"num_embeddings": 16,
...                         "embedding_dim": 4, "hidden_channels": 8, "residual_channels": 4},
...                         prior_kwargs={"channels": 8, "num_layers": 2})
>>> result.samples.shape
(2, 28, 28, 1)
>>> bool(result.metrics["prior_test_bits_per_code"] > 0)
True
>>> sorted(os.listdir(out))
['metrics.json', 'prior.keras', 'reconstructions.png', 'samples.png', 'vqvae.keras']
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from keras_gen.data import load_arrays
from keras_gen.io import atomic_write, save_model_atomic
from keras_gen.zoo import VQVAE, PixelCNN


@dataclass
class PipelineResult:
    """What :func:`train_pipeline` returns."""

    vqvae: VQVAE
    prior: PixelCNN
    samples: np.ndarray
    metrics: dict
    histories: dict = field(default_factory=dict)


def _codebook_perplexity(codes: np.ndarray, k: int) -> float:
    counts = np.bincount(codes.ravel(), minlength=k).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-np.sum(p * np.log(p))))


def train_pipeline(
    data: str = "mnist_mini",
    *,
    out_dir: str | os.PathLike | None = None,
    vqvae_epochs: int = 10,
    prior_epochs: int = 20,
    batch_size: int = 64,
    prior_batch_size: int = 64,
    learning_rate: float = 3e-4,
    prior_learning_rate: float = 1e-3,
    num_samples: int = 64,
    limit: int | None = None,
    seed: int = 0,
    vqvae_kwargs: dict | None = None,
    prior_kwargs: dict | None = None,
    verbose: int = 0,
) -> PipelineResult:
    """Train a VQ-VAE on ``data``, a PixelCNN prior on its codes, and sample from both.

    ``data`` is anything :func:`keras_gen.data.load_arrays` takes (``"mnist_mini"``,
    a TFDS name, an .npz or an image tar). The test split (if any) gives the
    reported reconstruction error / data variance, code perplexity and the prior's
    negative log-likelihood in bits per code. With ``out_dir`` the models, a
    sample grid and ``metrics.json`` are written there (each file atomically).
    """
    keras.utils.set_random_seed(seed)
    x_train, _ = load_arrays(data, "train", limit=limit)
    try:
        x_test, _ = load_arrays(data, "test", limit=limit)
    except ValueError:  # no test split: hold out a tenth of the training images
        cut = max(1, len(x_train) // 10)
        x_train, x_test = x_train[cut:], x_train[:cut]
    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0

    vqvae = VQVAE(
        x_train.shape[1:],
        data_variance=float(np.var(x_train)),
        seed=seed,
        **(vqvae_kwargs or {}),
    )
    vqvae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    h_vq = vqvae.fit(x_train, epochs=vqvae_epochs, batch_size=batch_size, verbose=verbose)
    test_terms = vqvae.evaluate(x_test, batch_size=batch_size, verbose=0, return_dict=True)

    k = vqvae.quantizer.num_embeddings
    codes_train = vqvae.encode_indices(x_train)
    codes_test = vqvae.encode_indices(x_test)
    prior = PixelCNN(vqvae.code_shape, k, **(prior_kwargs or {}))
    prior.compile(optimizer=keras.optimizers.Adam(prior_learning_rate))
    h_prior = prior.fit(
        codes_train,
        epochs=prior_epochs,
        batch_size=prior_batch_size,
        validation_data=(codes_test,),
        verbose=verbose,
    )
    vqvae.attach_prior(prior)
    samples = vqvae.generate(num_samples, seed=seed)
    metrics = {
        "test_reconstruction": float(test_terms["reconstruction"]),
        "test_perplexity": _codebook_perplexity(codes_test, k),
        "test_batch_perplexity": float(test_terms["perplexity"]),
        "test_code_usage": float(len(np.unique(codes_test)) / k),
        "prior_test_bits_per_code": prior.bits_per_code(codes_test),
        "prior_train_bits_per_code": float(h_prior.history["bits_per_code"][-1]),
    }
    if out_dir is not None:
        from keras_gen.callbacks import save_image_grid  # callbacks sit on top of the zoo

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_model_atomic(vqvae, out / "vqvae.keras")
        save_model_atomic(prior, out / "prior.keras")
        save_image_grid(out / "samples.png", samples)
        save_image_grid(out / "reconstructions.png", vqvae.reconstruct(x_test[:num_samples]))
        text = json.dumps(metrics, indent=2) + "\n"
        atomic_write(out / "metrics.json", lambda tmp: Path(tmp).write_text(text), ".json")
    return PipelineResult(
        vqvae, prior, samples, metrics, {"vqvae": h_vq.history, "prior": h_prior.history}
    )


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the pipeline's options to ``p`` (e.g. a ``keras-gen`` subcommand's parser)."""
    p.add_argument("--data", default="mnist_mini", help="data set name or path")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--epochs", type=int, default=10, help="VQ-VAE epochs")
    p.add_argument("--prior-epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-embeddings", type=int, default=64)
    p.add_argument("--embedding-dim", type=int, default=16)
    p.add_argument("--hidden-channels", type=int, default=64)
    p.add_argument("--prior-channels", type=int, default=64)
    p.add_argument("--prior-layers", type=int, default=8)
    p.add_argument("--restart-after", type=int, default=None)
    p.add_argument("--limit", type=int, default=None, help="use only the first N images")
    p.add_argument("--num-samples", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the pipeline for parsed :func:`add_arguments` options; print the metrics."""
    result = train_pipeline(
        args.data,
        out_dir=args.out,
        vqvae_epochs=args.epochs,
        prior_epochs=args.prior_epochs,
        batch_size=args.batch_size,
        num_samples=args.num_samples,
        limit=args.limit,
        seed=args.seed,
        vqvae_kwargs={
            "num_embeddings": args.num_embeddings,
            "embedding_dim": args.embedding_dim,
            "hidden_channels": args.hidden_channels,
            "restart_after": args.restart_after,
        },
        prior_kwargs={"channels": args.prior_channels, "num_layers": args.prior_layers},
        verbose=2,
    )
    print(json.dumps(result.metrics, indent=2))
    return 0


def main(argv=None) -> int:
    """``python -m keras_gen.pipelines.vqvae_prior``: the pipeline from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    return run(add_arguments(parser).parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
