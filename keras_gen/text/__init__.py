"""Text pipeline: vocabularies inside the model file, loaders, and decoding.

>>> from keras_gen.text import TextVocabulary
>>> TextVocabulary.build(["a b", "b c"], level="word").decode([[4, 5, 3]])
['b a']
"""

from keras_gen.text import decoding, pipeline
from keras_gen.text.decoding import SearchResult, beam_search, greedy_search
from keras_gen.text.loaders import (
    load_couplets,
    load_sentences,
    load_titles,
    shared_path,
)
from keras_gen.text.pipeline import (
    couplet_arrays,
    length_bucketed_dataset,
    sentence_arrays,
    seq2seq_arrays,
)
from keras_gen.text.vocab import (
    END_ID,
    PAD_ID,
    START_ID,
    UNK_ID,
    TextVocabulary,
    tokenize,
)

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
