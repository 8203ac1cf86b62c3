"""DCGAN on MNIST: four keras-gen losses against a plain Keras reference, equal budgets.

Two parts, both recorded in RESULTS.md:

- speed: train-step throughput of ``keras_gen.zoo.DCGAN`` (non-saturating loss) against a
  keras-io style DCGAN written here (``train_step`` overridden by hand, identical layers),
  interleaved repeats in the same process;
- quality: the reference and keras-gen's DCGAN with the non-saturating, hinge, RSGAN and
  WGAN-GP losses, and non-saturating + R1 (``ns_r1``, the form of that loss keras-gen
  recommends), each trained for the same number of generator updates (``--epochs``
  epochs of the others; WGAN-GP's five discriminator steps per generator step read five
  times the images; ``--budget epochs`` gives every model the same images instead); then
  the Frechet classifier distance (FCD, features of keras-gen's shipped MNIST classifier,
  NOT Inception FID) of 10k samples to the 10k test images, after every ``--eval-every``
  epochs, next to the distance of 10k real training images to the test images (the
  floor). keras-gen's models also keep an EMA of the generator's weights
  (``keras_gen.optimizers.EMA``, ``--ema``) and are measured with and without it; the
  keras-io reference has no EMA.

Long runs can be spread over several processes (sessions, preemptible machines):
``--checkpoint-dir DIR --minutes M`` stops after M minutes at an epoch end, with every
model's weights and both optimizers' state in ``keras.callbacks.BackupAndRestore``
backups and the FCD trajectory and train time in ``DIR/<variant>/progress.json``; the
same command again resumes where it stopped (finished variants and the speed part are
read back, not rerun) and records the results once every variant is done.

Usage (from the repository root):

    python benchmarks/gan_mnist.py                          # the recorded run
    python benchmarks/gan_mnist.py --epochs 1 --train-images 2000 --no-record   # smoke test
    python benchmarks/gan_mnist.py --epochs 60 --checkpoint-dir runs/gan --minutes 150  # resumable
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import common
import gan_common
import keras
import numpy as np
import tensorflow as tf
from gan_common import FCDTrajectory, count_params, dataset

from keras_gen.callbacks import save_image_grid
from keras_gen.metrics import frechet_classifier_distance, mnist_classifier

# keras-gen's models: registry presets, through gan_common.VARIANTS
LOSSES = ("non_saturating", "hinge", "rsgan", "wgan_gp", "ns_r1")
LOSS_NAMES = {"reference": "non_saturating", "ns_r1": "non_saturating + R1 (gamma 10)"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--latent-dim", type=int, default=100)
    p.add_argument("--filters", type=int, nargs="+", default=[64, 128])
    p.add_argument("--budget", default="generator-updates", choices=["generator-updates", "epochs"])
    p.add_argument("--ema", type=float, default=0.999, help="EMA momentum (0: no EMA)")
    p.add_argument("--eval-every", type=int, default=1, help="epochs between FCD evaluations")
    p.add_argument("--precision", default="mixed_bfloat16", choices=["float32", "mixed_bfloat16"])
    p.add_argument("--variants", nargs="+", default=["reference", *LOSSES])
    p.add_argument("--train-images", type=int, default=60000)
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the initial weights, the data order and the training noise (the FCD's "
        "samples are always seed 0); run several to tell a gap from seed noise",
    )
    p.add_argument("--speed-steps", type=int, default=30)
    p.add_argument("--speed-repeats", type=int, default=5)
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--no-record", action="store_true")
    p.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        help="back up every epoch here and resume from it (the same command again continues)",
    )
    p.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="with --checkpoint-dir: stop at the first epoch end after this many minutes",
    )
    return p.parse_args(argv)


def reference_networks(latent_dim, filters, image_shape=(28, 28, 1)):
    """The layers of keras_gen's DCGAN, written out as a keras-io example would."""
    height, width, channels = image_shape
    grid = (height // 2 ** len(filters), width // 2 ** len(filters), filters[-1])
    g_layers = [
        keras.Input((latent_dim,)),
        keras.layers.Dense(grid[0] * grid[1] * grid[2], use_bias=False),
        keras.layers.Reshape(grid),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
    ]
    for f in reversed(filters[:-1]):
        g_layers += [
            keras.layers.Conv2DTranspose(f, 4, 2, "same", use_bias=False),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
        ]
    g_layers.append(
        keras.layers.Conv2DTranspose(channels, 4, 2, "same", activation="sigmoid", dtype="float32")
    )
    d_layers = [keras.Input(image_shape)]
    for f in filters:
        d_layers += [keras.layers.Conv2D(f, 4, 2, "same"), keras.layers.LeakyReLU(0.2)]
    d_layers += [keras.layers.Flatten(), keras.layers.Dense(1, dtype="float32")]
    return keras.Sequential(g_layers, name="generator"), keras.Sequential(
        d_layers, name="discriminator"
    )


class ReferenceGAN(keras.Model):
    """keras-io's ``dcgan_overriding_train_step``, non-saturating loss, labels 1/0."""

    def __init__(self, latent_dim, filters, seed=0):
        super().__init__()
        self.latent_dim = latent_dim
        self.generator, self.discriminator = reference_networks(latent_dim, filters)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # both networks are; BackupAndRestore refuses an unbuilt model

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        # Built now, so that BackupAndRestore (which builds only ``model.optimizer``)
        # restores their state too: the workaround a keras-io user needs for resuming.
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, real_images):
        n = tf.shape(real_images)[0]
        z = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = self.loss_fn(tf.ones_like(real_logits), real_logits) + self.loss_fn(
                tf.zeros_like(fake_logits), fake_logits
            )
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.loss_fn(tf.ones_like(fake_logits), fake_logits)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def generate(self, n, seed=0):
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return np.concatenate(
            [np.asarray(self.generator(z[i : i + 500], training=False)) for i in range(0, n, 500)]
        ).astype("float32")


