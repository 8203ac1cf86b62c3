"""Variational autoencoders (Kingma & Welling 2014) and their class-conditional variant."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_gen import losses
from keras_gen.layers import GaussianSampling
from keras_gen.losses import importance
from keras_gen.metrics.likelihood import importance_sampled_log_likelihood
from keras_gen.training import backend
from keras_gen.zoo.capabilities import KLWeighted, LogLikelihood
from keras_gen.zoo.checks import positive_int
from keras_gen.zoo.image_model import ImageModel, batched

VAE_TERMS = ("loss", "reconstruction", "kl")


@keras.saving.register_keras_serializable(package="keras_gen")
class VAE(LogLikelihood, KLWeighted, ImageModel):
    """A VAE with a diagonal Gaussian posterior and a standard normal prior.

    Minimises ``reconstruction + beta * kl`` per example (the negative ELBO when
    ``beta == 1``); ``beta`` may be a float or a schedule of the optimizer step
    (any ``keras.optimizers.schedules.LearningRateSchedule``, e.g. from
    :class:`keras_gen.callbacks.KLAnnealing`). Reports ``loss``,
    ``reconstruction`` and ``kl`` in nats per example.

    Args:
        beta: weight of the KL term (beta-VAE), or a schedule of the step.
        seed: seed of the reparameterization noise.
        Other arguments (``image_shape``, ``latent_dim``, ``architecture``,
        ``likelihood``, ``hidden_units``, ``filters``, ``activation``, ``num_classes``):
        see :class:`~keras_gen.zoo.image_model.ImageModel`.

    Example:

    >>> import numpy as np
    >>> vae = VAE((28, 28, 1), latent_dim=8, hidden_units=(64,))
    >>> vae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).random((32, 28, 28, 1), dtype="float32")
    >>> _ = vae.fit(x, epochs=1, batch_size=16, verbose=0)
    >>> vae.generate(4, seed=0).shape
    (4, 28, 28, 1)
    >>> vae.log_likelihood(x[:2], num_samples=10).shape
    (2,)
    """

    def __init__(
        self,
        image_shape: Sequence[int] | None = None,
        latent_dim: int = 16,
        *,
        beta=1.0,
        seed: int | None = None,
        **kwargs,
    ):
        # ImageModel's arguments (architecture, likelihood, hidden_units, ...) are in kwargs.
        super().__init__(image_shape, latent_dim, term_names=VAE_TERMS, **kwargs)
        self._init_beta(beta)
        self.seed = seed
        # Heads in float32: log-variances lose too much in bfloat16.
        self.mean_head = keras.layers.Dense(self.latent_dim, name="encoder_mean", dtype="float32")
        self.log_var_head = keras.layers.Dense(
            self.latent_dim, name="encoder_log_var", dtype="float32"
        )
        features = self.encoder_body.output.shape[1:]
        with keras.name_scope("encoder"):
            self.mean_head.build((None, *features))
            self.log_var_head.build((None, *features))
        self.sampling = GaussianSampling(seed=seed, name="sampling")

    # -- the model ------------------------------------------------------------------

    def encode_distribution(self, x, y=None, training=False):
        """(mean, log_var) of q(z | x) as tensors."""
        h = self.encoder_body(self._with_condition(x, y), training=training)
        return self.mean_head(h), self.log_var_head(h)

    def call(self, x, y=None, training=False):
        mean, log_var = self.encode_distribution(x, y, training=training)
        z = self.sampling([mean, log_var]) if training else mean
        params = self.decoder(self._with_condition(z, y), training=training)
        return self.params_to_images(params)

    def compute_terms(self, x, y=None, training=False):
        mean, log_var = self.encode_distribution(x, y, training=training)
        z = self.sampling([mean, log_var])
        params = self.decoder(self._with_condition(z, y), training=training)
        reconstruction = -self.log_likelihood_terms(x, params)
        kl = losses.gaussian_kl(mean, log_var)
        return {
            "loss": reconstruction + self.current_beta() * kl,
            "reconstruction": reconstruction,
            "kl": kl,
        }

    # -- public API ---------------------------------------------------------------------

    def encode(self, x, y=None) -> np.ndarray:
        """Posterior means of ``x`` (NumPy, shape (n, latent_dim))."""
        arrays = [np.asarray(x, "float32")] + ([] if y is None else [np.asarray(y)])
        return batched(lambda x, y=None: self.encode_distribution(x, y)[0], arrays)

    def _sample_codes(self, n, seed):
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")

    def log_likelihood(
        self,
        x,
        y=None,
        num_samples: int = 1,
        batch_size: int = 100,
        seed: int | None = 0,
    ) -> np.ndarray:
        """Importance-sampled estimate of log p(x) in nats, one per example.

        ``log p(x) ~= logmeanexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)]``
        with z_k ~ q(z|x) (Burda et al. 2016). ``num_samples=1`` is a one-sample
        ELBO; larger values give a tighter lower bound. The samples are
        processed in chunks, so k=5000 runs in bounded memory.
        """
        x = np.asarray(x, "float32")
        arrays = [x] if y is None else [x, np.asarray(y)]
        if self._log_weights_fn is None:
            self._log_weights_fn = backend.compiled(self._log_weights)
        rng = np.random.default_rng(seed)

        def log_weights(batch, k):
            eps = rng.standard_normal((k, len(batch[0]), self.latent_dim)).astype("float32")
            y_batch = batch[1] if len(batch) > 1 else None
            c = self._condition(y_batch)
            return self._log_weights_fn(batch[0], eps, c)

        return importance_sampled_log_likelihood(
            log_weights, arrays, num_samples, batch_size=batch_size
        )

    _log_weights_fn = None

    def _log_weights(self, x, eps, condition=None):
        """log w of shape (k, b) for noise ``eps`` of shape (k, b, latent_dim)."""
        inputs = x if condition is None else [x, condition]
        h = self.encoder_body(inputs, training=False)
        mean, log_var = self.mean_head(h), self.log_var_head(h)
        k = ops.shape(eps)[0]
        z = importance.posterior_samples(mean, log_var, eps)  # (k, b, d)
        codes = ops.reshape(z, (-1, self.latent_dim))  # sample-major, like sample_major()
        if condition is not None:
            codes = [codes, importance.sample_major(condition, k)]
        params = self.decoder(codes, training=False)
        log_px_z = self.log_likelihood_terms(importance.sample_major(x, k), params)
        return importance.importance_log_weights(ops.reshape(log_px_z, (k, -1)), z, mean, log_var)

    def get_config(self):
        return {**super().get_config(), "beta": self._beta_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_gen")
class CVAE(VAE):
    """Class-conditional VAE (Sohn et al. 2015): encoder and decoder see a one-hot label.

    Train on ``(images, labels)``; ``generate(n, labels=3)`` draws a chosen class.

    Args:
        num_classes: number of classes (>= 2); labels are ints in ``[0, num_classes)``
            or one-hot rows.
        Other arguments: see :class:`VAE`.

    Example:

    >>> import numpy as np
    >>> cvae = CVAE((28, 28, 1), num_classes=10, latent_dim=4, hidden_units=(32,))
    >>> cvae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).random((16, 28, 28, 1), dtype="float32")
    >>> _ = cvae.fit(x, np.arange(16) % 10, epochs=1, verbose=0)
    >>> cvae.generate(3, labels=7, seed=0).shape
    (3, 28, 28, 1)
    """

    def __init__(self, image_shape: Sequence[int] | None = None, num_classes: int = 10, **kwargs):
        if positive_int(num_classes, "num_classes") < 2:
            raise ValueError(f"num_classes must be >= 2; got {num_classes!r}")
        super().__init__(image_shape, num_classes=int(num_classes), **kwargs)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
