"""Small real slices of ../shared/data (read-only) and tiny vocabularies for the text models."""

import pytest

from keras_gen.text import TextVocabulary, load_couplets, load_sentences, shared_path


@pytest.fixture(scope="session")
def couplets():
    first, second = load_couplets(shared_path("couplets", "zijianzhao", "test.txt"))
    short = [(a, b) for a, b in zip(first, second) if len(a) == len(b) <= 10][:32]
    return [a for a, _ in short], [b for _, b in short]


@pytest.fixture(scope="session")
def couplet_vocab(couplets):
    return TextVocabulary.build(couplets[0] + couplets[1])


@pytest.fixture(scope="session")
def sentences():
    sentences = load_sentences(shared_path("ptb", "ptb.valid.txt.gz"))
    return [s for s in sentences if len(s.split()) <= 15][:32]


@pytest.fixture(scope="session")
def word_vocab(sentences):
    return TextVocabulary.build(sentences, level="word")
