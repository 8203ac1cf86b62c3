"""The data of a run, as a preset's :class:`~keras_gen.presets.DataSpec` describes it.

Images come from :func:`keras_gen.data.load_images` (a data set name or a path); text
comes from the :mod:`keras_gen.text` loaders: ``couplets``, ``titles`` or
``sentences`` files, by default the preset's sources under the shared data folder
(:func:`keras_gen.text.loaders.shared_path`), or the comma-separated paths of ``--data``.
How text becomes arrays follows the spec's ``options``: ``max_length`` cuts sentences;
``max_source_length``/``max_target_length`` make (source, target + end token) pairs for
an encoder-decoder, and couplets without them are aligned character by character.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_gen import data as image_data
from keras_gen.cli.common import CLIError
from keras_gen.presets import DataSpec, Preset
from keras_gen.text import TextVocabulary, loaders, pipeline

SEQUENCE_OPTIONS = ("max_source_length", "max_target_length")
# More classes than any image data set keras-gen trains on (ImageNet has 1000): a larger
# count is a stray label, which would build a model with that many outputs and stall.
MAX_CLASSES = 1000


# --- images -------------------------------------------------------------------------------


def load_images(source: str, split: str, **kwargs):
    """``keras_gen.data.load_images``, with a failed TFDS download reported as a user error."""
    try:
        return image_data.load_images(source, split, **kwargs)
    except RuntimeError as err:  # the loader's "could not download or prepare" (offline)
        raise CLIError(str(err)) from err


def load_arrays(source: str, split: str, limit: int | None, data_dir: str | None = None):
    try:
        return image_data.load_arrays(source, split, limit=limit, data_dir=data_dir)
    except RuntimeError as err:
        raise CLIError(str(err)) from err


def class_count(y: np.ndarray, source: str, max_classes: int = MAX_CLASSES) -> int:
    """The number of classes K of labels ``y``, which must be the ints 0..K-1, each used.

    >>> class_count(np.array([0, 2, 1, 2]), "d.npz")
    3
    >>> class_count(np.array([0, 1, 2, 50000]), "d.npz")
    Traceback (most recent call last):
    ...
    keras_gen.cli.common.CLIError: labels of 'd.npz' must be the classes 0..K-1 with K <= 1000; \