def build(variant, args):
    """The compiled model and its discriminator steps per generator update."""
    keras.utils.set_random_seed(args.seed)
    if variant == "reference":
        model = ReferenceGAN(args.latent_dim, args.filters, seed=args.seed)
        # Radford et al.'s Adam, as keras-gen's plain recipe (the "dcgan-ns" preset)
        model.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        )
        return model, 1
    model = gan_common.build_dcgan(
        variant, args.filters, args.latent_dim, args.seed, ema=args.ema or None
    )
    return model, gan_common.d_steps(variant)


def describe(filters):
    """The layers of ``reference_networks`` in words."""
    g = "".join(f"ConvT({f}, 4, s2)-BN-ReLU, " for f in reversed(filters[:-1]))
    d = "".join(f"Conv({f}, 4, s2)-LReLU, " for f in filters)
    return f"generator: Dense-BN-ReLU, {g}ConvT(1, 4, s2) sigmoid; discriminator: {d}Dense(1)"


def grid_suffix(args) -> str:
    """Sample grids of seeds other than 0 get their own names (seed 0's are the recorded ones)."""
    return f"_seed{args.seed}" if args.seed else ""


def measure_speed(args, x, directory=None):
    """Steady-state examples/s of the non-saturating step: keras-gen vs the reference.

    With ``directory``, a measurement made by an earlier process of the run is reused.
    """
    saved = None if directory is None else directory / "speed.json"
    return common.cached_json(saved, lambda: _measure_speed(args, x))


def _measure_speed(args, x):
    ds = dataset(x, args.batch_size, repeat=True)
    args = argparse.Namespace(**{**vars(args), "ema": 0.0})  # the reference has no EMA
    models = {
        "keras_gen": build("non_saturating", args)[0],
        "reference": build("reference", args)[0],
    }
    params = {name: count_params(m) for name, m in models.items()}
    if len(set(params.values())) != 1:
        raise RuntimeError(f"the models differ in size: {params}")
    for m in models.values():  # warm-up: tracing and the first steps
        m.fit(ds, epochs=1, steps_per_epoch=args.speed_steps, verbose=0)
    timed = common.interleaved_fits(
        models, ds, args.speed_steps, args.speed_repeats, args.batch_size
    )
    rates, cpu = timed["rates"], timed["cpu_rates"]
    paired = [a / b for a, b in zip(rates["keras_gen"], rates["reference"])]
    return {
        "params": params["keras_gen"],
        "rates": rates,
        "ratio": statistics.median(paired),
        "cpu_ratio": statistics.median(cpu["keras_gen"]) / statistics.median(cpu["reference"]),
    }


