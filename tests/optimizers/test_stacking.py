"""Stacked wrappers: MirroredStrategy == one device, mixed_float16, .keras round trip, errors."""

import keras
import numpy as np
import pytest
from conftest import X, Y, make_regressor

from keras_gen import optimizers as kgo
from keras_gen import zoo

IMAGES = np.random.default_rng(4).random((48, 28, 28, 1), dtype="float32")


def full_chain(lr=0.05, noise=True):
    """Every wrapper and every transform, in an order that makes sense."""
    transforms = ["skip_non_finite", "centralize"]
    if noise:
        transforms.append(("add_noise", {"eta": 1e-3, "seed": 7}))
    transforms += [
        ("clip_by_norm", {"max_norm": 0.05, "mask": "head|encoder_mean"}),
        ("clip_by_value", {"max_value": 0.5}),
        ("clip_by_global_norm", {"max_norm": 0.1}),
    ]
    base = keras.optimizers.Adam(kgo.Warmup(lr, warmup_steps=2), global_clipnorm=0.08)
    inner = kgo.GradientTransform(kgo.LRMultiplier(base, {"body|dense": 0.5}), transforms)
    return kgo.EMA(kgo.Lookahead(kgo.GradientAccumulation(inner, steps=2), k=2), momentum=0.9)


def _state(model):
    return [w.numpy() for w in model.trainable_weights], [
        v.numpy() for v in model.optimizer.variables
    ]


def test_full_chain_on_two_replicas_equals_one_device(mirrored):
    with mirrored.scope():
        model = make_regressor()
        model.compile(optimizer=full_chain())
    model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    single = make_regressor()
    single.compile(optimizer=full_chain())
    single.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    (w2, s2), (w1, s1) = _state(model), _state(single)
    for a, b in zip(w2 + s2, w1 + s1):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert int(model.optimizer.iterations.numpy()) == 2  # 4 micro-batches, 2 real updates
    # The replicas hold the same values (the noise is the same on both).
    for var in model.trainable_variables:
        copies = [c.numpy() for c in var.value.values]
        np.testing.assert_array_equal(copies[0], copies[1])


def test_skip_non_finite_on_one_replica_skips_on_all(mirrored):
    x = X[:8].copy()
    x[6, 0] = np.inf  # in the second replica's half of the batch
    with mirrored.scope():
        model = make_regressor()
        opt = kgo.GradientTransform(keras.optimizers.SGD(0.1), ["skip_non_finite"])
        model.compile(optimizer=opt)
    start = [w.numpy() for w in model.trainable_weights]
    history = model.fit(x, Y[:8], batch_size=8, verbose=0, callbacks=[kgo.SkippedUpdates()]).history
    for w, s in zip(model.trainable_weights, start):
        for copy in w.value.values:
            np.testing.assert_array_equal(copy.numpy(), s)
    assert history["skipped_updates"] == [1] and int(opt.iterations.numpy()) == 0


