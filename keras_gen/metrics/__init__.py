"""Evaluation metrics: importance-sampled log-likelihood (more to come: Frechet distance, text scores).

>>> from keras_gen.metrics import importance_sampled_log_likelihood
"""

from keras_gen.metrics.likelihood import importance_sampled_log_likelihood

__all__ = ["importance_sampled_log_likelihood"]
