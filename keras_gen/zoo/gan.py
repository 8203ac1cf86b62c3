"""Adversarial models: DCGAN, its class-conditional variant, the adversarial autoencoder, ALI.

Each says what its game is (what the discriminator scores as real and as generated); the
two-player core in ``keras_gen.training.adversarial`` trains it, with any loss of
``keras_gen.losses.adversarial`` (``compile(loss="hinge")``, ``loss="rsgan"``, ...).
Images are in [0, 1]; generators end in a float32 sigmoid. Variables live under the name
scopes ``generator/``, ``discriminator/`` (and ``encoder/``, ``decoder/``), so optimizer
patterns such as ``{"generator/.*": 0.5}`` select a network.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_gen import losses
from keras_gen.layers import GaussianSampling
from keras_gen.training import backend
from keras_gen.training.adversarial import AdversarialModel, Game
from keras_gen.zoo import networks
from keras_gen.zoo.image_model import batched, generation_labels


def _check_gan_shape(image_shape, filters: Sequence[int]) -> tuple[int, int, int]:
    shape = networks.check_image_shape(image_shape, "conv", filters)
    if shape[0] // 2 ** len(filters) < 1:
        raise ValueError(f"image_shape {shape} is too small for {len(filters)} stride-2 layers")
    return shape


def _one_hot(y, num_classes: int, name: str):
    if y is None:
        raise ValueError(
            f"{name} is class-conditional: pass labels with the images, e.g. fit(x, y) or a "
            "dataset of (x, y)"
        )
    y = ops.convert_to_tensor(y)
    if ops.ndim(y) == 2 and y.shape[-1] == num_classes:
        return ops.cast(y, "float32")
    return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), num_classes)


def dcgan_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    filters: Sequence[int],
    num_classes: int = 0,
    batch_norm: bool = True,
    dtype=None,
    name: str = "generator",
) -> keras.Model:
    """z (and a one-hot label) -> image in [0, 1]: Dense, then stride-2 transposed convs.

    Radford et al. (2016): batch normalization and ReLU in the hidden layers; the
    normalization is synchronized over replicas, so N replicas compute what one device does.
    """
    height, width, channels = image_shape
    factor = 2 ** len(filters)
    inputs = [keras.Input((latent_dim,), name="z")]
    h = inputs[0]
    if num_classes:
        inputs.append(keras.Input((num_classes,), name="label"))
        h = keras.layers.Concatenate(dtype=dtype, name="generator_condition")(inputs)

    def norm_relu(h, tag):
        if batch_norm:
            h = keras.layers.BatchNormalization(
                synchronized=True, dtype=dtype, name=f"generator_bn_{tag}"
            )(h)
        return keras.layers.ReLU(dtype=dtype, name=f"generator_relu_{tag}")(h)

    grid = (height // factor, width // factor, filters[-1])
    h = keras.layers.Dense(
        grid[0] * grid[1] * grid[2], use_bias=not batch_norm, dtype=dtype, name="generator_dense"
    )(h)
    h = norm_relu(keras.layers.Reshape(grid, dtype=dtype, name="generator_reshape")(h), "dense")
    for i, f in enumerate(reversed(filters[:-1])):
        h = keras.layers.Conv2DTranspose(
            f, 4, 2, "same", use_bias=not batch_norm, dtype=dtype, name=f"generator_deconv_{i}"
        )(h)
        h = norm_relu(h, i)
    out = keras.layers.Conv2DTranspose(
        channels, 4, 2, "same", activation="sigmoid", dtype="float32", name="generator_output"
    )(h)
    return keras.Model(inputs if num_classes else inputs[0], out, name=name)


def dcgan_discriminator(
    image_shape: tuple[int, int, int],
    filters: Sequence[int],
    num_classes: int = 0,
    spectral_norm: bool = False,
    extra_input_dim: int = 0,
    dtype=None,
    name: str = "discriminator",
) -> keras.Model:
    """Image (and label, or a code for ALI) -> one raw score: stride-2 convs, LeakyReLU(0.2).

    No batch normalization (it would couple the examples, which breaks per-example
    gradient penalties); ``spectral_norm`` wraps every layer in
    ``keras.layers.SpectralNormalization``. A label enters as constant one-hot channels.
    """
    x_in = keras.Input(image_shape, name="x")
    inputs = [x_in]
    h = x_in
    if num_classes:
        y_in = keras.Input((num_classes,), name="label")
        inputs.append(y_in)
        maps = keras.layers.Reshape((1, 1, num_classes), dtype=dtype, name="discriminator_maps")(
            y_in
        )
        maps = keras.layers.UpSampling2D(image_shape[:2], dtype=dtype, name="discriminator_tile")(
            maps
        )
        h = keras.layers.Concatenate(dtype=dtype, name="discriminator_condition")([h, maps])

    def wrap(layer):
        if not spectral_norm:
            return layer
        return keras.layers.SpectralNormalization(layer, dtype=dtype, name=f"sn_{layer.name}")

    for i, f in enumerate(filters):
        h = wrap(keras.layers.Conv2D(f, 4, 2, "same", dtype=dtype, name=f"discriminator_conv_{i}"))(
            h
        )
        h = keras.layers.LeakyReLU(0.2, dtype=dtype, name=f"discriminator_lrelu_{i}")(h)
    h = keras.layers.Flatten(dtype=dtype, name="discriminator_flatten")(h)
    if extra_input_dim:  # ALI: the code joins the image features
        z_in = keras.Input((extra_input_dim,), name="z")
        inputs.append(z_in)
        hz = wrap(keras.layers.Dense(512, dtype=dtype, name="discriminator_code_dense"))(z_in)
        hz = keras.layers.LeakyReLU(0.2, dtype=dtype, name="discriminator_code_lrelu")(hz)
        h = keras.layers.Concatenate(dtype=dtype, name="discriminator_joint")([h, hz])
        h = wrap(keras.layers.Dense(512, dtype=dtype, name="discriminator_joint_dense"))(h)
        h = keras.layers.LeakyReLU(0.2, dtype=dtype, name="discriminator_joint_lrelu")(h)
    out = wrap(keras.layers.Dense(1, dtype="float32", name="discriminator_output"))(h)
    return keras.Model(inputs if len(inputs) > 1 else x_in, out, name=name)


@keras.saving.register_keras_serializable(package="keras_gen")
class DCGAN(AdversarialModel):
    """Deep convolutional GAN (Radford et al. 2016) for 28x28, 32x32, 64x64, ... images.

    Any loss of ``keras_gen.losses.adversarial`` and any step ratio; WGAN-GP is
    ``compile(loss="wasserstein", gradient_penalty=10.0, d_steps=5)``. The
    non-saturating loss trains best with the R1 penalty on real images (Mescheder et
    al. 2018): ``compile(loss="non_saturating", r1_penalty=10.0)``. On MNIST, at an
    equal number of generator updates, that reaches 0.60x the Frechet distance of the
    plain loss (mean of 8 seeds; ``benchmarks/gan_mnist.py``, RESULTS.md).

    Args:
        image_shape: (height, width, channels); height and width divisible by
            ``2 ** len(filters)``.
        latent_dim: size of z ~ N(0, I).
        filters: the discriminator's conv filters (the generator mirrors them).
        num_classes: > 0 makes it class-conditional (see :class:`ConditionalGAN`).
        spectral_norm: spectral normalization in the discriminator.
        batch_norm: batch normalization in the generator.
        vi_weight: weight of the variational-inference regulariser (Su 2018, "GAN from
            the variational-inference view"): the generator also minimises
            ``vi_weight * |G(z) - G_old(z)|^2`` (summed over pixels), where ``G_old`` is
            the generator as it was before its previous update (a one-step-lagged copy,
            saved with the model). Lagging matters: against the generator before THIS
            step the term and its gradient would be zero at the point where the gradient
            is taken. Reported as the term ``vi``.
        seed: seed of the training noise (z and the penalty's interpolation weights).

    Example:

    >>> import numpy as np
    >>> gan = DCGAN((28, 28, 1), latent_dim=8, filters=(8, 16), seed=0)
    >>> gan.compile(loss="hinge")
    >>> x = np.random.default_rng(0).random((16, 28, 28, 1), dtype="float32")
    >>> history = gan.fit(x, batch_size=8, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['d_fake', 'd_loss', 'd_real', 'g_loss']
    >>> gan.generate(4, seed=0).shape
    (4, 28, 28, 1)
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (28, 28, 1),
        latent_dim: int = 100,
        filters: Sequence[int] = (64, 128),
        num_classes: int = 0,
        spectral_norm: bool = False,
        batch_norm: bool = True,
        vi_weight: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        if float(vi_weight) < 0:
            raise ValueError(f"vi_weight must be >= 0; got {vi_weight!r}")
        self.vi_weight = float(vi_weight)
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}")
        if not filters:
            raise ValueError("filters must name at least one conv layer")
        self.filters = tuple(int(f) for f in filters)
        self.image_shape = _check_gan_shape(image_shape, self.filters)
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.spectral_norm = bool(spectral_norm)
        self.batch_norm = bool(batch_norm)
        self._noise_seeds = keras.random.SeedGenerator(seed, name="noise_seeds")
        with keras.name_scope("generator"):
            self.generator = dcgan_generator(
                self.latent_dim,
                self.image_shape,
                self.filters,
                self.num_classes,
                self.batch_norm,
                dtype=self.dtype_policy,
            )
        with keras.name_scope("discriminator"):
            self.discriminator = dcgan_discriminator(
                self.image_shape,
                self.filters,
                self.num_classes,
                self.spectral_norm,
                dtype=self.dtype_policy,
            )
        self.generator_old = None
        if self.vi_weight:
            with keras.name_scope("generator_old"):
                self.generator_old = keras.models.clone_model(self.generator)
            # Not trained, but its layers stay "trainable" so that batch normalization
            # behaves in training steps exactly as in the generator (batch statistics).
            for variable in self.generator_old.weights:
                variable.trainable = False
            self.generator_old.set_weights(self.generator.get_weights())
        self.built = True

    @property
    def extra_term_names(self):
        return ("vi",) if self.vi_weight else ()

    def before_generator_update(self) -> None:
        if self.generator_old is not None:
            backend.sync_assign(self.generator_old.weights, list(self.generator.weights))

    @property
    def generator_variables(self) -> list:
        return self.generator.trainable_variables

    @property
    def discriminator_variables(self) -> list:
        return self.discriminator.trainable_variables

    def _with_label(self, inputs, y):
        if not self.num_classes:
            return inputs
        return [ops.convert_to_tensor(inputs), _one_hot(y, self.num_classes, type(self).__name__)]

    def _check_images(self, x):
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"{type(self).__name__} expects images of shape {self.image_shape}; got "
                f"batches of shape {tuple(x.shape[1:])}"
            )

    def game(self, x, y=None, training=False, for_generator=False) -> Game:
        self._check_images(x)
        z = backend.stateless_normal((ops.shape(x)[0], self.latent_dim), self._noise_seeds)
        fake = self.generator(self._with_label(z, y), training=training)
        terms = {}
        if for_generator and self.generator_old is not None:
            old = self.generator_old(self._with_label(z, y), training=training)
            diff = ops.cast(fake, "float32") - ops.cast(ops.stop_gradient(old), "float32")
            squares = ops.reshape(ops.square(diff), (ops.shape(diff)[0], -1))
            terms["vi"] = self.vi_weight * ops.sum(squares, axis=-1)
        return Game(x, fake, terms)

    def discriminate(self, inputs, y=None, training=False):
        return self.discriminator(self._with_label(inputs, y), training=training)

    def call(self, z, y=None, training=False):
        """Images for codes ``z`` (and labels ``y`` when class-conditional)."""
        return self.generator(self._with_label(z, y), training=training)

    def generate(
        self,
        n: int,
        seed: int | None = None,
        labels=None,
        ema: bool = False,
        batch_size: int = 500,
    ) -> np.ndarray:
        """``n`` images in [0, 1] from z ~ N(0, I), reproducible with ``seed``.

        ``labels`` (an int or ``n`` ints) for class-conditional models; ``ema=True`` uses
        the generator's EMA weights (``keras_gen.optimizers.EMA`` on ``g_optimizer``).
        """
        if int(n) < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        n = int(n)
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        labels = generation_labels(self, n, labels, seed)
        arrays = [z] if labels is None else [z, labels]

        def run(z, y=None):
            return ops.cast(self.generator(self._with_label(z, y), training=False), "float32")

        if ema:
            with self.ema_generator():
                return batched(run, arrays, batch_size)
        return batched(run, arrays, batch_size)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "filters": self.filters,
            "num_classes": self.num_classes,
            "spectral_norm": self.spectral_norm,
            "batch_norm": self.batch_norm,
            "vi_weight": self.vi_weight,
        }