@pytest.mark.parametrize("setting", ["mirrored", "mixed_float16", "mirrored+mixed_float16"])
def test_every_wrapper_trains_the_vae(setting, request):
    import tensorflow as tf

    if "mirrored" in setting:
        strategy = request.getfixturevalue("mirrored")
    else:
        strategy = tf.distribute.get_strategy()
    if "mixed_float16" in setting:
        keras.config.set_dtype_policy("mixed_float16")
    with strategy.scope():
        keras.utils.set_random_seed(0)
        vae = zoo.VAE((28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0)
        vae.compile(optimizer=full_chain(lr=1e-3))
    losses = vae.fit(IMAGES[:32], batch_size=8, epochs=2, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[1] < losses[0]
    opt = vae.optimizer
    if "mixed_float16" in setting:
        # model.compile put the LossScaleOptimizer outermost: the correct nesting.
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
        assert isinstance(opt.inner_optimizer, kgo.EMA)
    assert int(opt.iterations.numpy()) == 4  # 8 micro-batches / 2


def test_keras_round_trip_restores_the_whole_chain(tmp_path):
    keras.utils.set_random_seed(0)
    vae = zoo.VAE((28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0)
    vae.compile(optimizer=full_chain(lr=1e-3))
    vae.fit(IMAGES[:24], batch_size=8, epochs=1, shuffle=False, verbose=0)  # 3 micro-steps
    assert np.abs(vae.optimizer.optimizer.optimizer._accumulators[0].numpy()).max() > 0
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)

    chain = [type(o).__name__ for o in loaded.optimizer.chain()]
    assert chain == [
        "EMA", "Lookahead", "GradientAccumulation", "GradientTransform", "LRMultiplier", "Adam"
    ]  # fmt: skip
    saved, restored = vae.optimizer.variables, loaded.optimizer.variables
    assert len(saved) == len(restored) > 4 * len(vae.trainable_weights)
    for a, b in zip(saved, restored):  # (the paths differ: Keras renames layers on reload)
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    for model in (vae, loaded):
        model.fit(IMAGES[24:32], batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(vae.trainable_weights + vae.optimizer.variables,
                    loaded.trainable_weights + loaded.optimizer.variables):  # fmt: skip
        np.testing.assert_array_equal(a.numpy(), b.numpy())


BAD = {
    "negative multiplier": (
        lambda: kgo.LRMultiplier(keras.optimizers.Adam(), {"dense": -0.1}),
        "finite number >= 0",
    ),
    "steps 0": (lambda: kgo.GradientAccumulation(keras.optimizers.Adam(), steps=0), "int >= 1"),
    "steps float": (lambda: kgo.GradientAccumulation("adam", steps=2.0), "int >= 1"),
    "unknown transform": (
        lambda: kgo.GradientTransform(keras.optimizers.Adam(), ["clip_by_nrom"]),
        "unknown gradient transform 'clip_by_nrom'",
    ),
    "keras use_ema": (lambda: kgo.EMA(keras.optimizers.Adam(use_ema=True)), "use_ema=True"),
    "keras accumulation": (
        lambda: kgo.LRMultiplier(keras.optimizers.SGD(gradient_accumulation_steps=2), {"x": 1.0}),
        "gradient_accumulation_steps=2",
    ),
    "loss scale inside": (
        lambda: kgo.EMA(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())),
        "loss scaling must be the outermost",
    ),
    "multiplier around ema": (
        lambda: kgo.LRMultiplier(kgo.EMA(keras.optimizers.Adam()), {"x": 0.1}),
        "EMA\\(LRMultiplier",
    ),
    "wrapped twice": (
        lambda: (lambda a: (kgo.EMA(a), kgo.Lookahead(a)))(keras.optimizers.Adam()),
        "already wrapped",
    ),
    "bad regex": (lambda: kgo.LRMultiplier("adam", {"(": 0.1}), "invalid regex"),
    "lookahead alpha": (lambda: kgo.Lookahead("adam", alpha=1.5), "alpha must be in"),
    "ema momentum": (lambda: kgo.EMA("adam", momentum=1.0), "momentum must be in"),
    "warmup steps": (lambda: kgo.Warmup(1e-3, warmup_steps=0), "warmup_steps must be"),
    "clip norm": (lambda: kgo.transforms.ClipByNorm(-1.0), "max_norm must be > 0"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_configurations_raise_clear_errors(case):
    make, message = BAD[case]
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_pattern_that_matches_nothing_fails_at_build():
    model = make_regressor()
    opt = kgo.LRMultiplier(keras.optimizers.Adam(), {"encoder/.*": 0.1})
    with pytest.raises(ValueError, match=r"'encoder/\.\*' matches none of the 4"):
        opt.build(model.trainable_variables)
    masked = kgo.GradientTransform("adam", [("centralize", {"mask": "decoder"})])
    with pytest.raises(ValueError, match="Centralize mask: pattern 'decoder'"):
        masked.build(model.trainable_variables)


def test_weights_load_into_a_compiled_model_whose_wrapped_optimizer_is_not_built(tmp_path):
    # Keras skips an unbuilt optimizer's state with a warning; the wrappers do the same,
    # so model.load_weights works before the first fit, and restores the state once built.
    trained = make_regressor()
    trained.compile(optimizer=kgo.EMA(keras.optimizers.Adam(0.1), momentum=0.5))
    trained.fit(X[:16], Y[:16], batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / "w.weights.h5"
    trained.save_weights(path)

    fresh = make_regressor()
    fresh(X[:1])  # built, its optimizer not
    fresh.compile(optimizer=kgo.EMA(keras.optimizers.Adam(0.1), momentum=0.5))
    with pytest.warns(UserWarning, match="EMA .* not built yet"):
        fresh.load_weights(path)
    for a, b in zip(trained.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)

    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(path)  # now the state too
    for a, b in zip(trained.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
