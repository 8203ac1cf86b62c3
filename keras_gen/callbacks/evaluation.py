"""Sample-quality evaluation during training: Frechet (and kernel) distance every N epochs."""

from __future__ import annotations

import time
import warnings

import keras
import numpy as np

from keras_gen.metrics.features import extract_features
from keras_gen.metrics.frechet import (
    feature_statistics,
    frechet_distance_from_stats,
    kernel_distance,
)
from keras_gen.zoo.capabilities import Generator


class FrechetEvaluation(keras.callbacks.Callback):
    """Every ``every`` epochs, the Frechet distance between generated and real images' features.

    At the end of epochs ``every``, ``2 * every``, ... it draws ``num_samples`` images with
    ``model.generate(num_samples, seed=seed)`` (the same codes every time, so successive
    values differ by the model only), extracts their features with ``extractor`` and
    writes the Frechet distance to the real images' features into the epoch's logs as
    ``logs[name]``; with ``kernel_name`` also the kernel (KID-style) distance, and its
    standard deviation over subsets as ``kernel_name + "_std"``. The real statistics are
    computed once, at the start of training. As with Keras' ``validation_freq``, epochs
    without an evaluation have no entry, so ``History`` lists one value per evaluation
    (their epochs are in ``self.epochs``). Put this callback before the callbacks that
    read the value (``EarlyStopping``, ``ModelCheckpoint``, ``CSVLogger``).

    The default name "fcd" is for the project's MNIST :class:`~keras_gen.metrics.
    ClassifierFeatures`: a Frechet *classifier* distance, not Inception FID. Name it
    "fid" only with :class:`~keras_gen.metrics.InceptionFeatures`.

    Generated images that hold NaN (a diverged model) give NaN, with a warning, rather
    than stopping the run.

    Args:
        extractor: a feature extractor, any callable mapping images (n, H, W, C) in
            [0, 1] to features (n, d): a Keras model, a function,
            :class:`~keras_gen.metrics.ClassifierFeatures` or
            :class:`~keras_gen.metrics.InceptionFeatures`.
        real_images: at least 2 real images, shape (n, H, W, C) or (n, H, W), uint8 or
            floats in [0, 1]; their features are computed once, when training starts.
        num_samples: int >= 2, images generated for each evaluation; default 1000.
        every: positive int, evaluate after every ``every``-th epoch; default 1.
        seed: the ``seed`` passed to ``model.generate``; default 0 (the same codes at
            every evaluation), None for new ones each time.
        name: the logs key of the Frechet distance, non-empty; default "fcd".
        kernel_name: the logs key of the kernel distance (its standard deviation under
            ``kernel_name + "_std"``); None (default) skips the kernel distance.
        kernel_subsets: positive int, random subsets the kernel distance averages over;
            default 100.
        kernel_subset_size: positive int, images per subset (at most the smaller set's
            size); default 1000.
        batch_size: positive int, images per call of ``extractor``; default 256.
        verbose: whether to print the values (and the time taken) at each evaluation;
            default False.

    Example:

    >>> import numpy as np
    >>> from keras_gen.zoo import Autoencoder
    >>> x = np.random.default_rng(0).random((64, 8, 8, 1), dtype="float32")
    >>> model = Autoencoder((8, 8, 1), latent_dim=2, hidden_units=(16,))
    >>> model.compile(optimizer="adam")
    >>> features = lambda images: images.reshape(len(images), -1)[:, :4]
    >>> cb = FrechetEvaluation(features, x, num_samples=64, every=2, kernel_name="kd")
    >>> history = model.fit(x, epochs=4, verbose=0, callbacks=[cb])
    >>> len(history.history["fcd"]), cb.epochs, sorted(cb.last)
    (2, [2, 4], ['fcd', 'kd', 'kd_std'])
    """

    def __init__(
        self,
        extractor,
        real_images: np.ndarray,
        num_samples: int = 1000,
        every: int = 1,
        seed: int | None = 0,
        name: str = "fcd",
        kernel_name: str | None = None,
        kernel_subsets: int = 100,
        kernel_subset_size: int = 1000,
        batch_size: int = 256,
        verbose: bool = False,
    ):
        super().__init__()
        if not callable(extractor):
            raise TypeError(f"extractor must be callable (images -> features); got {extractor!r}")
        for arg, value in (
            ("num_samples", num_samples),
            ("every", every),
            ("batch_size", batch_size),
            ("kernel_subsets", kernel_subsets),
            ("kernel_subset_size", kernel_subset_size),
        ):
            if isinstance(value, bool) or int(value) != value or int(value) < 1:
                raise ValueError(f"{arg} must be a positive integer; got {value!r}")
        if int(num_samples) < 2:
            raise ValueError(f"num_samples must be >= 2 (a covariance); got {num_samples!r}")
        if not name or name == kernel_name:
            raise ValueError(
                f"name must be a non-empty string other than kernel_name; got {name!r}"
            )
        self.extractor = extractor
        self.real_images = np.asarray(real_images)
        if self.real_images.ndim not in (3, 4) or len(self.real_images) < 2:
            raise ValueError(
                "real_images must be at least 2 images of shape (n, height, width[, channels]); "
                f"got shape {self.real_images.shape}"
            )
        self.num_samples = int(num_samples)
        self.every = int(every)
        self.seed = seed
        self.name = name
        self.kernel_name = kernel_name
        self.kernel_subsets = int(kernel_subsets)
        self.kernel_subset_size = int(kernel_subset_size)
        self.batch_size = int(batch_size)
        self.verbose = bool(verbose)
        self.real_features: np.ndarray | None = None
        self.real_statistics: tuple[np.ndarray, np.ndarray] | None = None
        self.epochs: list[int] = []
        self.last: dict[str, float] = {}

    def on_train_begin(self, logs=None):
        if not isinstance(self.model, Generator):
            raise TypeError(
                f"FrechetEvaluation needs a model with generate(n, seed=None) (a "
                f"keras_gen.zoo.capabilities.Generator); {type(self.model).__name__} is not one"
            )
        if self.real_features is None:  # once: a second fit() reuses them
            self.real_features = extract_features(self.extractor, self.real_images, self.batch_size)
            self.real_statistics = feature_statistics(self.real_features)

    def evaluate(self) -> dict[str, float]:
        """Generate, extract and compare now; returns the values (also in ``self.last``)."""
        if self.real_statistics is None:
            self.on_train_begin()
        images = np.asarray(self.model.generate(self.num_samples, seed=self.seed))
        if not np.all(np.isfinite(images)):
            warnings.warn(
                f"FrechetEvaluation: the generated images hold NaN or infinite values; "
                f"logging {self.name}=nan",
                stacklevel=2,
            )
            names = [self.name]
            if self.kernel_name:
                names += [self.kernel_name, self.kernel_name + "_std"]
            self.last = dict.fromkeys(names, float("nan"))
            return self.last
        features = extract_features(self.extractor, images, self.batch_size)
        values = {
            self.name: frechet_distance_from_stats(
                *feature_statistics(features), *self.real_statistics
            )
        }
        if self.kernel_name:
            kd = kernel_distance(
                features,
                self.real_features,
                num_subsets=self.kernel_subsets,
                subset_size=self.kernel_subset_size,
                seed=0,
            )
            values[self.kernel_name] = kd.mean
            values[self.kernel_name + "_std"] = kd.std
        self.last = values
        return values

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        start = time.perf_counter()
        values = self.evaluate()
        self.epochs.append(epoch + 1)
        if logs is not None:
            logs.update(values)
        if self.verbose:
            text = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
            print(f"epoch {epoch + 1}: {text} ({time.perf_counter() - start:.1f} s)")
