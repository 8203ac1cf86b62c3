"""``keras-gen train NAME``: any preset of the registry, image or text, with its later stages.

Writes ``DIR/model.keras`` (model and optimizer state; a VQ-VAE carries its prior),
``DIR/metrics.json`` (the preset, the hyperparameters used, the history per epoch, the
test-split evaluation, precision, replicas, wall time, versions) and samples: image
grids in ``DIR/samples/``, text in ``metrics.json`` and ``DIR/samples.txt``.

Where the model comes from is a :class:`ModelSource`: a new model built from the preset,
the run directory's model (``--resume``), or a trained preset (``keras-gen finetune``,
:mod:`keras_gen.cli.finetune`); :func:`train_run` does the rest, the same for all three.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_gen import callbacks, pipelines, presets
from keras_gen.cli import datasets
from keras_gen.cli.common import (
    METRICS_FILE,
    MODEL_FILE,
    SAMPLES_DIR,
    TEXT_SAMPLES_FILE,
    CLIError,
    accepted,
    floats,
    learning_rates,
    load_model,
    optimizers_of,
    read_json,
    verbose,
    versions,
    write_json,
    write_text,
)
from keras_gen.cli.progress import LongEpochLines
from keras_gen.io import save_model_atomic
from keras_gen.training import distribute
from keras_gen.zoo.capabilities import (
    Autoencoding,
    Generator,
    InputConditional,
    KLWeighted,
    is_label_conditional,
)

OPTIMIZER_KEYS = ("optimizer", "g_optimizer", "d_optimizer")
# What metrics.json says about where a run's model came from: kept when the run is resumed.
CARRIED_KEYS = ("finetuned_from", "finetune")


@dataclasses.dataclass
class ModelSource:
    """Where the model of a run comes from, for :func:`train_run`.

    Args:
        make: ``make(data)`` builds or loads the compiled model; called in the run's
            distribution strategy scope and dtype policy, after the data is loaded.
        recipe: the compile recipe the model trains with, as data (for ``metrics.json``).
        warm_up_kl: whether the preset's KL warm-up runs (not for a trained model).
        record: entries ``metrics.json`` gets besides, called once the model is trained.

    >>> source = ModelSource(lambda data: None, {"optimizer": presets.adam(1e-3)})
    >>> source.warm_up_kl, source.record()
    (True, {})
    """

    make: Callable[[Any], keras.Model]
    recipe: dict
    warm_up_kl: bool = True
    record: Callable[[], dict] = dict


def previous_run(out: Path, args: argparse.Namespace) -> dict:
    """Check the run directory against --resume/--overwrite; return the old metrics."""
    model_file = out / MODEL_FILE
    if args.resume:
        if not model_file.is_file():
            raise CLIError(f"--resume: {out} holds no {MODEL_FILE} to resume from")
        metrics_file = out / METRICS_FILE
        previous = read_json(metrics_file) if metrics_file.is_file() else {}
        if previous.get("model", args.model) != args.model:
            raise CLIError(f"--resume: {out} holds a {previous['model']!r} run, not {args.model!r}")
        return previous
    if model_file.exists() and not args.overwrite:
        raise CLIError(
            f"{model_file} already exists; pass --resume to continue training it "
            "or --overwrite to start again"
        )
    return {}


def _check_flags(preset: presets.Preset, args: argparse.Namespace) -> None:
    if args.latent_dim is not None and not preset.accepts("latent_dim"):
        raise CLIError(f"--latent-dim: {preset.model} (preset {preset.name!r}) has no latent_dim")


def _new_model(preset: presets.Preset, data, args: argparse.Namespace) -> keras.Model:
    overrides = data.build_overrides(preset)
    if args.latent_dim is not None:
        overrides["latent_dim"] = args.latent_dim
    if args.seed is not None and preset.accepts("seed"):
        overrides["seed"] = args.seed
    model = preset.build(**overrides)
    preset.compile(model, learning_rate=args.lr)
    return model


def _resumed_model(path: Path, preset: presets.Preset, data, args) -> keras.Model:
    model = load_model(path)
    if not isinstance(model, preset.model_class):
        raise CLIError(
            f"--resume: {path} holds a {type(model).__name__}, not the {preset.model} of "
            f"preset {preset.name!r}"
        )
    saved_dim = model.get_config().get("latent_dim")
    if args.latent_dim is not None and args.latent_dim != saved_dim:
        raise CLIError(
            f"--resume: the saved model has latent_dim {saved_dim}; "
            f"got --latent-dim {args.latent_dim}"
        )
    data.check_model(model)
    if args.lr is not None:
        for optimizer in optimizers_of(model).values():
            optimizer.learning_rate = args.lr
    return model


def _sample_grid(model, out_dir: Path, test_ds, every: int) -> callbacks.SampleGrid:
    """Fixed-latent sample grids (and reconstructions of test images) about ten times a run."""
    conditional = is_label_conditional(model)
    # A class-conditional grid has one column per class (SampleGrid's default labels).
    n = 8 * int(model.num_classes) if conditional else 64
    reconstruct = None
    if test_ds is not None and isinstance(model, Autoencoding):
        batch = next(iter(test_ds.take(1)))
        if conditional:
            reconstruct = (np.asarray(batch[0])[:32], np.asarray(batch[1])[:32])
        else:
            reconstruct = np.asarray(batch)[:32]
    return callbacks.SampleGrid(out_dir, every=every, n=n, seed=0, reconstruct=reconstruct)


def _text_samples(model, data) -> dict | list:
    """A few outputs of a text model: for the first training inputs, or unconditional."""
    if isinstance(model, InputConditional):
        inputs = data.sample_inputs()
        outputs = model.generate_from(inputs, **accepted(model.generate_from, {"seed": 0}))
        return dict(zip(inputs, outputs))
    if isinstance(model, Generator):
        return list(model.generate(5, seed=0))
    return []


def text_lines(samples: dict | list) -> list[str]:
    """``input<TAB>output`` lines (one per output), or the samples one a line.

    >>> text_lines({"春风": ["秋月", "夏雨"]})
    ['春风\\t秋月', '春风\\t夏雨']
    """
    if isinstance(samples, Mapping):
        return [
            f"{source}\t{o}"
            for source, outs in samples.items()
            for o in ([outs] if isinstance(outs, str) else outs)
        ]
    return [str(s) for s in samples]


def _history(start: int, history: Mapping) -> list[dict]:
    epochs = len(next(iter(history.values()), []))
    return [
        {"epoch": start + i + 1, **{k: float(v[i]) for k, v in history.items()}}
        for i in range(epochs)
    ]


def _recipe(preset: presets.Preset, lr: float | None) -> dict:
    return recipe_with_lr(preset.to_dict()["recipe"], lr)


def recipe_with_lr(recipe: Mapping, lr: float | None) -> dict:
    """``recipe`` (as data) with every optimizer's learning rate replaced by ``lr``, if given.

    >>> recipe_with_lr({"optimizer": presets.adam(1e-3), "loss": "mse"}, 5e-4)
    {'optimizer': {'class': 'Adam', 'learning_rate': 0.0005}, 'loss': 'mse'}
    """
    recipe = dict(recipe)
    for key in OPTIMIZER_KEYS:
        if lr is not None and isinstance(recipe.get(key), Mapping):
            recipe[key] = presets.with_learning_rate(recipe[key], lr)
    return recipe


def _run_stages(model, preset, data, args, previous: dict, verbosity: int) -> dict:
    """Train the preset's later stages on ``model``; their histories and test numbers."""
    results = {}
    for name in preset.stages:
        stage = preset.stage(name)
        x_train, x_test = data.arrays()
        result = pipelines.run_stage(
            name,
            model,
            preset,
            x_train,
            x_test,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            verbose=verbosity,
        )
        before = previous.get("stages", {}).get(name, {}).get("history", [])
        results[name] = {
            "model_class": type(result.prior).__name__,
            "epochs": args.epochs if args.epochs is not None else stage.epochs,
            "batch_size": args.batch_size if args.batch_size is not None else stage.batch_size,
            "learning_rates": learning_rates(result.prior),
            "recipe": _recipe(stage, args.lr),
            "history": before + _history(len(before), result.history),
            "test": floats(result.metrics),
        }
    return results


