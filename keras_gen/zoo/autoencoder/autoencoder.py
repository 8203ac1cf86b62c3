"""Deterministic autoencoders: plain, denoising, contractive and linear."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_gen.layers import LatentMoments
from keras_gen.layers.seeding import SavesSeedState
from keras_gen.training import backend
from keras_gen.zoo.image_model import ImageModel, batched

NOISES = ("gaussian", "masking")


@keras.saving.register_keras_serializable(package="keras_gen")
class Autoencoder(ImageModel):
    """An autoencoder trained by maximum likelihood of the reconstruction.

    ``loss`` is ``-log p(x | decoder(encoder(x)))`` per example (binary
    cross-entropy summed over pixels for ``likelihood="bernoulli"``). A
    :class:`~keras_gen.layers.LatentMoments` layer keeps a Gaussian fit of the
    codes, so ``generate`` can sample (ex-post density estimation).

    Args:
        code_activation: activation of the code layer (None: linear).
        Other arguments (``image_shape``, ``latent_dim`` (default 32), ``architecture``,
        ``likelihood``, ``hidden_units``, ``filters``, ``activation``): see
        :class:`~keras_gen.zoo.image_model.ImageModel`.

    Example:

    >>> import numpy as np
    >>> ae = Autoencoder((28, 28, 1), latent_dim=8, hidden_units=(64,))
    >>> ae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).random((32, 28, 28, 1), dtype="float32")
    >>> _ = ae.fit(x, epochs=1, batch_size=16, verbose=0)
    >>> ae.reconstruct(x[:2]).shape
    (2, 28, 28, 1)
    """

    def __init__(
        self,
        image_shape: Sequence[int] | None = None,
        latent_dim: int = 32,
        *,
        code_activation: str | None = None,
        **kwargs,
    ):
        # ImageModel's arguments (architecture, likelihood, hidden_units, ...) are in kwargs.
        super().__init__(image_shape, latent_dim, **kwargs)
        self.code_activation = code_activation
        self.code_head = keras.layers.Dense(
            self.latent_dim, activation=code_activation, name="encoder_code", dtype="float32"
        )
        with keras.name_scope("encoder"):
            self.code_head.build((None, *self.encoder_body.output.shape[1:]))
        self.latent_moments = LatentMoments(name="latent_moments")
        self.latent_moments.build((None, self.latent_dim))

    def code(self, x, training=False):
        """Codes of ``x`` as a tensor (differentiable)."""
        return self.code_head(self.encoder_body(x, training=training))

    def call(self, x, training=False):
        z = self.latent_moments(self.code(x, training=training), training=training)
        return self.params_to_images(self.decoder(z, training=training))

    def reconstruction_terms(self, x_in, x_target, training):
        z = self.latent_moments(self.code(x_in, training=training), training=training)
        return -self.log_likelihood_terms(x_target, self.decoder(z, training=training))

    def compute_terms(self, x, y=None, training=False):
        return {"loss": self.reconstruction_terms(x, x, training)}

    def encode(self, x, y=None) -> np.ndarray:
        """Codes of ``x`` (NumPy, shape (n, latent_dim))."""
        return batched(lambda x: self.code(x), [np.asarray(x, "float32")])

    def _sample_codes(self, n, seed):
        return self.latent_moments.sample(n, seed)

    def get_config(self):
        config = {**super().get_config(), "code_activation": self.code_activation}
        return config


@keras.saving.register_keras_serializable(package="keras_gen")
class DenoisingAutoencoder(SavesSeedState, Autoencoder):
    """Reconstruct clean images from corrupted ones (Vincent et al. 2008).

    ``noise="gaussian"`` adds ``noise_level * N(0, 1)``; ``noise="masking"``
    zeroes each pixel with probability ``noise_level``. The corruption is
    applied in ``fit`` and ``evaluate`` (the objective is the denoising one);
    ``reconstruct`` and ``encode`` see clean inputs.

    Args:
        noise: ``"gaussian"`` (additive) or ``"masking"`` (pixels set to 0).
        noise_level: the Gaussian's standard deviation, or the masking probability
            (in [0, 1)).
        seed: seed of the corruption noise.
        Other arguments: see :class:`Autoencoder`.

    Example:

    >>> dae = DenoisingAutoencoder((28, 28, 1), noise="masking", noise_level=0.25)
    """

    def __init__(
        self,
        image_shape: Sequence[int] | None = None,
        noise: str = "gaussian",
        noise_level: float = 0.3,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(image_shape, **kwargs)
        if noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}; got {noise!r}")
        if noise_level < 0 or (noise == "masking" and noise_level >= 1):
            raise ValueError(f"noise_level must be >= 0 (and < 1 for masking); got {noise_level!r}")
        self.noise = noise
        self.noise_level = float(noise_level)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def corrupt(self, x):
        """A corrupted copy of ``x`` (a tensor), with fresh noise on each call."""
        x = ops.convert_to_tensor(x)
        if self.noise == "gaussian":
            eps = backend.stateless_normal(ops.shape(x), self.seed_generator, dtype=x.dtype)
            return x + ops.cast(self.noise_level, x.dtype) * eps
        keep = backend.stateless_uniform(ops.shape(x), self.seed_generator) >= self.noise_level
        return ops.where(keep, x, ops.zeros_like(x))

    def compute_terms(self, x, y=None, training=False):
        return {"loss": self.reconstruction_terms(self.corrupt(x), x, training)}

    def get_config(self):
        return {
            **super().get_config(),
            "noise": self.noise,
            "noise_level": self.noise_level,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="keras_gen")
class ContractiveAutoencoder(Autoencoder):
    """Penalise the encoder's sensitivity to its input (Rifai et al. 2011).

    ``loss = reconstruction + contraction * ||d code / d x||_F^2`` per example,
    with the exact Jacobian (one backward pass per code unit, vectorised), so
    keep ``latent_dim`` moderate. Reports ``reconstruction`` and ``jacobian``.

    Args:
        contraction: weight of the Jacobian penalty (>= 0).
        Other arguments: see :class:`Autoencoder` (``code_activation`` defaults to
        ``"sigmoid"`` here, as in Rifai et al.).

    Example:

    >>> cae = ContractiveAutoencoder((28, 28, 1), latent_dim=16, contraction=0.1)
    """

    def __init__(
        self, image_shape: Sequence[int] | None = None, contraction: float = 0.1, **kwargs
    ):
        kwargs.setdefault("code_activation", "sigmoid")
        super().__init__(image_shape, term_names=("loss", "reconstruction", "jacobian"), **kwargs)
        if contraction < 0:
            raise ValueError(f"contraction must be >= 0; got {contraction!r}")
        self.contraction = float(contraction)

    def compute_terms(self, x, y=None, training=False):
        x = ops.convert_to_tensor(x)
        jacobian = backend.batch_jacobian_sq_norm(
            lambda inputs: self.code(inputs, training=training), x
        )
        reconstruction = self.reconstruction_terms(x, x, training)
        return {
            "loss": reconstruction + self.contraction * jacobian,
            "reconstruction": reconstruction,
            "jacobian": jacobian,
        }

    def get_config(self):
        return {**super().get_config(), "contraction": self.contraction}


@keras.saving.register_keras_serializable(package="keras_gen")
class LinearAutoencoder(Autoencoder):
    """Linear encoder and decoder trained on squared error: it learns the PCA subspace.

    With ``k`` code units, the optimum's decoder spans the top-``k``
    principal subspace of the (centred) data (Baldi & Hornik 1989), though
    not the principal axes themselves. ``loss`` is ``0.5 * ||x - x_hat||^2``.

    Args:
        image_shape: shape of the data (any; it is flattened).
        latent_dim: number of code units k.
        **kwargs: ``name``, ``dtype`` (the architecture, likelihood and activation are
            fixed: a linear map each way).

    Example:

    >>> lae = LinearAutoencoder((10,), latent_dim=2)
    >>> lae.decoder_kernel().shape
    (2, 10)
    """

    def __init__(self, image_shape: Sequence[int] | None = None, latent_dim: int = 2, **kwargs):
        for fixed in ("architecture", "likelihood", "hidden_units", "activation"):
            kwargs.pop(fixed, None)
        super().__init__(
            image_shape,
            latent_dim,
            architecture="mlp",
            likelihood="gaussian",
            hidden_units=(),
            activation="linear",
            **kwargs,
        )
        self.log_scale.trainable = False  # the loss is plain squared error

    def compute_terms(self, x, y=None, training=False):
        x_hat = self.decoder(self.code(x, training=training), training=training)
        err = ops.reshape(ops.cast(x, "float32") - x_hat, (ops.shape(x)[0], -1))
        return {"loss": 0.5 * ops.sum(ops.square(err), axis=-1)}

    def params_to_images(self, params):
        return ops.cast(params, "float32")  # not images: no clipping

    def decoder_kernel(self) -> np.ndarray:
        """The decoder's weight matrix, shape (latent_dim, prod(image_shape))."""
        return ops.convert_to_numpy(self.decoder.layers[-2].kernel)
