"""What mixed_bfloat16 buys per layer type on this CPU: forward + backward, same run.

Measures CPU milliseconds per training step (forward, backward to the layer's weights) of
single layers at DCGAN/VAE sizes, float32 against mixed_bfloat16, interleaved. Process CPU
time, not wall time, so that other processes on a shared machine disturb it less.

Usage (from the repository root):

    python benchmarks/precision_layers.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import common

LAYERS = {
    # name: (keras.layers class, its arguments, input shape)
    "Conv2DTranspose(64, 4, s2) on 7x7x128": (
        "Conv2DTranspose",
        (64, 4, 2, "same"),
        (64, 7, 7, 128),
    ),
    "Conv2DTranspose(64, 3, s2) on 7x7x128": (
        "Conv2DTranspose",
        (64, 3, 2, "same"),
        (64, 7, 7, 128),
    ),
    "Conv2D(128, 4, s2) on 14x14x64": ("Conv2D", (128, 4, 2, "same"), (64, 14, 14, 64)),
    "Dense(3136) on 512": ("Dense", (3136,), (64, 512)),
}


def worker(policy: str, layer_cls: str, layer_args, shape, steps: int) -> float:
    import keras
    import tensorflow as tf

    keras.config.set_dtype_policy(policy)
    layer = getattr(keras.layers, layer_cls)(*layer_args)
    x = tf.random.normal(shape)
    layer.build(x.shape)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.cast(layer(x), tf.float32))
        return tape.gradient(y, layer.trainable_variables)

    step(x)
    start = time.process_time()
    for _ in range(steps):
        step(x)
    return (time.process_time() - start) / steps * 1000


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    if args.worker:
        policy, name, steps = args.worker
        print(worker(policy, *LAYERS[name], int(steps)))
        return
    load_before = common.load_average()
    rows = []
    for name in LAYERS:
        times = {"float32": [], "mixed_bfloat16": []}
        for _ in range(args.repeats):
            for policy in times:  # interleaved, one fresh process each
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", policy, name, str(args.steps)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                times[policy].append(float(out.stdout.strip().splitlines()[-1]))
        f32, bf16 = (statistics.median(times[k]) for k in times)
        rows.append(f"| {name} | {f32:.1f} | {bf16:.1f} | **{f32 / bf16:.2f}x** |")
        print(rows[-1], flush=True)
    lines = [
        f"- Command: `{common.command_line()}`",
        f"- Protocol: one layer, batch 64, forward + backward to its weights in a `tf.function`, "
        f"{args.steps} steps after one warm-up step; process CPU ms per step, median of "
        f"{args.repeats} fresh processes per precision, interleaved.",
        *common.machine_lines(),
        f"- Load average before: {load_before}; after: {common.load_average()}",
        "",
        "| layer | float32 CPU ms/step | mixed_bfloat16 CPU ms/step | bf16 speed-up |",
        "|---|---|---|---|",
        *rows,
    ]
    if not args.no_record:
        common.append_results("mixed_bfloat16 vs float32 per layer type", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
