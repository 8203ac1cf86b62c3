"""The training core: the only package that knows the TensorFlow backend.

>>> from keras_gen.training import GenerativeModel
"""

from keras_gen.training import backend
from keras_gen.training.adversarial import AdversarialModel, Game
from keras_gen.training.core import TrainingCore
from keras_gen.training.distribute import (
    is_chief,
    make_strategy,
    precision_policy,
    resolve_precision,
)
from keras_gen.training.model import GenerativeModel
from keras_gen.training.players import PlayerOptimizers

__all__ = [
    "AdversarialModel",
    "Game",
    "GenerativeModel",
    "PlayerOptimizers",
    "TrainingCore",
    "backend",
    "is_chief",
    "make_strategy",
    "precision_policy",
    "resolve_precision",
]
