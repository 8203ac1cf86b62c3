"""Deterministic autoencoders: plain, denoising, contractive and linear."""

from keras_gen.zoo.autoencoder.autoencoder import (
    Autoencoder,
    ContractiveAutoencoder,
    DenoisingAutoencoder,
    LinearAutoencoder,
)

__all__ = ["Autoencoder", "ContractiveAutoencoder", "DenoisingAutoencoder", "LinearAutoencoder"]
