"""The sentence VAE: the model harness, annealing and free bits, dropout, tied softmax."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import zoo
from keras_gen.callbacks import KLAnnealing
from keras_gen.testing import run_model_test
from keras_gen.text import TextVocabulary, pipeline

TINY = {"latent_dim": 4, "embedding_dim": 8, "hidden_dim": 16}


def _vae(vocab, **kw):
    return zoo.TextVAE(vocab, **TINY, **kw)


@pytest.mark.parametrize(
    "config",
    [{}, {"cell": "gru", "tie_embeddings": True, "word_dropout": 0.25, "dropout": 0.5}],
    ids=["lstm", "gru-tied-dropout"],
)
def test_passes_the_model_harness(config, sentences, word_vocab, mirrored):
    x = pipeline.sentence_arrays(word_vocab, sentences[:15], max_length=20)  # 8 and 7

    def outputs(model):
        return model(x[:4]), model.encode(sentences[:2]), model.generate(2, seed=1, max_length=5)

    # float16 once, with the LSTM: the other variant adds no layer of its own to loss scaling.
    precisions = ["mixed_bfloat16"] if config else ["mixed_bfloat16", "mixed_float16"]
    config = {"vocabulary": word_vocab, "seed": 3, **TINY, **config}
    run_model_test(
        zoo.TextVAE,
        config,
        (x,),
        "text-vae",
        outputs=outputs,
        strategy=mirrored,
        precisions=precisions,
    )


def test_anneals_floors_the_kl_and_scores_sentences(sentences, word_vocab):
    x = pipeline.sentence_arrays(word_vocab, sentences, max_length=20)
    vae = _vae(word_vocab, word_dropout=0.5, free_bits=0.5, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(x, epochs=2, batch_size=16, verbose=0, callbacks=[KLAnnealing(4)])
    assert history.history["beta"] == [0.5, 1.0]
    terms = vae.compute_terms(x[:8], training=True)
    # Free bits: the objective sees at least 0.5 nats per dimension, whatever the true KL.
    floor = terms["reconstruction"] + 4 * 0.5
    assert (terms["loss"].numpy() >= floor.numpy() - 1e-4).all()
    ll1 = vae.log_likelihood(x[:6], num_samples=1, seed=0)
    ll50 = vae.log_likelihood(x[:6], num_samples=50, seed=0)
    assert np.isfinite(ll50).all() and (ll50 < 0).all()
    assert ll50.mean() > ll1.mean() - 1.0  # a tighter bound, up to Monte Carlo noise
    path = vae.interpolate(sentences[0], sentences[1], steps=3, max_length=8)
    assert len(path) == 3
    with pytest.raises(ValueError, match="n must be a positive integer"):
        vae.generate(0)


def test_dropout_acts_in_training_only(sentences, word_vocab):
    x = pipeline.sentence_arrays(word_vocab, sentences, max_length=20)
    plain, dropped = _vae(word_vocab, seed=0), _vae(word_vocab, seed=0, dropout=0.5)
    dropped.set_weights(plain.get_weights())
    z = np.zeros((4, 4), "float32")
    inputs = dropped._shift(x[:4])
    np.testing.assert_allclose(  # inference: dropout is off
        dropped._decode_logits(inputs, z), plain._decode_logits(inputs, z), atol=1e-6
    )
    a, b = (dropped._decode_logits(inputs, z, training=True).numpy() for _ in range(2))
    assert not np.allclose(a, b)  # a new mask every call


@pytest.mark.parametrize("hidden_dim", [8, 16])  # 16: through a projection to the 8-d embedding
def test_tied_softmax_is_the_embedding_matrix_and_trains_it(sentences, word_vocab, hidden_dim):
    x = pipeline.sentence_arrays(word_vocab, sentences, max_length=20)
    kw = dict(latent_dim=4, embedding_dim=8, hidden_dim=hidden_dim, seed=0)
    tied = zoo.TextVAE(word_vocab, tie_embeddings=True, **kw)
    untied = zoo.TextVAE(word_vocab, **kw)
    projection = 0 if hidden_dim == 8 else hidden_dim * 8
    assert untied.count_params() - tied.count_params() == word_vocab.size * hidden_dim - projection
    matrix = tied.decoder_embedding.embeddings
    h = np.random.default_rng(0).standard_normal((3, hidden_dim)).astype("float32")
    projected = h if hidden_dim == 8 else h @ tied.head_projection.kernel.numpy()
    tied.head.bias.assign(np.linspace(-1, 1, word_vocab.size).astype("float32"))
    np.testing.assert_allclose(
        tied._logits(h), projected @ matrix.numpy().T + tied.head.bias.numpy(), atol=1e-5
    )
    # A word that is never a decoder input still gets a gradient in its embedding row
    # when tied (the softmax normaliser sees it); untied, that row gets none.
    # The vocabulary comes from these sentences: drop those holding its rarest word.
    holds = [(x == i).any(1) for i in range(4, word_vocab.size)]
    absent = 4 + int(np.argmin([held.sum() for held in holds]))
    x = x[~holds[absent - 4]]
    for model, touched in ((tied, True), (untied, False)):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model.compute_terms(x[:8], training=True)["reconstruction"])
        grad = tape.gradient(loss, model.decoder_embedding.embeddings)
        rows = tf.convert_to_tensor(grad).numpy()[absent]
        assert (np.abs(rows).max() > 0) == touched


def test_bad_configuration_is_a_clear_error():
    with pytest.raises(ValueError, match="cell must be one of"):
        zoo.TextVAE(TextVocabulary(["a"], level="word"), cell="rnn")


@pytest.mark.parametrize("temperature", [-1.0, float("inf"), float("nan")])
def test_temperature_must_be_finite_and_not_negative(word_vocab, temperature):
    # -1 used to decode as if greedily by the sign-flipped distribution; inf gave NaNs.
    model = _vae(word_vocab)
    with pytest.raises(ValueError, match=r"temperature must be a finite number >= 0"):
        model.generate(2, seed=0, temperature=temperature)
    with pytest.raises(ValueError, match=r"temperature must be a finite number >= 0"):
        model.decode(np.zeros((1, 4), "float32"), temperature=temperature)
