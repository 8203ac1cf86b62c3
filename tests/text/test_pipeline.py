"""Vocabularies, loaders and the clear errors for bad text input."""

import gzip

import numpy as np
import pytest

from keras_gen.text import (
    END_ID,
    START_ID,
    UNK_ID,
    TextVocabulary,
    load_couplets,
    load_sentences,
    load_titles,
    pipeline,
    shared_path,
)


def test_vocabulary_encodes_and_decodes_with_the_special_tokens_in_one_place():
    vocab = TextVocabulary.build(["春 风 春", "秋月"], level="char")
    assert vocab.tokens[0] == "春"  # most frequent first
    ids = vocab.encode(["春月", "冬"], add_start=True, add_end=True)
    assert ids[0, 0] == START_ID and ids[0, 3] == END_ID and ids[1, 1] == UNK_ID
    assert ids[1, 3] == 0  # padding
    assert vocab.decode(ids) == ["春月", "[UNK]"]
    cut = vocab.encode(["春风秋月"], max_length=3, add_end=True)
    assert cut.shape == (1, 3) and cut[0, -1] == END_ID
    words = TextVocabulary.build(["the cat", "the dog"], level="word", max_tokens=6)
    assert words.tokens == ["the", "cat"]
    with pytest.raises(ValueError, match="reserved"):
        TextVocabulary(["<s>"])
    with pytest.raises(ValueError, match="level"):
        TextVocabulary(["a"], level="byte")


def test_loaders_read_the_shared_formats():
    first, second = load_couplets(shared_path("couplets", "wb14123_test"))
    assert len(first) == len(second) == 3834
    assert " " not in first[0] and len(first[1]) == len(second[1])
    first, second = load_couplets(shared_path("couplets", "zijianzhao", "test.txt"))
    assert (first[0], second[0]) == ("春风掩映千门柳。", "暖雨晴开一径花。")
    bodies, titles = load_titles(shared_path("zh_titles", "lcsts", "val.tsv"))
    assert len(bodies) == len(titles) == 1000 and len(bodies[0]) > len(titles[0])
    sentences = load_sentences(shared_path("ptb", "ptb.test.txt.gz"))
    assert len(sentences) == 3761 and "<unk>" in " ".join(sentences[:20])


def test_bad_files_are_clear_errors(tmp_path):
    empty = tmp_path / "empty_line.txt"
    empty.write_text("春风\t=>\t秋月\n\n夏雨\t=>\t冬雪\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty_line.txt, line 2: empty line"):
        load_couplets(empty)
    unmatched = tmp_path / "unmatched.txt"
    unmatched.write_text("春风\t=>\t秋月\n夏雨冬雪\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: expected a pair"):
        load_couplets(unmatched)
    folder = tmp_path / "pairs"
    folder.mkdir()
    (folder / "in.txt").write_text("春 风\n夏 雨\n", encoding="utf-8")
    (folder / "out.txt").write_text("秋 月\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"in\.txt has 2 lines but out\.txt has 1"):
        load_couplets(folder)
    gbk = tmp_path / "gbk.tsv"
    gbk.write_bytes("标题\t正文\n".encode("gbk"))
    with pytest.raises(ValueError, match=r"gbk.tsv is not UTF-8.*line 1"):
        load_titles(gbk)
    one_column = tmp_path / "titles.tsv"
    one_column.write_text("only a title\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 2 tab-separated columns"):
        load_titles(one_column)
    ptb = tmp_path / "ptb.txt.gz"
    ptb.write_bytes(gzip.compress(b"a b\n  \nc\n"))
    with pytest.raises(ValueError, match="line 2: empty sentence"):
        load_sentences(ptb)
    with pytest.raises(FileNotFoundError):
        load_couplets(tmp_path / "missing.txt")


def test_arrays_for_training():
    vocab = TextVocabulary.build(["春风暖", "秋月明", "夏"])
    x, y = pipeline.couplet_arrays(vocab, ["春风暖", "春风"], ["秋月明", "秋月明"])
    assert x.shape == y.shape == (1, 3)  # the pair of unequal lengths is dropped
    with pytest.raises(ValueError, match="unmatched pairs: 2 first texts but 1 second"):
        pipeline.couplet_arrays(vocab, ["春风", "秋月"], ["夏"])
    with pytest.raises(ValueError, match="unmatched pairs"):
        pipeline.seq2seq_arrays(vocab, ["春风暖", "夏"], ["秋月"])
    x, y = pipeline.seq2seq_arrays(vocab, ["春风暖", "夏"], ["秋月", "冬"])
    np.testing.assert_array_equal((y == END_ID).sum(1), [1, 1])
