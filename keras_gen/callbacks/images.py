"""Pictures of a model while it trains: sample grids, reconstructions, latent interpolations."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import keras
import numpy as np

from keras_gen.callbacks.grids import as_image_batch, interleave_rows, save_image_grid
from keras_gen.zoo.capabilities import Autoencoding, Generator, is_label_conditional


def _check_every(every) -> int:
    if isinstance(every, bool) or int(every) != every or int(every) < 1:
        raise ValueError(f"every must be a positive integer (epochs); got {every!r}")
    return int(every)


def _require(model, capability: type, owner: str, needs: str) -> None:
    """A TypeError naming what ``owner`` needs, unless ``model`` is a ``capability``."""
    if not isinstance(model, capability):
        raise TypeError(
            f"{owner} needs a model with {needs} (a keras_gen.zoo.capabilities."
            f"{capability.__name__}); {type(model).__name__} is not one"
        )


def _require_labels(model, labels, owner: str, how: str) -> None:
    if is_label_conditional(model) and labels is None:
        raise ValueError(f"{type(model).__name__} is class-conditional: pass {how} to {owner}")


class _EpochImageWriter(keras.callbacks.Callback):
    """Writes ``<name>_epoch_NNN.png`` every ``every`` epochs (1-based) and ``<name>_final.png``."""

    def __init__(self, out_dir: str | os.PathLike, every: int = 1, prefix: str = "samples"):
        super().__init__()
        self.out_dir = os.fspath(out_dir)
        self.every = _check_every(every)
        if not prefix or os.sep in prefix:
            raise ValueError(f"prefix must be a non-empty file name part; got {prefix!r}")
        self.prefix = prefix
        self.paths: list[str] = []

    def _write(self, name: str, images: np.ndarray, ncols: int | None) -> str:
        path = save_image_grid(os.path.join(self.out_dir, f"{name}.png"), images, ncols=ncols)
        self.paths.append(path)
        return path

    def write(self, tag: str) -> list[str]:
        """Write the pictures named with ``tag`` (e.g. ``"epoch_003"``); return their paths."""
        raise NotImplementedError

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.write(f"epoch_{epoch + 1:03d}")

    def on_train_end(self, logs=None):
        self.write("final")


class SampleGrid(_EpochImageWriter):
    """Save a grid of ``model.generate(n, seed=seed)`` every ``every`` epochs.

    The seed is fixed, so every grid decodes the SAME latent codes and the
    pictures show how the decoder evolves. Files are
    ``{prefix}_epoch_003.png`` (1-based epoch) and ``{prefix}_final.png`` at
    the end of training; ``self.paths`` lists every file written.

    For a class-conditional model (``model.num_classes > 0``) ``labels``
    defaults to ``np.arange(n) % num_classes`` laid out ``num_classes`` to a
    row, so column ``j`` shows class ``j`` and each row shows every class.

    ``reconstruct`` is a fixed batch of input images, or a tuple
    ``(images, labels)`` for a class-conditional model: then
    ``reconstructions_epoch_003.png`` (and ``reconstructions_final.png``)
    alternate a row of originals with the row of their reconstructions.
    Works with any model that has ``generate`` (and ``reconstruct``), e.g.
    :class:`~keras_gen.zoo.VAE`, :class:`~keras_gen.zoo.CVAE`,
    :class:`~keras_gen.zoo.Autoencoder`.

    The arguments ``out_dir`` and ``every`` are shared with :class:`LatentInterpolation`.

    Args:
        out_dir: folder the PNG files are written to (created if missing).
        every: positive int, write after every ``every``-th epoch (1-based); default 1.
            The ``_final`` files are written at the end of training whatever it is.
        n: positive int, number of samples in each grid; default 64.
        seed: the int ``seed`` passed to ``model.generate``; default 0. None draws one
            seed when the callback is created (still the same codes at every epoch).
        reconstruct: optional images to reconstruct at each write, (m, H, W, C) or
            (m, H, W), or a tuple ``(images, labels)`` for a class-conditional model;
            None (default): no reconstructions.
        labels: optional class ids passed as ``model.generate(..., labels=labels)``;
            None (default): ``np.arange(n) % num_classes`` for a class-conditional
            model, nothing otherwise.
        prefix: start of the sample grids' file names; default "samples".
        ncols: images per grid row; None (default): ``num_classes`` for a
            class-conditional model with the default labels, else ``ceil(sqrt(count))``.

    Example:

    >>> import numpy as np, tempfile
    >>> from keras_gen.zoo import VAE
    >>> vae = VAE((8, 8, 1), latent_dim=2, hidden_units=(16,))
    >>> vae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).random((16, 8, 8, 1), dtype="float32")
    >>> grid = SampleGrid(tempfile.mkdtemp(), every=2, n=16, reconstruct=x[:4])
    >>> _ = vae.fit(x, epochs=2, verbose=0, callbacks=[grid])
    >>> [p.rsplit("/", 1)[-1] for p in grid.paths]  # doctest: +NORMALIZE_WHITESPACE
    ['samples_epoch_002.png', 'reconstructions_epoch_002.png',
     'samples_final.png', 'reconstructions_final.png']
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        every: int = 1,
        n: int = 64,
        seed: int | None = 0,
        reconstruct=None,
        labels=None,
        prefix: str = "samples",
        ncols: int | None = None,
    ):
        super().__init__(out_dir, every=every, prefix=prefix)
        if isinstance(n, bool) or int(n) != n or int(n) < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        self.n = int(n)
        # A seed drawn once still gives the same latents at every epoch.
        self.seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
        self.labels = None if labels is None else np.asarray(labels)
        self.ncols = ncols
        self.reconstruct_images = None
        self.reconstruct_labels = None
        if reconstruct is not None:
            if isinstance(reconstruct, tuple):
                if len(reconstruct) != 2:
                    raise ValueError(
                        "reconstruct must be an array of images or a tuple (images, labels); "
                        f"got a tuple of length {len(reconstruct)}"
                    )
                images, rec_labels = reconstruct
                self.reconstruct_labels = np.asarray(rec_labels)
            else:
                images = reconstruct
            images = np.asarray(images)
            as_image_batch(images, "reconstruct")  # fail now, not after an epoch
            self.reconstruct_images = images
            if self.reconstruct_labels is not None and len(self.reconstruct_labels) != len(images):
                raise ValueError(
                    "reconstruct=(images, labels) needs one label per image; got "
                    f"{len(images)} images and {len(self.reconstruct_labels)} labels"
                )

    def on_train_begin(self, logs=None):
        model = self.model
        _require(model, Generator, "SampleGrid", "generate(n, seed=...)")
        if self.reconstruct_images is not None:
            _require(model, Autoencoding, "SampleGrid(reconstruct=...)", "reconstruct(x)")
            _require_labels(
                model, self.reconstruct_labels, "SampleGrid", "reconstruct=(images, labels)"
            )

    def _generation_labels(self):
        if not is_label_conditional(self.model):
            return self.labels
        if self.labels is None:
            return np.arange(self.n) % self.model.num_classes
        return self.labels

    def write(self, tag: str) -> list[str]:
        model = self.model
        labels = self._generation_labels()
        if labels is None:
            samples = model.generate(self.n, seed=self.seed)
        else:
            samples = model.generate(self.n, seed=self.seed, labels=labels)
        ncols = self.ncols
        if ncols is None and is_label_conditional(model) and self.labels is None:
            ncols = model.num_classes
        paths = [self._write(f"{self.prefix}_{tag}", samples, ncols)]
        if self.reconstruct_images is not None:
            x = self.reconstruct_images
            labels = () if self.reconstruct_labels is None else (self.reconstruct_labels,)
            recon = model.reconstruct(x, *labels)
            originals = as_image_batch(x, "reconstruct")
            recon = as_image_batch(recon, "reconstructions")
            rec_cols = self.ncols or math.ceil(math.sqrt(len(x)))
            rows = interleave_rows(originals, recon, rec_cols, fill=255)
            paths.append(self._write(f"reconstructions_{tag}", rows, rec_cols))
        return paths


