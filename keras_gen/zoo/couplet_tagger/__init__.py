"""The couplet tagger."""

from keras_gen.zoo.couplet_tagger.couplet_tagger import CoupletTagger

__all__ = ["CoupletTagger"]
