"""Small real slices of ../shared/data (read-only) and tiny vocabularies for the text tests."""

import pytest

from keras_gen.text import TextVocabulary, load_couplets, load_sentences, shared_path


@pytest.fixture(scope="session")
def couplets():
    first, second = load_couplets(shared_path("couplets", "zijianzhao", "test.txt"))
    return first[:64], second[:64]


@pytest.fixture(scope="session")
def couplet_vocab(couplets):
    return TextVocabulary.build(couplets[0] + couplets[1])


@pytest.fixture(scope="session")
def sentences():
    return load_sentences(shared_path("ptb", "ptb.valid.txt.gz"))[:64]


@pytest.fixture(scope="session")
def word_vocab(sentences):
    return TextVocabulary.build(sentences, level="word")
