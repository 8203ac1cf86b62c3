"""Fine-tuning example: a VAE trained on MNIST digits 0-4, fine-tuned on 5-9 with a slow encoder.

1. Train ``VAE((28, 28, 1), latent_dim=16)`` (MLP, hidden (512, 256)) on the training
   digits 0-4 with Adam 1e-3 and save it to a ``.keras`` file.
2. Load it three times and fine-tune each copy on training digits 5-9 with Adam 1e-3:
   plain (every layer at 1x), slow encoder (``LRMultiplier``, encoder 0.1x) and frozen
   encoder (0x).
3. Report the test negative ELBO (nats per image, lower is better) on test digits 0-4
   (what was learned first) and 5-9 (the new task), before and after.

Usage (from the repository root):

    python benchmarks/finetune_example.py
    python benchmarks/finetune_example.py --train-epochs 1 --finetune-epochs 1 --no-record
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import common
import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=common.DEFAULT_DATA)
    p.add_argument("--train-epochs", type=int, default=5)
    p.add_argument("--finetune-epochs", type=int, default=2)
    p.add_argument("--finetune-examples", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    return p.parse_args(argv)


def load_split(data_dir: Path):
    with np.load(Path(data_dir) / "mnist" / "mnist.npz") as d:
        arrays = {k: d[k] for k in ("x_train", "y_train", "x_test", "y_test")}

    def prep(x):
        return (x.astype("float32") / 255.0)[..., None]

    old_tr, new_tr = arrays["y_train"] < 5, arrays["y_train"] >= 5
    old_te, new_te = arrays["y_test"] < 5, arrays["y_test"] >= 5
    return (
        prep(arrays["x_train"][old_tr]),
        prep(arrays["x_train"][new_tr]),
        prep(arrays["x_test"][old_te]),
        prep(arrays["x_test"][new_te]),
    )


def finetune_optimizer(mode: str, vae):
    import keras

    from keras_gen.optimizers import LRMultiplier

    adam = keras.optimizers.Adam(1e-3)
    if mode == "plain":
        return adam
    m = {"slow encoder (0.1x)": 0.1, "frozen encoder (0x)": 0.0}[mode]
    # Zoo variables live under "encoder/" and "decoder/": the encoder is its body and the
    # two heads of q(z|x).
    return LRMultiplier(adam, {"encoder/.*": m})


def main(argv=None):
    args = parse_args(argv)
    import keras

    from keras_gen import presets

    x_old, x_new, t_old, t_new = load_split(args.data)
    x_new = x_new[: args.finetune_examples]
    load_before = common.load_average()
    start = time.perf_counter()

    def score(model):
        kw = {"batch_size": 500, "verbose": 0, "return_dict": True}
        return model.evaluate(t_old, **kw)["loss"], model.evaluate(t_new, **kw)["loss"]

    keras.utils.set_random_seed(0)
    preset = presets.get("vae")  # dense VAE, latent 16
    vae = preset.build(image_shape=(28, 28, 1), seed=0)
    preset.compile(vae, learning_rate=1e-3)
    vae.fit(x_old, batch_size=args.batch_size, epochs=args.train_epochs, verbose=0)
    results = {"trained on 0-4 (before fine-tuning)": score(vae)}
    path = Path(tempfile.mkdtemp()) / "vae_digits_0_4.keras"
    vae.save(path)

    for mode in ("plain", "slow encoder (0.1x)", "frozen encoder (0x)"):
        keras.utils.set_random_seed(1)
        model = keras.saving.load_model(path)
        model.compile(optimizer=finetune_optimizer(mode, model))
        model.fit(x_new, batch_size=args.batch_size, epochs=args.finetune_epochs, verbose=0)
        results[f"fine-tuned on 5-9, {mode}"] = score(model)
    elapsed = time.perf_counter() - start

    rows = [
        "| model | test -ELBO digits 0-4 | test -ELBO digits 5-9 |",
        "|---|---|---|",
        *(f"| {name} | {a:.2f} | {b:.2f} |" for name, (a, b) in results.items()),
    ]
    print("\n".join(rows))
    if not args.no_record:
        lines = [
            f"- Command: `{common.command_line()}`",
            *common.machine_lines(),
            f"- Load average (1/5/15 min) before: {load_before}; after: {common.load_average()}",
            f"- Setup: VAE((28, 28, 1), latent_dim=16), MLP (512, 256), Bernoulli likelihood "
            f"on intensities in [0, 1]; {args.train_epochs} epochs on the {len(x_old)} "
            f"training digits 0-4, then {args.finetune_epochs} epochs on "
            f"{len(x_new)} training digits 5-9; Adam 1e-3, batch {args.batch_size}; "
            f"nats per image on the MNIST test set; total {elapsed:.0f} s",
            "",
            *rows,
        ]
        common.append_results(
            "Fine-tuning with LRMultiplier (benchmarks/finetune_example.py)", lines
        )
    return results


if __name__ == "__main__":
    main()
