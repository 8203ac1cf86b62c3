"""Multi-stage recipes on top of the zoo: a VQ-VAE, then a PixelCNN prior over its codes.

>>> from keras_gen.pipelines import run_stage, train_pipeline, train_prior
"""

from keras_gen.pipelines.stages import STAGES, run_stage
from keras_gen.pipelines.vqvae_prior import (
    PipelineResult,
    PriorResult,
    train_pipeline,
    train_prior,
)

__all__ = ["STAGES", "PipelineResult", "PriorResult", "run_stage", "train_pipeline", "train_prior"]
