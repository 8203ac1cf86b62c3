"""VQ-VAE on CIFAR-10 with Sonnet's example configuration, against Sonnet's reported numbers.

Configuration (Sonnet's ``vqvae_example.ipynb``): K=512 codes of D=64, beta=0.25,
EMA codebook with decay 0.99, 128 hidden / 32 residual channels with 2 residual
layers, batch 32, Adam 3e-4, 10k updates, images in [-0.5, 0.5] (the model
shifts [0, 1] inputs), loss = MSE / train-data variance + VQ loss. Sonnet reports
after 10k updates a reconstruction error / data variance of 0.056 and a
perplexity of 326 (both means over the last training batches).

The run stops after ``--steps`` updates or ``--time-budget`` minutes, whichever
comes first, and reports how many updates it made. Reported: the training
reconstruction error and per-batch perplexity averaged over the last 100
updates (Sonnet's numbers), and on the 10k test images the reconstruction error
/ variance, the per-batch (32) perplexity and the whole-test-set perplexity.

Usage (from the repository root):

    python benchmarks/vqvae_cifar10.py                        # full 10k updates
    python benchmarks/vqvae_cifar10.py --time-budget 40       # as many as fit in 40 min
    python benchmarks/vqvae_cifar10.py --restart-after 100    # with dead-code restart
    python benchmarks/vqvae_cifar10.py --steps 200 --no-record   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import common

STEPS_PER_EPOCH = 100


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data", type=Path, default=common.DEFAULT_DATA / "cifar10" / "CIFAR-10-images.tar.gz"
    )
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--time-budget", type=float, default=None, help="minutes; stop early")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=3e-4)
    p.add_argument("--restart-after", type=int, default=None)
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    p.add_argument("--out", type=Path, default=Path("/work/bench_runs/vqvae_cifar10"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_gen.data import load_arrays
    from keras_gen.zoo import VQVAE

    load_before = common.load_average()
    keras.utils.set_random_seed(args.seed)
    keras.config.set_dtype_policy(args.precision)
    t0 = time.time()
    x_train, _ = load_arrays(str(args.data), "train")
    x_test, _ = load_arrays(str(args.data), "test")
    data_variance = float(np.var(x_train / 255.0))
    print(
        f"data: {x_train.shape} train, {x_test.shape} test, variance {data_variance:.5f} "
        f"({time.time() - t0:.0f}s)",
        flush=True,
    )

    ds = (
        tf.data.Dataset.from_tensor_slices(x_train)
        .shuffle(len(x_train), seed=args.seed)
        .repeat()
        .batch(args.batch_size, drop_remainder=True)
        .map(lambda b: tf.cast(b, tf.float32) / 255.0)
        .prefetch(2)
    )
    model = VQVAE(
        (32, 32, 3),
        num_embeddings=512,
        embedding_dim=64,
        commitment_cost=0.25,
        codebook_update="ema",
        decay=0.99,
        hidden_channels=128,
        residual_channels=32,
        num_residual_layers=2,
        data_variance=data_variance,
        restart_after=args.restart_after,
        seed=args.seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))

    class Budget(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.start = time.time()
            self.epoch_times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.time()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_times.append(time.time() - self.t)
            step = int(model.optimizer.iterations.numpy())
            print(
                f"step {step}: recon {logs['reconstruction']:.4f} perplexity "
                f"{logs['perplexity']:.1f} usage {logs['usage']:.3f} "
                f"({self.epoch_times[-1] / STEPS_PER_EPOCH * 1000:.0f} ms/step, "
                f"load {common.load_average()})",
                flush=True,
            )
            elapsed = (time.time() - self.start) / 60
            if (
                args.time_budget is not None
                and elapsed + self.epoch_times[-1] / 60 > args.time_budget
            ):
                model.stop_training = True

    budget = Budget()
    epochs = max(1, args.steps // STEPS_PER_EPOCH)
    history = model.fit(
        ds, epochs=epochs, steps_per_epoch=STEPS_PER_EPOCH, verbose=0, callbacks=[budget]
    )
    train_minutes = (time.time() - budget.start) / 60
    updates = int(model.optimizer.iterations.numpy())
    last = {k: float(v[-1]) for k, v in history.history.items()}
    test = model.evaluate(
        x_test.astype("float32") / 255.0, batch_size=32, verbose=0, return_dict=True
    )
    codes = model.encode_indices(x_test.astype("float32") / 255.0)
    counts = np.bincount(codes.ravel(), minlength=512).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    whole_perplexity = float(np.exp(-np.sum(p * np.log(p))))
    step_ms = (
        float(np.median(budget.epoch_times[1:] or budget.epoch_times)) / STEPS_PER_EPOCH * 1000
    )
    results = {
        "updates": updates,
        "train_minutes": round(train_minutes, 1),
        "median_ms_per_step": round(step_ms, 1),
        "train_recon_over_var_last100": round(last["reconstruction"], 4),
        "train_batch_perplexity_last100": round(last["perplexity"], 1),
        "test_recon_over_var": round(float(test["reconstruction"]), 4),
        "test_batch32_perplexity": round(float(test["perplexity"]), 1),
        "test_whole_set_perplexity": round(whole_perplexity, 1),
        "test_codes_used": int((counts > 0).sum()),
    }
    print(json.dumps(results, indent=2), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = f"restart{args.restart_after}" if args.restart_after else "baseline"
    model.save(args.out / f"vqvae_{tag}_{updates}.keras")
    if args.no_record:
        return results
    lines = [
        f"- Command: `{common.command_line()}`",
        f"- Data: CIFAR-10 from `{args.data.name}` (50k train / 10k test JPEGs; "
        f"train pixel variance {data_variance:.5f})",
        *common.machine_lines(),
        f"- Load average before / after: {load_before} / {common.load_average()}",
        f"- Precision: {args.precision}; dead-code restart: "
        f"{'after ' + str(args.restart_after) + ' unused steps' if args.restart_after else 'off'}",
        f"- Updates made: **{updates}** of {args.steps} requested "
        f"({train_minutes:.1f} min, median {step_ms:.0f} ms/step)",
        "",
        "| metric | keras-gen | Sonnet (10k updates) |",
        "|---|---|---|",
        f"| train recon error / variance (last 100 updates) | {results['train_recon_over_var_last100']} | 0.056 |",
        f"| train per-batch perplexity (last 100 updates) | {results['train_batch_perplexity_last100']} | 326 |",
        f"| test recon error / variance | {results['test_recon_over_var']} | - |",
        f"| test per-batch (32) perplexity | {results['test_batch32_perplexity']} | - |",
        f"| test whole-set perplexity (codes used of 512) | {results['test_whole_set_perplexity']} ({results['test_codes_used']}) | - |",
    ]
    if updates < args.steps:
        lines.append(
            f"- Stopped at {updates} updates by the time budget; the full run is "
            f"`python benchmarks/vqvae_cifar10.py --steps {args.steps}`"
            + (f" --restart-after {args.restart_after}`" if args.restart_after else "")
        )
    common.append_results(f"VQ-VAE CIFAR-10, Sonnet configuration ({tag})", lines)
    return results


if __name__ == "__main__":
    main()
