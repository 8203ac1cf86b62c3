"""The adversarial autoencoder (Makhzani et al. 2016).

An autoencoder whose codes are pushed to the prior N(0, I) by a discriminator on the
code space, trained by the two-player core in ``keras_gen.training.adversarial``.
Variables live under the name scopes ``encoder/``, ``decoder/`` and ``discriminator/``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import ops

from keras_gen import losses
from keras_gen.training import backend
from keras_gen.training.adversarial import AdversarialModel, Game
from keras_gen.zoo import networks
from keras_gen.zoo.checks import positive_int, positive_ints
from keras_gen.zoo.image_model import CodeModel, check_batch_shape, image_shape_argument


@keras.saving.register_keras_serializable(package="keras_gen")
class AdversarialAutoencoder(CodeModel, AdversarialModel):
    """Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose codes are pushed
    to the prior N(0, I) by a discriminator on the code space.

    The generator's player is the encoder and decoder; its objective is
    ``adversarial_weight * g_loss + reconstruction`` (Bernoulli negative log-likelihood of
    the image, nats). The discriminator tells prior samples (real) from codes (generated).

    Args:
        image_shape: (height, width, channels); default (28, 28, 1) (``input_shape=`` is
            its deprecated name).
        latent_dim: size of the code.
        architecture: ``"mlp"`` or ``"conv"`` encoder and decoder (as in ``ImageModel``).
        hidden_units: dense layers of the encoder (mirrored in the decoder).
        filters: conv layers (stride 2 each) for ``architecture="conv"``.
        discriminator_units: dense layers of the code discriminator (LeakyReLU 0.2).
        adversarial_weight: weight of ``g_loss`` against the reconstruction term.
        seed: seed of the prior samples.
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).

    Example:

    >>> import numpy as np
    >>> aae = AdversarialAutoencoder((28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0)
    >>> aae.compile()
    >>> x = np.random.default_rng(0).random((16, 28, 28, 1), dtype="float32")
    >>> sorted(aae.fit(x, batch_size=8, verbose=0).history)
    ['d_fake', 'd_loss', 'd_real', 'g_loss', 'reconstruction']
    >>> aae.generate(2, seed=0).shape
    (2, 28, 28, 1)
    """

    def __init__(
        self,
        image_shape: Sequence[int] | None = None,
        latent_dim: int = 8,
        architecture: str = "mlp",
        hidden_units: Sequence[int] = (512, 256),
        filters: Sequence[int] = (32, 64),
        discriminator_units: Sequence[int] = (256, 256),
        adversarial_weight: float = 1.0,
        seed: int | None = None,
        **kwargs,
    ):
        image_shape = image_shape_argument(image_shape, kwargs, type(self).__name__, (28, 28, 1))
        super().__init__(seed=seed, **kwargs)
        self.image_shape = networks.check_image_shape(image_shape, architecture, filters)
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.architecture = architecture
        self.hidden_units = positive_ints(hidden_units, "hidden_units")
        self.filters = positive_ints(filters, "filters")
        self.discriminator_units = positive_ints(discriminator_units, "discriminator_units")
        self.adversarial_weight = float(adversarial_weight)
        self._noise_seeds = keras.random.SeedGenerator(seed, name="noise_seeds")
        common = {
            "architecture": architecture,
            "hidden_units": self.hidden_units,
            "filters": self.filters,
            "activation": "relu",
            "dtype": self.dtype_policy,
        }
        with keras.name_scope("encoder"):
            body = networks.encoder_body(self.image_shape, **common)
            code = keras.layers.Dense(self.latent_dim, dtype="float32", name="encoder_code")(
                body.output
            )
            self.encoder = keras.Model(body.input, code, name="encoder")
        with keras.name_scope("decoder"):
            self.decoder = networks.decoder_body(self.latent_dim, self.image_shape, **common)
        with keras.name_scope("discriminator"):
            z_in = keras.Input((self.latent_dim,), name="z")
            h = z_in
            for i, units in enumerate(self.discriminator_units):
                h = keras.layers.Dense(units, dtype=self.dtype_policy, name=f"discriminator_{i}")(h)
                h = keras.layers.LeakyReLU(0.2, dtype=self.dtype_policy)(h)
            out = keras.layers.Dense(1, dtype="float32", name="discriminator_output")(h)
            self.discriminator = keras.Model(z_in, out, name="discriminator")
        self.built = True

    @property
    def extra_term_names(self):
        return ("reconstruction",)

    @property
    def generator_variables(self) -> list:
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    @property
    def discriminator_variables(self) -> list:
        return self.discriminator.trainable_variables

    def game(self, x, y=None, training=False, for_generator=False) -> Game:
        check_batch_shape(x, self.image_shape, type(self).__name__)
        codes = self.encoder(x, training=training)
        prior = backend.stateless_normal((ops.shape(x)[0], self.latent_dim), self._noise_seeds)
        terms = {}
        if for_generator:
            logits = self.decoder(codes, training=training)
            terms["reconstruction"] = -losses.bernoulli_log_likelihood(x, logits)
        return Game(prior, codes, terms)

    def discriminate(self, inputs, y=None, training=False):
        return self.discriminator(inputs, training=training)

    def call(self, x, training=False):
        return ops.sigmoid(self.decoder(self.encoder(x, training=training), training=training))

    def _encode_batch(self, x):
        return self.encoder(x, training=False)

    def _decode_batch(self, z):
        return ops.sigmoid(ops.cast(self.decoder(z, training=False), "float32"))

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "architecture": self.architecture,
            "hidden_units": self.hidden_units,
            "filters": self.filters,
            "discriminator_units": self.discriminator_units,
            "adversarial_weight": self.adversarial_weight,
        }
