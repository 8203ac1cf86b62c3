"""Building blocks of the zoo, one concept a file.

>>> from keras_gen.layers import GaussianSampling, VariationalBottleneck
"""

from keras_gen.layers.bottleneck import VariationalBottleneck
from keras_gen.layers.moments import LatentMoments
from keras_gen.layers.quantizer import VectorQuantizer
from keras_gen.layers.sampling import GaussianSampling
from keras_gen.layers.seeding import SavesSeedState

__all__ = [
    "GaussianSampling",
    "LatentMoments",
    "SavesSeedState",
    "VariationalBottleneck",
    "VectorQuantizer",
]
