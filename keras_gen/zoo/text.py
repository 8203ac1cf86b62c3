"""Text generators: the couplet tagger, seq2seq with attention, and text VAEs.

Every model owns its :class:`~keras_gen.text.TextVocabulary` (in its config, so in
its ``.keras`` file), takes token ids in ``fit`` (see :mod:`keras_gen.text.pipeline`)
and raw strings in ``generate``. Losses are per example, summed over the
(non-padding) tokens, in float32; the training core reduces them by the global
batch size.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_gen import losses
from keras_gen.layers import GaussianSampling
from keras_gen.layers.seeding import SavesSeedState
from keras_gen.metrics.likelihood import importance_sampled_log_likelihood
from keras_gen.text import decoding
from keras_gen.text.vocab import PAD_ID, SPECIAL_IDS, START_ID, UNK_ID, TextVocabulary
from keras_gen.training import GenerativeModel, backend

CELLS = ("lstm", "gru")


def _vocabulary(value, level: str = "char") -> TextVocabulary:
    if isinstance(value, TextVocabulary):
        return TextVocabulary(value.tokens, level=value.level)
    if isinstance(value, dict):  # from a config
        return TextVocabulary(value["tokens"], level=value.get("level", level))
    if isinstance(value, str):
        raise TypeError("vocabulary must be a TextVocabulary or a list of tokens, not a string")
    return TextVocabulary(list(value), level=level)


def _vocab_config(vocab: TextVocabulary) -> dict:
    return {"tokens": list(vocab.tokens), "level": vocab.level}


def _positive(value, name):
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _token_cross_entropy(targets, logits):
    """Per-example sum over non-padding positions of -log p(target), in float32."""
    logits = ops.cast(logits, "float32")
    ce = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    mask = ops.cast(ops.not_equal(targets, PAD_ID), "float32")
    return ops.sum(ce * mask, axis=-1), mask


def _per_example_accuracy(targets, logits, mask):
    correct = ops.cast(
        ops.equal(ops.argmax(logits, axis=-1), ops.cast(targets, "int64")), "float32"
    )
    return ops.sum(correct * mask, axis=-1) / ops.maximum(ops.sum(mask, axis=-1), 1.0)


def _check_texts(texts, name="texts"):
    if isinstance(texts, str):
        texts = [texts]
    texts = [str(t) for t in texts]
    for i, t in enumerate(texts):
        if not t.strip():
            raise ValueError(f"{name}[{i}] is empty; give non-empty text")
    return texts


def _log_softmax_np(logits):
    logits = np.asarray(logits, np.float64)
    logits = logits - logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def _reorder(state, rows):
    return [ops.take(s, rows, axis=0) for s in state]


@keras.saving.register_keras_serializable(package="keras_gen")
class WordDropout(SavesSeedState, keras.layers.Layer):
    """Replace each non-special token id by the unknown id with probability ``rate``.

    Bowman et al. (2016): weakening the decoder's view of the sentence makes it use the
    latent code. Noise from the layer's ``SeedGenerator``, different on every replica.

    >>> import numpy as np
    >>> ids = WordDropout(1.0, seed=0)(np.array([[2, 7, 8, 0]]), training=True)
    >>> ids.numpy().tolist()
    [[2, 1, 1, 0]]
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"rate must be in [0, 1]; got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # no weights

    def call(self, ids, training=False):
        if not training or self.rate == 0.0:
            return ids
        u = backend.stateless_uniform(ops.shape(ids), self.seed_generator)
        droppable = ops.greater_equal(ids, len(SPECIAL_IDS))
        return ops.where(ops.logical_and(droppable, u < self.rate), UNK_ID, ids)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_gen")
