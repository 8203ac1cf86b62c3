"""A conditional VAE for couplets: several different second lines for one first line."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_gen import losses
from keras_gen.layers import GatedResidualBlock, GaussianSampling
from keras_gen.losses.categorical import check_temperature, sample_categorical
from keras_gen.text.vocab import PAD_ID, SPECIAL_IDS
from keras_gen.training import backend
from keras_gen.zoo.capabilities import InputConditional, KLWeighted
from keras_gen.zoo.checks import positive_int
from keras_gen.zoo.text_model import (
    TextModel,
    ban_in_place,
    check_texts,
    token_cross_entropy,
)


@keras.saving.register_keras_serializable(package="keras_gen")
class CoupletCVAE(InputConditional, KLWeighted, TextModel):
    """A conditional VAE for couplets: many different second lines for one first line.

    The prior p(z | first) and the posterior q(z | first, second) are Gaussians
    computed by gated residual CNNs over the lines; the decoder tags every
    position of the first line (as :class:`CoupletTagger` does) from the first
    line's features plus z, so z is what ties the positions of one sample
    together. Sampling z from the prior gives different second lines. Reports
    ``loss``, ``reconstruction`` and ``kl`` in nats per couplet.

    Args:
        vocabulary: the character vocabulary (see
            :class:`~keras_gen.zoo.text_model.TextModel`).
        latent_dim: size of the code z.
        embedding_dim: size of the character embedding.
        filters: width of the gated residual blocks.
        kernel_size: width of each block's convolution.
        num_blocks: number of gated residual blocks in each of the prior, posterior and
            decoder networks.
        free_bits: floor of each latent dimension's KL in the objective, nats (0: none).
        beta: weight of the KL term, a float or a schedule of the optimizer step.
        seed: seed of the sampling noise.
        **kwargs: passed to :class:`~keras_gen.zoo.text_model.TextModel`.

    Example:

    >>> from keras_gen.text import TextVocabulary, pipeline
    >>> first, second = ["春风暖", "秋月明"], ["秋月明", "春风暖"]
    >>> vocab = TextVocabulary.build(first + second)
    >>> model = CoupletCVAE(vocab, latent_dim=4, embedding_dim=8, filters=8, num_blocks=1)
    >>> model.compile(optimizer="adam")
    >>> x, y = pipeline.couplet_arrays(vocab, first, second)
    >>> _ = model.fit(x, y, epochs=1, verbose=0)  # doctest: +SKIP
    >>> len(model.generate_from("春风暖", num_samples=3, seed=0))
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
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim")
        self.filters = positive_int(filters, "filters")
        self.kernel_size = positive_int(kernel_size, "kernel_size")
        self.num_blocks = positive_int(num_blocks, "num_blocks")
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
        reconstruction, _ = token_cross_entropy(y, self._decode(h, mask, z))
        kl, kl_loss = losses.gaussian_kl_free_bits(
            mean, log_var, prior_mean, prior_log_var, self.free_bits
        )
        return {
            "loss": reconstruction + self.current_beta() * kl_loss,
            "reconstruction": reconstruction,
            "kl": kl,
        }

    def _sample_logits(self, x, eps):
        h, mask, (prior_mean, prior_log_var) = self._condition(x)
        z = prior_mean + ops.exp(0.5 * prior_log_var) * eps
        return self._decode(h, mask, z)

    def generate_from(
        self,
        first_line,
        num_samples: int = 5,
        seed=None,
        temperature: float = 0.0,
        no_repeat: bool = True,
    ) -> list:
        """``num_samples`` second lines for a first line, from z ~ p(z | first line).

        Each position takes its most likely character given z (``temperature=0``) or
        samples it; the first line's character at the same position is never used.
        Given a list of first lines, returns one such list per line.
        """
        if not isinstance(first_line, str):
            return [
                self.generate_from(t, num_samples, seed, temperature, no_repeat)
                for t in check_texts(first_line, "first_line")
            ]
        (text,) = check_texts([first_line], "first_line")
        n = positive_int(num_samples, "num_samples")
        temperature = check_temperature(temperature)
        rng = np.random.default_rng(seed)
        x = np.repeat(self.vocab.encode([text]), n, axis=0)
        eps = rng.standard_normal((n, self.latent_dim)).astype("float32")
        logits = ops.convert_to_numpy(self._fn("sample", self._sample_logits)(x, eps)).copy()
        logits[..., list(SPECIAL_IDS)] = -np.inf
        if no_repeat:
            ban_in_place(logits, x, self.vocab)
        ids = sample_categorical(logits, temperature, rng)
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
