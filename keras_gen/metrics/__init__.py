"""Evaluation metrics: importance-sampled log-likelihood and text scores.

>>> from keras_gen.metrics import importance_sampled_log_likelihood, bleu, rouge
"""

from keras_gen.metrics.likelihood import importance_sampled_log_likelihood
from keras_gen.metrics.text import (
    bleu,
    distinct_n,
    length_match_rate,
    position_accuracy,
    rouge,
    same_position_repeat_rate,
)

__all__ = [
    "bleu",
    "distinct_n",
    "importance_sampled_log_likelihood",
    "length_match_rate",
    "position_accuracy",
    "rouge",
    "same_position_repeat_rate",
]