class SeededDropout(SavesSeedState, keras.layers.Layer):
    """Dropout whose mask comes from the layer's saved ``SeedGenerator``, per replica.

    Keras' ``Dropout`` draws the same mask on every replica of a MirroredStrategy and
    does not save its generator's state, so a reloaded model would not continue
    training exactly; this one does both right.

    >>> import numpy as np
    >>> out = SeededDropout(0.5, seed=0)(np.ones((1, 1000), "float32"), training=True)
    >>> sorted(set(np.unique(out.numpy()).tolist()))
    [0.0, 2.0]
    """

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"rate must be in [0, 1); got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True  # no weights

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        u = backend.stateless_uniform(ops.shape(inputs), self.seed_generator)
        kept = inputs / ops.cast(1.0 - self.rate, inputs.dtype)
        return ops.where(u >= self.rate, kept, ops.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class TiedSoftmaxHead(keras.layers.Layer):
    """Vocabulary logits ``h @ E.T + b`` that reuse an ``Embedding``'s matrix ``E``.

    Only the bias is this layer's own weight; ``E`` is read from the embedding layer
    at every call (and trained by both uses), so a model that owns both saves it once.
    Built inside the model that owns the embedding, from that model's config.

    >>> import numpy as np
    >>> emb = keras.layers.Embedding(5, 3)
    >>> emb.build((None,))
    >>> head = TiedSoftmaxHead(emb)
    >>> head(np.zeros((2, 3), "float32")).shape
    TensorShape([2, 5])
    """

    def __init__(self, embedding: keras.layers.Embedding, **kwargs):
        super().__init__(**kwargs)
        # A function, not an attribute: tracking the layer here too would list E twice.
        self._matrix = lambda: embedding.embeddings
        self.bias = self.add_weight(shape=(embedding.input_dim,), initializer="zeros", name="bias")

    def call(self, h):
        matrix = ops.cast(self._matrix(), h.dtype)
        return ops.matmul(h, ops.transpose(matrix)) + ops.cast(self.bias, h.dtype)


@keras.saving.register_keras_serializable(package="keras_gen")
class GatedResidualBlock(keras.layers.Layer):
    """``h + conv_a(h) * sigmoid(conv_b(h))``, zeroed at padded positions (a gated residual CNN).

    >>> import numpy as np
    >>> block = GatedResidualBlock(8, kernel_size=3)
    >>> tuple(block(np.ones((2, 5, 8), "float32"), np.ones((2, 5), bool)).shape)
    (2, 5, 8)
    """

    def __init__(self, filters: int, kernel_size: int = 3, dilation_rate: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.dilation_rate = filters, kernel_size, dilation_rate
        self.conv = keras.layers.Conv1D(
            2 * filters, kernel_size, padding="same", dilation_rate=dilation_rate, name="conv"
        )

    def build(self, inputs_shape, mask_shape=None):
        self.conv.build(inputs_shape)

    def call(self, inputs, mask):
        a, g = ops.split(self.conv(inputs), 2, axis=-1)
        out = inputs + a * ops.sigmoid(g)
        return out * ops.cast(mask, out.dtype)[..., None]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dilation_rate": self.dilation_rate,
        }


class TextModel(GenerativeModel):
    """Shared plumbing: the vocabulary, raw-text encoding, a dummy build."""

    def __init__(self, vocabulary, level="char", term_names=("loss",), **kwargs):
        super().__init__(term_names=term_names, **kwargs)
        self.vocab = _vocabulary(vocabulary, level)
        if len(self.vocab.tokens) < 1:
            raise ValueError("vocabulary must hold at least one token")

    def build(self, *args, **kwargs):
        # Every layer is built in __init__ (so that weights load and strategies see them).
        self.built = True

    @property
    def vocab_size(self) -> int:
        return self.vocab.size

    def encode_texts(self, texts, max_length=None, **kwargs) -> np.ndarray:
        """Token ids of raw ``texts`` with this model's vocabulary."""
        return self.vocab.encode(_check_texts(texts), max_length=max_length, **kwargs)

    def get_config(self):
        return {**super().get_config(), "vocabulary": _vocab_config(self.vocab)}


# --------------------------------------------------------------------------------------------
# Couplets as sequence labelling


@keras.saving.register_keras_serializable(package="keras_gen")
class CoupletTagger(TextModel):
    """The second line of a couplet as sequence labelling over the first (same length).

    Embedding, ``num_blocks`` gated residual Conv1D blocks and a softmax over the
    vocabulary at every position. Decoding takes the most likely character at each
    position, never the first line's character at that position.

    Train on ``(first_ids, second_ids)`` of equal lengths
    (:func:`keras_gen.text.pipeline.couplet_arrays`).

    Example:

    >>> from keras_gen.text import TextVocabulary, pipeline
    >>> first, second = ["春风暖", "秋月明"], ["秋月明", "春风暖"]
    >>> vocab = TextVocabulary.build(first + second)
    >>> model = CoupletTagger(vocab, embedding_dim=8, filters=8, num_blocks=1)
    >>> model.compile(optimizer="adam")
    >>> x, y = pipeline.couplet_arrays(vocab, first, second)
    >>> _ = model.fit(x, y, epochs=1, verbose=0)
    >>> [len(s) for s in model.generate(["春风暖"])]
    [3]
    """

    def __init__(
        self,
        vocabulary,
        embedding_dim: int = 128,
        filters: int = 256,
        kernel_size: int = 3,
        num_blocks: int = 6,
        dropout: float = 0.1,
        **kwargs,
    ):
        super().__init__(vocabulary, term_names=("loss", "accuracy"), **kwargs)
        self.embedding_dim = _positive(embedding_dim, "embedding_dim")
        self.filters = _positive(filters, "filters")
        self.kernel_size = _positive(kernel_size, "kernel_size")
        self.num_blocks = _positive(num_blocks, "num_blocks")
        self.dropout = float(dropout)
        self.embedding = keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, name="embedding"
        )
        self.project = keras.layers.Dense(self.filters, name="project")
        self.blocks = [
            GatedResidualBlock(self.filters, self.kernel_size, name=f"block_{i}")
            for i in range(self.num_blocks)
        ]
        self.drop = SeededDropout(self.dropout, seed=0, name="dropout")
        self.head = keras.layers.Dense(self.vocab_size, name="head")
        self.call(np.ones((1, 2), "int32"))  # build every layer now
        self.built = True

    def call(self, x, training=False):
        mask = ops.not_equal(x, PAD_ID)
        h = self.project(self.embedding(x))
        for block in self.blocks:
            h = block(h, mask)
        h = self.drop(h, training=training)
        return ops.cast(self.head(h), "float32")

    def compute_terms(self, x, y=None, training=False):
        if y is None:
            raise ValueError("CoupletTagger trains on (first_ids, second_ids); y is missing")
        logits = self(x, training=training)
        loss, mask = _token_cross_entropy(y, logits)
        return {"loss": loss, "accuracy": _per_example_accuracy(y, logits, mask)}

    _logits_fn = None

    def generate(self, first_lines, no_repeat: bool = True, batch_size: int = 256) -> list[str]:
        """Second lines for ``first_lines``, one each, of the same lengths."""
        texts = _check_texts(first_lines, "first_lines")
        if self._logits_fn is None:
            self._logits_fn = backend.compiled(lambda x: self(x, training=False))
        out = []
        for start in range(0, len(texts), batch_size):
            x = self.vocab.encode(texts[start : start + batch_size])
            logits = ops.convert_to_numpy(self._logits_fn(x)).copy()
            logits[..., list(SPECIAL_IDS)] = -np.inf
            if no_repeat:
                _ban_in_place(logits, x, self.vocab)
            ids = np.where(x == PAD_ID, PAD_ID, logits.argmax(-1))
            out.extend(self.vocab.decode(ids))
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "num_blocks": self.num_blocks,
            "dropout": self.dropout,
        }