@keras.saving.register_keras_serializable(package="keras_gen")
class ConditionalGAN(DCGAN):
    """Class-conditional DCGAN (Mirza & Osindero 2014): G(z, y), D(x, y); ``generate(labels=)``.

    Train on ``(images, labels)``; labels are ints (or one-hot rows).

    >>> import numpy as np
    >>> gan = ConditionalGAN((28, 28, 1), num_classes=10, latent_dim=8, filters=(8, 16))
    >>> gan.generate(3, seed=0, labels=[7, 7, 1]).shape
    (3, 28, 28, 1)
    """

    def __init__(self, image_shape=(28, 28, 1), num_classes: int = 10, **kwargs):
        if int(num_classes) < 2:
            raise ValueError(f"ConditionalGAN needs num_classes >= 2; got {num_classes!r}")
        super().__init__(image_shape, num_classes=num_classes, **kwargs)


class _CodeModel:
    """``encode``/``decode``/``reconstruct``/``generate`` from two batch functions.

    Subclasses implement ``_encode_batch(x)`` (codes) and ``_decode_batch(z)`` (images in
    [0, 1]) and have ``latent_dim``; the prior is N(0, I).
    """

    def encode(self, x) -> np.ndarray:
        """Codes of images ``x`` (NumPy array, shape (n, latent_dim))."""
        return batched(self._encode_batch, [np.asarray(x, "float32")])

    def decode(self, z) -> np.ndarray:
        """Images in [0, 1] for codes ``z``."""
        return batched(
            lambda z: ops.cast(self._decode_batch(z), "float32"), [np.asarray(z, "float32")]
        )

    def reconstruct(self, x) -> np.ndarray:
        """Decode the codes of ``x``: images in [0, 1]."""
        return self.decode(self.encode(x))

    def generate(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` images decoded from prior samples z ~ N(0, I), reproducible with ``seed``."""
        if int(n) < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        rng = np.random.default_rng(seed)
        return self.decode(rng.standard_normal((int(n), self.latent_dim)).astype("float32"))


@keras.saving.register_keras_serializable(package="keras_gen")
class AdversarialAutoencoder(_CodeModel, AdversarialModel):
    """Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose codes are pushed
    to the prior N(0, I) by a discriminator on the code space.

    The generator's player is the encoder and decoder; its objective is
    ``adversarial_weight * g_loss + reconstruction`` (Bernoulli negative log-likelihood of
    the image, nats). The discriminator tells prior samples (real) from codes (generated).

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
        input_shape: Sequence[int] = (28, 28, 1),
        latent_dim: int = 8,
        architecture: str = "mlp",
        hidden_units: Sequence[int] = (512, 256),
        filters: Sequence[int] = (32, 64),
        discriminator_units: Sequence[int] = (256, 256),
        adversarial_weight: float = 1.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.image_shape = networks.check_image_shape(input_shape, architecture, filters)
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}")
        self.latent_dim = int(latent_dim)
        self.architecture = architecture
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.filters = tuple(int(f) for f in filters)
        self.discriminator_units = tuple(int(u) for u in discriminator_units)
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
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"AdversarialAutoencoder expects images of shape {self.image_shape}; got "
                f"batches of shape {tuple(x.shape[1:])}"
            )
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
            "input_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "architecture": self.architecture,
            "hidden_units": self.hidden_units,
            "filters": self.filters,
            "discriminator_units": self.discriminator_units,
            "adversarial_weight": self.adversarial_weight,
        }


@keras.saving.register_keras_serializable(package="keras_gen")
class ALI(_CodeModel, AdversarialModel):
    """Adversarially learned inference / BiGAN (Dumoulin et al. 2017; Donahue et al. 2017).

    An encoder E(x) and a generator G(z) play against a joint discriminator D(x, z) that
    tells ``(x, E(x))`` (real) from ``(G(z), z)`` (generated); the generator's player (E
    and G) plays the swapped game. ``stochastic_encoder=True`` (ALI) samples
    ``E(x) = mu + sigma * eps``; False is BiGAN's deterministic encoder.

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
        self.filters = tuple(int(f) for f in filters)
        self.image_shape = _check_gan_shape(image_shape, self.filters)
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}")
        self.latent_dim = int(latent_dim)
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
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"ALI expects images of shape {self.image_shape}; got batches of shape "
                f"{tuple(x.shape[1:])}"
            )
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
