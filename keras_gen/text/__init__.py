"""Text pipeline: vocabularies inside the model file, loaders, and decoding.

>>> from keras_gen.text import TextVocabulary
>>> TextVocabulary.build(["a b", "b c"], level="word").decode([[4, 5, 3]])
['b a']
"""

from keras_gen.text.loaders import (
    load_couplets,
    load_sentences,
    load_titles,
    shared_path,
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
    "TextVocabulary",
    "load_couplets",
    "load_sentences",
    "load_titles",
    "shared_path",
    "tokenize",
]