# --------------------------------------------------------------------------------------------
# Seq2seq with attention


@keras.saving.register_keras_serializable(package="keras_gen")
class Seq2Seq(TextModel):
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

    Example:

    >>> from keras_gen.text import TextVocabulary, pipeline
    >>> src, tgt = ["今天天气很好", "明天下雨"], ["天晴", "雨"]
    >>> vocab = TextVocabulary.build(src + tgt)
    >>> model = Seq2Seq(vocab, embedding_dim=8, hidden_dim=8)
    >>> model.compile(optimizer="adam")
    >>> x, y = pipeline.seq2seq_arrays(vocab, src, tgt)
    >>> _ = model.fit(x, y, epochs=1, verbose=0)  # doctest: +SKIP
    >>> len(model.generate(["今天下雨"], beam_width=3, max_length=5))
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
        self.embedding_dim = _positive(embedding_dim, "embedding_dim")
        self.hidden_dim = _positive(hidden_dim, "hidden_dim")
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
        loss, mask = _token_cross_entropy(y, logits)
        return {"loss": loss, "accuracy": _per_example_accuracy(y, logits, mask)}

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
        k = int(beam_width)
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
                return _reorder(state, rows)
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

    def generate(
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
        texts = _check_texts(texts)
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


def _ban_in_place(logits, x, vocab: TextVocabulary):
    """Set the logit of the first line's character at each position to -inf (not punctuation)."""
    punct = vocab.punctuation_mask()
    b, t = np.nonzero((x != PAD_ID) & ~punct[x])
    logits[b, t, x[b, t]] = -np.inf


# --------------------------------------------------------------------------------------------
# Text VAEs


def _kl_for_loss(mean, log_var, prior_mean=None, prior_log_var=None, free_bits=0.0):
    """(KL per example, KL the loss uses): free bits floor each dimension at ``free_bits``."""
    if prior_mean is None:
        prior_mean, prior_log_var = ops.zeros_like(mean), ops.zeros_like(log_var)
    mean, log_var = ops.cast(mean, "float32"), ops.cast(log_var, "float32")
    prior_mean, prior_log_var = ops.cast(prior_mean, "float32"), ops.cast(prior_log_var, "float32")
    per_dim = 0.5 * (
        prior_log_var
        - log_var
        + (ops.exp(log_var) + ops.square(mean - prior_mean)) / ops.exp(prior_log_var)
        - 1.0
    )
    kl = ops.sum(per_dim, axis=-1)
    if free_bits > 0:
        return kl, ops.sum(ops.maximum(per_dim, free_bits), axis=-1)
    return kl, kl


class _BetaMixin:
    def _init_beta(self, beta):
        if isinstance(beta, dict):
            beta = keras.saving.deserialize_keras_object(beta)
        if not callable(beta) and float(beta) < 0:
            raise ValueError(f"beta must be >= 0 or a schedule; got {beta!r}")
        self.beta = beta if callable(beta) else float(beta)

    def current_beta(self):
        """The KL weight at the optimizer's current step (KLAnnealing installs a schedule)."""
        if not callable(self.beta):
            return self.beta
        step = self.optimizer.iterations if self.optimizer is not None else 0
        return ops.cast(self.beta(step), "float32")

    def _beta_config(self):
        return keras.saving.serialize_keras_object(self.beta) if callable(self.beta) else self.beta


@keras.saving.register_keras_serializable(package="keras_gen")
class TextVAE(_BetaMixin, TextModel):
    """Sentence VAE (Bowman et al. 2016): RNN encoder, z, RNN decoder started from z.

    The decoder sees z in its initial state and at every input; word dropout
    replaces decoder inputs by the unknown token with probability
    ``word_dropout``; ``dropout`` drops units of the decoder's input embeddings and of
    its RNN outputs before the softmax (texar's PTB setting uses 0.5: an unregularised
    LSTM overfits Penn Treebank within a few epochs); ``tie_embeddings`` makes the
    softmax reuse the decoder's input embedding matrix (Press & Wolf 2017; Inan et al.
    2017), through a linear projection when ``hidden_dim != embedding_dim``: a
    vocabulary-by-hidden matrix fewer to fit, which regularises word-level models;
    ``free_bits`` floors the KL of each latent dimension (nats) in
    the objective (Kingma et al. 2016); anneal ``beta`` with
    :class:`keras_gen.callbacks.KLAnnealing`. Reports ``loss``,
    ``reconstruction`` and ``kl`` (the true KL) in nats per sentence.

    Train on ids from :func:`keras_gen.text.pipeline.sentence_arrays` (tokens + end).

    Example:

    >>> from keras_gen.text import TextVocabulary, pipeline
    >>> sents = ["the cat sat", "a dog ran", "the dog sat"]
    >>> vocab = TextVocabulary.build(sents, level="word")
    >>> vae = TextVAE(vocab, latent_dim=4, embedding_dim=8, hidden_dim=8, seed=0)
    >>> vae.compile(optimizer="adam")
    >>> _ = vae.fit(pipeline.sentence_arrays(vocab, sents), epochs=1, verbose=0)  # doctest: +SKIP
    >>> len(vae.generate(2, seed=0, max_length=5))
    2
    >>> vae.log_likelihood(sents, num_samples=4).shape
    (3,)
    """

    def __init__(
        self,
        vocabulary,
        latent_dim: int = 32,
        embedding_dim: int = 256,
        hidden_dim: int = 256,
        cell: str = "lstm",
        word_dropout: float = 0.0,
        free_bits: float = 0.0,
        beta=1.0,
        seed: int | None = None,
        level: str = "word",
        dropout: float = 0.0,
        tie_embeddings: bool = False,
        **kwargs,
    ):
        super().__init__(
            vocabulary, level=level, term_names=("loss", "reconstruction", "kl"), **kwargs
        )
        self.tie_embeddings = bool(tie_embeddings)
        self.latent_dim = _positive(latent_dim, "latent_dim")
        self.embedding_dim = _positive(embedding_dim, "embedding_dim")
        self.hidden_dim = _positive(hidden_dim, "hidden_dim")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}; got {cell!r}")
        self.cell = cell
        self.free_bits = float(free_bits)
        if self.free_bits < 0:
            raise ValueError(f"free_bits must be >= 0; got {free_bits!r}")
        self.word_dropout_rate = float(word_dropout)
        self.dropout = float(dropout)
        self._init_beta(beta)
        self.seed = seed
        rnn = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
        h = self.hidden_dim
        with keras.name_scope("encoder"):
            self.encoder_embedding = keras.layers.Embedding(
                self.vocab_size, embedding_dim, name="embedding"
            )
            self.encoder_rnn = rnn(h, name="rnn")
            self.mean_head = keras.layers.Dense(self.latent_dim, name="mean", dtype="float32")
            self.log_var_head = keras.layers.Dense(self.latent_dim, name="log_var", dtype="float32")
        with keras.name_scope("decoder"):
            self.decoder_embedding = keras.layers.Embedding(
                self.vocab_size, embedding_dim, name="embedding"
            )
            self.init_state = keras.layers.Dense(
                h * (2 if cell == "lstm" else 1), activation="tanh", name="init_state"
            )
            self.decoder_rnn = rnn(h, return_sequences=True, name="rnn")
            self.head_projection = None
            if self.tie_embeddings:
                self.head = TiedSoftmaxHead(self.decoder_embedding, name="head")
                if h != self.embedding_dim:
                    self.head_projection = keras.layers.Dense(
                        self.embedding_dim, use_bias=False, name="head_projection"
                    )
            else:
                self.head = keras.layers.Dense(self.vocab_size, name="head")
        self.word_dropout = WordDropout(self.word_dropout_rate, seed=seed, name="word_dropout")
        self.sampling = GaussianSampling(seed=None if seed is None else seed + 1, name="sampling")
        self.sampling.built = True  # no weights
        dropout_seed = None if seed is None else seed + 2
        self.embedding_dropout = SeededDropout(self.dropout, dropout_seed, name="emb_dropout")
        self.output_dropout = SeededDropout(
            self.dropout, None if seed is None else seed + 3, name="out_dropout"
        )
        ones = np.ones((1, 2), "int32")
        self._decode_logits(ones, ops.zeros((1, self.latent_dim)))  # build every layer now
        self.encode_distribution(ones)
        self._fns = {}
        self.built = True

    def encode_distribution(self, x, training=False):
        """(mean, log_var) of q(z | x), float32."""
        mask = ops.not_equal(x, PAD_ID)
        h = self.encoder_rnn(self.encoder_embedding(x), mask=mask, training=training)
        return self.mean_head(h), self.log_var_head(h)

    def _initial_state(self, z):
        s = self.init_state(z)
        if self.cell == "lstm":
            return list(ops.split(s, 2, axis=-1))
        return [s]

    def _decode_logits(self, decoder_inputs, z, training=False):
        emb = self.embedding_dropout(self.decoder_embedding(decoder_inputs), training=training)
        z = ops.cast(z, emb.dtype)
        steps = ops.shape(emb)[1]
        z_seq = ops.broadcast_to(z[:, None, :], (ops.shape(z)[0], steps, self.latent_dim))
        states = self.decoder_rnn(
            ops.concatenate([emb, z_seq], axis=-1),
            initial_state=self._initial_state(z),
            training=training,
        )
        return self._logits(self.output_dropout(states, training=training))

    def _logits(self, states):
        """float32 logits over the vocabulary from decoder outputs."""
        if self.head_projection is not None:
            states = self.head_projection(states)
        return ops.cast(self.head(states), "float32")

    @staticmethod
    def _shift(x):
        start = ops.full((ops.shape(x)[0], 1), START_ID, dtype=x.dtype)
        return ops.concatenate([start, x[:, :-1]], axis=1)

    def call(self, x, training=False):
        mean, log_var = self.encode_distribution(x, training=training)
        z = self.sampling([mean, log_var]) if training else mean
        inputs = self.word_dropout(self._shift(x), training=training)
        return self._decode_logits(inputs, z, training=training)

    def compute_terms(self, x, y=None, training=False):
        mean, log_var = self.encode_distribution(x, training=training)
        z = self.sampling([mean, log_var])
        inputs = self.word_dropout(self._shift(x), training=training)
        reconstruction, _ = _token_cross_entropy(x, self._decode_logits(inputs, z, training))
        kl, kl_loss = _kl_for_loss(mean, log_var, free_bits=self.free_bits)
        return {
            "loss": reconstruction + self.current_beta() * kl_loss,
            "reconstruction": reconstruction,
            "kl": kl,
        }

    # -- decoding ----------------------------------------------------------------------

    def _fn(self, name, fn):
        if name not in self._fns:
            self._fns[name] = backend.compiled(fn)
        return self._fns[name]

    def _step(self, tokens, z, *states):
        emb = self.decoder_embedding(tokens)
        inputs = ops.concatenate([emb, ops.cast(z, emb.dtype)], axis=-1)
        out, new_states = self.decoder_rnn.cell(inputs, list(states), training=False)
        return ops.log_softmax(self._logits(out), axis=-1), *new_states

    def decode(self, z, max_length: int = 40, temperature: float = 0.0, seed=None) -> list[str]:
        """Sentences decoded from latent codes ``z`` (n, latent_dim), greedily by default."""
        z = np.asarray(z, "float32")
        init = self._fn("init", lambda z: self._initial_state(z))(z)
        fn = self._fn("step", self._step)

        def step(tokens, state):
            logp, *new = fn(tokens, z, *state)
            return ops.convert_to_numpy(logp), new

        result = decoding.greedy_search(
            step,
            list(init),
            len(z),
            max_length,
            temperature=temperature,
            rng=np.random.default_rng(seed),
        )
        return self.vocab.decode(result.best)

    def generate(self, n: int, seed=None, max_length: int = 40, temperature: float = 0.0):
        """``n`` sentences from z ~ N(0, I) (greedy decoding unless ``temperature > 0``)."""
        n = _positive(n, "n")
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return self.decode(z, max_length=max_length, temperature=temperature, seed=seed)

    def encode(self, texts) -> np.ndarray:
        """Posterior means of raw ``texts``."""
        x = self.vocab.encode(_check_texts(texts), add_end=True)
        return ops.convert_to_numpy(self._fn("encode", self.encode_distribution)(x)[0])

    def interpolate(self, a: str, b: str, steps: int = 5, max_length: int = 40) -> list[str]:
        """Greedy decodings along the line between the posterior means of ``a`` and ``b``."""
        za, zb = self.encode([a, b])
        t = np.linspace(0.0, 1.0, _positive(steps, "steps"), dtype="float32")[:, None]
        return self.decode((1 - t) * za + t * zb, max_length=max_length)

    def _log_weights(self, x, eps):
        mean, log_var = self.encode_distribution(x)
        k = ops.shape(eps)[0]
        z = mean[None] + ops.exp(0.5 * log_var)[None] * eps
        z_flat = ops.reshape(z, (-1, self.latent_dim))
        x_flat = ops.reshape(ops.broadcast_to(x[None], (k, *ops.shape(x))), (-1, ops.shape(x)[1]))

        def flat(t):
            return ops.reshape(ops.broadcast_to(t[None], (k, *ops.shape(t))), (-1, self.latent_dim))

        nll, _ = _token_cross_entropy(x_flat, self._decode_logits(self._shift(x_flat), z_flat))
        log_pz = losses.gaussian_log_prob(z_flat)
        log_qz = losses.gaussian_log_prob(z_flat, flat(mean), flat(log_var))
        return ops.reshape(-nll + log_pz - log_qz, (k, -1))

    def log_likelihood(self, texts, num_samples: int = 100, batch_size: int = 50, seed=0):
        """Importance-sampled log p(sentence) in nats (end token included), one per text."""
        x = (
            texts
            if isinstance(texts, np.ndarray)
            else self.vocab.encode(_check_texts(texts), add_end=True)
        )
        fn = self._fn("log_weights", self._log_weights)
        rng = np.random.default_rng(seed)

        def log_weights(batch, k):
            eps = rng.standard_normal((k, len(batch[0]), self.latent_dim)).astype("float32")
            return ops.convert_to_numpy(fn(batch[0], eps))

        return importance_sampled_log_likelihood(
            log_weights, [x], num_samples, batch_size=batch_size, max_rows=4000
        )

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "embedding_dim": self.embedding_dim,
            "hidden_dim": self.hidden_dim,
            "cell": self.cell,
            "word_dropout": self.word_dropout_rate,
            "dropout": self.dropout,
            "tie_embeddings": self.tie_embeddings,
            "free_bits": self.free_bits,
            "beta": self._beta_config(),
            "seed": self.seed,
            "level": self.vocab.level,
        }