def train_variant(variant, args, x_train, x_test, classifier, deadline):
    """Train one model and measure it: (variant, seconds, epochs, G updates, FCDs, last logs).

    With ``--checkpoint-dir``, resumes from and backs up to ``DIR/<variant>``, and returns
    None when ``deadline`` stopped it before its last epoch.
    """
    model, mult = build(variant, args)
    epochs = args.epochs * (mult if args.budget == "generator-updates" else 1)
    every = args.eval_every * (mult if args.budget == "generator-updates" else 1)
    g_updates = len(x_train) // (args.batch_size * mult) * epochs
    work = None if args.checkpoint_dir is None else args.checkpoint_dir / variant
    if work is not None and (work / "result.json").exists():
        print(f"{variant}: done in an earlier run", flush=True)
        return tuple(json.loads((work / "result.json").read_text()))
    state = None
    callbacks = []
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        state = work / "progress.json"
        callbacks.append(
            keras.callbacks.BackupAndRestore(str(work / "backup"), delete_checkpoint=False)
        )
    trajectory = FCDTrajectory(classifier, x_test, args.samples, every, epochs, state)
    callbacks = [trajectory, *callbacks, gan_common.Checkpointing(trajectory, deadline)]
    history = model.fit(
        dataset(x_train, args.batch_size * mult, seed=args.seed),
        epochs=epochs,
        verbose=2,
        callbacks=callbacks,
    )
    if not trajectory.rows or trajectory.rows[-1][0] != epochs:
        return None  # stopped by the deadline; the backup resumes it
    seconds = trajectory.elapsed_train_seconds()
    best = trajectory.best_images()
    grid_dir = common.BENCH_DIR / "results" if not args.no_record else Path("/tmp")
    save_image_grid(grid_dir / f"gan_mnist_{variant}{grid_suffix(args)}.png", best[:64], ncols=8)
    last = {k: float(v[-1]) for k, v in history.history.items()}
    row = (variant, seconds, epochs, g_updates, trajectory.rows, last)
    print(variant, f"{seconds:.0f}s", trajectory.rows[-1], last, flush=True)
    if work is not None:
        (work / "result.json").write_text(json.dumps(row))
        shutil.rmtree(work / "backup", ignore_errors=True)
    return row


