"""The DCGAN generator and discriminator (Radford et al. 2016), as functional Keras models."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from keras_gen.zoo import networks


def check_gan_image_shape(image_shape, filters: Sequence[int]) -> tuple[int, int, int]:
    """Validate an image shape for ``len(filters)`` stride-2 layers; return it as ints."""
    shape = networks.check_image_shape(image_shape, "conv", filters)
    if shape[0] // 2 ** len(filters) < 1:
        raise ValueError(f"image_shape {shape} is too small for {len(filters)} stride-2 layers")
    return shape


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
        # The wrapper computes in the wrapped layer's dtype: the float32 output layer stays
        # float32 (with the mixed policy the scores would be cast to bfloat16 or float16).
        return keras.layers.SpectralNormalization(
            layer, dtype=layer.dtype_policy, name=f"sn_{layer.name}"
        )

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