def interpolate(model, a: np.ndarray, b: np.ndarray, steps: int = 10, labels=None) -> np.ndarray:
    """Decode ``steps`` codes on the straight line from ``encode(a)`` to ``encode(b)``.

    ``a`` and ``b`` are single images of shape (H, W, C); the first and last
    frames are ``decode(encode(a))`` and ``decode(encode(b))``. A
    class-conditional model needs ``labels`` (one class, used throughout).
    Returns an array of shape (steps, H, W, C).

    Example:

    >>> import numpy as np
    >>> from keras_gen.zoo import VAE
    >>> vae = VAE((8, 8, 1), latent_dim=2, hidden_units=(16,))
    >>> x = np.random.default_rng(0).random((2, 8, 8, 1), dtype="float32")
    >>> interpolate(vae, x[0], x[1], steps=5).shape
    (5, 8, 8, 1)
    """
    if isinstance(steps, bool) or int(steps) != steps or int(steps) < 2:
        raise ValueError(
            f"steps must be an integer >= 2 (the endpoints are included); got {steps!r}"
        )
    steps = int(steps)
    a, b = np.asarray(a, "float32"), np.asarray(b, "float32")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    conditional = is_label_conditional(model)
    if conditional and labels is None:
        raise ValueError(f"{type(model).__name__} is class-conditional: pass labels to interpolate")
    if not conditional and labels is not None:
        raise ValueError(f"{type(model).__name__} is not class-conditional; labels must be None")
    if conditional:
        label = np.asarray(labels).reshape(-1)
        if label.size != 1:
            raise ValueError(f"labels must be one class for the pair; got {labels!r}")
        codes = model.encode(np.stack([a, b]), np.repeat(label, 2))
    else:
        codes = model.encode(np.stack([a, b]))
    codes = np.asarray(codes, "float32")
    t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
    # (1 - t) * z0 + t * z1 is exactly z0 at t = 0 and z1 at t = 1.
    path = (1.0 - t) * codes[0] + t * codes[1]
    if conditional:
        return model.decode(path, np.repeat(label, steps))
    return model.decode(path)


