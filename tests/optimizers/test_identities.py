"""Numerical identities of the wrappers on one device (exact or within 1e-6)."""

import keras
import numpy as np
import pytest
from conftest import fit, make_regressor

from keras_gen import optimizers as kgo

BASES = {
    "sgd": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "adam": lambda lr: keras.optimizers.Adam(lr),
}


def _assert_close(a, b, atol=1e-6):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=0, atol=atol)


@pytest.mark.parametrize("base", sorted(BASES))
def test_accumulation_equals_one_big_batch_with_schedule(base):
    # 4 micro-batches of 4 = 2 updates on batches of 8; the schedule changes every update,
    # so it must advance per real update, not per micro-batch.
    schedule = kgo.PiecewiseLinear({0: 1.0, 1: 0.5, 2: 0.25}, learning_rate=0.05)
    accumulated = kgo.GradientAccumulation(BASES[base](schedule), steps=2)
    got = fit(make_regressor(), accumulated, 16, batch_size=4)
    want = fit(make_regressor(), BASES[base](schedule), 16, batch_size=8)
    _assert_close(got, want)
    assert int(accumulated.iterations) == 2 and int(accumulated.micro_step) == 4


@pytest.mark.parametrize("base", sorted(BASES))
def test_multiplier_equals_scaled_learning_rate(base):
    got = fit(make_regressor(), kgo.LRMultiplier(BASES[base](0.05), {".*": 0.3}), 24, 8)
    want = fit(make_regressor(), BASES[base](0.05 * 0.3), 24, 8)
    _assert_close(got, want)


@pytest.mark.parametrize("base", sorted(BASES))
def test_multiplier_zero_freezes_bit_identically(base):
    model = make_regressor()
    start = [w.numpy() for w in model.trainable_weights]
    opt = kgo.LRMultiplier(BASES[base](0.1), {"body/": 0.0, "head/bias": 2.0})
    end = fit(model, opt, 24, 8)
    np.testing.assert_array_equal(end[0], start[0])  # body kernel
    np.testing.assert_array_equal(end[1], start[1])  # body bias
    assert not np.array_equal(end[2], start[2])
    # The frozen variables' slots did not advance either.
    assert opt.multiplier_for(model.body.kernel) == 0.0
    assert opt.multiplier_for(model.head.kernel) == 1.0


def test_multiplier_accepts_layers_as_keys():
    model = make_regressor()
    opt = kgo.LRMultiplier(keras.optimizers.SGD(0.1), {model.body: 0.0})
    start = model.body.kernel.numpy()
    fit(model, opt, 8, 8)
    np.testing.assert_array_equal(model.body.kernel.numpy(), start)
    assert opt.get_config()["multipliers"][0][0].startswith("^(?:")


def test_ema_equals_closed_form_and_ignores_micro_steps():
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(7, 3)).astype("float32")
    momentum = 0.8
    w = keras.Variable(np.zeros(3, "float32"))
    opt = kgo.EMA(kgo.GradientAccumulation(keras.optimizers.SGD(0.5), steps=1), momentum)
    history = []
    for g in grads:
        opt.apply([g], [w])
        history.append(w.numpy().copy())
    t = len(history)
    want = momentum ** (t - 1) * history[0] + sum(
        (1 - momentum) * momentum ** (t - 1 - i) * history[i] for i in range(1, t)
    )
    np.testing.assert_allclose(opt.average_of(w).numpy(), want, rtol=0, atol=1e-6)

    # Inside accumulation: the average moves once per real update, not per micro-step.
    v = keras.Variable(np.zeros(3, "float32"))
    opt2 = kgo.EMA(kgo.GradientAccumulation(keras.optimizers.SGD(0.5), steps=2), momentum)
    for g in grads[:4]:
        opt2.apply([g], [v])
    w1 = -0.5 * (grads[0] + grads[1]) / 2
    w2 = w1 - 0.5 * (grads[2] + grads[3]) / 2
    np.testing.assert_allclose(
        opt2.average_of(v).numpy(), momentum * w1 + (1 - momentum) * w2, atol=1e-6
    )
    assert int(opt2.num_averaged) == 2


def test_lookahead_matches_hand_computation():
    rng = np.random.default_rng(2)
    grads = rng.normal(size=(5, 2)).astype("float32")
    lr, k, alpha = 0.1, 2, 0.5
    w = keras.Variable(np.ones(2, "float32"))
    opt = kgo.Lookahead(keras.optimizers.SGD(lr), k=k, alpha=alpha)
    for g in grads:
        opt.apply([g], [w])
    fast = slow = np.ones(2)
    for i, g in enumerate(grads, start=1):
        fast = fast - lr * g
        if i % k == 0:
            slow = slow + alpha * (fast - slow)
            fast = slow
    np.testing.assert_allclose(w.numpy(), fast, atol=1e-6)
    np.testing.assert_allclose(opt._slow_weights[0].numpy(), slow, atol=1e-6)


