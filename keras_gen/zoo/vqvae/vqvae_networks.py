"""The VQ-VAE's convolutional encoder and decoder with residual stacks."""

from __future__ import annotations

import keras


def _residual_stack(h, channels: int, residual_channels: int, num_layers: int, dtype):
    """The paper's residual blocks: ``h + conv1x1(relu(conv3x3(relu(h))))``, then a ReLU."""
    for _ in range(num_layers):
        r = keras.layers.ReLU(dtype=dtype)(h)
        r = keras.layers.Conv2D(residual_channels, 3, padding="same", dtype=dtype)(r)
        r = keras.layers.ReLU(dtype=dtype)(r)
        r = keras.layers.Conv2D(channels, 1, dtype=dtype)(r)
        h = keras.layers.Add(dtype=dtype)([h, r])
    return keras.layers.ReLU(dtype=dtype)(h)


def vqvae_encoder(
    image_shape, embedding_dim, hidden_channels, residual_channels, num_residual_layers, dtype
) -> keras.Model:
    """Images in [0, 1] (H, W, C) -> pre-quantization codes (H/4, W/4, embedding_dim)."""
    x_in = keras.Input(image_shape, name="x")
    # Sonnet's example feeds images in [-0.5, 0.5].
    h = keras.layers.Rescaling(1.0, offset=-0.5, dtype=dtype)(x_in)
    h = keras.layers.Conv2D(hidden_channels // 2, 4, 2, "same", activation="relu", dtype=dtype)(h)
    h = keras.layers.Conv2D(hidden_channels, 4, 2, "same", activation="relu", dtype=dtype)(h)
    h = keras.layers.Conv2D(hidden_channels, 3, 1, "same", dtype=dtype)(h)
    h = _residual_stack(h, hidden_channels, residual_channels, num_residual_layers, dtype)
    # float32: the codes are chosen from these values, so they get full precision.
    z = keras.layers.Conv2D(embedding_dim, 1, dtype="float32", name="pre_quantization")(h)
    return keras.Model(x_in, z, name="encoder")


def vqvae_decoder(
    grid_shape,
    embedding_dim,
    channels,
    hidden_channels,
    residual_channels,
    num_residual_layers,
    dtype,
) -> keras.Model:
    """Quantized codes (H/4, W/4, embedding_dim) -> images (H, W, C), unclipped, float32."""
    z_in = keras.Input((*grid_shape, embedding_dim), name="quantized")
    h = keras.layers.Conv2D(hidden_channels, 3, 1, "same", dtype=dtype)(z_in)
    h = _residual_stack(h, hidden_channels, residual_channels, num_residual_layers, dtype)
    h = keras.layers.Conv2DTranspose(
        hidden_channels // 2, 4, 2, "same", activation="relu", dtype=dtype
    )(h)
    h = keras.layers.Conv2DTranspose(channels, 4, 2, "same", dtype="float32")(h)
    out = keras.layers.Rescaling(1.0, offset=0.5, dtype="float32")(h)
    return keras.Model(z_in, out, name="decoder")
