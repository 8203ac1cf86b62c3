"""Named configuration of the sentence VAE."""

from keras_gen.presets.registry import DataSpec, Preset, adam

PRESETS = [
    Preset(
        "text-vae",
        "TextVAE",
        "sentence VAE (LSTM, KL annealing, word dropout) on Penn Treebank",
        config={"word_dropout": 0.25},
        recipe={"optimizer": adam(1e-3)},
        data=DataSpec("sentences", ("ptb/ptb.train.txt.gz",), options={"max_length": 60}),
        epochs=1,
        architecture="rnn",
        kl_warmup=0.5,
    ),
]
