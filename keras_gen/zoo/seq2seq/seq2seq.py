"""A GRU encoder-decoder with attention, beam search and an optional copy gate."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_gen.layers import SeededDropout
from keras_gen.text import decoding
from keras_gen.text.vocab import PAD_ID, START_ID
from keras_gen.training import backend
from keras_gen.zoo.capabilities import InputConditional
from keras_gen.zoo.checks import positive_int
from keras_gen.zoo.text_model import (
    TextModel,
    check_texts,
    per_example_accuracy,
    reorder_state,
    token_cross_entropy,
)


@keras.saving.register_keras_serializable(package="keras_gen")
class Seq2Seq(InputConditional, TextModel):
    """Encoder-decoder with (Luong, general) attention; greedy and batched beam search.

    Bidirectional GRU encoder; GRU decoder started from a projection of the mean
    encoder state; attention over the encoder states; trained with teacher forcing
    on ``(source_ids, target_ids)`` where the targets end with the end token
    (:func:`keras_gen.text.pipeline.seq2seq_arrays`). One vocabulary serves the
    source and the target (Chinese characters for titles and couplets).

    Decoding runs the GRU cell one step at a time on its cached state, with the
    attention keys of the source computed once (``incremental=False`` recomputes
    the decoder over the whole prefix at every step instead, for comparison).

    ``copy=True`` makes it a pointer-generator (See et al. 2017): a gate
    ``p_gen = sigmoid(w . [state, context])`` mixes the vocabulary distribution with
    the attention weights summed per source token, ``p = p_gen * p_vocab + (1 - p_gen)
    * p_copy``, so the decoder can copy the source's characters it has seen too rarely
    to generate (a few thousand training pairs, as for titles). The copied tokens are
    the vocabulary's ids (an unknown source token is copied as the unknown id).

    Args:
        vocabulary: one vocabulary for source and target (see
            :class:`~keras_gen.zoo.text_model.TextModel`).
        embedding_dim: size of the token embeddings (one for the source, one for the target).
        hidden_dim: GRU units (the encoder is bidirectional, ``2 * hidden_dim`` features).
        dropout: dropout rate on the embeddings and the decoder's outputs.
        couplet: decode as a couplet by default: same length as the source, never the
            source's character at the same position (``generate_from(couplet=...)``
            overrides it).
        copy: a pointer-generator with a copy gate (see above).
        **kwargs: passed to :class:`~keras_gen.zoo.text_model.TextModel`.

    Example:

    >>> from keras_gen.text import TextVocabulary, pipeline
    >>> src, tgt = ["今天天气很好", "明天下雨"], ["天晴", "雨"]
    >>> vocab = TextVocabulary.build(src + tgt)
    >>> model = Seq2Seq(vocab, embedding_dim=8, hidden_dim=8)
    >>> model.compile(optimizer="adam")
    >>> x, y = pipeline.seq2seq_arrays(vocab, src, tgt)
    >>> _ = model.fit(x, y, epochs=1, verbose=0)  # doctest: +SKIP
    >>> len(model.generate_from(["今天下雨"], beam_width=3, max_length=5))
    1
    """

    def __init__(
        self,
        vocabulary,
        embedding_dim: int = 128,
        hidden_dim: int = 256,
        dropout: float = 0.0,
        couplet: bool = False,
        copy: bool = False,
        **kwargs,
    ):
        super().__init__(vocabulary, term_names=("loss", "accuracy"), **kwargs)
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        self.hidden_dim = positive_int(hidden_dim, "hidden_dim")
        self.dropout = float(dropout)
        self.couplet = bool(couplet)
        self.copy = bool(copy)
        e, h = self.embedding_dim, self.hidden_dim
        with keras.name_scope("encoder"):
            self.source_embedding = keras.layers.Embedding(self.vocab_size, e, name="embedding")
            self.encoder_rnn = keras.layers.Bidirectional(
                keras.layers.GRU(h, return_sequences=True), name="rnn"
            )
            self.bridge = keras.layers.Dense(h, activation="tanh", name="bridge")
        with keras.name_scope("decoder"):
            self.target_embedding = keras.layers.Embedding(self.vocab_size, e, name="embedding")
            self.decoder_rnn = keras.layers.GRU(h, return_sequences=True, name="rnn")
            self.attention_keys = keras.layers.Dense(h, use_bias=False, name="attention_keys")
            self.combine = keras.layers.Dense(h, activation="tanh", name="combine")
            self.head = keras.layers.Dense(self.vocab_size, name="head")
            self.copy_gate = keras.layers.Dense(1, name="copy_gate") if self.copy else None
        self.drop = SeededDropout(self.dropout, seed=0, name="dropout")
        ones = np.ones((1, 2), "int32")
        self.call((ones, ones))  # build every layer now
        self._step_fns = {}
        self.built = True

    # -- the network --------------------------------------------------------------------

    def encode_source(self, x, training=False):
        """(memory, keys, mask, initial decoder state) of source ids ``x``."""
        mask = ops.not_equal(x, PAD_ID)
        emb = self.drop(self.source_embedding(x), training=training)
        memory = self.encoder_rnn(emb, mask=mask, training=training)
        fmask = ops.cast(mask, memory.dtype)[..., None]
        mean = ops.sum(memory * fmask, axis=1) / ops.maximum(ops.sum(fmask, axis=1), 1.0)
        return memory, self.attention_keys(memory), mask, self.bridge(mean)

    def _attend(self, states, memory, keys, mask, source, training=False):
        """Logits (float32) from decoder states (b, t, h) attending over the memory of the
        source ids ``source`` (b, s); with ``copy``, log-probabilities of the mixture."""
        scores = ops.cast(ops.einsum("bth,bsh->bts", states, keys), "float32")
        scores = ops.where(mask[:, None, :], scores, -1e9)
        attention = ops.softmax(scores, axis=-1)
        weights = ops.cast(attention, memory.dtype)
        context = ops.einsum("bts,bsd->btd", weights, memory)
        features = ops.concatenate([states, context], axis=-1)
        out = self.combine(features)
        logits = ops.cast(self.head(self.drop(out, training=training)), "float32")
        if not self.copy:
            return logits
        p_gen = ops.sigmoid(ops.cast(self.copy_gate(features), "float32"))
        p_copy = _scatter_to_vocabulary(attention, source, self.vocab_size)
        p = p_gen * ops.softmax(logits, axis=-1) + (1.0 - p_gen) * p_copy
        return ops.log(ops.maximum(p, 1e-30))

    def call(self, inputs, training=False):
        """Teacher-forced logits for ``(source_ids, decoder_input_ids)`` (with ``copy``:
        log-probabilities, which are logits of the same distribution)."""
        x, decoder_inputs = inputs
        memory, keys, mask, h0 = self.encode_source(x, training=training)
        emb = self.drop(self.target_embedding(decoder_inputs), training=training)
        states = self.decoder_rnn(emb, initial_state=h0, training=training)
        return self._attend(states, memory, keys, mask, x, training=training)

    @staticmethod
    def decoder_inputs(y):
        """Targets shifted right behind the start token."""
        start = ops.full((ops.shape(y)[0], 1), START_ID, dtype=y.dtype)
        return ops.concatenate([start, y[:, :-1]], axis=1)

    def compute_terms(self, x, y=None, training=False):
        if y is None:
            raise ValueError("Seq2Seq trains on (source_ids, target_ids); y is missing")
        logits = self((x, self.decoder_inputs(y)), training=training)
        loss, mask = token_cross_entropy(y, logits)
        return {"loss": loss, "accuracy": per_example_accuracy(y, logits, mask)}

    # -- incremental decoding -----------------------------------------------------------------

    def _compiled(self, name, fn):
        if name not in self._step_fns:
            self._step_fns[name] = backend.compiled(fn)
        return self._step_fns[name]

    def _encode_for_search(self, x, beams):
        """(memory, keys, mask, source ids, initial state), each row repeated ``beams`` times."""
        encode = self._compiled("encode", lambda x: self.encode_source(x))
        memory, keys, mask, h0 = encode(x)
        rows = np.repeat(np.arange(len(x)), beams)
        return [ops.take(t, rows, axis=0) for t in (memory, keys, mask, x, h0)]

    def _incremental_step(self, tokens, h, memory, keys, mask, source):
        emb = self.target_embedding(tokens)
        out, _ = self.decoder_rnn.cell(emb, [h], training=False)
        logits = self._attend(out[:, None], memory, keys, mask, source)[:, 0]
        return ops.log_softmax(logits, axis=-1), out

    def _prefix_step(self, prefix, h0, memory, keys, mask, source):
        # The decoder from scratch (RNN, attention, output layer over the whole prefix), as
        # a model without a cache runs it; only the encoder's outputs are reused.
        states = self.decoder_rnn(self.target_embedding(prefix), initial_state=h0)
        logits = self._attend(states, memory, keys, mask, source)[:, -1]
        return ops.log_softmax(logits, axis=-1)

    def search(
        self,
        x,
        beam_width: int = 1,
        max_length: int = 30,
        alpha: float = 0.0,
        incremental: bool = True,
        forbid=None,
        lengths=None,
    ) -> decoding.SearchResult:
        """Search over source ids ``x`` (n, s); beam width 1 is greedy search."""
        x = np.asarray(x, np.int32)
        k = positive_int(beam_width, "beam_width")  # before the encoder tiles x k times
        *encoded, h0 = self._encode_for_search(x, k)
        if incremental:
            step, state = self._incremental_search_step(encoded), [h0]
        else:
            fn = self._compiled("prefix", self._prefix_step)

            def step(tokens, state):
                prefix = np.concatenate([state[0], tokens[:, None]], axis=1)
                return ops.convert_to_numpy(fn(prefix, h0, *encoded)), [prefix]

            state = [np.zeros((len(x) * k, 0), np.int32)]

        def reorder(state, rows):
            if incremental:
                return reorder_state(state, rows)
            return [state[0][rows]]

        return decoding.beam_search(
            step, state, reorder, len(x), k, max_length, alpha=alpha, forbid=forbid, lengths=lengths
        )

    def greedy(self, x, max_length: int = 30, forbid=None, lengths=None) -> decoding.SearchResult:
        """Greedy decoding of source ids ``x`` (incremental)."""
        x = np.asarray(x, np.int32)
        *encoded, h0 = self._encode_for_search(x, 1)
        return decoding.greedy_search(
            self._incremental_search_step(encoded),
            [h0],
            len(x),
            max_length,
            forbid=forbid,
            lengths=lengths,
        )

    def _incremental_search_step(self, encoded):
        """``step(tokens, [h]) -> (log_probs, [h])`` of the compiled incremental decoder over
        ``encoded`` = (memory, keys, mask, source ids) of :meth:`_encode_for_search`."""
        fn = self._compiled("step", self._incremental_step)

        def step(tokens, state):
            logp, h = fn(tokens, state[0], *encoded)
            return ops.convert_to_numpy(logp), [h]

        return step

    def generate_from(
        self,
        texts,
        beam_width: int = 4,
        max_length: int = 30,
        alpha: float = 0.6,
        couplet: bool | None = None,
        max_source_length: int | None = None,
        batch_size: int = 64,
    ) -> list[str]:
        """Output texts for raw ``texts``; ``couplet=True`` gives each output its source's
        length and forbids the source's character at the same position (default: the
        model's ``couplet`` setting)."""
        texts = check_texts(texts)
        positive_int(beam_width, "beam_width")
        couplet = self.couplet if couplet is None else couplet
        out = []
        for start in range(0, len(texts), batch_size):
            x = self.vocab.encode(texts[start : start + batch_size], max_length=max_source_length)
            forbid = lengths = None
            limit = max_length
            if couplet:
                lengths = (x != PAD_ID).sum(1)
                limit = int(lengths.max()) + 1
                forbid = _position_ban(x, self.vocab_size, self.vocab.punctuation_mask())
            result = self.search(x, beam_width, limit, alpha=alpha, forbid=forbid, lengths=lengths)
            out.extend(self.vocab.decode(result.best))
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "dropout": self.dropout,
            "couplet": self.couplet,
            "copy": self.copy,
        }


