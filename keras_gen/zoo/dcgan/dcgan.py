"""DCGAN and its class-conditional variant.

The model says what its game is (what the discriminator scores as real and as
generated); the two-player core in ``keras_gen.training.adversarial`` trains it, with any
loss of ``keras_gen.losses.adversarial`` (``compile(loss="hinge")``, ``loss="rsgan"``, ...).
Images are in [0, 1]; the generator ends in a float32 sigmoid. Variables live under the
name scopes ``generator/`` and ``discriminator/``, so optimizer patterns such as
``{"generator/.*": 0.5}`` select a network.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_gen.training import backend
from keras_gen.training.adversarial import AdversarialModel, Game
from keras_gen.zoo.capabilities import FromPreset, LabelConditional
from keras_gen.zoo.checks import non_negative_int, positive_int, positive_ints
from keras_gen.zoo.dcgan.dcgan_networks import (
    check_gan_image_shape,
    dcgan_discriminator,
    dcgan_generator,
)
from keras_gen.zoo.image_model import (
    ChecksImageBatches,
    batched,
    check_batch_shape,
    generation_labels,
    one_hot_labels,
    standard_normal_codes,
)


@keras.saving.register_keras_serializable(package="keras_gen")
class DCGAN(FromPreset, LabelConditional, ChecksImageBatches, AdversarialModel):
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
        if not filters:
            raise ValueError("filters must name at least one conv layer")
        self.filters = positive_ints(filters, "filters")
        self.image_shape = check_gan_image_shape(image_shape, self.filters)
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.num_classes = non_negative_int(num_classes, "num_classes")
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
        return [
            ops.convert_to_tensor(inputs),
            one_hot_labels(y, self.num_classes, type(self).__name__),
        ]

    def game(self, x, y=None, training=False, for_generator=False) -> Game:
        check_batch_shape(x, self.image_shape, type(self).__name__)
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
        z = standard_normal_codes(n, self.latent_dim, seed)
        labels = generation_labels(self, len(z), labels, seed)
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

    Args:
        num_classes: number of classes (>= 2).
        Other arguments: see :class:`DCGAN`.

    Example:

    >>> import numpy as np
    >>> gan = ConditionalGAN((28, 28, 1), num_classes=10, latent_dim=8, filters=(8, 16))
    >>> gan.generate(3, seed=0, labels=[7, 7, 1]).shape
    (3, 28, 28, 1)
    """

    def __init__(self, image_shape=(28, 28, 1), num_classes: int = 10, **kwargs):
        if positive_int(num_classes, "num_classes") < 2:
            raise ValueError(f"ConditionalGAN needs num_classes >= 2; got {num_classes!r}")
        super().__init__(image_shape, num_classes=num_classes, **kwargs)
