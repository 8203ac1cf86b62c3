"""GAN recipes on MNIST at an equal wall-time budget: FCD per CPU-minute.

``gan_mnist.py`` compares the losses at equal generator updates. This benchmark asks a
different question: on this machine, which recipe gets closest to the real-data floor
for the same training time? Each recipe trains keras-gen's ``DCGAN`` for
``--minutes-each`` minutes of training (evaluations excluded), and the Frechet
classifier distance (FCD, features of keras-gen's shipped MNIST classifier, NOT
Inception FID) of ``--samples`` samples to the 10k test images is measured every
``--eval-minutes`` minutes, of the generator and of its EMA (momentum ``--ema``). The
floor is the distance of 10k real training images to the test images.

Recipes (all with the generator's EMA; ``--recipes`` picks some), each a preset of the
registry (``keras_gen.presets``) through ``gan_common.VARIANTS``:

- ``wgan_gp`` (``wgan-gp``): Wasserstein loss, gradient penalty 10, 5 D steps per G step,
  Adam 1e-4, betas 0.5/0.9 (Gulrajani et al. 2017), as in ``gan_mnist.py``;
- ``hinge`` (``dcgan-ns`` with the hinge loss): hinge loss, Adam 2e-4, beta_1 0.5, as in
  ``gan_mnist.py``;
- ``hinge_sn_ttur`` (``dcgan-hinge-sn``): hinge loss, spectral normalization in D, two
  time-scale Adam (D 4e-4, G 1e-4, betas 0/0.9; Miyato et al. 2018, Zhang et al. 2019);
- ``ns_r1`` (``dcgan``): non-saturating loss with the R1 penalty (gamma 10; Mescheder et
  al. 2018), Adam 2e-4, beta_1 0.5;
- ``wgan_gp_wide``, ``hinge_sn_ttur_wide`` and ``ns_r1_wide``: the same with the filters
  doubled.

``--decay-from F`` decays both learning rates linearly to zero over the last ``1 - F`` of
the training time. ``--checkpoint-dir DIR`` makes a run resumable: every
``--steps-per-save`` discriminator steps the models, both optimizers (with the EMA) and
the clock are saved under ``DIR/<recipe>``; ``--session-minutes M`` ends the process after
about ``M`` minutes of wall time, and the same command resumes where it stopped (the data
stream restarts with a new shuffle; a different ``--minutes-each``, ``--eval-minutes`` or
``--decay-from`` is refused). RESULTS.md is written once every recipe is done. The
checkpoint lives as long as ``DIR`` does: on a machine whose disk does not outlive the
session (this project's CI and benchmark machines), size each run to one session.

Usage (from the repository root):

    python benchmarks/gan_recipes.py --minutes-each 15 --eval-minutes 5
    python benchmarks/gan_recipes.py --recipes ns_r1 --minutes-each 150 --eval-minutes 15 \\
        --decay-from 0.7 --checkpoint-dir runs/recipes   # resumable after a crash
    python benchmarks/gan_recipes.py --minutes-each 0.2 --eval-minutes 0.1 \\
        --recipes hinge ns_r1 --train-images 2000 --samples 1000 --no-record   # smoke test
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common
import gan_common
import keras

from keras_gen.callbacks import save_image_grid
from keras_gen.metrics import frechet_classifier_distance, mnist_classifier

RECIPES = {
    # name: (what it is, gan_common variant (a registry preset), filter multiplier)
    "wgan_gp": ("Wasserstein + GP 10, 5 D steps, Adam 1e-4 (0.5, 0.9)", "wgan_gp", 1),
    "hinge": ("hinge, Adam 2e-4 (0.5, 0.999)", "hinge", 1),
    "hinge_sn_ttur": (
        "hinge, spectral norm in D, Adam D 4e-4 / G 1e-4 (0, 0.9)",
        "hinge_sn_ttur",
        1,
    ),
    "ns_r1": ("non-saturating + R1 (gamma 10), Adam 2e-4 (0.5, 0.999)", "ns_r1", 1),
}
for _name in ("wgan_gp", "hinge_sn_ttur", "ns_r1"):  # the same recipes with the filters doubled
    _what, _variant, _ = RECIPES[_name]
    RECIPES[f"{_name}_wide"] = (f"{_what}; filters doubled", _variant, 2)


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
    p.add_argument(
        "--decay-from",
        type=float,
        default=None,
        help="decay the learning rates linearly to 0 from this fraction of the training time",
    )
    p.add_argument("--checkpoint-dir", type=Path, default=None, help="resumable run's directory")
    p.add_argument("--steps-per-save", type=int, default=1000)
    p.add_argument(
        "--session-minutes", type=float, default=None, help="stop this process after (resume)"
    )
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    if args.decay_from is not None and not 0.0 <= args.decay_from < 1.0:
        p.error("--decay-from must be in [0, 1)")
    if args.session_minutes is not None and args.checkpoint_dir is None:
        p.error("--session-minutes needs --checkpoint-dir (to resume from)")
    return args


def build(recipe: str, args):
    """keras-gen's DCGAN from the recipe's preset, compiled with its game and optimizers and
    an EMA (momentum ``--ema``) of the generator."""
    _, variant, widen = RECIPES[recipe]
    filters = [f * widen for f in args.filters]
    keras.utils.set_random_seed(0)
    return gan_common.build_dcgan(variant, filters, args.latent_dim, seed=0, ema=args.ema)


class TimedFCD(keras.callbacks.Callback):
    """Stops after ``budget`` seconds of training (the first, tracing step of each process
    and the evaluations excluded), measuring the FCD of the generator and of its EMA every
    ``every`` seconds and at the end.

    ``decay_from``: the learning rates (``base_rates``, generator's and discriminator's)
    fall linearly to 0 from that fraction of the budget on. ``state_path``: a JSON file
    the clock is kept in at every epoch end (and resumed from); ``deadline``: a
    ``perf_counter`` time after which the process stops at an epoch end, to be resumed."""

    def __init__(self, classifier, x_test, samples, budget, every, batch_images, **options):
        super().__init__()
        self.classifier, self.x_test, self.samples = classifier, x_test, samples
        self.budget, self.every, self.batch_images = budget, every, batch_images
        self.decay_from, self.base_rates = options.get("decay_from"), options.get("base_rates")
        self.state_path = options.get("state_path")
        self.deadline = options.get("deadline")
        # rows: (train seconds, G updates, images read, FCD, FCD of the EMA)
        # what the clock's numbers mean: a resumed run must keep it
        schedule = {"budget": budget, "every": every, "decay_from": self.decay_from}
        self.state = {"seconds": 0.0, "batches": 0, "next_eval": every, "rows": [], "done": False}
        if self.state_path is not None and self.state_path.exists():
            self.state = json.loads(self.state_path.read_text())
        self.state.setdefault("processes", 1 if self.state["batches"] else 0)  # older files
        saved = self.state.setdefault("schedule", schedule)  # files before it: trusted
        if saved != schedule:
            raise SystemExit(
                f"{self.state_path} was written with {saved}, this command asks for {schedule}: "
                "resume with the same --minutes-each, --eval-minutes and --decay-from"
            )
        self.images = None

    @property
    def rows(self):
        return self.state["rows"]

    @property
    def processes(self) -> int:
        """How many processes have trained this run (resumed ones included)."""
        return self.state["processes"]

    def on_train_begin(self, logs=None):
        self.started, self.eval_seconds, self.traced = time.perf_counter(), 0.0, False
        self.state["processes"] += 1

    def train_seconds(self) -> float:
        return self.state["seconds"] + time.perf_counter() - self.started - self.eval_seconds

    def on_train_batch_begin(self, batch, logs=None):
        if self.decay_from is None or self.state["batches"] % 50:
            return
        start = self.decay_from * self.budget
        scale = min(1.0, max(0.0, (self.budget - self.train_seconds()) / (self.budget - start)))
        for optimizer, rate in zip(
            (self.model.g_optimizer, self.model.d_optimizer), self.base_rates
        ):
            optimizer.learning_rate = rate * scale

    def on_train_batch_end(self, batch, logs=None):
        self.state["batches"] += 1
        if not self.traced:  # the first step traces the graphs: the clock starts after it
            self.traced, self.started = True, time.perf_counter()
            return
        elapsed = self.train_seconds()
        if elapsed >= min(self.state["next_eval"], self.budget):
            self.evaluate(elapsed)
            self.state["next_eval"] += self.every
        if elapsed >= self.budget:
            self.state["done"] = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.state_path is None:
            return
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.model.stop_training = True
        state = {**self.state, "seconds": self.train_seconds()}
        self.state_path.write_text(json.dumps(state))

    def evaluate(self, elapsed):
        t0 = time.perf_counter()
        fcds = []
        for ema in (False, True):
            images, fcd = gan_common.sample_fcd(
                self.model, self.samples, self.x_test, self.classifier, ema=ema
            )
            fcds.append(fcd)
        self.images = images  # the EMA generator's
        updates = int(self.model.g_optimizer.iterations.numpy())
        self.rows.append((elapsed, updates, self.state["batches"] * self.batch_images, *fcds))
        self.eval_seconds += time.perf_counter() - t0
        print(
            f"  {elapsed / 60:.1f} min, {updates} G updates: FCD {fcds[0]:.2f}, EMA {fcds[1]:.2f}",
            flush=True,
        )


def train(recipe: str, args, classifier, x_train, x_test, deadline):
    """Trains one recipe for its budget (resuming from ``args.checkpoint_dir`` if given);
    returns (FCD rows, trainable parameters, processes that trained it), or None when the
    process stopped early."""
    model = build(recipe, args)
    variant = RECIPES[recipe][1]
    work = None if args.checkpoint_dir is None else args.checkpoint_dir / recipe
    clock = TimedFCD(
        classifier,
        x_test,
        args.samples,
        60 * args.minutes_each,
        60 * args.eval_minutes,
        args.batch_size * gan_common.d_steps(variant),
        decay_from=args.decay_from,
        base_rates=gan_common.learning_rates(variant),
        state_path=None if work is None else work / "clock.json",
        deadline=deadline,
    )
    params = gan_common.count_params(model)
    if clock.state["done"]:
        return clock.rows, params, clock.processes
    callbacks = [clock]
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        backup = keras.callbacks.BackupAndRestore(str(work / "backup"), delete_checkpoint=False)
        callbacks.insert(0, backup)  # the weights are saved before the clock that counts them
    model.fit(
        gan_common.dataset(
            x_train,
            clock.batch_images,
            seed=len(clock.rows) + clock.state["batches"],
            repeat=True,
        ),
        epochs=10**9 if work is not None else 1,
        steps_per_epoch=args.steps_per_save if work is not None else 10**9,
        verbose=0,
        callbacks=callbacks,
    )
    if not clock.state["done"]:
        return None
    if not args.no_record:
        grid = common.BENCH_DIR / "results" / f"gan_recipe_{recipe}.png"
        save_image_grid(grid, clock.images[:64], ncols=8)
    return clock.rows, params, clock.processes


def main(argv=None):
    args = parse_args(argv)
    keras.config.set_dtype_policy(args.precision)
    x_train, x_test = gan_common.mnist_images(args.data, args.train_images)
    classifier = mnist_classifier()
    floor = frechet_classifier_distance(x_train[:10000], x_test, classifier)
    load_before = common.load_average()
    start_all = time.perf_counter()
    deadline = None if args.session_minutes is None else start_all + 60 * args.session_minutes
    results = {}
    for recipe in args.recipes:
        print(f"{recipe}: {RECIPES[recipe][0]}", flush=True)
        results[recipe] = train(recipe, args, classifier, x_train, x_test, deadline)
        if results[recipe] is None:
            raise SystemExit(
                f"stopped {recipe} after --session-minutes; run the same command to resume "
                f"from {args.checkpoint_dir}"
            )
    lines = [
        f"- Command: `{common.command_line()}`",
        f"- Data: MNIST (`../shared/data/mnist/mnist.npz`), {len(x_train):,} training images "
        f"in [0, 1]; FCD of {args.samples:,} samples (seed 0) to the 10k test images, "
        "features of keras-gen's shipped MNIST classifier (not Inception FID).",
        f"- Models: `DCGAN((28, 28, 1), latent_dim={args.latent_dim}, "
        f"filters={tuple(args.filters)})` (doubled where said), batch {args.batch_size} per "
        f"discriminator step, generator EMA momentum {args.ema}, precision {args.precision}; "
        f"each recipe trains {args.minutes_each:g} min after its first (tracing) step, "
        "evaluations excluded"
        + (
            ""
            if args.decay_from is None
            else f"; learning rates decayed linearly to 0 from {args.decay_from:.0%} of it"
        )
        + (
            ""
            if args.checkpoint_dir is None
            else f"; checkpointed every {args.steps_per_save} steps to {args.checkpoint_dir}"
        )
        + ".",
        *common.machine_lines(),
        "",
        "| recipe | what | trainable params | G updates | images read | FCD at each "
        f"{args.eval_minutes:g} min (raw / EMA) | best | best / floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for recipe, (rows, params, _) in results.items():
        best = min(min(r[3], r[4]) for r in rows)
        points = ", ".join(f"{r[0] / 60:.1f}: {r[3]:.1f} / {r[4]:.1f}" for r in rows)
        lines.append(
            f"| {recipe} | {RECIPES[recipe][0]} | {params:,} | {rows[-1][1]:,} | "
            f"{rows[-1][2]:,} | {points} | {best:.2f} | **{best / floor:.1f}** |"
        )
    resumed = {recipe: n for recipe, (_, _, n) in results.items() if n > 1}
    last_process = " (of the last process)" if resumed else ""
    lines += [
        f"| real training images (floor) | - | - | - | - | - | {floor:.2f} | 1.0 |",
        "",
        f"- Load average before: {load_before}; after: {common.load_average()}; wall time "
        f"{(time.perf_counter() - start_all) / 60:.1f} min{last_process}. Sample grids "
        "(EMA generator, 64 samples, seed 0): `benchmarks/results/gan_recipe_<recipe>.png`.",
        *(
            f"- {recipe} trained in {n} processes, each resuming the previous one's checkpoint "
            f"in `{args.checkpoint_dir / recipe}` (each process's first step excluded too)."
            for recipe, n in resumed.items()
        ),
    ]
    print("\n".join(lines))
    if not args.no_record:
        common.append_results("GAN recipes on MNIST at an equal wall-time budget", lines)


if __name__ == "__main__":
    main()