def test_paper_adam_matches_keras_adam():
    rng = np.random.default_rng(3)
    grads = rng.normal(size=(20, 5)).astype("float32")
    ours, theirs = (keras.Variable(np.ones(5, "float32")) for _ in range(2))
    a = kgo.PaperAdam(learning_rate=0.01)
    b = keras.optimizers.Adam(learning_rate=0.01)
    for g in grads:
        a.apply([g], [ours])
        b.apply([g], [theirs])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-6)
    assert kgo.PaperAdam.from_config(a.get_config()).beta_2 == a.beta_2


def test_transforms_values():
    v2 = keras.Variable(np.zeros((2, 2), "float32"), name="kernel")
    b = keras.Variable(np.zeros(2, "float32"), name="bias")
    g = [np.array([[1.0, 2.0], [3.0, 6.0]], "float32"), np.array([3.0, -4.0], "float32")]
    tf = kgo.transforms
    cen = tf.Centralize()
    out = cen(g, [v2, b], 0)
    np.testing.assert_allclose(out[0], [[-1.0, -2.0], [1.0, 2.0]])
    np.testing.assert_array_equal(out[1], g[1])
    clip = tf.ClipByNorm(1.0, mask="bias")
    clip.build([v2, b])
    out = clip(g, [v2, b], 0)
    np.testing.assert_array_equal(out[0], g[0])
    np.testing.assert_allclose(out[1], [0.6, -0.8], atol=1e-6)
    out = tf.ClipByValue(2.5)(g, [v2, b], 0)
    np.testing.assert_array_equal(out[1], [2.5, -2.5])
    out = tf.Function(lambda g, v: 2 * g)(g, [v2, b], 0)
    np.testing.assert_array_equal(out[1], 2 * g[1])
    noise = tf.AddNoise(eta=1.0, gamma=0.55, seed=3)
    first, again, later = noise(g, [v2, b], 0), noise(g, [v2, b], 0), noise(g, [v2, b], 5)
    np.testing.assert_array_equal(first[0], again[0])  # stateless: same step, same noise
    assert not np.array_equal(first[0], later[0])
    assert tf.SkipNonFinite().is_finite(g, [v2, b])
    assert not tf.SkipNonFinite().is_finite([g[0], np.array([np.inf, 0.0], "float32")], [v2, b])


def test_skip_non_finite_skips_whole_update_and_logs_it():
    w = keras.Variable(np.zeros(2, "float32"))
    opt = kgo.GradientTransform(keras.optimizers.Adam(0.1), ["skip_non_finite"])
    opt.apply([np.array([1.0, 1.0], "float32")], [w])
    state = [v.numpy().copy() for v in opt.base_optimizer.variables]
    opt.apply([np.array([np.nan, 1.0], "float32")], [w])
    for before, after in zip(state, opt.base_optimizer.variables):
        np.testing.assert_array_equal(before, after.numpy())  # Adam's moments did not move
    assert int(opt.skipped_updates) == 1 and int(opt.iterations) == 1


def test_schedules():
    pl = kgo.PiecewiseLinear({10: 1.0, 20: 0.5}, learning_rate=2.0)
    assert [round(float(pl(t)), 5) for t in (0, 5, 10, 15, 25)] == [0.0, 1.0, 2.0, 1.5, 1.0]
    warm = kgo.Warmup(pl, warmup_steps=10)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(warm))
    for t in (0, 4, 9, 12, 30):
        assert float(restored(t)) == pytest.approx(float(warm(t)))
    assert float(warm(4)) == pytest.approx(float(pl(4)) * 0.5)


def test_swap_ema_weights_callback_finds_ema_in_the_chain():
    model = make_regressor()
    opt = kgo.LRMultiplier(keras.optimizers.SGD(0.1), {"head": 0.5})
    opt = kgo.EMA(opt, momentum=0.5)
    fit(model, opt, 16, 8)
    raw = [w.numpy() for w in model.trainable_weights]
    averages = [a.numpy() for a in opt._model_variables_moving_average]
    outer = kgo.GradientAccumulation(kgo.EMA(keras.optimizers.SGD(0.1)), steps=1)
    assert not hasattr(outer, "_model_variables_moving_average")  # not built yet
    outer.build([keras.Variable(np.zeros(2, "float32"))])
    assert len(outer._model_variables_moving_average) == 1  # found inside the chain
    callback = keras.callbacks.SwapEMAWeights()
    callback.set_model(model)
    # Keras swaps in place with additions and subtractions: equal up to rounding.
    callback.on_test_begin()
    for w, a in zip(model.trainable_weights, averages):
        np.testing.assert_allclose(w.numpy(), a, rtol=0, atol=1e-6)
    callback.on_test_end()
    for w, r in zip(model.trainable_weights, raw):
        np.testing.assert_allclose(w.numpy(), r, rtol=0, atol=1e-6)
    model.set_weights(raw)
    with opt.averaged_weights():
        np.testing.assert_array_equal(model.trainable_weights[0].numpy(), averages[0])
    np.testing.assert_array_equal(model.trainable_weights[0].numpy(), raw[0])
