"""Fine-tuning a trained preset against training the same configuration from scratch.

``vae_mnist`` (the shipped Burda MLP VAE) on a small data set: the first ``--examples``
training images of the digits 5-9, dynamically binarized. Three runs of the same number
of steps, batch and constant learning rate:

- from scratch: ``presets.get("vae_mnist").build(...)`` with fresh weights;
- fine-tuned: ``presets.load("vae_mnist")``, every layer at the full rate;
- fine-tuned, slow encoder: the encoder at 0.1x through ``LRMultiplier`` (what
  ``keras-gen finetune vae_mnist --lr-multiplier encoder=0.1`` does).

Measured after each of ``--checkpoints`` steps: the test NLL (k=500 importance samples)
on 1,000 test digits 5-9 (the new data) and 1,000 test digits 0-4 (what the preset knew),
on a fixed binarization. The preset saw every digit in its own training, so this shows
adaptation to a small data set, not transfer to a new domain.

    python benchmarks/finetune_presets.py
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common
import numpy as np
import preset_evals


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--examples", type=int, default=1000, help="training images of 5-9")
    p.add_argument("--checkpoints", type=int, nargs="+", default=[0, 100, 400, 1600])
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--num-samples", type=int, default=500, help="importance samples k")
    p.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    return p.parse_args(argv)


def small_data(data_dir: Path, examples: int):
    """(training images of 5-9, test 5-9, test 0-4): float32 in [0, 1], test binarized."""
    with np.load(Path(data_dir) / preset_evals.DATA_FILES["mnist"]) as d:
        x_train, y_train = d["x_train"], d["y_train"]
    train = (x_train[y_train >= 5][:examples].astype("float32") / 255.0)[..., None]
    x_test, y_test = preset_evals.mnist_test(data_dir)
    x_test = preset_evals.binarized(x_test)
    return train, x_test[y_test >= 5][:1000], x_test[y_test < 5][:1000]


def binarized_batches(x: np.ndarray, batch_size: int, seed: int):
    """An endless tf.data stream of shuffled batches, binarized afresh every time."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed).repeat()
    ds = ds.batch(batch_size, drop_remainder=True)
    noise = tf.data.Dataset.random(seed=seed).batch(2)
    return tf.data.Dataset.zip(ds, noise).map(
        lambda b, s: tf.cast(tf.random.stateless_uniform(tf.shape(b), s) < b, tf.float32)
    )


def main(argv=None):
    args = parse_args(argv)
    import keras

    from keras_gen import presets
    from keras_gen.optimizers import LRMultiplier

    train, new_test, old_test = small_data(args.data, args.examples)
    load_before = common.load_average()

    def nll(model, x):
        return -float(model.log_likelihood(x, num_samples=args.num_samples, seed=7).mean())

    arms = {
        "from scratch": lambda: presets.get("vae_mnist").build(image_shape=(28, 28, 1), seed=0),
        "fine-tuned": lambda: presets.load("vae_mnist", compile=False),
        "fine-tuned, slow encoder (0.1x)": lambda: presets.load("vae_mnist", compile=False),
    }
    results, seconds = {}, {}
    for arm, make in arms.items():
        keras.utils.set_random_seed(1)
        model = make()
        optimizer = keras.optimizers.Adam(args.lr)
        if "slow encoder" in arm:
            optimizer = LRMultiplier(optimizer, {"encoder": 0.1})
        model.compile(optimizer=optimizer)
        batches = iter(binarized_batches(train, args.batch_size, seed=1))
        # One stream across the fit calls (a data set would restart its order every call).
        stream = ((next(batches),) for _ in iter(int, 1))
        rows, done, start = [], 0, time.perf_counter()
        for checkpoint in sorted(args.checkpoints):
            if checkpoint > done:
                model.fit(stream, steps_per_epoch=checkpoint - done, epochs=1, verbose=0)
                done = checkpoint
            rows.append((done, nll(model, new_test), nll(model, old_test)))
            print(f"{arm}: step {done}: NLL 5-9 {rows[-1][1]:.2f}, 0-4 {rows[-1][2]:.2f}")
        results[arm], seconds[arm] = rows, time.perf_counter() - start

    table = [
        "| run | " + " | ".join(f"{s} steps: 5-9 / 0-4" for s in sorted(args.checkpoints)) + " |",
        "|---|" + "---|" * len(args.checkpoints),
        *(
            f"| {arm} | " + " | ".join(f"{a:.2f} / {b:.2f}" for _, a, b in rows) + " |"
            for arm, rows in results.items()
        ),
    ]
    print("\n".join(table))
    if args.no_record:
        return results
    scratch, tuned = results["from scratch"][-1][1], results["fine-tuned"][-1][1]
    lines = [
        f"- Command: `{common.command_line()}`",
        *common.machine_lines(),
        f"- Load average before / after: {load_before} / {common.load_average()}",
        f"- Data: the first {len(train)} MNIST training images of the digits 5-9, dynamically "
        f"binarized; measured on 1,000 test digits 5-9 and 1,000 test digits 0-4, binarized "
        f"once (seed {preset_evals.TEST_BINARIZATION_SEED}); test NLL in nats, importance "
        f"sampling k={args.num_samples}.",
        f"- Every run: Adam {args.lr:g} (constant), batch {args.batch_size}, the same seeds; "
        f"the preset `vae_mnist` saw all ten digits in its own training. Wall time per run: "
        + ", ".join(f"{arm} {s:.0f} s" for arm, s in seconds.items()),
        "",
        *table,
        "",
        f"- At {sorted(args.checkpoints)[-1]} steps the fine-tuned preset is "
        f"{scratch - tuned:.2f} nats better on the new digits than the same configuration "
        f"trained from scratch ({'target met' if tuned < scratch else 'target NOT met'}).",
    ]
    common.append_results("Fine-tuning a trained preset vs training from scratch", lines)
    return results


if __name__ == "__main__":
    main()
