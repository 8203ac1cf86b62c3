"""Per-step time of a stacked optimizer wrapper against bare Adam on the conv VAE (MNIST).

Variants (same model, data, batch size 128 and base optimizer Adam 1e-3):

- ``adam``: bare ``keras.optimizers.Adam``.
- ``stack``: ``EMA(GradientAccumulation(GradientTransform(LRMultiplier(Adam), [global-norm
  clip]), steps=2))``, the encoder at 0.1x. Adam runs on every second step only.
- ``stack_no_accum``: the same without accumulation (multipliers + clip + EMA), so every
  step pays for the whole chain.

Each model is warmed up (tracing and first steps excluded), then timed ``--steps`` steps
at a time with ``model.fit`` in interleaved repeats (A, B, C, A, B, C, ...); the median
time per step of each variant (wall clock and this process's CPU time) and its overhead
over ``adam`` are reported.

Usage (from the repository root):

    python benchmarks/optimizer_overhead.py
    python benchmarks/optimizer_overhead.py --repeats 2 --steps 5 --no-record   # smoke test
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import common


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup-steps", type=int, default=10)
    p.add_argument("--steps", type=int, default=15, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--variants", nargs="+", default=["adam", "stack", "stack_no_accum"])
    p.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    return p.parse_args(argv)


def make_optimizer(variant: str, model):
    import keras

    from keras_gen import optimizers as kgo

    adam = keras.optimizers.Adam(1e-3)
    if variant == "adam":
        return adam
    encoder = {model.encoder_body: 0.1, model.mean_head: 0.1, model.log_var_head: 0.1}
    opt = kgo.LRMultiplier(adam, encoder)
    opt = kgo.GradientTransform(opt, [("clip_by_global_norm", {"max_norm": 1.0})])
    if variant == "stack":
        opt = kgo.GradientAccumulation(opt, steps=2)
    elif variant != "stack_no_accum":
        raise ValueError(f"unknown variant {variant!r}")
    return kgo.EMA(opt, momentum=0.999)


def main(argv=None):
    args = parse_args(argv)
    import keras

    from keras_gen import zoo

    x_train, _ = common.load_mnist(args.data)
    n = args.batch_size * args.steps
    x = (x_train[:n].astype("float32") / 255.0)[..., None]
    load_before = common.load_average()

    models = {}
    for variant in args.variants:
        keras.utils.set_random_seed(0)
        model = zoo.VAE((28, 28, 1), latent_dim=16, architecture="conv", seed=0)
        model.compile(optimizer=make_optimizer(variant, model))
        warm = x[: args.batch_size * args.warmup_steps]
        model.fit(warm, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=False)
        models[variant] = model

    # Wall time and this process's CPU time (all threads): on a shared machine the CPU
    # time is the steadier measure of the work a step does.
    times = {v: [] for v in args.variants}
    cpu = {v: [] for v in args.variants}
    for _ in range(args.repeats):
        for variant, model in models.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            model.fit(x, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=False)
            times[variant].append((time.perf_counter() - start) / args.steps)
            cpu[variant].append((time.process_time() - start_cpu) / args.steps)
    load_after = common.load_average()

    def overhead(table, variant):
        if "adam" not in table:
            return "n/a"
        ratio = statistics.median(table[variant]) / statistics.median(table["adam"])
        return f"{100 * (ratio - 1):+.1f}%"

    rows = [
        "| variant | median wall ms/step | wall overhead vs adam | median CPU ms/step "
        "| CPU overhead vs adam | wall ms/step of each repeat |",
        "|---|---|---|---|---|---|",
    ]
    for variant, ts in times.items():
        rows.append(
            f"| {variant} | {1000 * statistics.median(ts):.1f} | {overhead(times, variant)} "
            f"| {1000 * statistics.median(cpu[variant]):.1f} | {overhead(cpu, variant)} "
            f"| {', '.join(f'{1000 * t:.0f}' for t in ts)} |"
        )
    print("\n".join(rows))
    if not args.no_record:
        lines = [
            f"- Command: `{common.command_line()}`",
            *common.machine_lines(),
            f"- Load average (1/5/15 min) before: {load_before}; after: {load_after}",
            f"- Setup: conv VAE (latent 16, hidden (512, 256), filters (32, 64)), MNIST, "
            f"batch {args.batch_size}, float32, {args.warmup_steps} warm-up steps, "
            f"{args.repeats} interleaved repeats of {args.steps} steps; `stack` = "
            "EMA(GradientAccumulation(GradientTransform(LRMultiplier(Adam 1e-3, encoder 0.1x), "
            "[clip_by_global_norm 1.0]), steps=2), momentum 0.999)",
            "",
            *rows,
        ]
        common.append_results(
            "Optimizer wrapper overhead (benchmarks/optimizer_overhead.py)", lines
        )
    return times


if __name__ == "__main__":
    main()
