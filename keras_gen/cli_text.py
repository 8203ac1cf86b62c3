"""The text half of the ``keras-gen`` command: ``train`` for the text models and ``generate``.

::

    keras-gen train couplet-tagger                      # zijianzhao couplets (../shared/data)
    keras-gen train couplet-tagger --data my_couplets.txt --epochs 5 --out runs/tagger
    keras-gen train title-seq2seq --epochs 10           # LCSTS sample
    keras-gen train text-vae --epochs 2                 # Penn Treebank
    keras-gen generate runs/couplet-tagger/model.keras --text "春风得意马蹄疾"
    keras-gen generate runs/title-seq2seq/model.keras --text "..." --beam-width 4
    keras-gen generate runs/couplet-cvae/model.keras --text "春风得意马蹄疾" --num-samples 5
    keras-gen generate runs/text-vae/model.keras --n 5 --seed 0
    keras-gen generate runs/text-vae/model.keras --text "a sentence" --text "another" --steps 5
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from keras_gen import callbacks, zoo
from keras_gen.io import save_model_atomic
from keras_gen.text import TextVocabulary, loaders, pipeline
from keras_gen.training import distribute


@dataclasses.dataclass(frozen=True)
class TextSpec:
    """How the CLI trains one text model."""

    cls: type
    description: str
    kind: str  # "couplet", "title" or "sentence": the data format
    default_data: tuple[str, ...]
    epochs: int
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    latent: bool = False
    lr: float | None = None  # Adam's learning rate when --lr is not given (None: the CLI's)
    clipnorm: float | None = None  # global gradient-norm clipping


# The zijianzhao couplet files except test.txt (the couplet benchmark's training split).
COUPLET_TRAIN = tuple(f"couplets/zijianzhao/{n}" for n in loaders.ZIJIANZHAO_TRAIN)

TEXT_MODELS: dict[str, TextSpec] = {
    "couplet-tagger": TextSpec(
        zoo.CoupletTagger,
        "couplet second lines by sequence labelling (gated residual CNN, no in-place repeats)",
        "couplet",
        COUPLET_TRAIN,
        epochs=1,
    ),
    "couplet-seq2seq": TextSpec(
        zoo.Seq2Seq,
        "couplets with a GRU encoder-decoder with attention and beam search",
        "couplet",
        COUPLET_TRAIN,
        epochs=1,
        kwargs={"couplet": True},
    ),
    "couplet-cvae": TextSpec(
        zoo.CoupletCVAE,
        "conditional VAE: several different second lines for one first line",
        "couplet",
        COUPLET_TRAIN,
        epochs=1,
        latent=True,
    ),
    "title-seq2seq": TextSpec(
        zoo.Seq2Seq,
        "titles for Chinese news texts (LCSTS sample), seq2seq with attention",
        "title",
        ("zh_titles/lcsts/train.tsv",),
        epochs=5,
        kwargs={"dropout": 0.2, "copy": True},
        lr=5e-3,  # at 1e-3 it sits on the unigram plateau for epochs (benchmarks/titles.py)
        clipnorm=1.0,
    ),
    "text-vae": TextSpec(
        zoo.TextVAE,
        "sentence VAE (LSTM, KL annealing, word dropout) on Penn Treebank",
        "sentence",
        ("ptb/ptb.train.txt.gz",),
        epochs=1,
        kwargs={"word_dropout": 0.25},
        latent=True,
    ),
}


class TextCLIError(ValueError):
    """A user error of the text commands (printed as one line by the CLI)."""


def _read(spec: TextSpec, paths: list[Path], limit: int | None):
    if spec.kind == "couplet":
        first, second = loaders.load_couplets(paths)
        return first[:limit], second[:limit]
    if spec.kind == "title":
        sources, targets = [], []
        for path in paths:
            bodies, titles = loaders.load_titles(path)
            sources += bodies
            targets += titles
        return sources[:limit], targets[:limit]
    sentences = [s for path in paths for s in loaders.load_sentences(path)]
    return (sentences[:limit],)


def _arrays(spec: TextSpec, vocab: TextVocabulary, texts) -> tuple:
    if spec.kind == "sentence":
        return (pipeline.sentence_arrays(vocab, texts[0], max_length=60),)
    if spec.cls is zoo.Seq2Seq:
        max_source = 120 if spec.kind == "title" else None
        return pipeline.seq2seq_arrays(
            vocab, *texts, max_source_length=max_source, max_target_length=32
        )
    return pipeline.couplet_arrays(vocab, *texts)


def _build(spec: TextSpec, vocab: TextVocabulary, args) -> keras.Model:
    kwargs = dict(spec.kwargs)
    if spec.latent:
        kwargs["seed"] = args.seed
        if args.latent_dim is not None:
            kwargs["latent_dim"] = args.latent_dim
    return spec.cls(vocab, **kwargs)


def train(args: argparse.Namespace, save: Callable = save_model_atomic) -> int:
    """``keras-gen train`` for a text model (called by :func:`keras_gen.cli.cmd_train`)."""
    started = time.perf_counter()
    spec = TEXT_MODELS[args.model]
    out = Path(args.out if args.out is not None else Path("runs") / args.model)
    model_file = out / "model.keras"
    if args.resume and not model_file.is_file():
        raise TextCLIError(f"--resume: {out} holds no model.keras to resume from")
    if model_file.exists() and not (args.resume or args.overwrite):
        raise TextCLIError(
            f"{model_file} already exists; pass --resume to continue training it "
            "or --overwrite to start again"
        )
    paths = (
        [Path(p) for p in args.data.split(",")]
        if args.data
        else [loaders.shared_path(*p.split("/")) for p in spec.default_data]
    )
    texts = _read(spec, paths, args.limit)
    epochs = args.epochs if args.epochs is not None else spec.epochs
    strategy = distribute.make_strategy(args.distribute)
    architecture = "conv" if spec.cls in (zoo.CoupletTagger, zoo.CoupletCVAE) else "rnn"
    precision = distribute.resolve_precision(args.precision, architecture=architecture)
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    with strategy.scope(), distribute.precision_policy(precision):
        if args.resume:
            model = keras.saving.load_model(model_file)
            if not isinstance(model, spec.cls):
                raise TextCLIError(f"--resume: {model_file} holds a {type(model).__name__}")
        else:
            level = "word" if spec.kind == "sentence" else "char"
            vocab = TextVocabulary.build(
                [t for group in texts for t in group], level=level, min_count=2, max_tokens=20000
            )
            model = _build(spec, vocab, args)
            lr = (
                spec.lr if spec.lr is not None and not getattr(args, "lr_given", False) else args.lr
            )
            model.compile(optimizer=keras.optimizers.Adam(lr, global_clipnorm=spec.clipnorm))
    arrays = _arrays(spec, model.vocab, texts)
    extra = []
    if spec.latent and not args.resume:
        steps = max(1, len(arrays[0]) // args.batch_size)
        extra.append(callbacks.KLAnnealing(warmup_steps=max(1, steps * epochs // 2)))
    history = model.fit(
        *arrays, batch_size=args.batch_size, epochs=epochs, callbacks=extra, verbose=2
    )
    out.mkdir(parents=True, exist_ok=True)
    save(model, model_file)
    sample_inputs = texts[0][:5] if spec.kind != "sentence" else []
    metrics = {
        "model": args.model,
        "model_class": type(model).__name__,
        "data": [str(p) for p in paths],
        "num_examples": len(arrays[0]),
        "vocabulary_size": model.vocab_size,
        "precision": model.dtype_policy.name,
        "num_replicas": int(strategy.num_replicas_in_sync),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "samples": _samples(model, sample_inputs, seed=0),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    print(f"saved {model_file} ({metrics['precision']}, {metrics['wall_time_s']:.0f} s)")
    return 0


def _samples(model, texts, seed=0, beam_width=4, num_samples=3, n=3, couplet=None):
    if isinstance(model, zoo.TextVAE):
        return model.generate(n, seed=seed)
    if isinstance(model, zoo.CoupletCVAE):
        return {t: model.generate(t, num_samples=num_samples, seed=seed) for t in texts}
    if isinstance(model, zoo.Seq2Seq):  # couplet=None: as the model was trained
        outs = model.generate(texts, beam_width=beam_width, couplet=couplet)
        return dict(zip(texts, outs))
    return dict(zip(texts, model.generate(texts)))


TEXT_CLASSES = (zoo.CoupletTagger, zoo.Seq2Seq, zoo.TextVAE, zoo.CoupletCVAE)


def generate(args: argparse.Namespace) -> int:
    """``keras-gen generate MODEL.keras --text ...``."""
    path = Path(args.model)
    if not path.is_file():
        raise TextCLIError(f"no such model file: {args.model!r}")
    model = keras.saving.load_model(path)
    if not isinstance(model, TEXT_CLASSES):
        raise TextCLIError(
            f"{args.model!r} holds a {type(model).__name__}; expected a keras-gen text model "
            "(CoupletTagger, Seq2Seq, TextVAE, CoupletCVAE)"
        )
    texts = args.text or []
    if isinstance(model, zoo.TextVAE):
        if len(texts) == 2:
            result: Any = model.interpolate(texts[0], texts[1], steps=args.steps)
        elif texts:
            raise TextCLIError("a TextVAE takes no --text (samples) or two (an interpolation)")
        else:
            result = model.generate(args.n, seed=args.seed, temperature=args.temperature)
    else:
        if not texts:
            raise TextCLIError(f"--text is required for a {type(model).__name__}")
        if isinstance(model, zoo.CoupletCVAE):
            result = {
                t: model.generate(
                    t, num_samples=args.num_samples, seed=args.seed, temperature=args.temperature
                )
                for t in texts
            }
        else:
            result = _samples(model, texts, beam_width=args.beam_width, couplet=args.couplet)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif isinstance(result, dict):
        for source, outs in result.items():
            for o in [outs] if isinstance(outs, str) else outs:
                print(f"{source}\t{o}")
    else:
        print("\n".join(result))
    return 0


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL.keras")
    p.add_argument("--text", action="append", help="input text (repeat for several)")
    p.add_argument("--beam-width", type=int, default=4, help="Seq2Seq beam width (4)")
    p.add_argument(
        "--couplet",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Seq2Seq: same length as the input, no in-place repeats (default: as trained)",
    )
    p.add_argument("--num-samples", type=int, default=5, help="CoupletCVAE: lines per input")
    p.add_argument("--n", type=int, default=5, help="TextVAE: sentences to sample")
    p.add_argument("--steps", type=int, default=5, help="TextVAE: interpolation steps")
    p.add_argument("--temperature", type=float, default=0.0, help="0: most likely tokens")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON")
