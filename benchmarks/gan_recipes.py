"""GAN recipes on MNIST at an equal wall-time budget: FCD per CPU-minute.

``gan_mnist.py`` compares the losses at equal generator updates. This benchmark asks a
different question: on this machine, which recipe gets closest to the real-data floor
for the same training time? Each recipe trains keras-gen's ``DCGAN`` for
``--minutes-each`` minutes of training (evaluations excluded), and the Frechet
classifier distance (FCD, features of keras-gen's shipped MNIST classifier, NOT
Inception FID) of ``--samples`` samples to the 10k test images is measured every
``--eval-minutes`` minutes, of the generator and of its EMA (momentum ``--ema``). The
floor is the distance of 10k real training images to the test images.

Recipes (all with the generator's EMA; ``--recipes`` picks some):

- ``wgan_gp``: Wasserstein loss, gradient penalty 10, 5 D steps per G step, Adam 1e-4,
  betas 0.5/0.9 (Gulrajani et al. 2017), as in ``gan_mnist.py``;
- ``hinge``: hinge loss, Adam 2e-4, beta_1 0.5, as in ``gan_mnist.py``;
- ``hinge_sn_ttur``: hinge loss, spectral normalization in D, two time-scale Adam
  (D 4e-4, G 1e-4, betas 0/0.9; Miyato et al. 2018, Zhang et al. 2019);
- ``ns_r1``: non-saturating loss with the R1 penalty (gamma 10; Mescheder et al. 2018),
  Adam 2e-4, beta_1 0.5;
- ``wgan_gp_wide``, ``hinge_sn_ttur_wide`` and ``ns_r1_wide``: the same with the filters
  doubled.

Usage (from the repository root):

    python benchmarks/gan_recipes.py --minutes-each 15 --eval-minutes 5
    python benchmarks/gan_recipes.py --minutes-each 0.2 --eval-minutes 0.1 \\
        --recipes hinge ns_r1 --train-images 2000 --samples 1000 --no-record   # smoke test
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import common
import keras
import numpy as np
import tensorflow as tf

from keras_gen import optimizers as kgo
from keras_gen import zoo
from keras_gen.callbacks import save_image_grid
from keras_gen.metrics import frechet_classifier_distance, mnist_classifier

RECIPES = {
    # name: (what it is, DCGAN kwargs, compile kwargs, D Adam kwargs, G Adam kwargs)
    "wgan_gp": (
        "Wasserstein + GP 10, 5 D steps, Adam 1e-4 (0.5, 0.9)",
        {},
        {"loss": "wasserstein", "gradient_penalty": 10.0, "d_steps": 5},
        {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9},
        {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9},
    ),
    "hinge": (
        "hinge, Adam 2e-4 (0.5, 0.999)",
        {},
        {"loss": "hinge"},
        {"learning_rate": 2e-4, "beta_1": 0.5},
        {"learning_rate": 2e-4, "beta_1": 0.5},
    ),
    "hinge_sn_ttur": (
        "hinge, spectral norm in D, Adam D 4e-4 / G 1e-4 (0, 0.9)",
        {"spectral_norm": True},
        {"loss": "hinge"},
        {"learning_rate": 4e-4, "beta_1": 0.0, "beta_2": 0.9},
        {"learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9},
    ),
    "ns_r1": (
        "non-saturating + R1 (gamma 10), Adam 2e-4 (0.5, 0.999)",
        {},
        {"loss": "non_saturating", "r1_penalty": 10.0},
        {"learning_rate": 2e-4, "beta_1": 0.5},
        {"learning_rate": 2e-4, "beta_1": 0.5},
    ),
}
for _name in ("wgan_gp", "hinge_sn_ttur", "ns_r1"):  # the same recipes with the filters doubled
    _what, _model, *_rest = RECIPES[_name]
    RECIPES[f"{_name}_wide"] = (f"{_what}; filters doubled", {**_model, "wide": True}, *_rest)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    p.add_argument("--minutes-each", type=float, default=15.0)
    p.add_argument("--eval-minutes", type=float, default=5.0)
    p.add_argument("--filters", type=int, nargs="+", default=[32, 64])
    p.add_argument("--latent-dim", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--ema", type=float, default=0.999, help="EMA momentum of the generator")
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"])
    p.add_argument("--train-images", type=int, default=60000)
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--no-record", action="store_true")
    return p.parse_args(argv)


def build(recipe: str, args) -> zoo.DCGAN:
    """keras-gen's DCGAN compiled with the recipe's game and optimizers."""
    _, model_kwargs, compile_kwargs, d_adam, g_adam = RECIPES[recipe]
    model_kwargs = dict(model_kwargs)
    widen = 2 if model_kwargs.pop("wide", False) else 1
    filters = [f * widen for f in args.filters]
    keras.utils.set_random_seed(0)
    model = zoo.DCGAN((28, 28, 1), args.latent_dim, filters, seed=0, **model_kwargs)
    g_optimizer = kgo.EMA(keras.optimizers.Adam(**g_adam), momentum=args.ema)
    model.compile(
        g_optimizer=g_optimizer, d_optimizer=keras.optimizers.Adam(**d_adam), **compile_kwargs
    )
    return model


class TimedFCD(keras.callbacks.Callback):
    """Stops after ``budget`` seconds of training (the first, tracing step and the
    evaluations excluded), measuring the FCD of the generator and of its EMA every
    ``every`` seconds and at the end."""

    def __init__(self, classifier, x_test, samples, budget, every):
        super().__init__()
        self.classifier, self.x_test, self.samples = classifier, x_test, samples
        self.budget, self.every = budget, every
        self.rows = []  # (train seconds, G updates, images read, FCD, FCD of the EMA)
        self.images = None

    def on_train_begin(self, logs=None):
        self.started, self.eval_seconds, self.next_eval = time.perf_counter(), 0.0, self.every
        self.batches = 0

    def train_seconds(self) -> float:
        return time.perf_counter() - self.started - self.eval_seconds

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches == 1:  # the first step traces the graphs: the clock starts after it
            self.trace_seconds = time.perf_counter() - self.started
            self.started = time.perf_counter()
            return
        elapsed = self.train_seconds()
        if elapsed >= min(self.next_eval, self.budget):
            self.evaluate(elapsed)
            self.next_eval += self.every
        if elapsed >= self.budget:
            self.model.stop_training = True

    def evaluate(self, elapsed):
        t0 = time.perf_counter()
        fcds = []
        for ema in (False, True):
            images = self.model.generate(self.samples, seed=0, ema=ema)
            fcds.append(frechet_classifier_distance(images, self.x_test, self.classifier))
        self.images = images  # the EMA generator's
        updates = int(self.model.g_optimizer.iterations.numpy())
        self.rows.append((elapsed, updates, self.batches * self.batch_images, *fcds))
        self.eval_seconds += time.perf_counter() - t0
        print(
            f"  {elapsed / 60:.1f} min, {updates} G updates: FCD {fcds[0]:.2f}, EMA {fcds[1]:.2f}",
            flush=True,
        )


def dataset(x, batch_size):
    ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=0).repeat()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def main(argv=None):
    args = parse_args(argv)
    keras.config.set_dtype_policy(args.precision)
    x_train, x_test = (
        (x[..., None] / 255.0).astype("float32") for x in common.load_mnist(args.data)
    )
    x_train = x_train[: args.train_images]
    classifier = mnist_classifier()
    floor = frechet_classifier_distance(x_train[:10000], x_test, classifier)
    load_before = common.load_average()
    start_all = time.perf_counter()
    results = {}
    for recipe in args.recipes:
        print(f"{recipe}: {RECIPES[recipe][0]}", flush=True)
        model = build(recipe, args)
        d_steps = RECIPES[recipe][2].get("d_steps", 1)
        clock = TimedFCD(
            classifier, x_test, args.samples, 60 * args.minutes_each, 60 * args.eval_minutes
        )
        clock.batch_images = args.batch_size * d_steps
        model.fit(
            dataset(x_train, clock.batch_images),
            epochs=1,
            steps_per_epoch=10**9,
            verbose=0,
            callbacks=[clock],
        )
        params = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
        results[recipe] = (clock.rows, params)
        if not args.no_record:
            grid = common.BENCH_DIR / "results" / f"gan_recipe_{recipe}.png"
            save_image_grid(grid, clock.images[:64], ncols=8)
    lines = [
        f"- Command: `{common.command_line()}`",
        f"- Data: MNIST (`../shared/data/mnist/mnist.npz`), {len(x_train):,} training images "
        f"in [0, 1]; FCD of {args.samples:,} samples (seed 0) to the 10k test images, "
        "features of keras-gen's shipped MNIST classifier (not Inception FID).",
        f"- Models: `DCGAN((28, 28, 1), latent_dim={args.latent_dim}, "
        f"filters={tuple(args.filters)})` (doubled where said), batch {args.batch_size} per "
        f"discriminator step, generator EMA momentum {args.ema}, precision {args.precision}; "
        f"each recipe trains {args.minutes_each:g} min after its first (tracing) step, "
        "evaluations excluded.",
        *common.machine_lines(),
        "",
        "| recipe | what | trainable params | G updates | images read | FCD at each "
        f"{args.eval_minutes:g} min (raw / EMA) | best | best / floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for recipe, (rows, params) in results.items():
        best = min(min(r[3], r[4]) for r in rows)
        points = ", ".join(f"{r[0] / 60:.1f}: {r[3]:.1f} / {r[4]:.1f}" for r in rows)
        lines.append(
            f"| {recipe} | {RECIPES[recipe][0]} | {params:,} | {rows[-1][1]:,} | "
            f"{rows[-1][2]:,} | {points} | {best:.2f} | **{best / floor:.1f}** |"
        )
    lines += [
        f"| real training images (floor) | - | - | - | - | - | {floor:.2f} | 1.0 |",
        "",
        f"- Load average before: {load_before}; after: {common.load_average()}; wall time "
        f"{(time.perf_counter() - start_all) / 60:.1f} min. Sample grids (EMA generator, 64 "
        "samples, seed 0): `benchmarks/results/gan_recipe_<recipe>.png`.",
    ]
    print("\n".join(lines))
    if not args.no_record:
        common.append_results("GAN recipes on MNIST at an equal wall-time budget", lines)


if __name__ == "__main__":
    main()
