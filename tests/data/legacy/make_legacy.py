"""Write the small .keras files of tests/data/legacy/ with keras-gen as it was before 0.2.

The files were made at commit 81fdece (the last one before the zoo moved to one folder
per model), so that ``test_legacy_files.py`` checks that the current code still loads
them and gives the same outputs:

    git worktree add /tmp/legacy 81fdece
    PYTHONPATH=/tmp/legacy .venv/bin/python tests/data/legacy/make_legacy.py
    git worktree remove /tmp/legacy

Each model is tiny and trained for two steps (so that its optimizer has state), then
saved to ``<name>.keras``; ``outputs.npz`` holds the inputs and the reference outputs
(``<name>/<what>``) and each optimizer's step count.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _texts():
    couplets = [
        ("春风送暖", "瑞雪迎春"),
        ("明月照人", "清风拂面"),
        ("山高水长", "海阔天空"),
        ("花开富贵", "竹报平安"),
    ]
    sentences = [
        "the market rose today",
        "the company said it will sell shares",
        "prices fell in new york",
        "the bank said today",
    ]
    return [a for a, _ in couplets], [b for _, b in couplets], sentences


def main() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import numpy as np

    import keras_gen
    from keras_gen import optimizers as kgo
    from keras_gen import zoo
    from keras_gen.text import TextVocabulary, pipeline

    if importlib.util.find_spec("keras_gen.zoo.capabilities") is not None:  # 0.2 and later
        sys.exit(f"{keras_gen.__file__} is the new package: set PYTHONPATH (see the docstring)")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 1), dtype="float32")
    y = np.arange(16) % 4
    first, second, sentences = _texts()
    char_vocab = TextVocabulary.build(first + second)
    word_vocab = TextVocabulary.build(sentences, level="word")
    out = {"x": x, "y": y, "first_lines": np.array(first), "sentences": np.array(sentences)}

    def adam():
        return keras.optimizers.Adam(1e-3)

    def save(name, model, outputs, *fit_args, **optimizers):
        model.fit(*fit_args, batch_size=8, epochs=1, verbose=0, shuffle=False)
        model.save(os.path.join(HERE, f"{name}.keras"))
        for key, value in outputs(model).items():
            out[f"{name}/{key}"] = np.asarray(value)
        for key, opt in optimizers.items():
            out[f"{name}/{key}_iterations"] = np.asarray(int(opt.iterations))

    vae = zoo.VAE((8, 8, 1), latent_dim=2, hidden_units=(8,), seed=1)
    vae.compile(optimizer=adam())
    save(
        "vae",
        vae,
        lambda m: {"generate": m.generate(4, seed=0), "encode": m.encode(x[:4])},
        x,
        optimizer=vae.optimizer,
    )

    cvae = zoo.CVAE((8, 8, 1), num_classes=4, latent_dim=2, hidden_units=(8,), seed=1)
    cvae.compile(optimizer=adam())
    save(
        "cvae",
        cvae,
        lambda m: {
            "generate": m.generate(4, seed=0, labels=[0, 1, 2, 3]),
            "encode": m.encode(x[:4], y[:4]),
        },
        x,
        y,
        optimizer=cvae.optimizer,
    )

    gan = zoo.DCGAN((8, 8, 1), latent_dim=4, filters=(4, 8), seed=0)
    gan.compile(
        g_optimizer=kgo.EMA(adam(), momentum=0.5),
        d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
        loss="non_saturating",
        r1_penalty=1.0,
    )
    save(
        "dcgan",
        gan,
        lambda m: {
            "generate": m.generate(4, seed=0),
            "generate_ema": m.generate(4, seed=0, ema=True),
        },
        x,
        g_optimizer=gan.g_optimizer,
        d_optimizer=gan.d_optimizer,
    )

    aae = zoo.AdversarialAutoencoder(
        (8, 8, 1), latent_dim=2, hidden_units=(8,), discriminator_units=(8,), seed=0
    )
    aae.compile(g_optimizer=adam(), d_optimizer=adam())
    save(
        "aae",
        aae,
        lambda m: {"generate": m.generate(4, seed=0), "encode": m.encode(x[:4])},
        x,
        g_optimizer=aae.g_optimizer,
        d_optimizer=aae.d_optimizer,
    )

    vqvae = zoo.VQVAE(
        (8, 8, 1),
        num_embeddings=8,
        embedding_dim=2,
        hidden_channels=4,
        residual_channels=2,
        num_residual_layers=1,
        seed=0,
    )
    vqvae.compile(optimizer=adam())
    save(
        "vqvae",
        vqvae,
        lambda m: {"encode_indices": m.encode_indices(x[:4]), "reconstruct": m.reconstruct(x[:4])},
        x,
        optimizer=vqvae.optimizer,
    )

    text_vae = zoo.TextVAE(word_vocab, latent_dim=2, embedding_dim=4, hidden_dim=4, seed=3)
    text_vae.compile(optimizer=adam())
    save(
        "text_vae",
        text_vae,
        lambda m: {
            "encode": m.encode(sentences[:2]),
            "generate": np.array(m.generate(2, seed=1, max_length=5)),
        },
        pipeline.sentence_arrays(word_vocab, sentences, max_length=8),
        optimizer=text_vae.optimizer,
    )

    tagger = zoo.CoupletTagger(char_vocab, embedding_dim=4, filters=4, num_blocks=1)
    tagger.compile(optimizer=adam())
    save(
        "couplet_tagger",
        tagger,
        lambda m: {"generate": np.array(m.generate(first))},
        *pipeline.couplet_arrays(char_vocab, first, second),
        optimizer=tagger.optimizer,
    )

    np.savez_compressed(os.path.join(HERE, "outputs.npz"), **out)


if __name__ == "__main__":
    main()
