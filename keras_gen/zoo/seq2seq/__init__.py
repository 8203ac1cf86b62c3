"""Seq2seq with attention, beam search and copying."""

from keras_gen.zoo.seq2seq.seq2seq import Seq2Seq

__all__ = ["Seq2Seq"]
