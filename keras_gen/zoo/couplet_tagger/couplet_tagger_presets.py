"""Named configuration of the couplet tagger."""

from keras_gen.presets.registry import DataSpec, Preset, adam
from keras_gen.text.loaders import ZIJIANZHAO_TRAIN

# The zijianzhao couplet files except test.txt (the couplet benchmark's training split).
COUPLETS = DataSpec("couplets", tuple(f"couplets/zijianzhao/{n}" for n in ZIJIANZHAO_TRAIN))

PRESETS = [
    Preset(
        "couplet-tagger",
        "CoupletTagger",
        "couplet second lines by sequence labelling (gated residual CNN, no in-place repeats)",
        recipe={"optimizer": adam(1e-3)},
        data=COUPLETS,
        epochs=1,
        architecture="conv",
    ),
]
