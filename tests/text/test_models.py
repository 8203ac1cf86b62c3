"""The text models: decoding constraints, beam search, saving, distribution, precision."""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import zoo
from keras_gen.callbacks import KLAnnealing
from keras_gen.text import END_ID, TextVocabulary, decoding, pipeline
from keras_gen.zoo.seq2seq.seq2seq import _position_ban


def _tagger(vocab, **kw):
    return zoo.CoupletTagger(vocab, embedding_dim=8, filters=16, num_blocks=2, **kw)


def _seq2seq(vocab, **kw):
    return zoo.Seq2Seq(vocab, embedding_dim=8, hidden_dim=16, **kw)


def _cvae(vocab, **kw):
    return zoo.CoupletCVAE(vocab, latent_dim=4, embedding_dim=8, filters=16, num_blocks=1, **kw)


def _vae(vocab, **kw):
    return zoo.TextVAE(vocab, latent_dim=4, embedding_dim=8, hidden_dim=16, **kw)


def _data(name, couplets, couplet_vocab, sentences, word_vocab):
    first, second = couplets
    if name == "tagger":
        return _tagger, couplet_vocab, pipeline.couplet_arrays(couplet_vocab, first, second)
    if name.startswith("seq2seq"):
        make = functools.partial(_seq2seq, copy=name == "seq2seq_copy")
        return make, couplet_vocab, pipeline.seq2seq_arrays(couplet_vocab, first, second)
    if name == "cvae":
        return _cvae, couplet_vocab, pipeline.couplet_arrays(couplet_vocab, first, second)
    make = functools.partial(_vae, tie_embeddings=name == "vae_tied")
    return make, word_vocab, (pipeline.sentence_arrays(word_vocab, sentences, max_length=20),)


def _generate(model, name, first):
    if name == "tagger":
        return model.generate_from(first[:3])
    if name.startswith("seq2seq"):
        return model.generate_from(first[:3], beam_width=2, couplet=True)
    if name == "cvae":
        return model.generate_from(first[0], num_samples=3, seed=1)
    return model.generate(3, seed=1, max_length=6)


NAMES = ["tagger", "seq2seq", "cvae", "vae"]


def _model_inputs(name, arrays):
    if name.startswith("seq2seq"):
        return (arrays[0][:4], zoo.Seq2Seq.decoder_inputs(arrays[1][:4]))
    if name == "cvae":
        return (arrays[0][:4], arrays[1][:4])
    return arrays[0][:4]


def test_tagger_never_repeats_the_first_lines_character_in_place(couplet_vocab):
    model = _tagger(couplet_vocab)
    # A head that prefers the character 春 everywhere, whatever the input.
    spring = couplet_vocab.encode(["春"])[0, 0]
    bias = model.head.bias.numpy()
    bias[spring] = 1e3
    model.head.bias.assign(bias)
    line = "春风春雨"
    unconstrained = model.generate_from([line], no_repeat=False)[0]
    assert unconstrained == "春春春春"
    constrained = model.generate_from([line, "明月"])
    assert len(constrained[0]) == 4 and len(constrained[1]) == 2
    for position, char in enumerate(constrained[0]):
        assert char != line[position]
    assert (
        constrained[0][1] == "春" and constrained[0][3] == "春"
    )  # only in-place repeats are banned
    assert constrained[1] == "春春"
    # Punctuation is exempt: both lines of a couplet put their stops in the same places.
    stop = couplet_vocab.encode(["。"])[0, 0]
    bias[stop] = 2e3
    model.head.bias.assign(bias)
    assert model.generate_from(["春。雨"])[0] == "。。。"


@pytest.fixture(scope="module", params=[False, True], ids=["attention", "copy"])
def trained_seq2seq(request, couplets, couplet_vocab):
    keras.utils.set_random_seed(0)
    model = _seq2seq(couplet_vocab, copy=request.param)
    # Untrained weights, with the end token made unlikely enough that hypotheses of many
    # lengths compete (training would cost more test time than it adds).
    bias = model.head.bias.numpy()
    bias[END_ID] = -1.0
    model.head.bias.assign(bias)
    x, _ = pipeline.seq2seq_arrays(couplet_vocab, *couplets)
    return model, x


