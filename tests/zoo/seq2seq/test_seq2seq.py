"""Seq2Seq: the model harness, incremental beam search, copying, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import zoo
from keras_gen.testing import run_model_test
from keras_gen.text import END_ID, pipeline
from keras_gen.zoo.seq2seq.seq2seq import _position_ban


def _seq2seq(vocab, **kw):
    return zoo.Seq2Seq(vocab, embedding_dim=8, hidden_dim=16, **kw)


@pytest.mark.parametrize("copy", [False, True], ids=["attention", "copy"])
def test_passes_the_model_harness(copy, couplets, couplet_vocab, mirrored):
    first, second = (lines[:15] for lines in couplets)  # odd: 8 and 7 on the replicas
    x, y = pipeline.seq2seq_arrays(couplet_vocab, first, second)

    def outputs(model):
        return (
            model((x[:4], zoo.Seq2Seq.decoder_inputs(y[:4]))),
            model.generate_from(first[:2], beam_width=2, couplet=True),
        )

    config = {"vocabulary": couplet_vocab, "embedding_dim": 8, "hidden_dim": 16, "copy": copy}
    recipe = {"optimizer": {"class": "Adam", "learning_rate": 1e-3}}
    # float16 once: the copy path adds no layer of its own to loss scaling.
    precisions = ["mixed_bfloat16"] if copy else ["mixed_bfloat16", "mixed_float16"]
    run_model_test(
        zoo.Seq2Seq,
        config,
        (x, y),
        recipe,
        outputs=outputs,
        strategy=mirrored,
        precisions=precisions,
    )


@pytest.fixture(scope="module", params=[False, True], ids=["attention", "copy"])
def untrained_seq2seq(request, couplets, couplet_vocab):
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
def test_incremental_beam_search_equals_full_prefix_recomputation(untrained_seq2seq, couplet):
    model, x = untrained_seq2seq
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


def test_bad_input_is_a_clear_error(couplet_vocab):
    with pytest.raises(ValueError, match="beam_width"):
        _seq2seq(couplet_vocab).generate_from(["春风"], beam_width=0)


@pytest.mark.parametrize("beam_width", [-1, 2.5, True, "4"])
def test_beam_width_must_be_a_positive_integer(couplet_vocab, beam_width):
    # -1 used to fail inside the encoder: "negative dimensions are not allowed"; 2.5 ran as 2.
    model = _seq2seq(couplet_vocab)
    expected = rf"beam_width must be a positive integer; got {beam_width!r}"
    with pytest.raises(ValueError, match=expected.replace("'", "'?")):
        model.generate_from(["春风"], beam_width=beam_width)
    with pytest.raises(ValueError, match="beam_width must be a positive integer"):
        model.search(couplet_vocab.encode(["春风"]), beam_width=beam_width)
