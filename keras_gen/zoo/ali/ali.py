"""ALI / BiGAN: an encoder and a generator against a joint discriminator D(x, z).

Trained by the two-player core in ``keras_gen.training.adversarial``; variables live under
the name scopes ``encoder/``, ``generator/`` and ``discriminator/``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from keras_gen.layers import GaussianSampling
from keras_gen.training import backend
from keras_gen.training.adversarial import AdversarialModel, Game
from keras_gen.zoo.checks import positive_int, positive_ints
from keras_gen.zoo.dcgan.dcgan_networks import (
    check_gan_image_shape,
    dcgan_discriminator,
    dcgan_generator,
)
from keras_gen.zoo.image_model import CodeModel, check_batch_shape


@keras.saving.register_keras_serializable(package="keras_gen")
class ALI(CodeModel, AdversarialModel):
    """Adversarially learned inference / BiGAN (Dumoulin et al. 2017; Donahue et al. 2017).

    An encoder E(x) and a generator G(z) play against a joint discriminator D(x, z) that
    tells ``(x, E(x))`` (real) from ``(G(z), z)`` (generated); the generator's player (E
    and G) plays the swapped game. ``stochastic_encoder=True`` (ALI) samples
    ``E(x) = mu + sigma * eps``; False is BiGAN's deterministic encoder.

    Args:
        image_shape: (height, width, channels), divisible by ``2 ** len(filters)``.
        latent_dim: size of z.
        filters: conv filters of the encoder and the discriminator (the generator mirrors
            them, as in :class:`~keras_gen.zoo.DCGAN`).
        stochastic_encoder: ALI's Gaussian encoder (True) or BiGAN's deterministic one.
        spectral_norm: spectral normalization in the discriminator.
        seed: seed of z and of the encoder's sampling noise.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).

    Example:

    >>> import numpy as np
    >>> ali = ALI((28, 28, 1), latent_dim=8, filters=(8, 16), seed=0)
    >>> ali.compile()
    >>> x = np.random.default_rng(0).random((16, 28, 28, 1), dtype="float32")
    >>> sorted(ali.fit(x, batch_size=8, verbose=0).history)
    ['d_fake', 'd_loss', 'd_real', 'g_loss']
    >>> ali.reconstruct(x[:2]).shape
    (2, 28, 28, 1)
    """

    symmetric_generator = True

    def __init__(
        self,
        image_shape: Sequence[int] = (28, 28, 1),
        latent_dim: int = 64,
        filters: Sequence[int] = (64, 128),
        stochastic_encoder: bool = True,
        spectral_norm: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.filters = positive_ints(filters, "filters")
        self.image_shape = check_gan_image_shape(image_shape, self.filters)
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.stochastic_encoder = bool(stochastic_encoder)
        self.spectral_norm = bool(spectral_norm)
        self._noise_seeds = keras.random.SeedGenerator(seed, name="noise_seeds")
        dtype = self.dtype_policy
        with keras.name_scope("encoder"):
            x_in = keras.Input(self.image_shape, name="x")
            h = x_in
            for i, f in enumerate(self.filters):
                h = keras.layers.Conv2D(f, 4, 2, "same", dtype=dtype, name=f"encoder_conv_{i}")(h)
                h = keras.layers.LeakyReLU(0.2, dtype=dtype, name=f"encoder_lrelu_{i}")(h)
            h = keras.layers.Flatten(dtype=dtype, name="encoder_flatten")(h)
            width = 2 * self.latent_dim if self.stochastic_encoder else self.latent_dim
            out = keras.layers.Dense(width, dtype="float32", name="encoder_code")(h)
            self.encoder = keras.Model(x_in, out, name="encoder")
        self.sampling = GaussianSampling(seed=seed, name="encoder_sampling")
        with keras.name_scope("generator"):
            self.generator = dcgan_generator(self.latent_dim, self.image_shape, self.filters)
        with keras.name_scope("discriminator"):
            self.discriminator = dcgan_discriminator(
                self.image_shape,
                self.filters,
                spectral_norm=self.spectral_norm,
                extra_input_dim=self.latent_dim,
                dtype=dtype,
            )
        self.built = True

    @property
    def generator_variables(self) -> list:
        return self.encoder.trainable_variables + self.generator.trainable_variables

    @property
    def discriminator_variables(self) -> list:
        return self.discriminator.trainable_variables

    def _codes(self, x, training, sample):
        out = self.encoder(x, training=training)
        if not self.stochastic_encoder:
            return out
        mean, log_var = ops.split(out, 2, axis=-1)
        return self.sampling([mean, log_var]) if sample else mean

    def game(self, x, y=None, training=False, for_generator=False) -> Game:
        check_batch_shape(x, self.image_shape, type(self).__name__)
        z = backend.stateless_normal((ops.shape(x)[0], self.latent_dim), self._noise_seeds)
        fake = self.generator(z, training=training)
        return Game((x, self._codes(x, training, sample=True)), (fake, z))

    def discriminate(self, inputs, y=None, training=False):
        x, z = inputs
        return self.discriminator([x, z], training=training)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def _encode_batch(self, x):
        return self._codes(x, False, sample=False)  # the posterior mean

    def _decode_batch(self, z):
        return self.generator(z, training=False)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "filters": self.filters,
            "stochastic_encoder": self.stochastic_encoder,
            "spectral_norm": self.spectral_norm,
        }
