"""Callbacks for generative training: sample grids, latent interpolations, KL annealing, FCD.

>>> from keras_gen.callbacks import KLAnnealing, LatentInterpolation, SampleGrid
"""

from keras_gen.callbacks.annealing import KLAnnealing, KLWarmup
from keras_gen.callbacks.codebook import CodebookMonitor
from keras_gen.callbacks.evaluation import FrechetEvaluation
from keras_gen.callbacks.grids import image_grid, save_image_grid
from keras_gen.callbacks.images import LatentInterpolation, SampleGrid, interpolate
from keras_gen.callbacks.nonfinite import NonFiniteLossError, StopOnNonFinite
from keras_gen.callbacks.tensorboard import TensorBoardScalars, read_scalars

__all__ = [
    "CodebookMonitor",
    "FrechetEvaluation",
    "KLAnnealing",
    "KLWarmup",
    "LatentInterpolation",
    "NonFiniteLossError",
    "SampleGrid",
    "StopOnNonFinite",
    "TensorBoardScalars",
    "image_grid",
    "interpolate",
    "read_scalars",
    "save_image_grid",
]
