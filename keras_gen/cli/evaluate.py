"""``keras-gen evaluate MODEL.keras``: every loss term on held-out data, and the NLL.

Models with a :class:`~keras_gen.zoo.capabilities.LogLikelihood` also get the
importance-sampled negative log-likelihood in nats. The data default to what the model
was trained on (read from the ``metrics.json`` beside it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from keras_gen.cli import datasets
from keras_gen.cli.common import (
    CLIError,
    floats,
    is_text_model,
    load_model,
    training_metrics,
)
from keras_gen.cli.progress import is_terminal, nll_progress
from keras_gen.text import loaders
from keras_gen.training import GenerativeModel
from keras_gen.training.adversarial import AdversarialModel
from keras_gen.zoo.capabilities import LogLikelihood, is_label_conditional


def _image_examples(model, trained: dict, args: argparse.Namespace):
    source = args.data or trained.get("data", "mnist_mini")
    binarize = args.binarize or trained.get("binarize", "none")
    binarize = None if binarize == "none" else binarize
    split = args.split or "test"
    conditional = is_label_conditional(model)
    ds = datasets.load_images(
        source,
        split,
        batch_size=args.batch_size,
        with_labels=conditional,
        binarize=binarize,
        shuffle=False,
        seed=args.seed,
        limit=args.limit,
        data_dir=args.data_dir,
    )
    datasets.check_shape(datasets.image_shape(ds), model.image_shape, source)
    # One pass over the pipeline, so that the losses and the NLL see the same (binarized) data.
    batches = list(ds.as_numpy_iterator())
    if conditional:
        x = np.concatenate([b[0] for b in batches])
        y = np.concatenate([b[1] for b in batches])
    else:
        x, y = np.concatenate(batches), None
    info = {"data": source, "split": split, "binarize": binarize or "none"}
    return x, y, info, "images"


def _text_examples(model, trained: dict, args: argparse.Namespace):
    spec = trained.get("preset", {}).get("data")
    if not spec:
        raise CLIError(
            f"cannot tell the text format of {args.model!r}: no metrics.json from "
            "'keras-gen train' beside it"
        )
    if args.split is not None:
        raise CLIError("--split is for image data sets; pass the text files with --data")
    if args.binarize is not None:
        raise CLIError("--binarize is for images")
    paths = args.data.split(",") if args.data else _trained_text_paths(spec, trained, args)
    texts = datasets.read_texts(spec["kind"], paths, args.limit)
    arrays = datasets.text_arrays(spec["kind"], spec.get("options", {}), model.vocab, texts)
    x, y = arrays[0], (arrays[1] if len(arrays) > 1 else None)
    return x, y, {"data": [str(p) for p in paths]}, "texts"


def _trained_text_paths(spec: dict, trained: dict, args: argparse.Namespace) -> list:
    """The files the model was trained on: as recorded, or (with --data-dir, or when they
    moved) the preset's sources under the shared data folder."""
    recorded = trained.get("data", [])
    if args.data_dir is None and all(Path(p).is_file() for p in recorded):
        return recorded
    sources = spec["source"] if isinstance(spec["source"], list) else [spec["source"]]
    return [loaders.shared_path(*s.split("/"), data_dir=args.data_dir) for s in sources]


def _status(show: bool, text: str) -> None:
    if show:
        print(text, file=sys.stderr, flush=True)


def cmd_evaluate(args: argparse.Namespace) -> int:
    # Progress goes to stderr (stdout may be --json): on a terminal, or with --progress.
    show = args.progress if args.progress is not None else is_terminal(sys.stderr)
    model = load_model(args.model, (GenerativeModel, AdversarialModel))
    trained = training_metrics(args.model)
    examples = _text_examples if is_text_model(model) else _image_examples
    _status(show, "evaluate: reading the data")
    x, y, info, unit = examples(model, trained, args)
    _status(show, f"evaluate: loss terms on {len(x)} {unit}")
    terms = floats(model.evaluate(x, y, batch_size=args.batch_size, return_dict=True, verbose=0))
    result: dict[str, Any] = {
        "model": args.model,
        **info,
        "num_examples": len(x),
        "terms": terms,
    }
    if isinstance(model, LogLikelihood):
        labels = (y,) if is_label_conditional(model) else ()
        with nll_progress(show):
            log_px = model.log_likelihood(x, *labels, num_samples=args.num_samples, seed=args.seed)
        nll = -np.asarray(log_px, np.float64)
        result["nll"] = {
            "mean_nats": float(nll.mean()),
            "std_error": float(nll.std(ddof=1) / np.sqrt(len(nll))) if len(nll) > 1 else 0.0,
            "num_samples": args.num_samples,
            "num_examples": len(nll),
        }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    where = f"split {info['split']!r} " if "split" in info else ""
    print(f"{args.model} on {info['data']!r} {where}({len(x)} {unit}):")
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
