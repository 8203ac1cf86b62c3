"""Evaluation metrics: importance-sampled log-likelihood, Frechet and kernel distances, text scores.

The Frechet classifier distance (FCD) uses the features of a small MNIST classifier
trained by the project; it is NOT Inception FID and is not comparable with published FIDs.

>>> from keras_gen.metrics import frechet_distance, kernel_distance, mnist_classifier
>>> from keras_gen.metrics import bleu, rouge, distinct_n
"""

from keras_gen.metrics.features import (
    INCEPTION_WEIGHTS_URL,
    ClassifierFeatures,
    FeatureExtractor,
    InceptionFeatures,
    extract_features,
    frechet_classifier_distance,
    mnist_classifier,
    train_classifier,
)
from keras_gen.metrics.frechet import (
    KernelDistance,
    feature_statistics,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_distance,
)
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
    "INCEPTION_WEIGHTS_URL",
    "ClassifierFeatures",
    "FeatureExtractor",
    "InceptionFeatures",
    "KernelDistance",
    "bleu",
    "distinct_n",
    "extract_features",
    "feature_statistics",
    "frechet_classifier_distance",
    "frechet_distance",
    "frechet_distance_from_stats",
    "importance_sampled_log_likelihood",
    "kernel_distance",
    "length_match_rate",
    "mnist_classifier",
    "position_accuracy",
    "rouge",
    "same_position_repeat_rate",
    "train_classifier",
]
