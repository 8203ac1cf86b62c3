"""The VQ-VAE (van den Oord et al. 2017): a conv autoencoder with a discrete, quantized code."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_gen.layers import VectorQuantizer
from keras_gen.training import GenerativeModel
from keras_gen.zoo import networks
from keras_gen.zoo.capabilities import Autoencoding, FromPreset, Generator
from keras_gen.zoo.checks import non_negative_int, positive_int
from keras_gen.zoo.image_model import ChecksImageBatches, batched, image_shape_argument
from keras_gen.zoo.vqvae.vqvae_networks import vqvae_decoder, vqvae_encoder


@keras.saving.register_keras_serializable(package="keras_gen")
class VQVAE(FromPreset, Generator, Autoencoding, ChecksImageBatches, GenerativeModel):
    """VQ-VAE with the paper's residual conv encoder/decoder (two stride-2 convs: 28 -> 7, 32 -> 8).

    ``loss = reconstruction + commitment (+ codebook for a gradient codebook)``
    per example, where ``reconstruction`` is the mean squared error over pixels
    divided by ``data_variance`` (Sonnet's example objective; images in [0, 1]),
    ``commitment`` is ``beta * mean((z - sg(e))^2)`` and ``codebook`` is
    ``mean((sg(z) - e)^2)`` (reported, not optimised, with the EMA codebook).
    ``perplexity`` and ``usage`` (fraction of the K codes used) of each batch's
    codes are reported too, so they appear in the progress bar and ``History``.

    ``generate(n)`` needs a prior over the code grid: train a
    :class:`~keras_gen.zoo.PixelCNN` on ``encode_indices(x_train)`` and
    :meth:`attach_prior` it (or pass ``prior=``); see :mod:`keras_gen.pipelines` for the
    whole recipe (``keras-gen train vqvae`` runs it). The attached prior is saved in the
    VQ-VAE's ``.keras`` file (its config, weights and optimizer state) and comes back
    with it.

    Args:
        image_shape: (height, width, channels), height and width divisible by 4
            (``input_shape=`` is its deprecated name).
        num_embeddings, embedding_dim, commitment_cost, codebook_update, decay,
            cosine, kmeans_init, restart_after: passed to
            :class:`~keras_gen.layers.VectorQuantizer`.
        hidden_channels, residual_channels, num_residual_layers: the conv
            networks (Sonnet: 128, 32, 2).
        data_variance: the variance of the training pixels (in [0, 1] units).
        seed: seed of the quantizer's restart / k-means draws.
        prior: a prior over the code grids for :meth:`generate` (see
            :meth:`attach_prior`), or its serialized config (from a ``.keras`` file).

    Example:

    >>> import numpy as np
    >>> vqvae = VQVAE((28, 28, 1), num_embeddings=16, embedding_dim=4,
    ...               hidden_channels=16, residual_channels=8)
    >>> vqvae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).random((16, 28, 28, 1), dtype="float32")
    >>> history = vqvae.fit(x, epochs=1, batch_size=8, verbose=0)
    >>> sorted(history.history)
    ['codebook', 'commitment', 'loss', 'perplexity', 'reconstruction', 'usage']
    >>> codes = vqvae.encode_indices(x[:2])
    >>> codes.shape, vqvae.decode_indices(codes).shape
    ((2, 7, 7), (2, 28, 28, 1))
    """

    def __init__(
        self,
        image_shape: Sequence[int] | None = None,
        num_embeddings: int = 512,
        embedding_dim: int = 64,
        commitment_cost: float = 0.25,
        codebook_update: str = "ema",
        decay: float = 0.99,
        cosine: bool = False,
        kmeans_init: bool = False,
        restart_after: int | None = None,
        hidden_channels: int = 128,
        residual_channels: int = 32,
        num_residual_layers: int = 2,
        data_variance: float = 1.0,
        seed: int | None = None,
        prior=None,
        **kwargs,
    ):
        image_shape = image_shape_argument(image_shape, kwargs, type(self).__name__)
        super().__init__(
            term_names=("loss", "reconstruction", "commitment", "codebook", "perplexity", "usage"),
            **kwargs,
        )
        # Two stride-2 convolutions: height and width divisible by 4.
        shape = networks.check_image_shape(image_shape, "conv", filters=(0, 0))
        for name, value in (
            ("hidden_channels", hidden_channels),
            ("residual_channels", residual_channels),
        ):
            if positive_int(value, name) < 2:
                raise ValueError(f"{name} must be an integer >= 2; got {value!r}")
        non_negative_int(num_residual_layers, "num_residual_layers")
        if not float(data_variance) > 0:
            raise ValueError(f"data_variance must be > 0; got {data_variance!r}")
        self.image_shape = shape
        self.code_shape = (shape[0] // 4, shape[1] // 4)
        self.hidden_channels = int(hidden_channels)
        self.residual_channels = int(residual_channels)
        self.num_residual_layers = int(num_residual_layers)
        self.data_variance = float(data_variance)
        self.seed = seed
        self.quantizer = VectorQuantizer(
            num_embeddings,
            embedding_dim,
            commitment_cost=commitment_cost,
            codebook_update=codebook_update,
            decay=decay,
            cosine=cosine,
            kmeans_init=kmeans_init,
            restart_after=restart_after,
            seed=seed,
            name="quantizer",
        )
        nets = (self.hidden_channels, self.residual_channels, self.num_residual_layers)
        self.encoder = vqvae_encoder(shape, self.quantizer.embedding_dim, *nets, self.dtype_policy)
        self.quantizer.build((None, *self.code_shape, self.quantizer.embedding_dim))
        self.decoder = vqvae_decoder(
            self.code_shape, self.quantizer.embedding_dim, shape[-1], *nets, self.dtype_policy
        )
        self.built = True  # every weight exists: a loaded .keras file restores the optimizer
        # Bypasses Keras' attribute tracking, so that the prior's weights are not the VQ-VAE's
        # trainable variables (it has its own optimizer). Keras' saving still walks the
        # public `prior` property: its weights and optimizer state go into the .keras file,
        # and get_config carries its config, so loading rebuilds it before they are read.
        object.__setattr__(self, "_prior_ref", [])
        if prior is not None:
            if isinstance(prior, dict):
                prior = keras.saving.deserialize_keras_object(prior)
            self.attach_prior(prior)

    # -- the model ------------------------------------------------------------------

    def _check_images(self, x, name: str = "x"):
        shape = tuple(x.shape[1:])
        if len(shape) != 3 or any(
            d is not None and d != e for d, e in zip(shape, self.image_shape)
        ):
            raise ValueError(
                f"{name} must have shape (batch, {', '.join(map(str, self.image_shape))}); "
                f"got shape {tuple(x.shape)}"
            )

    def call(self, x, training=False):
        """Reconstructions (float32, not clipped) of images ``x`` in [0, 1]."""
        z = self.encoder(x, training=training)
        return self.decoder(self.quantizer.quantize_vectors(z)["quantized"], training=training)

    def compute_terms(self, x, y=None, training=False):
        x = ops.convert_to_tensor(x)
        self._check_images(x)
        z = self.encoder(x, training=training)
        vq = self.quantizer.quantize_vectors(z, training=training)
        x_hat = self.decoder(vq["quantized"], training=training)
        err = ops.reshape(ops.square(x_hat - ops.cast(x, "float32")), (ops.shape(x)[0], -1))
        reconstruction = ops.mean(err, axis=1) / self.data_variance
        loss = reconstruction + vq["commitment_loss"]
        if self.quantizer.codebook_update == "gradient":
            loss = loss + vq["codebook_loss"]
        return {
            "loss": loss,
            "reconstruction": reconstruction,
            "commitment": vq["commitment_loss"],
            "codebook": vq["codebook_loss"],
            "perplexity": vq["perplexity"],
            "usage": vq["usage"],
        }

    # -- public API ---------------------------------------------------------------------

    def _images(self, x) -> np.ndarray:
        x = np.asarray(x, "float32")
        self._check_images(x)
        if np.isnan(x).any():
            raise ValueError("x must not contain NaN")
        return x

    def encode(self, x, batch_size: int = 256) -> np.ndarray:
        """Continuous pre-quantization codes (n, H/4, W/4, embedding_dim) of images in [0, 1]."""
        return batched(lambda b: self.encoder(b, training=False), [self._images(x)], batch_size)

    def encode_indices(self, x, batch_size: int = 256) -> np.ndarray:
        """Code indices (int32, shape (n, H/4, W/4)) of images ``x`` in [0, 1]."""
        return batched(
            lambda b: self.quantizer.quantize_vectors(self.encoder(b, training=False))["indices"],
            [self._images(x)],
            batch_size,
        )

    def decode_indices(self, indices, batch_size: int = 256) -> np.ndarray:
        """Images in [0, 1] (n, H, W, C) for code indices of shape (n, H/4, W/4)."""
        indices = np.asarray(indices)
        if indices.ndim != 3 or indices.shape[1:] != self.code_shape:
            raise ValueError(
                f"indices must have shape (n, {self.code_shape[0]}, {self.code_shape[1]}); "
                f"got shape {indices.shape}"
            )
        return batched(
            lambda b: ops.clip(self.decoder(self.quantizer.lookup(b), training=False), 0.0, 1.0),
            [indices.astype("int32")],
            batch_size,
        )

    def decode(self, z, batch_size: int = 256) -> np.ndarray:
        """Images in [0, 1] for continuous codes ``z`` (n, H/4, W/4, D), quantized first."""
        z = np.asarray(z, "float32")
        return batched(
            lambda b: ops.clip(
                self.decoder(self.quantizer.quantize_vectors(b)["quantized"], training=False),
                0.0,
                1.0,
            ),
            [z],
            batch_size,
        )

    def reconstruct(self, x, batch_size: int = 256) -> np.ndarray:
        """Images ``x`` passed through encoder, quantizer and decoder, clipped to [0, 1]."""
        return batched(
            lambda b: ops.clip(self(b, training=False), 0.0, 1.0), [self._images(x)], batch_size
        )

    @property
    def prior(self):
        """The attached prior over code grids (see :meth:`attach_prior`), or None."""
        return self._prior_ref[0] if self._prior_ref else None

    def attach_prior(self, prior) -> None:
        """Use ``prior`` (e.g. a trained :class:`~keras_gen.zoo.PixelCNN`) in :meth:`generate`.

        The prior is saved with the VQ-VAE (config, weights, optimizer state) and comes back
        when the ``.keras`` file is loaded; it is not trained by the VQ-VAE's ``fit``.
        """
        self._check_prior(prior)
        self._prior_ref[:] = [prior]

    def _check_prior(self, prior):
        if not hasattr(prior, "sample"):
            raise ValueError(f"prior must have a sample(n, seed) method; got {prior!r}")
        grid = tuple(getattr(prior, "grid_shape", self.code_shape))
        k = getattr(prior, "num_embeddings", self.quantizer.num_embeddings)
        if grid != self.code_shape or k != self.quantizer.num_embeddings:
            raise ValueError(
                f"prior must model ({self.code_shape[0]}, {self.code_shape[1]}) grids of "
                f"{self.quantizer.num_embeddings} codes; got {grid} grids of {k} codes"
            )

    def generate(
        self, n: int, seed: int | None = None, prior=None, temperature: float = 1.0
    ) -> np.ndarray:
        """``n`` new images in [0, 1]: code grids sampled from the prior, then decoded."""
        prior = self.prior if prior is None else prior
        if prior is None:
            raise ValueError(
                "VQVAE.generate needs a prior over the codes: train keras_gen.zoo.PixelCNN "
                "on vqvae.encode_indices(x_train), then vqvae.attach_prior(prior) or pass prior="
            )
        self._check_prior(prior)
        return self.decode_indices(prior.sample(n, seed=seed, temperature=temperature))

    def get_config(self):
        vq = self.quantizer
        config = {
            **super().get_config(),
            "image_shape": self.image_shape,
            "num_embeddings": vq.num_embeddings,
            "embedding_dim": vq.embedding_dim,
            "commitment_cost": vq.commitment_cost,
            "codebook_update": vq.codebook_update,
            "decay": vq.decay,
            "cosine": vq.cosine,
            "kmeans_init": vq.kmeans_init,
            "restart_after": vq.restart_after,
            "hidden_channels": self.hidden_channels,
            "residual_channels": self.residual_channels,
            "num_residual_layers": self.num_residual_layers,
            "data_variance": self.data_variance,
            "seed": self.seed,
        }
        if self.prior is not None:
            config["prior"] = keras.saving.serialize_keras_object(self.prior)
        return config