def main(argv=None):
    args = parse_args(argv)
    if args.minutes is not None and args.checkpoint_dir is None:
        raise SystemExit("--minutes needs --checkpoint-dir (where the stopped run resumes from)")
    keras.config.set_dtype_policy(args.precision)
    x_train, x_test = gan_common.mnist_images(args.data, args.train_images)
    load_before = common.load_average()
    start_all = time.perf_counter()
    lines = [
        f"- Command: `{common.command_line()}`",
        f"- Data: MNIST (`../shared/data/mnist/mnist.npz`), {len(x_train):,} training images "
        "in [0, 1]; FCD against the 10k test images.",
        f"- Models: `DCGAN((28, 28, 1), latent_dim={args.latent_dim}, "
        f"filters={tuple(args.filters)})` ({describe(args.filters)}) and a keras-io style reference with the same layers and its own hand-written "
        f"`train_step` (non-saturating loss); precision {args.precision}; seed {args.seed}.",
        *common.machine_lines(),
    ]
    if args.checkpoint_dir is not None:
        lines += common.record_invocation(args.checkpoint_dir)
    if not args.skip_speed:
        speed = measure_speed(args, x_train, args.checkpoint_dir)
        fmt = ", ".join
        lines += [
            "",
            f"Speed ({args.speed_repeats} interleaved repeats of {args.speed_steps} steps, "
            f"batch {args.batch_size}, {speed['params']:,} trainable parameters each, after a "
            "warm-up fit of the same length; examples/s from the end of the first to the end of "
            "the last step):",
            "",
            "| model | examples/s (each repeat) | median |",
            "|---|---|---|",
        ]
        for name, r in speed["rates"].items():
            lines.append(
                f"| {name} | {fmt(f'{v:,.0f}' for v in r)} | {statistics.median(r):,.0f} |"
            )
        lines.append(
            f"\nkeras-gen / reference: **{speed['ratio']:.3f}** (median of paired repeats); "
            f"per CPU-second of the process: {speed['cpu_ratio']:.3f}."
        )
        print("\n".join(lines[-6:]), flush=True)
    if not args.skip_quality:
        classifier = mnist_classifier()
        floor = frechet_classifier_distance(x_train[:10000], x_test, classifier)
        deadline = None if args.minutes is None else time.perf_counter() + 60 * args.minutes
        rows = []
        for variant in args.variants:
            row = train_variant(variant, args, x_train, x_test, classifier, deadline)
            if row is None:
                raise SystemExit(
                    f"stopped after --minutes {args.minutes:g} in {variant}; run the same "
                    f"command again to resume from the backups in {args.checkpoint_dir}"
                )
            rows.append(row)
        ref = next((r[4][-1][1] for r in rows if r[0] == "reference"), None)
        lines += [
            "",
            (
                f"Quality: every model trained for {rows[0][3]:,} generator updates "
                if args.budget == "generator-updates"
                else f"Quality: every model trained for {args.epochs} epoch(s) "
            )
            + f"(batch {args.batch_size} per discriminator step; WGAN-GP: 5 discriminator steps "
            "per generator step), Adam 2e-4 / beta_1 0.5 (WGAN-GP: 1e-4, betas 0.5/0.9, "
            "penalty 10; ns_r1: R1 penalty 10 on the real images); keras-gen's generators also "
            f"keep an EMA (momentum {args.ema}). "
            f"FCD of {args.samples:,} samples (seed 0) to the test set; lower is better. "
            "Train time excludes the evaluations.",
            "",
            "| model | loss | epochs | G updates | train time | FCD | FCD, EMA | best / reference "
            "| best / floor | final d_loss, g_loss |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for variant, seconds, epochs, g_updates, traj, last in rows:
            name = "reference (keras-io style)" if variant == "reference" else "keras-gen DCGAN"
            loss = LOSS_NAMES.get(variant, variant)
            fcd, fcd_ema = traj[-1][1], traj[-1][2]
            best = min(v for v in (fcd, fcd_ema) if v is not None)
            lines.append(
                f"| {name} | {loss} | {epochs} | {g_updates:,} | {seconds / 60:.1f} min | "
                f"{fcd:.2f} | {'-' if fcd_ema is None else f'{fcd_ema:.2f}'} | "
                f"{best / ref if ref else float('nan'):.2f} | **{best / floor:.1f}** | "
                f"{last.get('d_loss', float('nan')):.3f}, {last.get('g_loss', float('nan')):.3f} |"
            )
        lines.append(
            f"| real training images (floor) | - | - | - | - | **{floor:.2f}** | - | - | 1.0 | - |"
        )
        lines += ["", "FCD during training (epoch: FCD / EMA):", ""]
        for variant, *_, traj, _last in rows:
            points = ", ".join(
                f"{e}: {f:.1f}" + ("" if fe is None else f" / {fe:.1f}") for e, f, fe in traj
            )
            lines.append(f"- {variant}: {points}")
        lines.append(
            "\nSample grids (64 samples, seed 0; EMA generator where kept): "
            f"`benchmarks/results/gan_mnist_<loss>{grid_suffix(args)}.png`."
        )
    lines.insert(
        len(lines),
        f"\n- Load average before: {load_before}; after: {common.load_average()}; "
        f"wall time {(time.perf_counter() - start_all) / 60:.1f} min"
        + (" (this process)" if args.checkpoint_dir is not None else ""),
    )
    if not args.no_record:
        common.append_results("DCGAN on MNIST: losses vs a keras-io style reference", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