def _scatter_to_vocabulary(weights, source, vocab_size: int):
    """(b, t, vocab) float32: attention ``weights`` (b, t, s) summed per source token id.

    Row ``[i, j]`` puts ``weights[i, j, k]`` on token ``source[i, k]`` (repeated tokens add
    up), so it sums to 1 over the vocabulary when the weights sum to 1 over the source.

    >>> w = np.array([[[0.5, 0.25, 0.25]]], "float32")
    >>> _scatter_to_vocabulary(w, np.array([[4, 5, 4]]), 6).numpy().round(2).tolist()
    [[[0.0, 0.0, 0.0, 0.0, 0.75, 0.25]]]
    """
    b, t, s = ops.shape(weights)
    batch = ops.broadcast_to(ops.arange(b)[:, None, None], (b, t, s))
    position = ops.broadcast_to(ops.arange(t)[None, :, None], (b, t, s))
    token = ops.broadcast_to(ops.cast(source, "int32")[:, None, :], (b, t, s))
    indices = ops.reshape(ops.stack([batch, position, token], axis=-1), (-1, 3))
    values = ops.reshape(ops.cast(weights, "float32"), (-1,))
    return ops.scatter(indices, values, (b, t, vocab_size))


def _position_ban(x, vocab_size, punctuation=None):
    """forbid(t): the source's token at position t (couplets never repeat it in place).

    Punctuation (``punctuation``: a bool mask over the ids) is exempt: a couplet's
    two lines put the same commas in the same places.
    """
    keep = np.zeros(vocab_size, bool) if punctuation is None else punctuation

    def forbid(t):
        banned = np.zeros((len(x), vocab_size), bool)
        if t < x.shape[1]:
            tokens = x[:, t]
            rows = np.flatnonzero((tokens != PAD_ID) & ~keep[tokens])
            banned[rows, tokens[rows]] = True
        return banned

    return forbid
