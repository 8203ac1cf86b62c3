"""Throughput of keras_gen.layers.VectorQuantizer alone: K=512 and 8192, D=64, float32 vs bf16.

One "example" is an 8x8 grid of D=64 vectors (a CIFAR-10 VQ-VAE code grid), so a
batch of 128 examples quantizes 8,192 vectors. Timed: one compiled training step of
the layer (nearest-code search in float32, straight-through output, losses,
perplexity, EMA codebook update) plus the backward pass to the inputs. Under
``mixed_bfloat16`` the inputs arrive in bfloat16 and the layer's dtype policy is
mixed_bfloat16 (distances still float32). Each configuration is also run with the
distance bound lifted (one (N, K) matrix), to show what the memory bound costs.

Usage (from the repository root):

    python benchmarks/quantizer_speed.py
    python benchmarks/quantizer_speed.py --repeats 2 --steps 5 --no-record   # smoke test
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import common


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--codebook-sizes", type=int, nargs="+", default=[512, 8192])
    p.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=20, help="steps per timed repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--no-record", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    from keras_gen.layers import VectorQuantizer

    load_before = common.load_average()
    d, grid = 64, (8, 8)
    rows = []
    for k in args.codebook_sizes:
        for precision in args.precisions:
            for bounded in (True, False):
                vq = VectorQuantizer(
                    k,
                    d,
                    seed=0,
                    dtype=precision,
                    max_distance_elements=2**22 if bounded else 2**31 - 1,
                )
                vq.build((None, *grid, d))
                dtype = tf.bfloat16 if precision == "mixed_bfloat16" else tf.float32
                x = tf.cast(
                    np.random.default_rng(0).normal(size=(args.batch_size, *grid, d)), dtype
                )

                # Batch size unknown when traced, as in model.fit.
                @tf.function(input_signature=[tf.TensorSpec([None, *grid, d], dtype)])
                def step(x, vq=vq):
                    with tf.GradientTape() as tape:
                        tape.watch(x)
                        out = vq.quantize_vectors(x, training=True)
                        loss = tf.reduce_sum(tf.cast(out["quantized"], tf.float32))
                        loss += tf.reduce_sum(out["commitment_loss"])
                    return tape.gradient(loss, x)

                for _ in range(3):
                    step(x)
                times = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    for _ in range(args.steps):
                        g = step(x)
                    g.numpy()
                    times.append((time.perf_counter() - t) / args.steps)
                sec = statistics.median(times)
                chunk = min(
                    args.batch_size * grid[0] * grid[1], max(1, vq.max_distance_elements // k)
                )
                rows.append((k, precision, bounded, chunk, args.batch_size / sec, sec * 1000))
                print(rows[-1], flush=True)

    lines = [
        f"- Command: `{common.command_line()}`",
        f"- Data: random normal inputs, batch {args.batch_size} x 8 x 8 x 64 "
        f"({args.batch_size * 64} vectors a step); median of {args.repeats} x {args.steps} steps",
        *common.machine_lines(),
        f"- Load average before / after: {load_before} / {common.load_average()}",
        "",
        "| K | precision | distances | rows per chunk | examples/s | vectors/s | ms/step |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, precision, bounded, chunk, eps, ms in rows:
        lines.append(
            f"| {k} | {precision} | {'bounded (2^22)' if bounded else 'one matrix'} | {chunk} "
            f"| {eps:,.0f} | {eps * 64:,.0f} | {ms:.1f} |"
        )
    print("\n".join(lines))
    if not args.no_record:
        common.append_results("VectorQuantizer speed (training step of the layer alone)", lines)


if __name__ == "__main__":
    main()
