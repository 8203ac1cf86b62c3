"""Named configurations of the seq2seq model: couplets and news titles."""

from keras_gen.presets.registry import DataSpec, Preset, adam
from keras_gen.zoo.couplet_tagger.couplet_tagger_presets import COUPLETS

PRESETS = [
    Preset(
        "couplet-seq2seq",
        "Seq2Seq",
        "couplets with a GRU encoder-decoder with attention and beam search",
        config={"couplet": True},
        recipe={"optimizer": adam(1e-3)},
        data=DataSpec("couplets", COUPLETS.source, options={"max_target_length": 32}),
        epochs=1,
        architecture="rnn",
    ),
    Preset(
        "title-seq2seq",
        "Seq2Seq",
        "titles for Chinese news texts (LCSTS sample), seq2seq with attention and copying",
        config={"dropout": 0.2, "copy": True},
        # At 1e-3 it sits on the unigram plateau for epochs (benchmarks/titles.py).
        recipe={"optimizer": adam(5e-3, global_clipnorm=1.0)},
        data=DataSpec(
            "titles",
            ("zh_titles/lcsts/train.tsv",),
            options={"max_source_length": 120, "max_target_length": 32},
        ),
        epochs=5,
        architecture="rnn",
    ),
]