@pytest.mark.parametrize("couplet", [False, True])
def test_incremental_beam_search_equals_full_prefix_recomputation(trained_seq2seq, couplet):
    model, x = trained_seq2seq
    x = x[:6]
    x = x[:, : (x != 0).sum(1).max()]
    kwargs = {}
    max_length = 12
    if couplet:
        lengths = (x != 0).sum(1)
        kwargs = {"lengths": lengths, "forbid": _position_ban(x, model.vocab_size)}
        max_length = int(lengths.max()) + 1
    fast = model.search(x, beam_width=4, max_length=max_length, alpha=0.6, **kwargs)
    slow = model.search(
        x, beam_width=4, max_length=max_length, alpha=0.6, incremental=False, **kwargs
    )
    np.testing.assert_array_equal(fast.tokens, slow.tokens)
    np.testing.assert_allclose(fast.log_probs, slow.log_probs, rtol=1e-4, atol=1e-4)
    assert (fast.lengths > 1).any()
    # Width 1 is greedy: same tokens and the same log-probabilities.
    greedy = model.greedy(x, max_length=max_length, **kwargs)
    beam1 = model.search(x, beam_width=1, max_length=max_length, **kwargs)
    np.testing.assert_array_equal(greedy.tokens, beam1.tokens)
    np.testing.assert_allclose(greedy.log_probs, beam1.log_probs, rtol=1e-6)
    # A wider beam never finds a worse best hypothesis (no length penalty).
    wide = model.search(x, beam_width=4, max_length=max_length, **kwargs)
    assert (wide.log_probs[:, 0] >= beam1.log_probs[:, 0] - 1e-6).all()
    if couplet:
        assert (fast.lengths[:, 0] == lengths + 1).all()  # the end token after len(first)
        best = fast.best[:, : x.shape[1]]
        assert not ((best == x) & (x != 0)).any()


