"""MNIST: VQ-VAE + gated PixelCNN prior, end to end with ``keras_gen.pipelines.vqvae_prior``.

Trains a VQ-VAE (K codes of dimension D on a 7x7 grid) on the 60k MNIST training
images, a PixelCNN on their codes, and reports the prior's test negative
log-likelihood in bits per code (on the codes of the 10k test images), the test
reconstruction error / data variance and code perplexity. The 64-sample grid is
copied to ``benchmarks/results/vqvae_mnist_samples.png``.

Usage (from the repository root):

    python benchmarks/vqvae_mnist_prior.py
    python benchmarks/vqvae_mnist_prior.py --limit 2000 --epochs 1 --prior-epochs 1 --no-record
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import common


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA / "mnist" / "mnist.npz")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--prior-epochs", type=int, default=4)
    p.add_argument("--num-embeddings", type=int, default=64)
    p.add_argument("--embedding-dim", type=int, default=16)
    p.add_argument("--hidden-channels", type=int, default=64)
    p.add_argument("--restart-after", type=int, default=100)
    p.add_argument("--prior-channels", type=int, default=32)
    p.add_argument("--prior-layers", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", type=Path, default=Path("/work/bench_runs/vqvae_mnist"))
    p.add_argument("--no-record", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_gen.pipelines.vqvae_prior import train_pipeline

    load_before = common.load_average()
    start = time.time()
    result = train_pipeline(
        str(args.data),
        out_dir=args.out,
        vqvae_epochs=args.epochs,
        prior_epochs=args.prior_epochs,
        batch_size=args.batch_size,
        prior_batch_size=args.batch_size,
        limit=args.limit,
        num_samples=64,
        seed=0,
        vqvae_kwargs={
            "num_embeddings": args.num_embeddings,
            "embedding_dim": args.embedding_dim,
            "hidden_channels": args.hidden_channels,
            "restart_after": args.restart_after,
        },
        prior_kwargs={"channels": args.prior_channels, "num_layers": args.prior_layers},
        verbose=2,
    )
    minutes = (time.time() - start) / 60
    metrics = {k: round(v, 4) for k, v in result.metrics.items()}
    print(json.dumps(metrics, indent=2), flush=True)
    if args.no_record:
        return metrics
    png = common.BENCH_DIR / "results" / "vqvae_mnist_samples.png"
    shutil.copyfile(args.out / "samples.png", png)
    lines = [
        f"- Command: `{common.command_line()}`",
        f"- Data: MNIST `{args.data.name}` ({'all' if args.limit is None else args.limit} "
        "train images, 10k test), intensities in [0, 1]",
        *common.machine_lines(),
        f"- Load average before / after: {load_before} / {common.load_average()}; "
        f"wall time {minutes:.1f} min (shared machine)",
        f"- VQ-VAE: K={args.num_embeddings}, D={args.embedding_dim}, 7x7 grid, "
        f"{args.hidden_channels} hidden channels, EMA codebook, restart after "
        f"{args.restart_after} unused steps, {args.epochs} epochs, batch {args.batch_size}, Adam 3e-4",
        f"- Prior: gated PixelCNN, {args.prior_layers} layers x {args.prior_channels} channels, "
        f"{args.prior_epochs} epochs, Adam 1e-3",
        "",
        "| metric | value |",
        "|---|---|",
        f"| prior test NLL, bits per code | {metrics['prior_test_bits_per_code']} |",
        f"| prior test NLL, bits per image (49 codes) | {metrics['prior_test_bits_per_code'] * 49:.1f} |",
        f"| prior train NLL, bits per code (last epoch) | {metrics['prior_train_bits_per_code']} |",
        f"| uniform prior, bits per code | {__import__('math').log2(args.num_embeddings):.2f} |",
        f"| test reconstruction MSE / variance | {metrics['test_reconstruction']} |",
        f"| test code perplexity (whole set) / codes used | {metrics['test_perplexity']} / "
        f"{metrics['test_code_usage']:.3f} |",
        "",
        "Samples (codes from the prior, decoded): `benchmarks/results/vqvae_mnist_samples.png`",
    ]
    common.append_results("VQ-VAE + PixelCNN prior on MNIST", lines)
    return metrics


if __name__ == "__main__":
    main()
