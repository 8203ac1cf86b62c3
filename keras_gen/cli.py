"""The ``keras-gen`` command: train, sample from and evaluate zoo models.

Usage examples::

    keras-gen models                                  # the model names, one line each
    keras-gen train vae                               # mnist_mini, about a minute on a CPU
    keras-gen train conv-vae --data mnist --epochs 30 --out runs/conv-vae
    keras-gen train cvae --data path/to/images.npz --precision float32
    keras-gen train vae --resume --epochs 10          # 10 more epochs, same optimizer state
    keras-gen train vae --overwrite                   # start again in runs/vae
    keras-gen sample runs/vae/model.keras --n 64 --out grid.png --seed 0
    keras-gen sample runs/cvae/model.keras --label 3
    keras-gen evaluate runs/vae/model.keras --num-samples 1000
    keras-gen evaluate runs/vae/model.keras --data mnist --limit 2000 --json
    keras-gen train couplet-tagger                    # text models: see keras_gen/cli_text.py
    keras-gen generate runs/couplet-tagger/model.keras --text "春风得意马蹄疾"

``train`` writes ``DIR/model.keras`` (model and optimizer state), sample grids in
``DIR/samples/`` and ``DIR/metrics.json`` (arguments, history per epoch, test-split
evaluation, precision, replicas, wall time, versions). Errors in what the user gave
(unknown names, missing files, wrong image shapes, NaN data, an occupied run
directory) print one line, ``keras-gen: error: ...``, and exit with status 2.

The same entry point runs in-process::

    >>> from keras_gen.cli import main
    >>> main(["models"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_gen import callbacks, cli_text, data, zoo
from keras_gen.io import atomic_write, save_model_atomic
from keras_gen.pipelines import vqvae_prior as vqvae_pipeline
from keras_gen.training import distribute

PROG = "keras-gen"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"


class CLIError(Exception):
    """A user error: printed as one line ``keras-gen: error: ...`` with exit status 2."""


# --- the model registry ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """How the CLI builds one zoo model, and its defaults for ``train``."""

    cls: type
    description: str
    kwargs: dict[str, Any]
    latent_dim: int
    # Chosen so that `keras-gen train NAME` on mnist_mini takes about a minute on 2 CPU cores
    # (measured with the default precision: mixed_bfloat16 for conv models on this machine).
    epochs: int
    binarize: str = "none"
    uses_labels: bool = False
    seeded: bool = True
    # Adversarial models: compiled with one Adam per player and this loss.
    gan_loss: str | None = None

    @property
    def precision_architecture(self) -> str:
        # What "--precision auto" decides on: the DCGANs are convolutional.
        return "conv" if self.gan_loss else self.kwargs.get("architecture", "mlp")

    def compile(self, model: keras.Model, lr: float | None) -> None:
        if self.gan_loss is None:
            model.compile(optimizer=keras.optimizers.Adam(lr or 1e-3))
            return
        lr = lr or 2e-4  # Radford et al.'s DCGAN settings
        model.compile(
            g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
            d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
            loss=self.gan_loss,
        )

    def build(
        self, input_shape: Sequence[int], latent_dim: int, num_classes: int, seed: int | None
    ) -> keras.Model:
        kwargs = dict(self.kwargs, latent_dim=latent_dim)
        if self.uses_labels:
            kwargs["num_classes"] = num_classes
        if self.seeded:
            kwargs["seed"] = seed
        return self.cls(tuple(input_shape), **kwargs)


MODELS: dict[str, ModelSpec] = {
    "vae": ModelSpec(
        zoo.VAE,
        "variational autoencoder, dense encoder and decoder, Bernoulli likelihood",
        {"architecture": "mlp"},
        latent_dim=16,
        epochs=30,
        binarize="dynamic",
    ),
    "conv-vae": ModelSpec(
        zoo.VAE,
        "variational autoencoder, strided-convolution encoder and decoder",
        {"architecture": "conv", "hidden_units": (256,)},
        latent_dim=16,
        epochs=8,
        binarize="dynamic",
    ),
    "cvae": ModelSpec(
        zoo.CVAE,
        "class-conditional VAE (needs labelled data; sample with --label K)",
        {"architecture": "mlp"},
        latent_dim=16,
        epochs=30,
        binarize="dynamic",
        uses_labels=True,
    ),
    "autoencoder": ModelSpec(
        zoo.Autoencoder,
        "deterministic autoencoder, dense; samples from a Gaussian fit of its codes",
        {"architecture": "mlp"},
        latent_dim=32,
        epochs=20,
        seeded=False,
    ),
    "conv-autoencoder": ModelSpec(
        zoo.Autoencoder,
        "deterministic autoencoder, strided convolutions",
        {"architecture": "conv", "hidden_units": (256,)},
        latent_dim=32,
        epochs=8,
        seeded=False,
    ),
    "denoising-autoencoder": ModelSpec(
        zoo.DenoisingAutoencoder,
        "reconstructs clean images from inputs with Gaussian noise added (sigma 0.3)",
        {"architecture": "mlp", "noise": "gaussian", "noise_level": 0.3},
        latent_dim=32,
        epochs=30,
    ),
    "contractive-autoencoder": ModelSpec(
        zoo.ContractiveAutoencoder,
        "autoencoder with a penalty on the encoder's Jacobian (contraction 0.1)",
        {"architecture": "mlp", "contraction": 0.1},
        latent_dim=16,
        epochs=10,
        seeded=False,
    ),
    "dcgan": ModelSpec(
        zoo.DCGAN,
        "deep convolutional GAN, non-saturating loss (2 epochs on mnist_mini: rough digits)",
        {"filters": (64, 128)},
        latent_dim=100,
        epochs=2,
        gan_loss="non_saturating",
    ),
    "conditional-gan": ModelSpec(
        zoo.ConditionalGAN,
        "class-conditional DCGAN, hinge loss (needs labelled data; sample with --label K)",
        {"filters": (64, 128)},
        latent_dim=100,
        epochs=2,
        uses_labels=True,
        gan_loss="hinge",
    ),
    "linear-autoencoder": ModelSpec(
        zoo.LinearAutoencoder,
        "linear encoder and decoder on squared error: learns the PCA subspace",
        {},
        latent_dim=16,
        epochs=50,
        seeded=False,
    ),
}


def _spec(name: str) -> ModelSpec:
    if name not in MODELS:
        known = ", ".join([*MODELS, *cli_text.TEXT_MODELS])
        raise CLIError(f"unknown model {name!r}; known models: {known}")
    return MODELS[name]


# --- small helpers ----------------------------------------------------------------------


def _binarize(value: str) -> str | None:
    return None if value == "none" else value


def _load_images(source: str, split: str, **kwargs):
    """``data.load_images``, with a failed TFDS download reported as a user error."""
    try:
        return data.load_images(source, split, **kwargs)
    except RuntimeError as err:  # the loader's "could not download or prepare" (offline)
        raise CLIError(str(err)) from err


def _image_shape(ds) -> tuple[int, ...]:
    spec = ds.element_spec[0] if isinstance(ds.element_spec, tuple) else ds.element_spec
    return tuple(int(d) for d in spec.shape[1:])


def _check_shape(given: Sequence[int], expected: Sequence[int], source: str) -> None:
    if tuple(given) != tuple(expected):
        raise CLIError(
            f"images of {source!r} have shape {tuple(given)} (height, width, channels), but "
            f"the model expects {tuple(expected)}"
        )


def _has_split(source: str, split: str) -> bool:
    """Whether ``source`` has ``split``; other problems with the data still raise."""
    try:
        data.load_arrays(source, split, limit=1)
    except ValueError as err:
        if "split" in str(err).lower():
            return False
        raise
    except RuntimeError as err:
        raise CLIError(str(err)) from err
    return True


def _num_classes(source: str, limit: int | None) -> int:
    _, labels = data.load_arrays(source, "train", limit=limit)
    if labels is None:
        raise CLIError(f"this model is class-conditional, but {source!r} has no labels")
    return max(int(labels.max()) + 1, 2)


def _write_json(path: Path, payload: dict) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "x") as f:
            json.dump(payload, f, indent=2, default=_json_default)
            f.write("\n")

    atomic_write(path, write, suffix=".json")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _read_json(path: Path) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise CLIError(f"{path} is not valid JSON: {err}") from err


def _load_model(path: str) -> keras.Model:
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"no such model file: {path!r}")
    try:
        model = keras.saving.load_model(file)
    except (zipfile.BadZipFile, KeyError) as err:
        raise CLIError(f"cannot read {path!r} as a .keras model file: {err}") from err
    if not (hasattr(model, "generate") and hasattr(model, "image_shape")):
        raise CLIError(
            f"{path!r} holds a {type(model).__name__}; expected a keras-gen image model "
            f"({', '.join(sorted({spec.cls.__name__ for spec in MODELS.values()}))})"
        )
    return model


def _versions() -> dict[str, str]:
    backend = keras.backend.backend()
    # The backend module's own version, without naming the backend here.
    return {"keras": keras.version(), backend: importlib.import_module(backend).__version__}


def _floats(values: dict) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()}


def _verbose() -> int:
    return 1 if sys.stdout.isatty() else 2


# --- keras-gen models --------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    specs = {**MODELS, **cli_text.TEXT_MODELS}
    width = max(len(name) for name in specs)
    for name, spec in specs.items():
        print(f"{name:<{width}}  {spec.description}")
    return 0


# --- keras-gen train ---------------------------------------------------------------------


def _previous_run(out: Path, args: argparse.Namespace) -> dict:
    """Check the run directory against --resume/--overwrite; return the old metrics."""
    model_file = out / MODEL_FILE
    if args.resume:
        if not model_file.is_file():
            raise CLIError(f"--resume: {out} holds no {MODEL_FILE} to resume from")
        metrics_file = out / METRICS_FILE
        previous = _read_json(metrics_file) if metrics_file.is_file() else {}
        if previous.get("model", args.model) != args.model:
            raise CLIError(f"--resume: {out} holds a {previous['model']!r} run, not {args.model!r}")
        return previous
    if model_file.exists() and not args.overwrite:
        raise CLIError(
            f"{model_file} already exists; pass --resume to continue training it "
            "or --overwrite to start again"
        )
    return {}


def cmd_train(args: argparse.Namespace) -> int:
    if args.model in cli_text.TEXT_MODELS:
        return cli_text.train(args)
    args.data = args.data or "mnist_mini"
    started = time.perf_counter()
    spec = _spec(args.model)
    out = Path(args.out if args.out is not None else Path("runs") / args.model)
    previous = _previous_run(out, args)
    epochs = args.epochs if args.epochs is not None else spec.epochs
    latent_dim = args.latent_dim if args.latent_dim is not None else spec.latent_dim
    binarize = _binarize(args.binarize if args.binarize is not None else spec.binarize)

    strategy = distribute.make_strategy(args.distribute)
    precision = distribute.resolve_precision(args.precision, spec.precision_architecture)
    chief = distribute.is_chief()
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)

    common = {
        "batch_size": args.batch_size,
        "with_labels": spec.uses_labels,
        "binarize": binarize,
        "seed": args.seed,
        "limit": args.limit,
    }
    train_ds = _load_images(args.data, "train", **common)
    shape = _image_shape(train_ds)
    test_ds = None
    if _has_split(args.data, "test"):
        test_ds = _load_images(args.data, "test", shuffle=False, **common)
    num_classes = _num_classes(args.data, args.limit) if spec.uses_labels else 0

    # Keras' multi-worker saving needs every worker to save: the others write to a temp dir.
    write_dir = out if chief else Path(tempfile.mkdtemp(prefix="keras-gen-worker-"))
    try:
        with strategy.scope(), distribute.precision_policy(precision):
            if args.resume:
                model = _load_model(str(out / MODEL_FILE))
                _check_resumable(model, args, shape)
            else:
                model = spec.build(shape, latent_dim, num_classes, args.seed)
                spec.compile(model, args.lr if args.lr_given or not spec.gan_loss else None)

        history_before = list(previous.get("history", []))
        initial_epoch = len(history_before)
        grid = _sample_grid(model, write_dir / "samples", test_ds, every=max(1, epochs // 10))
        start = time.perf_counter()
        history = model.fit(
            train_ds,
            epochs=initial_epoch + epochs,
            initial_epoch=initial_epoch,
            callbacks=[grid] if chief else [],
            shuffle=False,  # the pipeline shuffles (and Keras ignores this for a tf.data input)
            verbose=_verbose(),
        )
        train_time = time.perf_counter() - start
        test = None
        if test_ds is not None:
            test = _floats(model.evaluate(test_ds, return_dict=True, verbose=0))
        save_model_atomic(model, write_dir / MODEL_FILE)

        new_epochs = [
            {"epoch": initial_epoch + i + 1, **{k: float(v[i]) for k, v in history.history.items()}}
            for i in range(len(history.epoch))
        ]
        run_args = {k: v for k, v in vars(args).items() if k not in ("func", "command", "lr_given")}
        run_args.update(epochs=epochs, binarize=binarize or "none", out=str(out))
        run_args["latent_dim"] = int(model.latent_dim)
        run = {
            "args": run_args,
            "epochs": [initial_epoch + 1, initial_epoch + len(new_epochs)],
            "wall_time_s": round(time.perf_counter() - started, 3),
            "train_time_s": round(train_time, 3),
        }
        metrics = {
            "model": args.model,
            "model_class": type(model).__name__,
            "args": run["args"],
            "data": args.data,
            "binarize": binarize or "none",
            "image_shape": list(shape),
            "latent_dim": int(model.latent_dim),
            "num_classes": int(model.num_classes),
            "precision": model.dtype_policy.name,
            "num_replicas": int(strategy.num_replicas_in_sync),
            "optimizer_iterations": int(model.optimizer.iterations.numpy()),
            "history": history_before + new_epochs,
            "test": test,
            "wall_time_s": run["wall_time_s"],
            "total_wall_time_s": round(
                float(previous.get("total_wall_time_s", 0.0)) + run["wall_time_s"], 3
            ),
            "runs": [*previous.get("runs", []), run],
            "versions": _versions(),
        }
        _write_json(write_dir / METRICS_FILE, metrics)
    finally:
        if not chief:
            shutil.rmtree(write_dir, ignore_errors=True)

    if chief:
        summary = ", ".join(f"{k} {v:.4g}" for k, v in (test or {}).items())
        print(
            f"saved {out / MODEL_FILE} after epoch {initial_epoch + len(new_epochs)} "
            f"({metrics['precision']}, {metrics['num_replicas']} replica(s), "
            f"{run['wall_time_s']:.0f} s)"
        )
        if summary:
            print(f"test: {summary}")
    return 0


def _check_resumable(model: keras.Model, args: argparse.Namespace, shape) -> None:
    if args.latent_dim is not None and args.latent_dim != model.latent_dim:
        raise CLIError(
            f"--resume: the saved model has latent_dim {model.latent_dim}; "
            f"got --latent-dim {args.latent_dim}"
        )
    _check_shape(shape, model.image_shape, args.data)
    if args.lr_given:
        players = (
            getattr(model.optimizer, "generator", None),
            getattr(model.optimizer, "discriminator", None),
        )
        for opt in players if players[0] is not None else (model.optimizer,):
            opt.learning_rate = args.lr


def _sample_grid(model, out_dir: Path, test_ds, every: int):
    """Fixed-latent sample grids (and reconstructions of test images) about ten times a run."""
    num_classes = int(model.num_classes)
    # A class-conditional grid has one column per class (SampleGrid's default labels).
    n = 8 * num_classes if num_classes else 64
    reconstruct = None
    if test_ds is not None and callable(getattr(model, "reconstruct", None)):
        batch = next(iter(test_ds.take(1)))
        if num_classes:
            reconstruct = (np.asarray(batch[0])[:32], np.asarray(batch[1])[:32])
        else:
            reconstruct = np.asarray(batch)[:32]
    return callbacks.SampleGrid(out_dir, every=every, n=n, seed=0, reconstruct=reconstruct)


# --- keras-gen sample --------------------------------------------------------------------


def cmd_sample(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    num_classes = int(getattr(model, "num_classes", 0))
    if args.label is not None:
        if not num_classes:
            raise CLIError(
                f"--label is only for class-conditional models; {args.model!r} holds a "
                f"{type(model).__name__}"
            )
        if not 0 <= args.label < num_classes:
            raise CLIError(f"--label must be in [0, {num_classes}); got {args.label}")
    images = model.generate(args.n, seed=args.seed, labels=args.label)
    # Linear autoencoders decode to unbounded values: clip them for the picture.
    path = callbacks.save_image_grid(args.out, np.clip(images, 0.0, 1.0))
    print(f"wrote {path} ({args.n} samples)")
    return 0


# --- keras-gen evaluate ------------------------------------------------------------------


def _training_metrics(model_path: str) -> dict:
    metrics_file = Path(model_path).parent / METRICS_FILE
    if not metrics_file.is_file():
        return {}
    with contextlib.suppress(OSError, json.JSONDecodeError):
        with open(metrics_file) as f:
            return json.load(f)
    return {}


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    trained = _training_metrics(args.model)
    source = args.data or trained.get("data", "mnist_mini")
    binarize = _binarize(args.binarize or trained.get("binarize", "none"))
    with_labels = bool(getattr(model, "num_classes", 0))
    ds = _load_images(
        source,
        args.split,
        batch_size=args.batch_size,
        with_labels=with_labels,
        binarize=binarize,
        shuffle=False,
        seed=args.seed,
        limit=args.limit,
    )
    _check_shape(_image_shape(ds), model.image_shape, source)
    # One pass over the pipeline, so that the losses and the NLL see the same (binarized) data.
    batches = list(ds.as_numpy_iterator())
    if with_labels:
        x = np.concatenate([b[0] for b in batches])
        y = np.concatenate([b[1] for b in batches])
    else:
        x, y = np.concatenate(batches), None
    terms = _floats(model.evaluate(x, y, batch_size=args.batch_size, return_dict=True, verbose=0))
    result: dict[str, Any] = {
        "model": args.model,
        "data": source,
        "split": args.split,
        "binarize": binarize or "none",
        "num_examples": len(x),
        "terms": terms,
    }
    if hasattr(model, "log_likelihood"):
        log_px = model.log_likelihood(x, y, num_samples=args.num_samples, seed=args.seed)
        nll = -np.asarray(log_px, np.float64)
        result["nll"] = {
            "mean_nats": float(nll.mean()),
            "std_error": float(nll.std(ddof=1) / np.sqrt(len(nll))) if len(nll) > 1 else 0.0,
            "num_samples": args.num_samples,
            "num_examples": len(nll),
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.model} on {source!r} split {args.split!r} ({len(x)} images):")
    width = max(len(k) for k in terms)
    for name, value in terms.items():
        print(f"  {name:<{width}}  {value:.4f}")
    if "nll" in result:
        nll_info = result["nll"]
        print(
            f"  NLL {nll_info['mean_nats']:.2f} +- {nll_info['std_error']:.2f} nats "
            f"(importance-sampled, k={args.num_samples}, N={nll_info['num_examples']})"
        )
    return 0


# --- the parser --------------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage is in --help)."""

    def error(self, message: str):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number; got {text!r}")
    return value


