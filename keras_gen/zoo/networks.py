"""Encoder and decoder bodies shared by the image models of the zoo.

Both are plain functional ``keras.Model`` objects, so users can inspect,
replace or reuse them (``model.encoder.summary()``).
"""

from __future__ import annotations

from collections.abc import Sequence

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


def encoder_body(
    input_shape: tuple[int, ...],
    architecture: str,
    hidden_units: Sequence[int],
    filters: Sequence[int],
    activation: str,
    num_conditions: int = 0,
    dtype=None,
    name: str = "encoder_body",
) -> keras.Model:
    """Image (and optional one-hot condition) -> feature vector."""
    # Layer names start with "encoder_", so variable paths match patterns like "encoder.*"
    # (e.g. for keras_gen.optimizers.LRMultiplier) and stay stable across models.
    x_in = keras.Input(input_shape, name="x")
    h = x_in
    if architecture == "conv":
        for i, f in enumerate(filters):
            h = keras.layers.Conv2D(
                f, 3, 2, "same", activation=activation, dtype=dtype, name=f"encoder_conv_{i}"
            )(h)
    h = keras.layers.Flatten(dtype=dtype, name="encoder_flatten")(h)
    inputs = [x_in]
    if num_conditions:
        c_in = keras.Input((num_conditions,), name="condition")
        h = keras.layers.Concatenate(dtype=dtype, name="encoder_condition")([h, c_in])
        inputs.append(c_in)
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(
            units, activation=activation, dtype=dtype, name=f"encoder_dense_{i}"
        )(h)
    return keras.Model(inputs if num_conditions else x_in, h, name=name)


def decoder_body(
    latent_dim: int,
    output_shape: tuple[int, ...],
    architecture: str,
    hidden_units: Sequence[int],
    filters: Sequence[int],
    activation: str,
    num_conditions: int = 0,
    dtype=None,
    name: str = "decoder",
) -> keras.Model:
    """Code (and optional one-hot condition) -> one unconstrained value per output pixel.

    The last layer runs in float32 (the usual mixed-precision practice for
    outputs that feed a likelihood).
    """
    z_in = keras.Input((latent_dim,), name="z")
    h = z_in
    inputs = [z_in]
    if num_conditions:
        c_in = keras.Input((num_conditions,), name="condition")
        h = keras.layers.Concatenate(dtype=dtype, name="decoder_condition")([h, c_in])
        inputs.append(c_in)
    for i, units in enumerate(reversed(hidden_units)):
        h = keras.layers.Dense(
            units, activation=activation, dtype=dtype, name=f"decoder_dense_{i}"
        )(h)
    if architecture == "conv":
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
    return keras.Model(inputs if num_conditions else z_in, out, name=name)