got 50000
    """
    classes = np.unique(np.asarray(y))
    if classes.size == 0:
        raise CLIError(f"{source!r} has no labels")
    negative = classes[classes < 0]
    if negative.size:
        raise CLIError(f"labels of {source!r} must be >= 0; got {_values(negative)}")
    too_large = classes[classes >= max_classes]
    if too_large.size:
        raise CLIError(
            f"labels of {source!r} must be the classes 0..K-1 with K <= {max_classes}; "
            f"got {_values(too_large)}"
        )
    num_classes = int(classes[-1]) + 1
    if classes.size != num_classes:  # a gap: the labels after it are likely strays
        gap = int(np.argmax(classes != np.arange(classes.size)))
        last = int(classes[gap]) - 1
        missing = f"classes {gap}..{last} have" if last > gap else f"class {gap} has"
        raise CLIError(
            f"labels of {source!r} must be the classes 0..K-1, each with an example; "
            f"{missing} none, but the labels {_values(classes[gap:])} follow "
            "(stray labels? or a --limit too small to hold every class)"
        )
    return num_classes


def _values(values: np.ndarray, shown: int = 5) -> str:
    text = ", ".join(str(int(v)) for v in values[:shown])
    return text + (f" and {len(values) - shown} more" if len(values) > shown else "")


def image_shape(ds) -> tuple[int, ...]:
    spec = ds.element_spec[0] if isinstance(ds.element_spec, tuple) else ds.element_spec
    return tuple(int(d) for d in spec.shape[1:])


def check_shape(given: Sequence[int], expected: Sequence[int], source: str) -> None:
    if tuple(given) != tuple(expected):
        raise CLIError(
            f"images of {source!r} have shape {tuple(given)} (height, width, channels), but "
            f"the model expects {tuple(expected)}"
        )


def has_split(source: str, split: str, data_dir: str | None = None) -> bool:
    """Whether ``source`` has ``split``; other problems with the data still raise."""
    try:
        image_data.load_arrays(source, split, limit=1, data_dir=data_dir)
    except ValueError as err:
        if "split" in str(err).lower():
            return False
        raise
    except RuntimeError as err:
        raise CLIError(str(err)) from err
    return True


class ImageData:
    """Train and test splits of an image data set, batched for ``fit``."""

    kind = "images"

    def __init__(self, spec: DataSpec, args: argparse.Namespace, batch_size: int):
        self.source = args.data or spec.source
        binarize = args.binarize if args.binarize is not None else spec.binarize
        self.binarize = None if binarize in (None, "none") else binarize
        self.labels = spec.labels
        self.limit = args.limit
        self.data_dir = getattr(args, "data_dir", None)  # TFDS' data directory (--data-dir)
        common = {
            "batch_size": batch_size,
            "with_labels": self.labels,
            "binarize": self.binarize,
            "seed": args.seed,
            "limit": args.limit,
            "data_dir": self.data_dir,
        }
        self.train = load_images(self.source, "train", **common)
        self.shape = image_shape(self.train)
        self.test = None
        if has_split(self.source, "test", self.data_dir):
            self.test = load_images(self.source, "test", shuffle=False, **common)
        self.num_classes = 0
        if self.labels:
            _, y = load_arrays(self.source, "train", self.limit, self.data_dir)
            if y is None:
                raise CLIError(
                    f"this model is class-conditional, but {self.source!r} has no labels"
                )
            self.num_classes = max(class_count(y, self.source), 2)
        self._arrays = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(train, test) images as float32 in [0, 1], unbinarized (for later stages)."""
        if self._arrays is None:
            x_train, _ = load_arrays(self.source, "train", self.limit, self.data_dir)
            x_test = None
            if self.test is not None:
                x_test = load_arrays(self.source, "test", self.limit, self.data_dir)[0]
                x_test = x_test.astype("float32") / 255
            self._arrays = (x_train.astype("float32") / 255.0, x_test)
        return self._arrays

    def build_overrides(self, preset: Preset) -> dict:
        """The constructor arguments the data decides."""
        overrides = {"image_shape": self.shape}
        if self.labels:
            overrides["num_classes"] = self.num_classes
        if preset.accepts("data_variance") and "data_variance" not in preset.config:
            overrides["data_variance"] = float(np.var(self.arrays()[0]))
        return overrides

    def check_model(self, model) -> None:
        check_shape(self.shape, model.image_shape, self.source)
        classes = int(getattr(model, "num_classes", 0) or 0)
        if self.labels and self.num_classes > classes:
            raise CLIError(
                f"{self.source!r} has labels 0..{self.num_classes - 1}, but the model draws "
                f"{classes} classes (labels 0..{classes - 1})"
            )

    def fit_inputs(self, model, batch_size: int) -> tuple[tuple, dict]:
        # The pipeline shuffles (and Keras ignores shuffle= for a tf.data input).
        return (self.train,), {"shuffle": False}

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, int(self.train.cardinality()))

    def record(self) -> dict:
        return {
            "data": self.source,
            "binarize": self.binarize or "none",
            "image_shape": list(self.shape),
            "num_classes": self.num_classes,
        }


# --- text ---------------------------------------------------------------------------------


def text_paths(spec: DataSpec, data: str | None, data_dir: str | None = None) -> list[Path]:
    """``--data``'s comma-separated paths, or the spec's sources under the shared folder
    (``data_dir``, else ``$KERAS_GEN_DATA``, else ``../shared/data``)."""
    if data:
        return [Path(p) for p in data.split(",")]
    sources = (spec.source,) if isinstance(spec.source, str) else spec.source
    return [loaders.shared_path(*p.split("/"), data_dir=data_dir) for p in sources]


