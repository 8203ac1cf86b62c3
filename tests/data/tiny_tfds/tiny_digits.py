"""keras_gen_tiny_digits: 6 train and 4 test images of 8x8 pixels, labels 0/1."""

import numpy as np
import tensorflow_datasets as tfds


class KerasGenTinyDigits(tfds.core.GeneratorBasedBuilder):
    """A TFDS data set made here: download_and_prepare runs for real, without a network."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 1)),
                    "label": tfds.features.ClassLabel(num_classes=2),
                }
            ),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(6), "test": self._generate_examples(4)}

    def _generate_examples(self, n):
        for i in range(n):
            yield i, {"image": np.full((8, 8, 1), 10 * i, np.uint8), "label": i % 2}
