"""Train-step throughput of the keras-gen conv VAE against a plain keras-io style VAE.

Both models have IDENTICAL layers (those of ``architecture="conv"`` in
``keras_gen/zoo/networks.py`` with the default ``hidden_units=(512, 256)``,
``filters=(32, 64)``, latent 16), the same data (MNIST intensities in [0, 1],
in memory), batch size 128 and optimizer (Adam 1e-3). The reference is the
keras-io VAE (a subclassed ``keras.Model`` with its own ``train_step`` on a
``tf.GradientTape``, a ``Sampling`` layer, loss = per-example sum of the
binary cross-entropy from logits + KL, mean over the batch).

One change to the keras-io reference: its ``Sampling`` draws ``epsilon`` in
float32, which fails under ``mixed_bfloat16`` (the layer's inputs are
autocast to bfloat16); here it is drawn in ``z_mean``'s dtype.

Each precision runs in a fresh subprocess (the global dtype policy must be set
before the models are built). In each, both models are warmed up (tracing and
the first steps excluded), then timed ``--steps`` steps at a time with
``model.fit`` in interleaved repeats (A, B, A, B, ...); the median examples/s
of each model and their ratio are reported.

Usage (from the repository root):

    python benchmarks/vae_speed.py                         # float32 and mixed_bfloat16
    python benchmarks/vae_speed.py --repeats 2 --steps 10 --no-record   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import common

LATENT, HIDDEN, FILTERS = 16, (512, 256), (32, 64)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data", type=Path, default=common.DEFAULT_DATA, help="folder holding mnist/mnist.npz"
    )
    p.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup-steps", type=int, default=30)
    p.add_argument("--steps", type=int, default=60, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per model")
    p.add_argument(
        "--variants",
        nargs="+",
        default=["keras_gen", "reference"],
        help="models to time; 'keras_gen_plain_step' = the zoo model with a "
        "keras-io style train_step (for profiling the training core)",
    )
    p.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # precision of a subprocess
    return p.parse_args(argv)


# -- the keras-io reference ----------------------------------------------------------------


def reference_vae():
    import keras
    import tensorflow as tf
    from keras import layers, ops

    class Sampling(layers.Layer):
        """keras-io's Sampling; the one fix: epsilon in z_mean's dtype (bf16 under mixed_bfloat16)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
            epsilon = keras.random.normal(
                shape=(batch, dim), dtype=z_mean.dtype, seed=self.seed_generator
            )
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    enc_in = keras.Input((28, 28, 1))
    h = enc_in
    for f in FILTERS:
        h = layers.Conv2D(f, 3, 2, "same", activation="relu")(h)
    h = layers.Flatten()(h)
    for u in HIDDEN:
        h = layers.Dense(u, activation="relu")(h)
    z_mean = layers.Dense(LATENT, name="z_mean", dtype="float32")(h)
    z_log_var = layers.Dense(LATENT, name="z_log_var", dtype="float32")(h)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(enc_in, [z_mean, z_log_var, z], name="encoder")

    dec_in = keras.Input((LATENT,))
    h = dec_in
    for u in reversed(HIDDEN):
        h = layers.Dense(u, activation="relu")(h)
    h = layers.Dense(7 * 7 * FILTERS[-1], activation="relu")(h)
    h = layers.Reshape((7, 7, FILTERS[-1]))(h)
    for f in reversed(FILTERS):
        h = layers.Conv2DTranspose(f, 3, 2, "same", activation="relu")(h)
    logits = layers.Conv2DTranspose(1, 3, 1, "same", dtype="float32")(h)
    decoder = keras.Model(dec_in, logits, name="decoder")

    class VAE(keras.Model):
        def __init__(self, encoder, decoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
            self.decoder = decoder
            self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
            self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
            self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

        @property
        def metrics(self):
            return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

        def train_step(self, data):
            with tf.GradientTape() as tape:
                z_mean, z_log_var, z = self.encoder(data)
                logits = self.decoder(z)
                reconstruction_loss = ops.mean(
                    ops.sum(
                        keras.losses.binary_crossentropy(data, logits, from_logits=True),
                        axis=(1, 2),
                    )
                )
                kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
                kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
                total_loss = reconstruction_loss + kl_loss
            grads = tape.gradient(total_loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            self.total_loss_tracker.update_state(total_loss)
            self.reconstruction_loss_tracker.update_state(reconstruction_loss)
            self.kl_loss_tracker.update_state(kl_loss)
            return {
                "loss": self.total_loss_tracker.result(),
                "reconstruction_loss": self.reconstruction_loss_tracker.result(),
                "kl_loss": self.kl_loss_tracker.result(),
            }

    return VAE(encoder, decoder)


def keras_gen_vae(plain_step=False):
    import keras
    import tensorflow as tf

    from keras_gen.zoo.vae import VAE

    if not plain_step:
        return VAE((28, 28, 1), latent_dim=LATENT, architecture="conv", seed=0)

    class PlainStepVAE(VAE):
        """The zoo model with a keras-io style train_step: isolates the cost of the training core."""

        def train_step(self, data):
            with tf.GradientTape() as tape:
                terms = self.compute_terms(data, training=True)
                loss = keras.ops.mean(terms["loss"])
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            for name in self.term_names:
                self._term_trackers[name].update_state(keras.ops.mean(terms[name]))
            return {m.name: m.result() for m in self.metrics}

    return PlainStepVAE((28, 28, 1), latent_dim=LATENT, architecture="conv", seed=0)


def count_params(model):
    return sum(int(__import__("numpy").prod(v.shape)) for v in model.trainable_variables)


def worker(args):
    """Time the models under one precision; prints one JSON line."""
    import keras
    import tensorflow as tf

    keras.mixed_precision.set_global_policy(args.worker)
    keras.utils.set_random_seed(0)
    x_train, _ = common.load_mnist(args.data)
    x = (x_train[..., None] / 255.0).astype("float32")
    ds = (
        tf.data.Dataset.from_tensor_slices(x)
        .batch(args.batch_size, drop_remainder=True)
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )
    builders = {
        "keras_gen": lambda: keras_gen_vae(False),
        "reference": reference_vae,
        "keras_gen_plain_step": lambda: keras_gen_vae(True),
    }
    models = {}
    for name in args.variants:
        m = builders[name]()
        m.compile(optimizer=keras.optimizers.Adam(1e-3))
        models[name] = m
    params = {name: count_params(m) for name, m in models.items()}
    if len(set(params.values())) != 1:
        raise RuntimeError(f"the models differ in size: {params}")

    warm = {}
    for name, m in models.items():
        # Warm up with the same steps_per_epoch as the timed calls: in our trials the first
        # fit call with a new steps_per_epoch was up to 5 s slower (one-off, per model).
        t0 = time.perf_counter()
        m.fit(ds, epochs=1, steps_per_epoch=args.warmup_steps, verbose=0)
        m.fit(ds, epochs=1, steps_per_epoch=args.steps, verbose=0)
        warm[name] = time.perf_counter() - t0
    # interleaved: A, B, A, B, ...; steady-state rates (the start-up of fit excluded), rates
    # of the whole fit call and examples per CPU-second of this process
    timed = common.interleaved_fits(models, ds, args.steps, args.repeats, args.batch_size)
    rates, call_rates, cpu_rates = timed["rates"], timed["call_rates"], timed["cpu_rates"]
    losses = {name: logs["loss"] for name, logs in timed["logs"].items()}
    print(
        "RESULT "
        + json.dumps(
            {
                "precision": args.worker,
                "params": params,
                "jit_compile": {name: bool(m.jit_compile) for name, m in models.items()},
                "warmup_s": warm,
                "rates": rates,
                "median": {name: statistics.median(r) for name, r in rates.items()},
                "call_rates": call_rates,
                "cpu_median": {name: statistics.median(r) for name, r in cpu_rates.items()},
                "call_median": {name: statistics.median(r) for name, r in call_rates.items()},
                "last_loss": losses,
            }
        ),
        flush=True,
    )


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    load_before = common.load_average()
    results = []
    for precision in args.precisions:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            precision,
            "--data",
            str(args.data),
            "--batch-size",
            str(args.batch_size),
            "--warmup-steps",
            str(args.warmup_steps),
            "--steps",
            str(args.steps),
            "--repeats",
            str(args.repeats),
            "--variants",
            *args.variants,
        ]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        if out.returncode or not lines:
            sys.stderr.write(out.stderr[-5000:])
            raise SystemExit(f"worker for {precision} failed (exit {out.returncode})")
        res = json.loads(lines[-1][len("RESULT ") :])
        res["wall_s"] = time.perf_counter() - t0
        results.append(res)
        print(json.dumps(res), flush=True)
    load_after = common.load_average()

    names = args.variants
    both = {"keras_gen", "reference"} <= set(names)
    header = "| precision | " + " | ".join(f"{n} ex/s: median (repeats)" for n in names)
    header += (
        " | ratio keras-gen/reference (median of paired repeats) | whole fit call ex/s (median): "
        + ", ".join(names)
    )
    header += " | ex per CPU-second (median): " + ", ".join(names) + " |"
    rows = [header, "|" + "---|" * (len(names) + 4)]
    for r in results:
        cells = [
            f"{r['median'][n]:,.0f} ({', '.join(f'{v:,.0f}' for v in r['rates'][n])})"
            for n in names
        ]
        row = f"| {r['precision']} | " + " | ".join(cells)
        if both:
            # Repeats alternate A, B, A, B: pairing them cancels load that drifts during a run.
            paired = [a / b for a, b in zip(r["rates"]["keras_gen"], r["rates"]["reference"])]
            row += f" | **{statistics.median(paired):.3f}**"
        else:
            row += " | -"
        row += " | " + ", ".join(f"{r['call_median'][n]:,.0f}" for n in names)
        if both:
            row += f" (ratio {r['call_median']['keras_gen'] / r['call_median']['reference']:.3f})"
        row += " | " + ", ".join(f"{r['cpu_median'][n]:,.0f}" for n in names)
        if both:
            row += f" (ratio {r['cpu_median']['keras_gen'] / r['cpu_median']['reference']:.3f})"
        rows.append(row + " |")
    speed = []
    if len(results) > 1 and "keras_gen" in names:
        base = results[0]["median"]["keras_gen"]
        for r in results[1:]:
            cpu_base = results[0]["cpu_median"]["keras_gen"]
            speed.append(
                f"- keras-gen VAE, {r['precision']} vs {results[0]['precision']}: "
                f"{r['median']['keras_gen'] / base:.2f}x (wall, steady state), "
                f"{r['cpu_median']['keras_gen'] / cpu_base:.2f}x (per CPU-second)"
            )
    report = [
        f"- Command: `{common.command_line()}`",
        "- Data: MNIST training intensities in [0, 1] (`../shared/data/mnist/mnist.npz`), in memory, "
        f"`tf.data` batches of {args.batch_size} (no binarization), repeated.",
        f"- Models: `keras_gen.zoo.VAE((28,28,1), latent_dim={LATENT}, architecture='conv')` vs a "
        "keras-io style VAE with identical layers (Conv2D 32/64 s2 -> Dense 512, 256 -> float32 "
        "heads; Dense 256, 512, 3136 -> ConvT 64/32 s2 -> ConvT 1 float32), "
        f"{results[0]['params']} trainable parameters; Adam 1e-3; jit_compile {results[0]['jit_compile']}. "
        "Reference fix: Sampling draws epsilon in z_mean's dtype (keras-io's float32 epsilon fails under bf16).",
        f"- Protocol: per precision a fresh subprocess; {args.warmup_steps} warm-up steps per model "
        f"(excluded), then {args.repeats} interleaved repeats of `model.fit(ds, steps_per_epoch={args.steps})` "
        "per model (warm-up: one fit of the warm-up steps and one of the timed length, excluded); "
        "examples/s = (steps - 1) x batch / time from the end of the first to the end of the last "
        "step (a callback), and, for comparison, steps x batch / wall time of the whole fit call.",
        *common.machine_lines(),
        f"- Load average (1/5/15 min) before: {load_before}; after: {load_after} "
        "(other workers share the 2 cores)",
        "",
        *rows,
        "",
        *speed,
    ]
    print("\n".join(report))
    if not args.no_record:
        common.append_results(
            "Train-step throughput: keras-gen conv VAE vs keras-io reference", report
        )


if __name__ == "__main__":
    main()
