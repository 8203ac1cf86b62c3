"""Multi-stage recipes on top of the zoo: a VQ-VAE, then a PixelCNN prior over its codes.

>>> from keras_gen.pipelines import train_pipeline
"""

from keras_gen.pipelines.vqvae_prior import PipelineResult, train_pipeline

__all__ = ["PipelineResult", "train_pipeline"]