class _LearningRate(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        namespace.lr = values
        namespace.lr_given = True


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Train, sample from and evaluate keras-gen zoo models.",
        epilog="Run 'keras-gen COMMAND --help' for the options of a command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("models", help="list the model names")
    p.set_defaults(func=cmd_models)

    p = commands.add_parser(
        "train",
        help="train a model",
        description="Train a zoo model and write model.keras, metrics.json and sample grids.",
    )
    p.add_argument(
        "model", metavar="MODEL", help=f"one of: {', '.join([*MODELS, *cli_text.TEXT_MODELS])}"
    )
    p.add_argument(
        "--data",
        help="data set name or path (mnist_mini; text models: the ../shared/data files, or "
        "comma-separated paths in the same format)",
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        help="epochs to train, or to add with --resume (default: the model's, "
        "about a minute on mnist_mini)",
    )
    p.add_argument("--batch-size", type=_positive_int, default=128, help="global batch size")
    p.add_argument(
        "--lr", type=_positive_float, default=1e-3, action=_LearningRate, help="Adam learning rate"
    )
    p.add_argument("--latent-dim", type=_positive_int, help="size of the code")
    p.add_argument("--out", help="run directory (runs/MODEL)")
    p.add_argument(
        "--precision",
        default="auto",
        choices=distribute.PRECISIONS,
        help="dtype policy; auto: mixed_bfloat16 for conv models on a CPU with bfloat16 "
        "units (measured 2.2x faster), else float32",
    )
    p.add_argument("--distribute", default="none", choices=distribute.STRATEGIES)
    p.add_argument("--seed", type=int, help="seed for weights, shuffling and noise")
    p.add_argument(
        "--binarize",
        choices=("none", "dynamic"),
        help="draw binary pixels from Bernoulli(x) afresh every epoch "
        "(default: dynamic for the VAEs, none otherwise)",
    )
    p.add_argument(
        "--limit", type=_positive_int, help="use the first N images of each split (quick runs)"
    )
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue training DIR/model.keras")
    again.add_argument("--overwrite", action="store_true", help="replace DIR/model.keras")
    p.set_defaults(func=cmd_train, lr_given=False)

    p = commands.add_parser("sample", help="write a grid of generated images")
    p.add_argument("model", metavar="MODEL.keras")
    p.add_argument("--n", type=_positive_int, default=64, help="number of samples")
    p.add_argument("--out", default="grid.png", help="PNG file to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, help="class to draw (class-conditional models)")
    p.set_defaults(func=cmd_sample)

    p = commands.add_parser(
        "evaluate",
        help="test losses and, for VAEs, the importance-sampled NLL",
        description="Print every loss term on a data split and, for VAEs, the "
        "importance-sampled negative log-likelihood in nats.",
    )
    p.add_argument("model", metavar="MODEL.keras")
    p.add_argument("--data", help="data set name or path (default: the one it was trained on)")
    p.add_argument("--split", default="test", help="data split (test)")
    p.add_argument(
        "--num-samples",
        type=_positive_int,
        default=1000,
        help="importance samples k per example for the NLL",
    )
    p.add_argument("--limit", type=_positive_int, help="use the first N images")
    p.add_argument("--batch-size", type=_positive_int, default=128, help="batch size (128)")
    p.add_argument("--binarize", choices=("none", "dynamic"), help="(default: as in training)")
    p.add_argument("--seed", type=int, default=0, help="seed for binarization and the NLL")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_evaluate)

    p = commands.add_parser(
        "generate",
        help="text from a text model: second lines, titles, sentences",
        description="Generate with a trained text model (CoupletTagger, Seq2Seq, CoupletCVAE, "
        "TextVAE).",
    )
    cli_text.add_generate_arguments(p)
    p.set_defaults(func=cli_text.generate)

    p = commands.add_parser(
        "vqvae",
        help="VQ-VAE -> codes -> PixelCNN prior -> samples in one run "
        "(writes vqvae.keras, prior.keras, samples.png, metrics.json to --out)",
    )
    vqvae_pipeline.add_arguments(p)
    p.set_defaults(func=vqvae_pipeline.run)
    return parser


def _error(message: object) -> int:
    text = " ".join(str(message).split())  # one line, whatever the library's message holds
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``keras-gen`` command line with ``argv`` (default ``sys.argv[1:]``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        return _error(err)
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0
    try:
        return args.func(args)
    except (CLIError, ValueError, FileNotFoundError) as err:
        # The library's ValueError / FileNotFoundError name the argument and what was given.
        return _error(err)
    except OSError as err:  # disk full, permission denied: not a bug, and nothing half-written
        return _error(f"{err.strerror or err}: {err.filename}" if err.filename else err)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