def test_copy_mixes_the_vocabulary_with_attention_on_the_source(couplets, couplet_vocab):
    keras.utils.set_random_seed(0)
    model = _seq2seq(couplet_vocab, copy=True)
    x, y = pipeline.seq2seq_arrays(couplet_vocab, *couplets)
    x, d = x[:4], zoo.Seq2Seq.decoder_inputs(y[:4])
    p = np.exp(model((x, d)).numpy().astype("float64"))
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)  # a distribution at every step
    gate = model.copy_gate
    for bias, copied in ((-60.0, True), (60.0, False)):
        gate.kernel.assign(np.zeros(gate.kernel.shape, "float32"))
        gate.bias.assign(np.full(gate.bias.shape, bias, "float32"))
        p = np.exp(model((x, d)).numpy().astype("float64"))
        on_source = np.zeros(p.shape, bool)
        for i, row in enumerate(x):
            on_source[i, :, row[row != 0]] = True
        if copied:  # p_gen = 0: all of the mass on the source's tokens (attention summed)
            np.testing.assert_allclose((p * on_source).sum(-1), 1.0, atol=1e-5)
        else:  # p_gen = 1: the plain softmax head, which puts mass everywhere
            assert (p * ~on_source).sum(-1).min() > 0.5
    # The copy path is differentiable: the gate and the attention keys get gradients.
    gate.bias.assign(np.zeros(gate.bias.shape, "float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model.compute_terms(x, y[:4], training=True)["loss"])
    grads = tape.gradient(loss, [gate.kernel, model.attention_keys.kernel])
    assert all(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


def test_beam_search_beats_greedy_on_a_garden_path():
    # From <s>: token 4 (p=0.6) leads only to low-probability ends; token 5 (p=0.4) to a sure end.
    def step(tokens, state):
        logp = np.full((len(tokens), 6), -30.0)
        for i, t in enumerate(tokens):
            if t == 2:
                logp[i, 4], logp[i, 5] = np.log(0.6), np.log(0.4)
            elif t == 4:
                logp[i, END_ID], logp[i, 4], logp[i, 5] = np.log(0.3), np.log(0.35), np.log(0.35)
            else:
                logp[i, END_ID] = 0.0
        return logp, state

    greedy = decoding.greedy_search(step, [0], 1, 4)
    beam = decoding.beam_search(step, [0], lambda s, r: s, 1, 2, 4)
    assert greedy.best[0, :2].tolist() == [4, 4]
    assert beam.best[0, :2].tolist() == [5, END_ID]
    assert beam.log_probs[0, 0] == pytest.approx(np.log(0.4))


@pytest.mark.parametrize("name", [*NAMES, "seq2seq_copy", "vae_tied"])
def test_keras_round_trip_restores_vocabulary_outputs_optimizer_and_training(
    name, couplets, couplet_vocab, sentences, word_vocab, tmp_path, assert_resumes_identically
):
    make, vocab, arrays = _data(name, couplets, couplet_vocab, sentences, word_vocab)
    model = make(vocab, seed=3) if name.startswith(("cvae", "vae")) else make(vocab)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(*arrays, batch_size=32, epochs=1, verbose=0, shuffle=False)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.vocab.tokens == vocab.tokens and loaded.vocab.level == vocab.level
    inputs = _model_inputs(name, arrays)
    np.testing.assert_array_equal(model(inputs), loaded(inputs))  # eager: no tracing
    if name in ("tagger", "cvae"):  # cheap to decode; the RNN decoders are in test_cli_text
        assert _generate(loaded, name, couplets[0]) == _generate(model, name, couplets[0])
    assert_resumes_identically(model, loaded, arrays, atol=1e-5)


@pytest.mark.parametrize("name", ["tagger", "seq2seq", "seq2seq_copy"])
def test_mirrored_training_matches_one_device(
    name, mirrored, couplets, couplet_vocab, sentences, word_vocab
):
    make, vocab, arrays = _data(name, couplets, couplet_vocab, sentences, word_vocab)
    arrays = tuple(a[:31] for a in arrays)  # replicas get 16 and 15 examples
    assert len(arrays[0]) == 31
    weights = make(vocab, dropout=0.0).get_weights()
    results = []
    for strategy in (tf.distribute.get_strategy(), mirrored):
        with strategy.scope():
            model = make(vocab, dropout=0.0)
            model.set_weights(weights)
            model.compile(optimizer=keras.optimizers.SGD(0.5))
        history = model.fit(*arrays, batch_size=31, epochs=2, verbose=0, shuffle=False)
        results.append((history.history["loss"], model.get_weights()))
    (single_loss, single_w), (multi_loss, multi_w) = results
    assert mirrored.num_replicas_in_sync == 2
    np.testing.assert_allclose(multi_loss, single_loss, rtol=1e-5)
    assert max(np.abs(a - b).max() for a, b in zip(single_w, weights)) > 1e-4
    for a, b in zip(single_w, multi_w):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("name", ["cvae", "vae", "vae_tied"])
def test_mirrored_vae_terms_agree_with_one_device(
    name, mirrored, couplets, couplet_vocab, sentences, word_vocab
):
    make, vocab, arrays = _data(name, couplets, couplet_vocab, sentences, word_vocab)
    one = make(vocab, seed=0)
    terms = one.compute_terms(*arrays)  # one device, eagerly
    single = {name: float(np.mean(terms[name])) for name in ("kl", "reconstruction")}
    with mirrored.scope():
        model = make(vocab, seed=0)
        model.set_weights(one.get_weights())
        model.compile(optimizer="adam")
    multi = model.evaluate(*arrays, batch_size=32, verbose=0, return_dict=True)
    # No sampling in the KL (an untrained encoder gives a tiny one: absolute tolerance too).
    np.testing.assert_allclose(single["kl"], multi["kl"], rtol=1e-4, atol=1e-6)
    # Only the sampled z differs between the replicas.
    assert abs(single["reconstruction"] - multi["reconstruction"]) < 0.02 * single["reconstruction"]
    with mirrored.scope():  # from the same weights: not from whatever init the worker draws
        model = make(vocab, seed=0)
        model.set_weights(one.get_weights())
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(*arrays, batch_size=32, epochs=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.25  # ~0.1 per step


@pytest.mark.parametrize("name", [*NAMES, "seq2seq_copy", "vae_tied"])
def test_trains_under_mixed_bfloat16(name, couplets, couplet_vocab, sentences, word_vocab):
    keras.config.set_dtype_policy("mixed_bfloat16")
    make, vocab, arrays = _data(name, couplets, couplet_vocab, sentences, word_vocab)
    model = make(vocab, cell="gru") if name.startswith("vae") else make(vocab)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(*arrays, batch_size=32, epochs=2, verbose=0)
    losses = np.array(history.history["loss"])
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    terms = model.compute_terms(*[a[:4] for a in arrays], training=True)
    assert all(t.dtype == "float32" for t in terms.values())
    assert all(isinstance(s, str) for s in _generate(model, name, couplets[0]))


def test_text_vae_anneals_floors_the_kl_and_scores_sentences(sentences, word_vocab):
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


def test_text_vae_dropout_acts_in_training_only_and_resumes_exactly(
    sentences, word_vocab, tmp_path
):
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
    dropped.compile(optimizer=keras.optimizers.Adam(1e-3))
    dropped.fit(x, batch_size=16, epochs=1, verbose=0, shuffle=False)
    dropped.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    assert loaded.dropout == 0.5
    for model in (dropped, loaded):  # the masks' generator state is saved: same next steps
        model.fit(x, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for w1, w2 in zip(dropped.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(w1, w2, atol=1e-5)


@pytest.mark.parametrize("hidden_dim", [8, 16])  # 16: through a projection to the 8-d embedding
def test_text_vae_tied_softmax_is_the_embedding_matrix_and_trains_it(
    sentences, word_vocab, hidden_dim
):
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


def test_cvae_gives_different_second_lines_for_one_first_line(couplets, couplet_vocab):
    model = _cvae(couplet_vocab, seed=0)
    samples = model.generate_from(couplets[0][0], num_samples=8, seed=0, temperature=1.0)
    assert len(set(samples)) > 1
    assert all(len(s) == len(couplets[0][0]) for s in samples)
    with pytest.raises(ValueError, match="first_line"):
        model.generate_from("  ")


def test_bad_generation_input_is_a_clear_error(couplet_vocab):
    tagger = _tagger(couplet_vocab)
    with pytest.raises(ValueError, match=r"first_lines\[1\] is empty"):
        tagger.generate_from(["春风", ""])
    with pytest.raises(ValueError, match="y is missing"):
        tagger.compute_terms(np.ones((2, 3), "int32"))
    with pytest.raises(ValueError, match="beam_width"):
        _seq2seq(couplet_vocab).generate_from(["春风"], beam_width=0)
    with pytest.raises(ValueError, match="cell must be one of"):
        zoo.TextVAE(TextVocabulary(["a"], level="word"), cell="rnn")
