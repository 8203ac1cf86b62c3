"""The sentence VAE (Bowman et al. 2016)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_gen import losses
from keras_gen.layers import GaussianSampling, SeededDropout, TiedSoftmaxHead, WordDropout
from keras_gen.losses import importance
from keras_gen.losses.categorical import check_temperature
from keras_gen.metrics.likelihood import importance_sampled_log_likelihood
from keras_gen.text import decoding
from keras_gen.text.vocab import PAD_ID, START_ID
from keras_gen.training import backend
from keras_gen.zoo.capabilities import Autoencoding, Generator, KLWeighted, LogLikelihood
from keras_gen.zoo.checks import positive_int
from keras_gen.zoo.text_model import (
    CELLS,
    TextModel,
    check_texts,
    token_cross_entropy,
)


@keras.saving.register_keras_serializable(package="keras_gen")
class TextVAE(Generator, Autoencoding, LogLikelihood, KLWeighted, TextModel):
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

    Args:
        vocabulary: the word (or character) vocabulary (see
            :class:`~keras_gen.zoo.text_model.TextModel`).
        latent_dim: size of the code z.
        embedding_dim: size of the word embeddings (encoder and decoder each have one).
        hidden_dim: units of the encoder's and the decoder's RNN.
        cell: ``"lstm"`` or ``"gru"``.
        word_dropout: probability of replacing a decoder input by the unknown token.
        free_bits: floor of each latent dimension's KL in the objective, nats (0: none).
        beta: weight of the KL term, a float or a schedule of the optimizer step.
        seed: seed of the sampling, word-dropout and dropout noise.
        level: ``"word"`` or ``"char"`` (see ``TextModel``).
        dropout: dropout rate on the decoder's input embeddings and RNN outputs.
        tie_embeddings: share the softmax matrix with the decoder's input embedding.
        **kwargs: passed to :class:`~keras_gen.zoo.text_model.TextModel`.

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
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        self.hidden_dim = positive_int(hidden_dim, "hidden_dim")
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
        reconstruction, _ = token_cross_entropy(x, self._decode_logits(inputs, z, training))
        kl, kl_loss = losses.gaussian_kl_free_bits(mean, log_var, free_bits=self.free_bits)
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
        temperature = check_temperature(temperature)
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
        n = positive_int(n, "n")
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return self.decode(z, max_length=max_length, temperature=temperature, seed=seed)

    def encode(self, texts) -> np.ndarray:
        """Posterior means of raw ``texts``."""
        x = self.vocab.encode(check_texts(texts), add_end=True)
        return ops.convert_to_numpy(self._fn("encode", self.encode_distribution)(x)[0])

    def interpolate(self, a: str, b: str, steps: int = 5, max_length: int = 40) -> list[str]:
        """Greedy decodings along the line between the posterior means of ``a`` and ``b``."""
        za, zb = self.encode([a, b])
        t = np.linspace(0.0, 1.0, positive_int(steps, "steps"), dtype="float32")[:, None]
        return self.decode((1 - t) * za + t * zb, max_length=max_length)

    def _log_weights(self, x, eps):
        mean, log_var = self.encode_distribution(x)
        k = ops.shape(eps)[0]
        z = importance.posterior_samples(mean, log_var, eps)  # (k, b, d)
        z_flat = ops.reshape(z, (-1, self.latent_dim))
        x_flat = importance.sample_major(x, k)
        nll, _ = token_cross_entropy(x_flat, self._decode_logits(self._shift(x_flat), z_flat))
        return importance.importance_log_weights(ops.reshape(-nll, (k, -1)), z, mean, log_var)

    def log_likelihood(self, texts, num_samples: int = 100, batch_size: int = 50, seed=0):
        """Importance-sampled log p(sentence) in nats (end token included), one per text."""
        x = (
            texts
            if isinstance(texts, np.ndarray)
            else self.vocab.encode(check_texts(texts), add_end=True)
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