def read_texts(kind: str, paths: Sequence[Path], limit: int | None) -> tuple[list[str], ...]:
    """(sources, targets) of couplets or titles, or (sentences,), the first ``limit`` of each."""
    if kind == "couplets":
        first, second = loaders.load_couplets(paths)
        return first[:limit], second[:limit]
    if kind == "titles":
        bodies, titles = [], []
        for path in paths:
            b, t = loaders.load_titles(path)
            bodies += b
            titles += t
        return bodies[:limit], titles[:limit]
    return ([s for path in paths for s in loaders.load_sentences(path)][:limit],)


def text_arrays(kind: str, options, vocab: TextVocabulary, texts) -> tuple[np.ndarray, ...]:
    """Token-id arrays of ``texts`` for ``fit`` (see the module docstring).

    >>> vocab = TextVocabulary.build(["春风", "秋月"])
    >>> [a.shape for a in text_arrays("couplets", {}, vocab, (["春风"], ["秋月"]))]
    [(1, 2), (1, 2)]
    >>> [a.shape for a in text_arrays("couplets", {"max_target_length": 8}, vocab,
    ...                               (["春风"], ["秋月"]))]  # + the end token
    [(1, 2), (1, 3)]
    """
    if kind == "sentences":
        return (pipeline.sentence_arrays(vocab, texts[0], max_length=options.get("max_length")),)
    if kind == "titles" or any(key in options for key in SEQUENCE_OPTIONS):
        lengths = {key: options.get(key) for key in SEQUENCE_OPTIONS}
        return pipeline.seq2seq_arrays(vocab, *texts, **lengths)
    return pipeline.couplet_arrays(vocab, *texts)


class TextData:
    """Texts of a preset's kind, encoded with the model's own vocabulary."""

    def __init__(self, spec: DataSpec, args: argparse.Namespace, batch_size: int):
        self.kind = spec.kind
        self.options = dict(spec.options)
        self.paths = text_paths(spec, args.data, getattr(args, "data_dir", None))
        self.texts = read_texts(self.kind, self.paths, args.limit)
        self.test = None
        self.num_examples = 0
        self.vocabulary_size = 0

    def vocabulary(self) -> TextVocabulary:
        level = "word" if self.kind == "sentences" else "char"
        texts = [t for group in self.texts for t in group]
        return TextVocabulary.build(texts, level=level, min_count=2, max_tokens=20000)

    def build_overrides(self, preset: Preset) -> dict:
        return {"vocabulary": self.vocabulary()}

    def check_model(self, model) -> None:
        """Nothing to check: the texts are encoded with the model's own vocabulary."""

    def fit_inputs(self, model, batch_size: int) -> tuple[tuple, dict]:
        arrays = text_arrays(self.kind, self.options, model.vocab, self.texts)
        self.num_examples = len(arrays[0])
        self.vocabulary_size = int(model.vocab_size)
        return arrays, {"batch_size": batch_size, "shuffle": True}

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, math.ceil(self.num_examples / batch_size))

    def sample_inputs(self, n: int = 5) -> list[str]:
        """The first ``n`` sources (first lines, texts), for an input-conditional model."""
        return list(self.texts[0][:n]) if len(self.texts) > 1 else []

    def record(self) -> dict:
        return {
            "data": [str(p) for p in self.paths],
            "num_examples": self.num_examples,
            "vocabulary_size": self.vocabulary_size,
        }


def training_data(preset: Preset, args: argparse.Namespace, batch_size: int):
    """The data ``keras-gen train`` feeds the preset's model."""
    if preset.data.kind == "images":
        return ImageData(preset.data, args, batch_size)
    if args.binarize is not None:
        raise CLIError(f"--binarize is for images; {preset.name!r} trains on {preset.data.kind}")
    return TextData(preset.data, args, batch_size)
