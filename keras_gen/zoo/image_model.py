"""What every image model of the zoo shares: likelihoods, encode/decode helpers, batching."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import ops

from keras_gen import losses
from keras_gen.training import GenerativeModel
from keras_gen.zoo import networks

LIKELIHOODS = ("bernoulli", "gaussian", "discretized_gaussian")


def batched(fn: Callable, arrays: Sequence, batch_size: int = 512) -> np.ndarray:
    """Apply ``fn`` to aligned slices of ``arrays`` and concatenate the NumPy results."""
    n = len(arrays[0])
    outs = [
        ops.convert_to_numpy(fn(*(a[i : i + batch_size] for a in arrays)))
        for i in range(0, n, batch_size)
    ]
    return np.concatenate(outs, axis=0)


def generation_labels(model, n: int, labels, seed: int | None) -> np.ndarray | None:
    """``n`` checked class labels for ``model.generate`` (random ones if ``labels`` is None).

    None for a model that is not class-conditional (``model.num_classes == 0``).
    """
    if not model.num_classes:
        if labels is not None:
            raise ValueError(
                f"{type(model).__name__} is not class-conditional; labels must be None"
            )
        return None
    if labels is None:
        labels = np.random.default_rng(seed).integers(0, model.num_classes, size=n)
    labels = np.broadcast_to(np.asarray(labels, "int64"), (n,))
    if labels.min() < 0 or labels.max() >= model.num_classes:
        raise ValueError(f"labels must be in [0, {model.num_classes}); got {labels}")
    return labels


class ImageModel(GenerativeModel):
    """Base of the image autoencoders and VAEs: an encoder body, a decoder and a likelihood.

    Subclasses build their code head on ``self.encoder_body`` and implement
    ``compute_terms``, ``encode`` and ``_sample_codes``.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        latent_dim: int,
        architecture: str = "mlp",
        likelihood: str = "bernoulli",
        hidden_units: Sequence[int] = (512, 256),
        filters: Sequence[int] = (32, 64),
        activation: str = "relu",
        num_classes: int = 0,
        term_names: Sequence[str] = ("loss",),
        **kwargs,
    ):
        super().__init__(term_names=term_names, **kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}")
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}")
        self.image_shape = networks.check_image_shape(input_shape, architecture, filters)
        self.latent_dim = int(latent_dim)
        self.architecture = architecture
        self.likelihood = likelihood
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.filters = tuple(int(f) for f in filters)
        self.activation = activation
        self.num_classes = int(num_classes)
        common = {
            "architecture": architecture,
            "hidden_units": self.hidden_units,
            "filters": self.filters,
            "activation": activation,
            "num_conditions": self.num_classes,
            "dtype": self.dtype_policy,
        }
        # Name scopes give variable paths like "encoder/encoder_dense_0/kernel", so that
        # patterns such as {"encoder/.*": 0.1} (keras_gen.optimizers.LRMultiplier) work.
        with keras.name_scope("encoder"):
            self.encoder_body = networks.encoder_body(self.image_shape, **common)
        with keras.name_scope("decoder"):
            self.decoder = networks.decoder_body(self.latent_dim, self.image_shape, **common)
        if likelihood != "bernoulli":
            # One learned noise scale per channel, as in most image VAEs.
            self.log_scale = self.add_weight(
                shape=(self.image_shape[-1],),
                initializer="zeros",
                name="log_scale",
                dtype="float32",
            )
        # Every weight exists from here on (subclasses build their heads eagerly too), so
        # the model counts as built: loading a .keras file then restores the optimizer.
        self.built = True

    # -- likelihood -----------------------------------------------------------------

    def log_likelihood_terms(self, x, params):
        """Per-example log p(x | decoder output) in float32 nats."""
        if self.likelihood == "bernoulli":
            return losses.bernoulli_log_likelihood(x, params)
        if self.likelihood == "gaussian":
            return losses.gaussian_log_likelihood(x, params, self.log_scale)
        return losses.discretized_gaussian_log_likelihood(x, params, self.log_scale)

    def params_to_images(self, params):
        """The decoder's output as images in [0, 1] (the mean of p(x|z), clipped)."""
        params = ops.cast(params, "float32")
        if self.likelihood == "bernoulli":
            return ops.sigmoid(params)
        return ops.clip(params, 0.0, 1.0)

    # -- conditioning -----------------------------------------------------------------

    def _condition(self, y):
        if not self.num_classes:
            return None
        if y is None:
            raise ValueError(
                f"{type(self).__name__} is class-conditional: pass labels with the images, "
                "e.g. fit(x, y) or a dataset of (x, y)"
            )
        y = ops.convert_to_tensor(y)
        if ops.ndim(y) == 2 and y.shape[-1] == self.num_classes:
            return ops.cast(y, "float32")
        return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), self.num_classes)

    def _with_condition(self, inputs, y):
        c = self._condition(y)
        return inputs if c is None else [ops.convert_to_tensor(inputs), c]

    # -- public API ---------------------------------------------------------------------

    def encode(self, x, y=None):
        """Deterministic codes of images ``x`` (NumPy array, shape (n, latent_dim))."""
        raise NotImplementedError

    def _sample_codes(self, n: int, seed: int | None) -> np.ndarray:
        raise NotImplementedError

    def decode(self, z, y=None, batch_size: int = 512) -> np.ndarray:
        """Images in [0, 1] for codes ``z`` (NumPy array of shape (n, *input_shape))."""
        z = np.asarray(z, "float32")
        arrays = [z] if y is None else [z, np.asarray(y)]
        return batched(
            lambda z, y=None: self.params_to_images(
                self.decoder(self._with_condition(z, y), training=False)
            ),
            arrays,
            batch_size,
        )

    def reconstruct(self, x, y=None) -> np.ndarray:
        """Decode the codes of ``x``: images in [0, 1]."""
        return self.decode(self.encode(x, y), y)

    def generate(self, n: int, seed: int | None = None, labels=None) -> np.ndarray:
        """``n`` new images in [0, 1], reproducible with ``seed``.

        Class-conditional models take ``labels`` (an int or ``n`` ints).
        """
        if int(n) < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        z = self._sample_codes(int(n), seed)
        return self.decode(z, generation_labels(self, int(n), labels, seed))

    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "architecture": self.architecture,
            "likelihood": self.likelihood,
            "hidden_units": self.hidden_units,
            "filters": self.filters,
            "activation": self.activation,
        }
