"""``keras-gen generate MODEL.keras``: outputs of a text model.

An :class:`~keras_gen.zoo.capabilities.InputConditional` model answers each ``--text``
(a second line for a first line, a title for a news text); a text
:class:`~keras_gen.zoo.capabilities.Generator` (the sentence VAE) samples ``--n``
sentences, or, when it is :class:`~keras_gen.zoo.capabilities.Autoencoding`,
interpolates between two ``--text`` in its code space.
"""

from __future__ import annotations

import argparse
import inspect
import json
from typing import Any

import numpy as np

from keras_gen.cli.common import CLIError, accepted, is_text_model, load_model
from keras_gen.cli.train import text_lines
from keras_gen.zoo.capabilities import Autoencoding, Generator, InputConditional

# Options of the models' generate methods, by flag; passed only where a model takes them.
OPTIONS = {
    "beam_width": "--beam-width",
    "couplet": "--couplet",
    "num_samples": "--num-samples",
    "temperature": "--temperature",
    "max_length": "--max-length",
}


def _given_options(args: argparse.Namespace, fn, owner: str) -> dict:
    """The options the user gave; an error for one that ``fn`` does not take."""
    given = {k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None}
    parameters = inspect.signature(fn).parameters
    for key in given:
        if key not in parameters:
            raise CLIError(f"{OPTIONS[key]} does not apply to a {owner}")
    return given


def _interpolate(model, a: str, b: str, steps: int, options: dict) -> list[str]:
    codes = np.asarray(model.encode([a, b]), "float32")
    t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    return list(model.decode((1.0 - t) * codes[0] + t * codes[1], **options))


def cmd_generate(args: argparse.Namespace) -> int:
    model = load_model(args.model, (InputConditional, Generator))
    owner = type(model).__name__
    texts = args.text or []
    result: Any
    if isinstance(model, InputConditional):
        if not texts:
            raise CLIError(f"--text is required for a {owner}")
        options = _given_options(args, model.generate_from, owner)
        options.update(accepted(model.generate_from, {"seed": args.seed}))
        result = dict(zip(texts, model.generate_from(texts, **options)))
    elif is_text_model(model):
        if not texts:
            options = _given_options(args, model.generate, owner)
            result = list(model.generate(args.n, seed=args.seed, **options))
        elif len(texts) == 2 and isinstance(model, Autoencoding):
            options = _given_options(args, model.decode, owner)
            result = _interpolate(model, texts[0], texts[1], args.steps, options)
        else:
            raise CLIError(f"a {owner} takes no --text (samples) or two (an interpolation)")
    else:
        raise CLIError(
            f"{args.model!r} holds a {owner}, which generates images: use 'keras-gen sample'"
        )
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print("\n".join(text_lines(result)))
    return 0
