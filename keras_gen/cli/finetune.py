"""``keras-gen finetune PRESET``: train a trained preset further on new data.

PRESET is a registered preset that ships weights (``keras-gen presets``), a preset folder
(``presets.save_to_preset``), an ``https://`` / ``file://`` URL of one (with
``--sha256``), or the ``model.keras`` of a ``keras-gen`` run (the ``metrics.json`` beside
it names its preset). A ``.keras`` file without that record is refused: its recipe is not
known, so save it as a preset folder first (``presets.save_to_preset(model, DIR,
preset=NAME)``). The preset of the model card (or of the run) compiles the loaded weights
with its recipe, changed in two ways:

- every optimizer gets a constant learning rate, ``--lr`` or a tenth of the recipe's peak
  rate (a schedule such as a cosine over 400 epochs is for training from scratch, and
  ``benchmarks/finetune_presets.py`` measured the full rate undoing much of what the
  preset knew within 100 steps);
- ``--lr-multiplier PATTERN=FACTOR`` and ``--freeze PATTERN`` (factor 0: the weights stay
  bit-identical) wrap the base optimizer of each optimizer in
  :class:`~keras_gen.optimizers.LRMultiplier`, inside an EMA or Lookahead (which must
  wrap it). Patterns are regexes searched in ``variable.path`` (``^encoder/``), the first
  match wins; a GAN's two optimizers each get the patterns that match their player's
  variables. Frozen layers' BatchNormalization statistics still follow the new data.

The run folder is an ordinary ``keras-gen train`` run
(:func:`keras_gen.cli.train.train_run` writes it): ``keras-gen sample/evaluate/generate
DIR/model.keras`` and ``keras-gen train NAME --resume --out DIR`` work on it. Its
``metrics.json`` adds ``finetuned_from`` (source, weights sha256, preset name) and
``finetune`` (learning rates, multipliers, frozen patterns; text: the OOV rate); for a
``.keras`` source, ``weights_sha256`` is the sha256 of that file. A KL
warm-up is not run again: a trained model's KL weight stays at its end value.

Text presets keep their vocabulary (the embeddings and output layer are sized by it):
tokens of the new data that it lacks map to ``[UNK]``; the command prints their share.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import keras

from keras_gen import presets
from keras_gen.callbacks.annealing import KLWarmup
from keras_gen.cli.common import (
    CLIError,
    is_text_model,
    training_metrics,
)
from keras_gen.cli.finetune_arguments import (  # the parser imports them without Keras
    add_finetune_arguments,  # noqa: F401
    frozen,  # noqa: F401
    lr_multiplier,  # noqa: F401
)
from keras_gen.cli.train import OPTIMIZER_KEYS, ModelSource, previous_run, train_run
from keras_gen.optimizers.base import matches
from keras_gen.presets import checkpoints
from keras_gen.text.vocab import END, START
from keras_gen.training import distribute
from keras_gen.zoo.capabilities import KLWeighted

# --- the trained model --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Origin:
    """A trained model to fine-tune: its file or folder, and the preset that compiles it."""

    source: str
    path: Path
    preset: presets.Preset
    weights_sha256: str | None


def resolve(source: str, sha256: str | None = None) -> Origin:
    """Where ``source`` (see the module docstring) is, and the preset whose recipe it uses.

    >>> resolve("no-such-preset")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    keras_gen.cli.common.CLIError: 'no-such-preset' is neither a preset name ...
    """
    if "://" in source and sha256 is None:
        raise CLIError(f"a preset URL needs its sha256: pass --sha256 HEX ({source})")
    try:
        path = checkpoints.locate(source, file_hash=sha256)
    except presets.PresetError as err:
        raise CLIError(str(err)) from None
    registered = "://" not in source and not Path(source).exists()  # a registered name
    if path.is_file():
        if path.suffix != ".keras":
            raise CLIError(f"{source!r} is neither a preset folder nor a .keras file")
        record = training_metrics(path).get("preset")
        if not record:
            raise CLIError(
                f"{source!r} is a .keras file without the metrics.json of its keras-gen run "
                "beside it, so its recipe is unknown; fine-tune a preset folder instead "
                "(presets.save_to_preset(model, DIR, preset=NAME))"
            )
        sha = checkpoints.sha256_of(path)
    else:
        try:
            card = checkpoints.read_metadata(path)
        except presets.PresetError as err:
            raise CLIError(str(err)) from None
        record = card.get("preset")
        if not record and not registered:
            raise CLIError(
                f"the model card of {source!r} names no preset, so its recipe is unknown; "
                "save it with presets.save_to_preset(model, DIR, preset=NAME)"
            )
        sha = card.get("weights_sha256")
    try:
        preset = presets.get(source) if registered else presets.Preset.from_dict(record)
    except (KeyError, TypeError, ValueError) as err:
        raise CLIError(f"the preset recorded for {source!r} is not valid: {err}") from None
    return Origin(source, path, preset, sha)


def _optimizer_variables(model, keys: Iterable[str]) -> dict[str, list]:
    """The variables each optimizer of the recipe updates."""
    if "g_optimizer" in keys:
        return {
            "g_optimizer": list(model.generator_variables),
            "d_optimizer": list(model.discriminator_variables),
        }
    return {"optimizer": list(model.trainable_variables)}


def patterns_by_optimizer(
    variables: Mapping[str, Sequence], multipliers: Sequence[tuple[str, float]], what: str
) -> dict[str, list[list]]:
    """``multipliers`` split by optimizer: those matching a variable it updates.

    A pattern that matches no variable at all is a user error (a typo would train that
    layer at the full rate).

    >>> v = keras.Variable(1.0, name="kernel")
    >>> patterns_by_optimizer({"optimizer": [v]}, [("kernel", 0.0)], "the model")
    {'optimizer': [['kernel', 0.0]]}
    """
    every = [v for group in variables.values() for v in group]
    for pattern, _ in multipliers:
        if not any(matches(pattern, v) for v in every):
            paths = [v.path for v in every]
            shown = ", ".join(paths[:6]) + (", ..." if len(paths) > 6 else "")
            raise CLIError(
                f"pattern {pattern!r} matches no trainable variable of {what} (regexes are "
                f"searched in variable paths: {shown}; {len(paths)} in all)"
            )
    return {
        key: [[p, m] for p, m in multipliers if any(matches(p, v) for v in group)]
        for key, group in variables.items()
    }


def wrap_multipliers(spec: Mapping, multipliers: Sequence) -> dict:
    """``spec`` with its base optimizer wrapped in an ``LRMultiplier`` (inside any wrapper).

    >>> spec = wrap_multipliers(presets.ema(presets.adam(1e-3)), [["^encoder/", 0.0]])
    >>> spec["class"], spec["optimizer"]["class"], spec["optimizer"]["optimizer"]["class"]
    ('EMA', 'LRMultiplier', 'Adam')
    """
    spec = dict(spec)
    if "optimizer" in spec:  # EMA, Lookahead, ...: they read the weights, so they wrap it
        spec["optimizer"] = wrap_multipliers(spec["optimizer"], multipliers)
        return spec
    return {
        "class": "LRMultiplier",
        "optimizer": spec,
        "multipliers": [list(m) for m in multipliers],
    }


def finetune_recipe(
    preset: presets.Preset, rates: Mapping[str, float], multipliers: Mapping[str, list]
) -> dict:
    """The preset's recipe (as data) with constant ``rates`` and ``multipliers`` per optimizer.

    >>> finetune_recipe(presets.get("vae"), {"optimizer": 1e-4}, {"optimizer": []})
    {'optimizer': {'class': 'Adam', 'learning_rate': 0.0001}}
    """
    recipe = preset.to_dict()["recipe"]
    for key in OPTIMIZER_KEYS:
        spec = recipe.get(key)
        if spec is None:
            continue
        if not isinstance(spec, Mapping):
            raise CLIError(f"preset {preset.name!r}: its {key} is not an optimizer spec: {spec!r}")
        if rates.get(key) is not None:
            spec = presets.with_learning_rate(spec, rates[key], constant=True)
        if multipliers.get(key):
            spec = wrap_multipliers(spec, multipliers[key])
        recipe[key] = spec
    return recipe


def oov_count(vocab, texts: Iterable[Iterable[str]]) -> tuple[int, int]:
    """(unknown, all) tokens of the text groups ``texts`` under the vocabulary ``vocab``.

    >>> from keras_gen.text import TextVocabulary
    >>> oov_count(TextVocabulary.build(["春风"]), [["春雨"], ["风"]])
    (1, 3)
    """
    known = {*vocab.tokens, START, END}
    tokens = [t for group in texts for text in group for t in vocab.tokenize(text)]
    return sum(t not in known for t in tokens), len(tokens)


def _with_precision(model, policy: str):
    """``model`` rebuilt under the dtype policy ``policy`` (a preset is saved in float32)."""
    if model.dtype_policy.name == policy:
        return model
    config = {**model.get_config(), "dtype": policy}
    twin = type(model).from_config(config)
    twin.set_weights(model.get_weights())  # the variables stay float32 under mixed policies
    return twin


# --- the command --------------------------------------------------------------------------


def cmd_finetune(args: argparse.Namespace) -> int:
    """``keras-gen finetune PRESET --data DATA --epochs N``: see the module docstring.

    >>> from keras_gen.cli import build_parser
    >>> args = build_parser().parse_args(
    ...     ["finetune", "runs/vae/model.keras", "--data", "mnist_mini", "--epochs", "1"]
    ... )
    >>> cmd_finetune(args)  # doctest: +SKIP
    0
    """
    origin = resolve(args.model, args.sha256)
    preset = origin.preset
    out = Path(args.out) if args.out is not None else Path("runs") / f"{preset.name}-finetuned"
    previous = previous_run(out, args)
    multipliers = [tuple(m) for m in args.multipliers or []]
    record = {
        "finetuned_from": {
            "source": origin.source,
            "weights_sha256": origin.weights_sha256,
            "preset": preset.name,
        },
        "finetune": {
            "learning_rates": {},
            "lr_multipliers": [[p, m] for p, m in multipliers if m != 0.0],
            "frozen": [p for p, m in multipliers if m == 0.0],
        },
    }

    def make(data) -> keras.Model:
        try:
            model = presets.load(origin.path, compile=False)
        except presets.PresetError as err:
            raise CLIError(str(err)) from None
        if not isinstance(model, preset.model_class):
            raise CLIError(
                f"{origin.source!r} holds a {type(model).__name__}, not the {preset.model} "
                f"of its preset {preset.name!r}"
            )
        model = _with_precision(model, keras.config.dtype_policy().name)
        data.check_model(model)
        if isinstance(model, KLWeighted) and isinstance(model.beta, KLWarmup):
            model.beta = model.beta.end  # warmed up already: the fresh optimizer starts at 0
        keys = [k for k in OPTIMIZER_KEYS if k in preset.recipe]
        by_key = patterns_by_optimizer(
            _optimizer_variables(model, keys), multipliers, f"the {type(model).__name__}"
        )
        peaks = preset.learning_rates()
        rates = {k: args.lr if args.lr is not None else _default_rate(peaks.get(k)) for k in keys}
        source.recipe = finetune_recipe(preset, rates, by_key)
        dataclasses.replace(preset, recipe=source.recipe).compile(model)
        record["finetune"]["learning_rates"] = {k: r for k, r in rates.items() if r is not None}
        if is_text_model(model):
            unknown, total = oov_count(model.vocab, data.texts)
            rate = unknown / total if total else 0.0
            record["finetune"]["oov"] = {"rate": rate, "unknown": unknown, "tokens": total}
            if distribute.is_chief():
                print(f"OOV rate of the fine-tuning data: {rate:.1%} of {total:,} tokens")
        return model

    source = ModelSource(make, recipe={}, warm_up_kl=False, record=lambda: record)
    return train_run(args, preset, out, previous, source)


FINETUNE_RATE_FACTOR = 0.1


def _default_rate(peak: float | None) -> float | None:
    """The default fine-tuning rate: a tenth of the recipe's peak rate."""
    return None if peak is None else float(f"{peak * FINETUNE_RATE_FACTOR:.7g}")