@keras.saving.register_keras_serializable(package="keras_gen")
class CoupletCVAE(_BetaMixin, TextModel):
    """A conditional VAE for couplets: many different second lines for one first line.

    The prior p(z | first) and the posterior q(z | first, second) are Gaussians
    computed by gated residual CNNs over the lines; the decoder tags every
    position of the first line (as :class:`CoupletTagger` does) from the first
    line's features plus z, so z is what ties the positions of one sample
    together. Sampling z from the prior gives different second lines.

    Example:

    >>> from keras_gen.text import TextVocabulary, pipeline
    >>> first, second = ["春风暖", "秋月明"], ["秋月明", "春风暖"]
    >>> vocab = TextVocabulary.build(first + second)
    >>> model = CoupletCVAE(vocab, latent_dim=4, embedding_dim=8, filters=8, num_blocks=1)
    >>> model.compile(optimizer="adam")
    >>> x, y = pipeline.couplet_arrays(vocab, first, second)
    >>> _ = model.fit(x, y, epochs=1, verbose=0)  # doctest: +SKIP
    >>> len(model.generate("春风暖", num_samples=3, seed=0))
    3
    """

    def __init__(
        self,
        vocabulary,
        latent_dim: int = 32,
        embedding_dim: int = 128,
        filters: int = 256,
        kernel_size: int = 3,
        num_blocks: int = 4,
        free_bits: float = 0.0,
        beta=1.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(vocabulary, term_names=("loss", "reconstruction", "kl"), **kwargs)
        self.latent_dim = _positive(latent_dim, "latent_dim")
        self.embedding_dim = _positive(embedding_dim, "embedding_dim")
        self.filters = _positive(filters, "filters")
        self.kernel_size = _positive(kernel_size, "kernel_size")
        self.num_blocks = _positive(num_blocks, "num_blocks")
        self.free_bits = float(free_bits)
        self._init_beta(beta)
        self.seed = seed
        f, k = self.filters, self.kernel_size

        def blocks(prefix):
            return [GatedResidualBlock(f, k, name=f"{prefix}_{i}") for i in range(self.num_blocks)]

        self.embedding = keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, name="embedding"
        )
        with keras.name_scope("condition"):
            self.condition_in = keras.layers.Dense(f, name="project")
            self.condition_blocks = blocks("block")
            self.prior_head = keras.layers.Dense(2 * self.latent_dim, name="prior", dtype="float32")
        with keras.name_scope("encoder"):
            self.posterior_in = keras.layers.Dense(f, name="project")
            self.posterior_blocks = blocks("block")
            self.posterior_head = keras.layers.Dense(
                2 * self.latent_dim, name="posterior", dtype="float32"
            )
        with keras.name_scope("decoder"):
            self.latent_in = keras.layers.Dense(f, name="latent")
            self.decoder_blocks = blocks("block")
            self.head = keras.layers.Dense(self.vocab_size, name="head")
        self.sampling = GaussianSampling(seed=seed, name="sampling")
        self.sampling.built = True  # no weights
        ones = np.ones((1, 2), "int32")
        self.call((ones, ones))
        self._fns = {}
        self.built = True

    @staticmethod
    def _pool(h, mask):
        m = ops.cast(mask, h.dtype)[..., None]
        return ops.sum(h * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)

    def _condition(self, x, training=False):
        mask = ops.not_equal(x, PAD_ID)
        h = self.condition_in(self.embedding(x))
        for block in self.condition_blocks:
            h = block(h, mask)
        prior = self.prior_head(self._pool(h, mask))
        return h, mask, ops.split(prior, 2, axis=-1)

    def _posterior(self, x, y, mask):
        h = self.posterior_in(ops.concatenate([self.embedding(x), self.embedding(y)], axis=-1))
        for block in self.posterior_blocks:
            h = block(h, mask)
        return ops.split(self.posterior_head(self._pool(h, mask)), 2, axis=-1)

    def _decode(self, h, mask, z):
        h = h + self.latent_in(ops.cast(z, h.dtype))[:, None, :]
        for block in self.decoder_blocks:
            h = block(h, mask)
        return ops.cast(self.head(h), "float32")

    def call(self, inputs, training=False):
        x, y = inputs
        h, mask, _ = self._condition(x, training)
        mean, log_var = self._posterior(x, y, mask)
        z = self.sampling([mean, log_var]) if training else mean
        return self._decode(h, mask, z)

    def compute_terms(self, x, y=None, training=False):
        if y is None:
            raise ValueError("CoupletCVAE trains on (first_ids, second_ids); y is missing")
        h, mask, (prior_mean, prior_log_var) = self._condition(x, training)
        mean, log_var = self._posterior(x, y, mask)
        z = self.sampling([mean, log_var])
        reconstruction, _ = _token_cross_entropy(y, self._decode(h, mask, z))
        kl, kl_loss = _kl_for_loss(mean, log_var, prior_mean, prior_log_var, self.free_bits)
        return {
            "loss": reconstruction + self.current_beta() * kl_loss,
            "reconstruction": reconstruction,
            "kl": kl,
        }

    def _sample_logits(self, x, eps):
        h, mask, (prior_mean, prior_log_var) = self._condition(x)
        z = prior_mean + ops.exp(0.5 * prior_log_var) * eps
        return self._decode(h, mask, z)

    def generate(
        self,
        first_line: str,
        num_samples: int = 5,
        seed=None,
        temperature: float = 0.0,
        no_repeat: bool = True,
    ) -> list[str]:
        """``num_samples`` second lines for one first line, from z ~ p(z | first line).

        Each position takes its most likely character given z (``temperature=0``) or
        samples it; the first line's character at the same position is never used.
        """
        (text,) = _check_texts([first_line], "first_line")
        n = _positive(num_samples, "num_samples")
        rng = np.random.default_rng(seed)
        x = np.repeat(self.vocab.encode([text]), n, axis=0)
        eps = rng.standard_normal((n, self.latent_dim)).astype("float32")
        logits = ops.convert_to_numpy(self._fn("sample", self._sample_logits)(x, eps)).copy()
        logits[..., list(SPECIAL_IDS)] = -np.inf
        if no_repeat:
            _ban_in_place(logits, x, self.vocab)
        if temperature > 0:
            logp = _log_softmax_np(logits / temperature)
            u = rng.random((*logp.shape[:-1], 1))
            ids = (np.exp(logp).cumsum(-1) > u).argmax(-1)
        else:
            ids = logits.argmax(-1)
        return self.vocab.decode(np.where(x == PAD_ID, PAD_ID, ids))

    def _fn(self, name, fn):
        if name not in self._fns:
            self._fns[name] = backend.compiled(fn)
        return self._fns[name]

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "embedding_dim": self.embedding_dim,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "num_blocks": self.num_blocks,
            "free_bits": self.free_bits,
            "beta": self._beta_config(),
            "seed": self.seed,
        }
