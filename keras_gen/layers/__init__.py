"""Building blocks of the zoo, one concept a file.

>>> from keras_gen.layers import GaussianSampling, VariationalBottleneck
"""

from keras_gen.layers.bottleneck import VariationalBottleneck
from keras_gen.layers.dropout import SeededDropout, WordDropout
from keras_gen.layers.gated import GatedActivation, GatedResidualBlock
from keras_gen.layers.moments import LatentMoments
from keras_gen.layers.quantizer import VectorQuantizer
from keras_gen.layers.sampling import GaussianSampling
from keras_gen.layers.seeding import SavesSeedState
from keras_gen.layers.tied import TiedSoftmaxHead

__all__ = [
    "GatedActivation",
    "GatedResidualBlock",
    "GaussianSampling",
    "LatentMoments",
    "SavesSeedState",
    "SeededDropout",
    "TiedSoftmaxHead",
    "VariationalBottleneck",
    "VectorQuantizer",
    "WordDropout",
]
