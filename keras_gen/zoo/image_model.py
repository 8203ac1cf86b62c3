"""What every image model of the zoo shares: likelihoods, encode/decode helpers, batching.

The data shape is called ``image_shape`` everywhere (as in keras-hub's image models):
``input_shape`` is a keyword of Keras' own layers with another meaning (the shape a
``Sequential`` model builds its input from). ``input_shape=`` is still accepted, with a
``DeprecationWarning``, because ``.keras`` files written before 0.2 carry it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import ops

from keras_gen import losses
from keras_gen.training import GenerativeModel, backend
from keras_gen.zoo import networks
from keras_gen.zoo.capabilities import Autoencoding, FromPreset, LabelConditional
from keras_gen.zoo.checks import non_negative_int, positive_int, positive_ints

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


def image_shape_argument(image_shape, kwargs: dict, owner: str, default=None):
    """``image_shape``, or the deprecated ``input_shape`` popped from ``kwargs``, or ``default``."""
    if "input_shape" in kwargs:
        old = kwargs.pop("input_shape")
        if image_shape is not None:
            raise ValueError(f"{owner}: pass image_shape only (input_shape is its old name)")
        warnings.warn(
            f"{owner}(input_shape=...) is deprecated; use image_shape=...",
            DeprecationWarning,
            stacklevel=3,
        )
        image_shape = old
    if image_shape is None:
        image_shape = default
    if image_shape is None:
        raise ValueError(f"{owner} needs image_shape, the (height, width, channels) of the data")
    return image_shape


def one_hot_labels(y, num_classes: int, owner: str):
    """Labels ``y`` (ints, or one-hot rows) as float32 one-hot rows for a conditional model."""
    if y is None:
        raise ValueError(
            f"{owner} is class-conditional: pass labels with the images, e.g. fit(x, y) or a "
            "dataset of (x, y)"
        )
    y = ops.convert_to_tensor(check_labels(y, num_classes, owner))
    if ops.ndim(y) == 2 and y.shape[-1] == num_classes:
        return ops.cast(y, "float32")
    return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), num_classes)


def check_labels(y, num_classes: int, owner: str):
    """``y``, checked to hold class labels: ints in ``[0, num_classes)`` (or one-hot rows).

    ``ops.one_hot`` turns a label out of range into a row of zeros, which trains silently.
    NumPy labels are checked at once and the error names the bad values; tensors (a traced
    step, any replica) through an assertion whose error names the smallest and largest label.

    >>> check_labels(np.array([0, 12, 3]), 10, "CVAE")
    Traceback (most recent call last):
    ...
    ValueError: CVAE: labels must be integers in [0, 10); got 12
    """
    expected = f"{owner}: labels must be integers in [0, {num_classes})"
    if isinstance(y, np.ndarray | list | tuple | int | np.integer | float):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[-1] == num_classes:
            return y
        if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
            raise ValueError(f"{expected}; got an array of dtype {y.dtype}")
        flat = y.reshape(-1)
        bad = (flat < 0) | ~(flat < num_classes) | (flat != np.round(flat))
        if bad.any():
            shown = np.unique(flat[bad])
            more = f" (and {len(shown) - 5} more values)" if len(shown) > 5 else ""
            raise ValueError(f"{expected}; got {', '.join(map(str, shown[:5]))}{more}")
        return y
    y = ops.convert_to_tensor(y)
    if ops.ndim(y) == 2 and y.shape[-1] == num_classes:
        return y
    flat = ops.reshape(y, (-1,))
    if "float" in str(flat.dtype):
        ok = ops.all(ops.equal(flat, ops.round(flat)))  # False for NaN
    else:
        flat, ok = ops.cast(flat, "int64"), True
    # An empty batch (one replica of an uneven split) passes: min = +max value, max = -max.
    low, high = ops.min(flat), ops.max(flat)
    ok = ops.logical_and(ok, ops.logical_and(low >= 0, high < num_classes))
    return backend.checked(y, ok, f"{expected}; got labels from", [low, "to", high])


def check_pixels(x, owner: str, unit_range: bool = True):
    """``x``, checked to hold finite pixel values, in [0, 1] when ``unit_range``.

    NaN, inf or 0-255 pixels would train to NaN weights without an error. NumPy images are
    checked at once; tensors (a traced step) by an assertion on their minimum and maximum,
    which NaN propagates to, so the check costs two reductions.

    >>> check_pixels(np.array([[0.5, np.nan]]), "VAE", unit_range=False)
    Traceback (most recent call last):
    ...
    ValueError: VAE expects finite pixel values; got values from nan to nan
    """
    expected = f"{owner} expects finite pixel values"
    if unit_range:
        expected += " in [0, 1] (8-bit images: divide them by 255)"
    if isinstance(x, np.ndarray):
        if x.size == 0 or not np.issubdtype(x.dtype, np.number):
            return x
        low, high = x.min(), x.max()
        if unit_range:
            ok = low >= 0 and high <= 1
        else:
            ok = bool(np.isfinite(low) and np.isfinite(high))
        if not ok:
            raise ValueError(f"{expected}; got values from {low} to {high}")
        return x
    x = ops.convert_to_tensor(x)
    low, high = ops.min(x), ops.max(x)
    # Comparisons with NaN are False; an empty batch has min +inf and max -inf and passes.
    if unit_range:
        ok = ops.logical_and(low >= 0, high <= 1)
    else:
        ok = ops.logical_and(low > -np.inf, high < np.inf)
    return backend.checked(x, ok, f"{expected}; got values from", [low, "to", high])


class ChecksImageBatches:
    """``checked_batch`` of the image models: finite pixels (in [0, 1] unless
    ``expects_unit_range`` is False) and, for class-conditional models, labels in range."""

    expects_unit_range = True

    def checked_batch(self, x, y=None):
        owner = type(self).__name__
        if getattr(self, "num_classes", 0) and y is not None:
            y = check_labels(y, self.num_classes, owner)
        return check_pixels(x, owner, self.expects_unit_range), y


def check_batch_shape(x, image_shape: tuple[int, ...], owner: str) -> None:
    """A clear error when a batch's image shape is not the model's."""
    if tuple(x.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"{owner} expects images of shape {tuple(image_shape)}; got batches of shape "
            f"{tuple(x.shape[1:])}"
        )


def standard_normal_codes(n, latent_dim: int, seed: int | None) -> np.ndarray:
    """``n`` codes z ~ N(0, I) as float32 NumPy, reproducible with ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((positive_int(n, "n"), latent_dim)).astype("float32")


