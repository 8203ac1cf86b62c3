"""MNIST density benchmark of the keras-gen VAE (the setting of Burda et al. 2016).

A VAE with one stochastic layer of 50 units, two deterministic tanh layers of
200 units in the encoder and the decoder, and a Bernoulli likelihood is
trained on the 60k MNIST training images with dynamic binarization (every
epoch sees a fresh Bernoulli draw of the pixel intensities) using Adam and a
cosine-decayed learning rate, for a fixed wall-clock budget. It then reports
on the test images, binarized once by a fixed Bernoulli draw:

- the negative ELBO (one-sample estimate averaged over several draws of z, on
  all 10k test images), with its reconstruction/KL split;
- the importance-sampled NLL with k samples (Burda et al.'s estimator).

Reference numbers: Burda et al. 86.76 nats (k=5000, after 3280 epochs),
Pythae's reproduction 89.78 nats.

Usage (from the repository root):

    python benchmarks/mnist_density.py                    # the recorded benchmark
    python benchmarks/mnist_density.py --epochs 2 --nll-images 100 --nll-samples 100 \\
        --nll-full-samples 0 --no-record                  # a smoke test
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common
import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data", type=Path, default=common.DEFAULT_DATA, help="folder holding mnist/mnist.npz"
    )
    p.add_argument(
        "--epochs", type=int, default=250, help="planned epochs (the LR decays over them)"
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="peak Adam learning rate")
    p.add_argument("--warmup-epochs", type=float, default=1.0, help="linear LR warm-up")
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    p.add_argument("--steps-per-execution", type=int, default=10)
    p.add_argument(
        "--time-budget",
        type=float,
        default=900.0,
        help="seconds of training; stops after the epoch that would overrun it",
    )
    p.add_argument("--nll-samples", type=int, default=5000, help="k of the importance-sampled NLL")
    p.add_argument("--nll-images", type=int, default=2000, help="test images for the k-sample NLL")
    p.add_argument(
        "--nll-full-samples",
        type=int,
        default=1000,
        help="also estimate the NLL on all 10k test images with this k (0: skip)",
    )
    p.add_argument(
        "--kl-warmup-epochs",
        type=float,
        default=0.0,
        help="anneal the KL weight from 0 to 1 over this many epochs (0: no annealing)",
    )
    p.add_argument("--elbo-draws", type=int, default=10, help="one-sample ELBO estimates averaged")
    p.add_argument("--test-binarization-seed", type=int, default=123)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out-dir",
        type=Path,
        default=common.REPO_ROOT / "runs" / "benchmarks",
        help="where the trained model and history go (runs/ is not committed)",
    )
    p.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    keras.mixed_precision.set_global_policy(args.precision)
    import keras_gen
    from keras_gen.callbacks import KLAnnealing, save_image_grid
    from keras_gen.zoo.vae import VAE

    load_before = common.load_average()
    x_train, x_test = common.load_mnist(args.data)
    keras.utils.set_random_seed(args.seed)

    steps_per_epoch = len(x_train) // args.batch_size
    spe = max(1, min(args.steps_per_execution, steps_per_epoch))
    steps_per_epoch = steps_per_epoch // spe * spe
    total_steps = args.epochs * steps_per_epoch
    warmup = int(args.warmup_epochs * steps_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else args.lr,
        decay_steps=max(1, total_steps - warmup),
        alpha=0.0,
        warmup_target=args.lr if warmup else None,
        warmup_steps=warmup,
    )

    model = VAE(
        (28, 28, 1),
        latent_dim=50,
        architecture="mlp",
        hidden_units=(200, 200),
        activation="tanh",
        likelihood="bernoulli",
        seed=args.seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), steps_per_execution=spe)
    # Dynamic binarization: every batch of every epoch gets a fresh Bernoulli draw.
    train = keras_gen.data.load_images(
        str(args.data / "mnist" / "mnist.npz"),
        "train",
        args.batch_size,
        binarize="dynamic",
        seed=args.seed,
        drop_remainder=True,
        repeat=True,
    )
    callbacks = []
    if args.kl_warmup_epochs > 0:
        callbacks.append(
            KLAnnealing(warmup_steps=int(args.kl_warmup_epochs * steps_per_epoch), start=0.0)
        )

    class TimeBudget(keras.callbacks.Callback):
        """Stop after the epoch whose successor would overrun the wall-clock budget."""

        def on_train_begin(self, logs=None):
            self.start = self.last = time.perf_counter()
            self.stopped_early = False

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            if now + (now - self.last) - self.start > args.time_budget:
                self.model.stop_training = True
                self.stopped_early = epoch + 1 < args.epochs
            self.last = now

    budget = TimeBudget()
    t0 = time.perf_counter()
    history = model.fit(
        train,
        epochs=args.epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=2,
        callbacks=[*callbacks, budget],
    )
    train_time = time.perf_counter() - t0
    epochs_done = len(history.history["loss"])
    train_examples = epochs_done * steps_per_epoch * args.batch_size
    final_lr = float(keras.ops.convert_to_numpy(schedule(model.optimizer.iterations)))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    model_path = args.out_dir / "mnist_vae.keras"
    try:
        model.save(model_path)
        saved = str(model_path)
    except Exception as err:  # a benchmark must still report its numbers
        saved = f"FAILED: {type(err).__name__}: {err}"
    (args.out_dir / "mnist_vae_history.json").write_text(json.dumps(history.history))

    # -- evaluation on a fixed binarization of the test set ------------------------
    rng = np.random.default_rng(args.test_binarization_seed)
    x_bin = (rng.random(x_test.shape) < x_test / 255.0).astype("float32")[..., None]

    t0 = time.perf_counter()
    ev = model.evaluate(x_bin, batch_size=500, verbose=0, return_dict=True)
    elbos = [
        model.log_likelihood(x_bin, num_samples=1, batch_size=500, seed=1000 + s)
        for s in range(args.elbo_draws)
    ]
    neg_elbo = -float(np.mean(elbos))
    neg_elbo_se = (
        float(np.std([-e.mean() for e in elbos], ddof=1)) / np.sqrt(len(elbos))
        if len(elbos) > 1
        else 0.0
    )
    elbo_time = time.perf_counter() - t0
    print(
        f"test -ELBO {neg_elbo:.2f} nats ({args.elbo_draws} one-sample draws), evaluate: {ev}",
        flush=True,
    )

    n_nll = min(args.nll_images, len(x_bin))
    t0 = time.perf_counter()
    ll = model.log_likelihood(x_bin[:n_nll], num_samples=args.nll_samples, batch_size=100, seed=7)
    nll_time = time.perf_counter() - t0
    nll, nll_se = -float(ll.mean()), float(ll.std(ddof=1) / np.sqrt(n_nll))
    elbo_same = -float(np.mean([e[:n_nll].mean() for e in elbos]))
    print(
        f"NLL k={args.nll_samples} on {n_nll} images: {nll:.2f} +- {nll_se:.2f} ({nll_time:.0f} s)",
        flush=True,
    )

    full = None
    if args.nll_full_samples > 0:
        t0 = time.perf_counter()
        ll_full = model.log_likelihood(
            x_bin, num_samples=args.nll_full_samples, batch_size=100, seed=8
        )
        full = (
            -float(ll_full.mean()),
            float(ll_full.std(ddof=1) / np.sqrt(len(ll_full))),
            time.perf_counter() - t0,
        )
        print(
            f"NLL k={args.nll_full_samples} on all 10k: {full[0]:.2f} ({full[2]:.0f} s)", flush=True
        )

    samples = model.generate(100, seed=args.seed)
    grid_path = common.BENCH_DIR / "results" / "mnist_vae_samples.png"
    grid_path.parent.mkdir(parents=True, exist_ok=True)
    save_image_grid(grid_path, samples, ncols=10)
    load_after = common.load_average()

    hist = history.history
    lines = [
        f"- Command: `{common.command_line()}`",
        "- Data: MNIST (`../shared/data/mnist/mnist.npz`), 60k training images dynamically "
        "binarized (a fresh Bernoulli draw of the intensities for every batch of every epoch, "
        f"stateless seed {args.seed}); 10k test images binarized ONCE by a fixed Bernoulli draw "
        f"(`numpy.random.default_rng({args.test_binarization_seed})`).",
        "- Model: `VAE((28,28,1), latent_dim=50, architecture='mlp', hidden_units=(200,200), "
        "activation='tanh', likelihood='bernoulli')`",
        f"- Training: Adam, batch {args.batch_size}, peak LR {args.lr:g} with {args.warmup_epochs:g}-epoch "
        f"linear warm-up then cosine decay to 0 over {args.epochs} planned epochs "
        f"({total_steps} steps), KL warm-up over {args.kl_warmup_epochs:g} epochs, "
        f"precision {args.precision}, steps_per_execution {spe}, "
        f"wall-clock budget {args.time_budget:.0f} s.",
        *common.machine_lines(),
        f"- Load average (1/5/15 min) before: {load_before}; after: {load_after} "
        "(other workers share the 2 cores)",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| epochs trained | {epochs_done} of {args.epochs} planned"
        f"{' (stopped by the time budget)' if budget.stopped_early else ''}; final LR {final_lr:.2e} |",
        f"| training wall time | {train_time:.0f} s ({train_time / 60:.1f} min), "
        f"{train_examples / train_time:,.0f} examples/s incl. tracing |",
        f"| last-epoch training loss (-ELBO, dynamic binarization) | {hist['loss'][-1]:.2f} nats |",
        f"| test -ELBO, 10k images, mean of {args.elbo_draws} one-sample estimates | "
        f"**{neg_elbo:.2f}** +- {neg_elbo_se:.2f} nats |",
        f"| test reconstruction / KL (one sample, `evaluate`) | {ev['reconstruction']:.2f} / {ev['kl']:.2f} nats |",
        f"| test -ELBO on the first {n_nll} images (same draws) | {elbo_same:.2f} nats |",
        f"| test NLL, importance sampling k={args.nll_samples}, first {n_nll} images | "
        f"**{nll:.2f}** +- {nll_se:.2f} nats (s.e. over images) |",
    ]
    if full is not None:
        lines.append(
            f"| test NLL, importance sampling k={args.nll_full_samples}, all 10k images | "
            f"**{full[0]:.2f}** +- {full[1]:.2f} nats |"
        )
    lines += [
        f"| evaluation wall time: ELBO + evaluate | {elbo_time:.1f} s |",
        f"| evaluation wall time: NLL k={args.nll_samples} x {n_nll} | {nll_time:.0f} s "
        f"({n_nll * args.nll_samples / nll_time:,.0f} decoder passes/s) |",
    ]
    if full is not None:
        lines.append(
            f"| evaluation wall time: NLL k={args.nll_full_samples} x {len(x_bin)} | {full[2]:.0f} s "
            f"({len(x_bin) * args.nll_full_samples / full[2]:,.0f} decoder passes/s) |"
        )
    lines += [
        "",
        f"References: Burda et al. (2016) 86.76 nats (k=5000, 3280 epochs); Pythae 89.78. "
        f"Model saved to `{saved}` (not committed). Samples (means of p(x|z), z ~ N(0, I)): "
        "`benchmarks/results/mnist_vae_samples.png`.",
    ]
    print("\n".join(lines), flush=True)
    if not args.no_record:
        common.append_results(
            "MNIST density: VAE, 50-d latent, 2x200 tanh, dynamic binarization", lines
        )


if __name__ == "__main__":
    main()