def cmd_train(args: argparse.Namespace) -> int:
    """``keras-gen train NAME``: a new model of a preset, or ``--resume`` the run's model.

    >>> cmd_train(build_parser().parse_args(["train", "vae"]))  # doctest: +SKIP
    0
    """
    try:
        preset = presets.get(args.model)
    except ValueError as err:
        raise CLIError(
            f"unknown model {args.model!r}; known models: {', '.join(presets.names())}"
        ) from err
    out = Path(args.out) if args.out is not None else Path("runs") / preset.name
    previous = previous_run(out, args)
    _check_flags(preset, args)
    if args.resume:
        # The recipe the saved optimizer was built from (a fine-tuned run's included).
        recipe = previous.get("hyperparameters", {}).get("recipe") or _recipe(preset, None)
        source = ModelSource(
            lambda data: _resumed_model(out / MODEL_FILE, preset, data, args),
            recipe_with_lr(recipe, args.lr),
            warm_up_kl=False,  # a resumed model carries its schedule (of the optimizer step)
        )
    else:
        source = ModelSource(lambda data: _new_model(preset, data, args), _recipe(preset, args.lr))
    return train_run(args, preset, out, previous, source)


def train_run(
    args: argparse.Namespace,
    preset: presets.Preset,
    out: Path,
    previous: dict,
    source: ModelSource,
) -> int:
    """Train the model of ``source`` on the run's data; write ``out``'s files; print a summary.

    ``args`` holds the training options of ``keras-gen train`` (epochs, batch size, data,
    precision, ...); ``previous`` the metrics of the run it continues (``{}`` for a new run).

    >>> source = ModelSource(lambda data: _new_model(preset, data, args), {})  # doctest: +SKIP
    >>> train_run(args, preset, Path("runs/vae"), {}, source)  # doctest: +SKIP
    0
    """
    started = time.perf_counter()
    epochs = args.epochs if args.epochs is not None else preset.epochs
    batch_size = args.batch_size if args.batch_size is not None else preset.batch_size

    strategy = distribute.make_strategy(args.distribute)
    precision = distribute.resolve_precision(args.precision, preset.precision_architecture)
    chief = distribute.is_chief()
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    data = datasets.training_data(preset, args, batch_size)

    # Keras' multi-worker saving needs every worker to save: the others write to a temp dir.
    write_dir = out if chief else Path(tempfile.mkdtemp(prefix="keras-gen-worker-"))
    try:
        with strategy.scope(), distribute.precision_policy(precision):
            model = source.make(data)
        fit_args, fit_kwargs = data.fit_inputs(model, batch_size)

        # A NaN or infinite loss stops the run with an error: nothing broken is saved.
        extra, grid = [callbacks.StopOnNonFinite()], None
        if data.kind == "images" and isinstance(model, Generator):
            grid = _sample_grid(model, write_dir / SAMPLES_DIR, data.test, max(1, epochs // 10))
            if not preset.stages and chief:  # staged models sample once their stages are done
                extra.append(grid)
        warmup_steps = 0
        if isinstance(model, KLWeighted) and preset.kl_warmup > 0 and source.warm_up_kl:
            total = data.steps_per_epoch(batch_size) * epochs
            warmup_steps = max(1, round(preset.kl_warmup * total))
            extra.append(callbacks.KLAnnealing(warmup_steps=warmup_steps))
        if verbose() == 2:  # a log, not a terminal: also a line each minute of a long epoch
            extra.append(LongEpochLines())
        if getattr(args, "logdir", None) and chief:
            extra.append(callbacks.TensorBoardScalars(args.logdir))

        history_before = list(previous.get("history", []))
        initial_epoch = len(history_before)
        start = time.perf_counter()
        history = model.fit(
            *fit_args,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            callbacks=extra,
            verbose=verbose(),
            **fit_kwargs,
        )
        with strategy.scope(), distribute.precision_policy(precision):
            stages = _run_stages(model, preset, data, args, previous, verbose())
        train_time = time.perf_counter() - start
        if grid is not None and preset.stages and chief:
            grid.set_model(model)
            grid.write("final")

        test = None
        if data.test is not None:
            test = floats(model.evaluate(data.test, return_dict=True, verbose=0))
        save_model_atomic(model, write_dir / MODEL_FILE)

        if data.kind == "images":
            written = grid.paths if grid is not None else []
            samples = [f"{SAMPLES_DIR}/{Path(p).name}" for p in written]
        else:
            samples = _text_samples(model, data)
            write_text(
                write_dir / TEXT_SAMPLES_FILE, "".join(f"{s}\n" for s in text_lines(samples))
            )
        new_epochs = _history(initial_epoch, history.history)
        wall = round(time.perf_counter() - started, 3)
        run = {
            "args": {k: v for k, v in vars(args).items() if k not in ("func", "command")},
            "epochs": [initial_epoch + 1, initial_epoch + len(new_epochs)],
            "wall_time_s": wall,
            "train_time_s": round(train_time, 3),
        }
        config = {k: v for k, v in model.get_config().items() if k != "vocabulary"}
        metrics = {
            "model": preset.name,
            "model_class": type(model).__name__,
            "preset": preset.to_dict(),
            **{key: previous[key] for key in CARRIED_KEYS if key in previous},
            **source.record(),
            "args": run["args"],
            "hyperparameters": {
                "epochs": epochs,
                "batch_size": batch_size,
                "learning_rates": learning_rates(model),
                "recipe": source.recipe,
                "seed": args.seed,
                "limit": args.limit,
                "kl_warmup_steps": warmup_steps,
                "config": config,
                "stages": {
                    name: {k: s[k] for k in ("epochs", "batch_size", "learning_rates", "recipe")}
                    for name, s in stages.items()
                },
            },
            **data.record(),
            "precision": model.dtype_policy.name,
            "num_replicas": int(strategy.num_replicas_in_sync),
            "optimizer_iterations": int(model.optimizer.iterations.numpy()),
            "history": history_before + new_epochs,
            "test": test,
            "stages": {
                name: {k: s[k] for k in ("model_class", "history", "test")}
                for name, s in stages.items()
            },
            "samples": samples,
            "wall_time_s": wall,
            "total_wall_time_s": round(float(previous.get("total_wall_time_s", 0.0)) + wall, 3),
            "runs": [*previous.get("runs", []), run],
            "versions": versions(),
        }
        write_json(write_dir / METRICS_FILE, metrics)
    finally:
        if not chief:
            shutil.rmtree(write_dir, ignore_errors=True)

    if chief:
        print(
            f"saved {out / MODEL_FILE} after epoch {initial_epoch + len(new_epochs)} "
            f"({metrics['precision']}, {metrics['num_replicas']} replica(s), {wall:.0f} s)"
        )
        for name, values in [("test", test or {})] + [(n, s["test"]) for n, s in stages.items()]:
            if values:
                print(f"{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
    return 0
