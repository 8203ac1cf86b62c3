"""Named configuration of the couplet conditional VAE."""

from keras_gen.presets.registry import Preset, adam
from keras_gen.zoo.couplet_tagger.couplet_tagger_presets import COUPLETS

PRESETS = [
    Preset(
        "couplet-cvae",
        "CoupletCVAE",
        "conditional VAE: several different second lines for one first line",
        recipe={"optimizer": adam(1e-3)},
        data=COUPLETS,
        epochs=1,
        architecture="conv",
        kl_warmup=0.5,
    ),
]