class CodeModel(FromPreset, Autoencoding, LabelConditional, ChecksImageBatches):
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

    def generate(self, n: int, seed: int | None = None, labels=None) -> np.ndarray:
        """``n`` images decoded from prior samples z ~ N(0, I), reproducible with ``seed``."""
        z = standard_normal_codes(n, self.latent_dim, seed)
        generation_labels(self, len(z), labels, seed)  # unconditional: labels must be None
        return self.decode(z)


class ImageModel(FromPreset, Autoencoding, LabelConditional, ChecksImageBatches, GenerativeModel):
    """Base of the image autoencoders and VAEs: an encoder body, a decoder and a likelihood.

    Subclasses build their code head on ``self.encoder_body`` and implement
    ``compute_terms``, ``encode`` and ``_sample_codes``. The arguments below are shared
    by every subclass (``Autoencoder``, ``VAE``, ...), which document only their own.

    Args:
        image_shape: data shape, (height, width, channels) for images; ``"mlp"`` takes
            any shape (``input_shape=`` is its deprecated name).
        latent_dim: size of the code z.
        architecture: ``"mlp"`` (dense layers) or ``"conv"`` (stride-2 convolutions).
        likelihood: ``"bernoulli"`` (binary or [0, 1] images), ``"gaussian"``
            (continuous, learned per-channel scale) or ``"discretized_gaussian"`` (8-bit
            images, a proper discrete likelihood).
        hidden_units: dense layers of the encoder (mirrored in the decoder).
        filters: conv layers (stride 2 each) for ``architecture="conv"``; height and
            width must be divisible by ``2 ** len(filters)``.
        activation: hidden activation.
        num_classes: > 0 conditions the encoder and decoder on one-hot labels.
        term_names: the loss terms the subclass reports (see ``GenerativeModel``).
        **kwargs: passed to ``keras.Model`` (``name``, ``dtype``).
    """

    def __init__(
        self,
        image_shape: Sequence[int] | None = None,
        latent_dim: int = 16,
        architecture: str = "mlp",
        likelihood: str = "bernoulli",
        hidden_units: Sequence[int] = (512, 256),
        filters: Sequence[int] = (32, 64),
        activation: str = "relu",
        num_classes: int = 0,
        term_names: Sequence[str] = ("loss",),
        **kwargs,
    ):
        image_shape = image_shape_argument(image_shape, kwargs, type(self).__name__)
        super().__init__(term_names=term_names, **kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}")
        self.image_shape = networks.check_image_shape(image_shape, architecture, filters)
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.architecture = architecture
        self.likelihood = likelihood
        self.hidden_units = positive_ints(hidden_units, "hidden_units")
        self.filters = positive_ints(filters, "filters")
        self.activation = activation
        self.num_classes = non_negative_int(num_classes, "num_classes")
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

    @property
    def expects_unit_range(self) -> bool:
        """Whether the data must be in [0, 1]: all but the Gaussian likelihood's (any reals)."""
        return self.likelihood != "gaussian"

    # -- conditioning -----------------------------------------------------------------

    def _condition(self, y):
        if not self.num_classes:
            return None
        return one_hot_labels(y, self.num_classes, type(self).__name__)

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
        n = positive_int(n, "n")
        return self.decode(self._sample_codes(n, seed), generation_labels(self, n, labels, seed))

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "latent_dim": self.latent_dim,
            "architecture": self.architecture,
            "likelihood": self.likelihood,
            "hidden_units": self.hidden_units,
            "filters": self.filters,
            "activation": self.activation,
        }