class LatentInterpolation(_EpochImageWriter):
    """Save latent interpolations between fixed pairs of images every ``every`` epochs.

    ``pairs`` has shape (m, 2, H, W, C). Each time the callback fires it
    writes ``{prefix}_epoch_003.png`` with one row per pair: the ``steps``
    frames of :func:`interpolate` from the first image's code to the
    second's (endpoints included); ``{prefix}_final.png`` at the end of
    training. A class-conditional model needs ``labels``: one class per pair.

    Args:
        pairs: the image pairs, shape (m, 2, H, W, C) with m >= 1, as the model's
            ``encode`` takes them (floats in [0, 1] for the zoo's image models).
        steps: int >= 2, frames per pair, endpoints included; default 10.
        labels: one class id per pair (or one id for all pairs), for a
            class-conditional model; None (default) for an unconditional one.
        prefix: start of the file names; default "interpolation".

    Other arguments (``out_dir``, ``every``): see :class:`SampleGrid`.

    Example:

    >>> import numpy as np, tempfile
    >>> from keras_gen.zoo import Autoencoder
    >>> pairs = np.random.default_rng(1).random((2, 2, 8, 8, 1), dtype="float32")
    >>> ae = Autoencoder((8, 8, 1), latent_dim=2, hidden_units=(16,))
    >>> ae.compile(optimizer="adam")
    >>> cb = LatentInterpolation(tempfile.mkdtemp(), pairs, steps=6)
    >>> _ = ae.fit(pairs.reshape(4, 8, 8, 1), epochs=1, verbose=0, callbacks=[cb])
    >>> [p.rsplit("/", 1)[-1] for p in cb.paths]
    ['interpolation_epoch_001.png', 'interpolation_final.png']
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        pairs: np.ndarray,
        steps: int = 10,
        every: int = 1,
        labels: Sequence[int] | np.ndarray | None = None,
        prefix: str = "interpolation",
    ):
        super().__init__(out_dir, every=every, prefix=prefix)
        pairs = np.asarray(pairs)
        if pairs.ndim < 3 or pairs.shape[1] != 2 or len(pairs) == 0:
            raise ValueError(
                "pairs must have shape (m, 2, height, width, channels) with m >= 1; "
                f"got shape {pairs.shape}"
            )
        if isinstance(steps, bool) or int(steps) != steps or int(steps) < 2:
            raise ValueError(f"steps must be an integer >= 2; got {steps!r}")
        self.pairs = pairs
        self.steps = int(steps)
        self.labels = None
        if labels is not None:
            self.labels = np.broadcast_to(np.asarray(labels).reshape(-1), (len(pairs),))

    def on_train_begin(self, logs=None):
        model = self.model
        _require(model, Autoencoding, "LatentInterpolation", "encode() and decode()")
        _require_labels(model, self.labels, "LatentInterpolation", "labels (one per pair)")

    def write(self, tag: str) -> list[str]:
        strips = [
            interpolate(
                self.model,
                a,
                b,
                steps=self.steps,
                labels=None if self.labels is None else self.labels[i],
            )
            for i, (a, b) in enumerate(self.pairs)
        ]
        return [self._write(f"{self.prefix}_{tag}", np.concatenate(strips), self.steps)]
