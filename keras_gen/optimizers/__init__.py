"""Optimizer wrappers, gradient transforms and schedules that stay ``keras.optimizers.Optimizer``.

Wrappers take the optimizer they wrap as first argument and stack by nesting; the
outermost one sums the gradients over the replicas once, so every transform sees the
global-batch gradient (see ``docs/optimizers.md``):

>>> import keras
>>> from keras_gen import optimizers
>>> opt = optimizers.EMA(
...     optimizers.GradientAccumulation(
...         optimizers.GradientTransform(
...             optimizers.LRMultiplier(keras.optimizers.Adam(1e-3), {"dense/.*": 0.1}),
...             [("clip_by_global_norm", {"max_norm": 1.0})],
...         ),
...         steps=4,
...     ),
...     momentum=0.999,
... )
>>> [type(o).__name__ for o in opt.chain()]
['EMA', 'GradientAccumulation', 'GradientTransform', 'LRMultiplier', 'Adam']
"""

from keras_gen.optimizers import transforms
from keras_gen.optimizers.accumulation import GradientAccumulation
from keras_gen.optimizers.base import OptimizerWrapper
from keras_gen.optimizers.callbacks import SkippedUpdates
from keras_gen.optimizers.ema import EMA
from keras_gen.optimizers.lookahead import Lookahead
from keras_gen.optimizers.multiplier import LRMultiplier
from keras_gen.optimizers.paper_adam import PaperAdam
from keras_gen.optimizers.schedules import PiecewiseLinear, Warmup
from keras_gen.optimizers.transform import GradientTransform

__all__ = [
    "EMA",
    "GradientAccumulation",
    "GradientTransform",
    "LRMultiplier",
    "Lookahead",
    "OptimizerWrapper",
    "PaperAdam",
    "PiecewiseLinear",
    "SkippedUpdates",
    "Warmup",
    "transforms",
]
