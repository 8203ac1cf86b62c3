"""Encoder and decoder bodies shared by the image models of the zoo.

Both are plain functional ``keras.Model`` objects, so users can inspect,
replace or reuse them (``model.encoder.summary()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras

ARCHITECTURES = ("mlp", "conv")


def check_image_shape(image_shape, architecture: str, filters: Sequence[int]) -> tuple[int, ...]:
    """Validate an image shape for an architecture and return it as a tuple of ints.

    >>> check_image_shape([28, 28, 1], "conv", filters=(32, 64))
    (28, 28, 1)
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}; got {architecture!r}")
    try:
        shape = tuple(int(d) for d in image_shape)
    except (TypeError, ValueError) as err:
        raise ValueError(f"image_shape must be a tuple of ints; got {image_shape!r}") from err
    if not shape or any(d < 1 for d in shape):
        raise ValueError(f"image_shape must be a non-empty tuple of positive ints; got {shape}")
    if architecture == "conv":
        factor = 2 ** len(filters)
        if len(shape) != 3 or shape[0] % factor or shape[1] % factor:
            raise ValueError(
                f"architecture='conv' expects image_shape (height, width, channels) with height "
                f"and width divisible by {factor}; got {shape}"
            )
    return shape


class BodyOptions(NamedTuple):
    """The options that :func:`encoder_body` and :func:`decoder_body` share.

    The decoder mirrors the encoder: the same dense layers in reverse order, then
    transposed convolutions for ``architecture="conv"``.
    """

    architecture: str
    hidden_units: Sequence[int]
    filters: Sequence[int]
    activation: str
    num_conditions: int = 0  # > 0: a one-hot condition input of that size
    dtype: Any = None


def _with_condition(h, inputs: list, options: BodyOptions, prefix: str):
    """``h`` joined with a new one-hot condition input (added to ``inputs``), if any."""
    if not options.num_conditions:
        return h
    c_in = keras.Input((options.num_conditions,), name="condition")
    inputs.append(c_in)
    return keras.layers.Concatenate(dtype=options.dtype, name=f"{prefix}_condition")([h, c_in])


def encoder_body(
    input_shape: tuple[int, ...], name: str = "encoder_body", **options: Any
) -> keras.Model:
    """Image (and optional one-hot condition) -> feature vector; ``options``: BodyOptions."""
    opts = BodyOptions(**options)
    dtype, activation = opts.dtype, opts.activation
    # Layer names start with "encoder_", so variable paths match patterns like "encoder.*"
    # (e.g. for keras_gen.optimizers.LRMultiplier) and stay stable across models.
    x_in = keras.Input(input_shape, name="x")
    h = x_in
    if opts.architecture == "conv":
        for i, f in enumerate(opts.filters):
            h = keras.layers.Conv2D(
                f, 3, 2, "same", activation=activation, dtype=dtype, name=f"encoder_conv_{i}"
            )(h)
    h = keras.layers.Flatten(dtype=dtype, name="encoder_flatten")(h)
    inputs = [x_in]
    h = _with_condition(h, inputs, opts, "encoder")
    for i, units in enumerate(opts.hidden_units):
        h = keras.layers.Dense(
            units, activation=activation, dtype=dtype, name=f"encoder_dense_{i}"
        )(h)
    return keras.Model(inputs if len(inputs) > 1 else x_in, h, name=name)


def decoder_body(
    latent_dim: int, output_shape: tuple[int, ...], name: str = "decoder", **options: Any
) -> keras.Model:
    """Code (and optional one-hot condition) -> one unconstrained value per output pixel.

    ``options``: the fields of :class:`BodyOptions`. The last layer runs in float32 (the
    usual mixed-precision practice for outputs that feed a likelihood).
    """
    opts = BodyOptions(**options)
    dtype, activation, filters = opts.dtype, opts.activation, opts.filters
    z_in = keras.Input((latent_dim,), name="z")
    inputs = [z_in]
    h = _with_condition(z_in, inputs, opts, "decoder")
    for i, units in enumerate(reversed(opts.hidden_units)):
        h = keras.layers.Dense(
            units, activation=activation, dtype=dtype, name=f"decoder_dense_{i}"
        )(h)
    if opts.architecture == "conv":
        factor = 2 ** len(filters)
        height, width, channels = output_shape
        grid = (height // factor, width // factor, filters[-1])
        h = keras.layers.Dense(
            grid[0] * grid[1] * grid[2], activation=activation, dtype=dtype, name="decoder_grid"
        )(h)
        h = keras.layers.Reshape(grid, dtype=dtype, name="decoder_reshape")(h)
        for i, f in enumerate(reversed(filters)):
            h = keras.layers.Conv2DTranspose(
                f, 3, 2, "same", activation=activation, dtype=dtype, name=f"decoder_deconv_{i}"
            )(h)
        out = keras.layers.Conv2DTranspose(
            channels, 3, 1, "same", dtype="float32", name="decoder_output"
        )(h)
    else:
        size = 1
        for d in output_shape:
            size *= d
        h = keras.layers.Dense(size, dtype="float32", name="decoder_output")(h)
        out = keras.layers.Reshape(output_shape, dtype="float32", name="decoder_reshape")(h)
    return keras.Model(inputs if len(inputs) > 1 else z_in, out, name=name)
