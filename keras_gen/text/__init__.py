"""Text pipeline: vocabularies inside the model file, loaders, and decoding.

>>> from keras_gen.text import TextVocabulary
>>> TextVocabulary.build(["a b", "b c"], level="word").decode([[4, 5, 3]])
['b a']
"""

import importlib

# Imported on first use (PEP 562), so that the loaders (plain Python) do not import Keras:
# the preset registry reads them without the zoo (``keras-gen models`` stays fast).
_EXPORTS = {
    "SearchResult": "decoding",
    "beam_search": "decoding",
    "greedy_search": "decoding",
    "load_couplets": "loaders",
    "load_sentences": "loaders",
    "load_titles": "loaders",
    "shared_path": "loaders",
    "couplet_arrays": "pipeline",
    "length_bucketed_dataset": "pipeline",
    "sentence_arrays": "pipeline",
    "seq2seq_arrays": "pipeline",
    "END_ID": "vocab",
    "PAD_ID": "vocab",
    "START_ID": "vocab",
    "UNK_ID": "vocab",
    "TextVocabulary": "vocab",
    "tokenize": "vocab",
}
_SUBMODULES = frozenset(["decoding", "loaders", "pipeline", "vocab"])


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})


__all__ = [
    "END_ID",
    "PAD_ID",
    "START_ID",
    "UNK_ID",
    "SearchResult",
    "TextVocabulary",
    "beam_search",
    "couplet_arrays",
    "decoding",
    "greedy_search",
    "length_bucketed_dataset",
    "load_couplets",
    "load_sentences",
    "load_titles",
    "pipeline",
    "sentence_arrays",
    "seq2seq_arrays",
    "shared_path",
    "tokenize",
]
