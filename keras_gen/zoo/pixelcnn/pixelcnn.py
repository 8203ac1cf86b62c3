"""A gated PixelCNN (van den Oord et al. 2016) over a grid of discrete codes: the VQ-VAE prior."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_gen.layers import GatedActivation
from keras_gen.losses.categorical import check_temperature, sample_categorical
from keras_gen.training import GenerativeModel, backend
from keras_gen.zoo.capabilities import FromPreset
from keras_gen.zoo.checks import positive_int, positive_ints
from keras_gen.zoo.image_model import batched


def _shift_down(x, dtype):
    x = keras.layers.ZeroPadding2D(((1, 0), (0, 0)), dtype=dtype)(x)
    return keras.layers.Cropping2D(((0, 1), (0, 0)), dtype=dtype)(x)


def _shift_right(x, dtype):
    x = keras.layers.ZeroPadding2D(((0, 0), (1, 0)), dtype=dtype)(x)
    return keras.layers.Cropping2D(((0, 0), (0, 1)), dtype=dtype)(x)


def gated_pixelcnn_network(
    grid_shape: tuple[int, int],
    channels: int,
    num_layers: int,
    kernel_size: int,
    num_classes: int,
    head_channels: int,
    dtype=None,
    name: str = "pixelcnn",
) -> keras.Model:
    """Embedded grid (H, W, channels) -> logits (H, W, num_classes), causal in raster order.

    Gated blocks with a vertical and a horizontal stack (no blind spot). The
    masks are realised by kernel shapes and shifts instead of zeroed weights:
    the vertical stack convolves rows ``i - k//2 .. i`` and is shifted one row
    down before it feeds the horizontal stack, which convolves columns
    ``j - k//2 .. j`` of its own row (``.. j - 1`` in the first layer, mask "A").
    The logits at (i, j) therefore depend only on positions before (i, j).
    """
    height, width = grid_shape
    p = kernel_size // 2
    inputs = keras.Input((height, width, channels), name="embedded_codes")
    v = h = inputs
    for layer in range(num_layers):
        first = layer == 0
        vp = keras.layers.ZeroPadding2D(((p, 0), (p, p)), dtype=dtype)(v)
        v_pre = keras.layers.Conv2D(2 * channels, (p + 1, kernel_size), dtype=dtype)(vp)
        hp = keras.layers.ZeroPadding2D(((0, 0), (p, 0)), dtype=dtype)(h)
        h_pre = keras.layers.Conv2D(2 * channels, (1, p + 1), dtype=dtype)(hp)
        if first:
            h_pre = _shift_right(h_pre, dtype)
        v_to_h = keras.layers.Conv2D(2 * channels, 1, dtype=dtype)(_shift_down(v_pre, dtype))
        h_pre = keras.layers.Add(dtype=dtype)([h_pre, v_to_h])
        v = GatedActivation(dtype=dtype)(v_pre)
        h_out = keras.layers.Conv2D(channels, 1, dtype=dtype)(GatedActivation(dtype=dtype)(h_pre))
        # No residual in the first layer: its input still holds the current position.
        h = h_out if first else keras.layers.Add(dtype=dtype)([h, h_out])
    out = keras.layers.ReLU(dtype=dtype)(h)
    out = keras.layers.Conv2D(head_channels, 1, activation="relu", dtype=dtype)(out)
    logits = keras.layers.Conv2D(num_classes, 1, dtype="float32", name="logits")(out)
    return keras.Model(inputs, logits, name=name)


@keras.saving.register_keras_serializable(package="keras_gen")
class PixelCNN(FromPreset, GenerativeModel):
    """An autoregressive prior over a (height, width) grid of codes in [0, num_embeddings).

    ``p(c) = prod_i p(c_i | c_<i)`` in raster order, each factor a categorical
    over the codes (float32 logits). Trained with ``fit`` on integer code grids,
    e.g. ``VQVAE.encode_indices(images)``; ``loss`` is the per-example negative
    log-likelihood in nats, ``bits_per_code`` the same in bits per grid position.

    Args:
        grid_shape: (height, width) of the code grid.
        num_embeddings: number K of distinct codes.
        channels: width of the gated stacks (and of the code embedding).
        num_layers: gated blocks; the receptive field grows by ``kernel_size // 2``
            rows and columns per block.
        kernel_size: odd size of the vertical stack's kernels.
        head_channels: width of the 1x1 output head.

    Example:

    >>> import numpy as np
    >>> prior = PixelCNN((4, 4), num_embeddings=8, channels=8, num_layers=2)
    >>> prior.compile(optimizer="adam")
    >>> codes = np.random.default_rng(0).integers(0, 8, size=(16, 4, 4))
    >>> _ = prior.fit(codes, epochs=1, batch_size=8, verbose=0)
    >>> prior.sample(3, seed=0).shape
    (3, 4, 4)
    >>> bool(prior.bits_per_code(codes) > 0)
    True
    """

    def __init__(
        self,
        grid_shape: Sequence[int],
        num_embeddings: int,
        channels: int = 64,
        num_layers: int = 8,
        kernel_size: int = 5,
        head_channels: int = 128,
        **kwargs,
    ):
        super().__init__(term_names=("loss", "bits_per_code"), **kwargs)
        grid = positive_ints(grid_shape, "grid_shape")
        if len(grid) != 2:
            raise ValueError(f"grid_shape must be two positive ints (height, width); got {grid}")
        for name, value in (
            ("num_embeddings", num_embeddings),
            ("channels", channels),
            ("num_layers", num_layers),
            ("head_channels", head_channels),
        ):
            positive_int(value, name)
        if positive_int(kernel_size, "kernel_size") < 3 or int(kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be an odd integer >= 3; got {kernel_size!r}")
        self.grid_shape = grid
        self.num_embeddings = int(num_embeddings)
        self.channels = int(channels)
        self.num_layers = int(num_layers)
        self.kernel_size = int(kernel_size)
        self.head_channels = int(head_channels)
        self.embedding = keras.layers.Embedding(
            self.num_embeddings, self.channels, name="code_embedding", dtype=self.dtype_policy
        )
        self.embedding.build((None, *grid))
        self.network = gated_pixelcnn_network(
            grid,
            self.channels,
            self.num_layers,
            self.kernel_size,
            self.num_embeddings,
            self.head_channels,
            dtype=self.dtype_policy,
        )
        self.built = True  # every weight exists: a loaded .keras file restores the optimizer
        self._logits_fn = None

    def call(self, codes, training=False):
        """Logits (batch, height, width, num_embeddings) in float32."""
        return self.network(self.embedding(ops.cast(codes, "int32")), training=training)

    def compute_terms(self, x, y=None, training=False):
        logits = self(x, training=training)
        labels = ops.cast(x, "int32")
        nll = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        nll = ops.sum(ops.reshape(nll, (ops.shape(labels)[0], -1)), axis=1)
        positions = self.grid_shape[0] * self.grid_shape[1]
        return {"loss": nll, "bits_per_code": nll / (positions * math.log(2.0))}

    # -- public API ---------------------------------------------------------------------

    def _check_codes(self, codes, name: str = "codes") -> np.ndarray:
        codes = np.asarray(codes)
        if codes.ndim != 3 or codes.shape[1:] != self.grid_shape:
            raise ValueError(
                f"{name} must have shape (n, {self.grid_shape[0]}, {self.grid_shape[1]}); "
                f"got shape {codes.shape}"
            )
        if not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(f"{name} must be integers; got dtype {codes.dtype}")
        if codes.size and (codes.min() < 0 or codes.max() >= self.num_embeddings):
            raise ValueError(
                f"{name} must be in [0, {self.num_embeddings}); "
                f"got values in [{codes.min()}, {codes.max()}]"
            )
        return codes.astype("int32")

    def log_prob(self, codes, batch_size: int = 256) -> np.ndarray:
        """log p(codes) in nats, one per grid (NumPy, shape (n,))."""
        codes = self._check_codes(codes)
        return -batched(
            lambda c: self.compute_terms(c, training=False)["loss"], [codes], batch_size
        )

    def bits_per_code(self, codes, batch_size: int = 256) -> float:
        """Mean negative log-likelihood of ``codes`` in bits per grid position."""
        positions = self.grid_shape[0] * self.grid_shape[1]
        return float(-np.mean(self.log_prob(codes, batch_size)) / (positions * math.log(2.0)))

    def sample(
        self, n: int, seed: int | None = None, temperature: float = 1.0, batch_size: int = 256
    ) -> np.ndarray:
        """Draw ``n`` code grids (int32, shape (n, height, width)), position by position."""
        positive_int(n, "n")
        if not check_temperature(temperature) > 0:  # finite too: inf gives NaN probabilities
            raise ValueError(f"temperature must be > 0; got {temperature!r}")
        if self._logits_fn is None:
            self._logits_fn = backend.compiled(lambda c: self(c, training=False))
        rng = np.random.default_rng(seed)
        height, width = self.grid_shape
        out = []
        for start in range(0, int(n), batch_size):
            m = min(batch_size, int(n) - start)
            canvas = np.zeros((m, height, width), "int32")
            for i in range(height):
                for j in range(width):
                    logits = ops.convert_to_numpy(self._logits_fn(canvas))[:, i, j, :]
                    canvas[:, i, j] = sample_categorical(logits, float(temperature), rng)
            out.append(canvas)
        return np.concatenate(out, axis=0)

    def get_config(self):
        return {
            **super().get_config(),
            "grid_shape": self.grid_shape,
            "num_embeddings": self.num_embeddings,
            "channels": self.channels,
            "num_layers": self.num_layers,
            "kernel_size": self.kernel_size,
            "head_channels": self.head_channels,
        }
