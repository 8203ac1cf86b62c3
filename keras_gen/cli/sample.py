"""``keras-gen sample MODEL.keras``: samples of any generator, a grid of images or text."""

from __future__ import annotations

import argparse

import numpy as np

from keras_gen import callbacks
from keras_gen.cli.common import CLIError, is_text_model, load_model, sampling_options, write_text
from keras_gen.zoo.capabilities import Generator, is_label_conditional


def cmd_sample(args: argparse.Namespace) -> int:
    model = load_model(args.model, Generator)
    conditional = is_label_conditional(model)
    options = sampling_options(model)
    if args.label is not None:
        if not conditional:
            raise CLIError(
                f"--label is only for class-conditional models; {args.model!r} holds a "
                f"{type(model).__name__}"
            )
        if not 0 <= args.label < int(model.num_classes):
            raise CLIError(f"--label must be in [0, {int(model.num_classes)}); got {args.label}")
    if conditional:
        options["labels"] = args.label  # None: random classes
    samples = model.generate(args.n, seed=args.seed, **options)
    if is_text_model(model):
        lines = [str(s) for s in samples]
        print("\n".join(lines))
        if args.out is not None:
            write_text(args.out, "".join(f"{line}\n" for line in lines))
        return 0
    # Linear autoencoders decode to unbounded values: clip them for the picture.
    path = callbacks.save_image_grid(args.out or "grid.png", np.clip(samples, 0.0, 1.0))
    print(f"wrote {path} ({args.n} samples)")
    return 0
