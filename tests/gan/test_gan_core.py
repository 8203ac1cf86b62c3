"""The two-player core: penalties, the single-loss identity, saving, resuming, distribution."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from scipy.special import expit

from keras_gen import optimizers as kgo
from keras_gen import zoo
from keras_gen.training import AdversarialModel, Game, PlayerOptimizers

RNG = np.random.default_rng(0)
X = RNG.random((40, 8, 8, 1), dtype="float32")  # small images keep the tests fast
Y = np.arange(40) % 10
TINY = {"latent_dim": 4, "filters": (4, 8)}


class SquareCritic(keras.layers.Layer):
    """D(x) = sum_j v_j x_j^2 + b: grad D(x) = 2 v * x, by hand."""

    def build(self, shape):
        self.v = self.add_weight(shape=(shape[-1],), initializer="ones")
        self.b = self.add_weight(shape=(), initializer="zeros")

    def call(self, x):
        return ops.sum(self.v * ops.square(x), axis=-1) + self.b


class ToyGame(AdversarialModel):
    """G: a dense map of codes z given WITH the data (x, z); D: a small MLP or a critic.

    No randomness, so steps can be compared with hand-written ones.
    """

    def __init__(self, critic=None, u=None, **kwargs):
        super().__init__(**kwargs)
        self.g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        self.d = critic or keras.Sequential(
            [keras.Input((2,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(1)]
        )
        self.d.build((None, 2))
        self.u = u
        self.built = True

    @property
    def generator_variables(self):
        return self.g.trainable_variables

    @property
    def discriminator_variables(self):
        return self.d.trainable_variables

    def game(self, x, y=None, training=False, for_generator=False):
        return Game(x, self.g(y))

    def discriminate(self, inputs, y=None, training=False):
        return ops.reshape(self.d(inputs), (-1,))

    def interpolation_weights(self, real):
        if self.u is None:
            return super().interpolation_weights(real)
        return ops.full((ops.shape(real)[0],), self.u)


TX = RNG.normal(size=(8, 2)).astype("float32")
TZ = RNG.normal(size=(8, 3)).astype("float32")


def _toy(**kwargs):
    keras.utils.set_random_seed(1)
    return ToyGame(**kwargs)


def test_gradient_and_r1_penalties_match_hand_computed_values():
    model = _toy(critic=SquareCritic(), u=0.25)
    model.compile(gradient_penalty=10.0, r1_penalty=1.0, loss="wasserstein")
    model.d.v.assign([0.5, -2.0])
    logs = model.evaluate(TX, TZ, batch_size=8, verbose=0, return_dict=True)
    fake = TZ @ model.g.get_weights()[0] + model.g.get_weights()[1]
    mixed = 0.25 * TX + 0.75 * fake
    grad = 2 * np.array([0.5, -2.0]) * mixed
    gp = (np.linalg.norm(grad, axis=-1) - 1) ** 2
    r1 = np.sum((2 * np.array([0.5, -2.0]) * TX) ** 2, axis=-1)
    np.testing.assert_allclose(logs["gradient_penalty"], gp.mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["r1"], r1.mean(), rtol=1e-5)


def test_r1_penalty_enters_the_discriminator_step_through_its_second_derivative():
    # One SGD discriminator step of non-saturating + R1 against its hand-derived update:
    # D(x) = sum_j v_j x_j^2 + b, so R1 = |2 v * x|^2 and d(gamma/2 R1)/dv = 4 gamma v x^2.
    lr, gamma, v0 = 0.1, 3.0, np.array([0.5, -2.0])
    model = _toy(critic=SquareCritic())
    model.compile(
        d_optimizer=keras.optimizers.SGD(lr),
        g_optimizer=keras.optimizers.SGD(lr),
        loss="non_saturating",
        r1_penalty=gamma,
    )
    model.d.v.assign(v0)
    w, c = model.g.get_weights()
    fake = TZ @ w + c
    d_real, d_fake = TX**2 @ v0, fake**2 @ v0  # b = 0
    # d/dD softplus(-D) = -expit(-D); d/dD softplus(D) = expit(D); dD/dv = x^2, dD/db = 1
    grad_v = np.mean(-expit(-d_real)[:, None] * TX**2 + expit(d_fake)[:, None] * fake**2, 0)
    grad_v += 4 * gamma * v0 * np.mean(TX**2, axis=0)
    grad_b = np.mean(-expit(-d_real) + expit(d_fake))
    model.train_on_batch(TX, TZ)
    np.testing.assert_allclose(model.d.v.numpy(), v0 - lr * grad_v, rtol=1e-5)
    np.testing.assert_allclose(model.d.b.numpy(), -lr * grad_b, rtol=1e-5, atol=1e-7)


def _ns_losses(model, x, z):
    r = model.discriminate(x)
    f = model.discriminate(model.g(z))
    d_loss = ops.mean(ops.softplus(-r) + ops.softplus(f))
    g_loss = ops.mean(ops.softplus(-f))
    return d_loss, g_loss


def _weights(model):
    return [v.numpy().copy() for v in model.g.weights], [v.numpy().copy() for v in model.d.weights]


def test_single_loss_step_is_a_simultaneous_two_player_step():
    lr, lam = 0.1, 0.3
    single = _toy()
    single.compile(optimizer=keras.optimizers.SGD(lr), generator_weight=lam)
    g0, d0 = _weights(single)
    # By hand: both gradients at the SAME parameters, D with lr, G with lam * lr.
    with tf.GradientTape(persistent=True) as tape:
        d_loss, g_loss = _ns_losses(single, TX, TZ)
    d_grads = tape.gradient(d_loss, single.d.trainable_variables)
    g_grads = tape.gradient(g_loss, single.g.trainable_variables)
    single.train_on_batch(TX, TZ)
    g1, d1 = _weights(single)
    for w0, w1, grad in zip(d0, d1, d_grads):
        np.testing.assert_allclose(w1, w0 - lr * grad.numpy(), atol=1e-6)
    for w0, w1, grad in zip(g0, g1, g_grads):
        np.testing.assert_allclose(w1, w0 - lam * lr * grad.numpy(), atol=1e-6)


def _alternating_gap(lr, lam=0.3):
    """max |G weights| gap between one single-loss step and one alternating D-then-G step."""
    single, alternating = _toy(), _toy()
    single.compile(optimizer=keras.optimizers.SGD(lr), generator_weight=lam)
    alternating.compile(
        g_optimizer=keras.optimizers.SGD(lam * lr), d_optimizer=keras.optimizers.SGD(lr)
    )
    single.train_on_batch(TX, TZ)
    alternating.train_on_batch(TX, TZ)
    (gs, ds), (ga, da) = _weights(single), _weights(alternating)
    for a, b in zip(ds, da):  # D moves first in both: identical
        np.testing.assert_allclose(a, b, atol=1e-6)
    return max(np.max(np.abs(a - b)) for a, b in zip(gs, ga))


def test_single_loss_equals_alternating_steps_up_to_second_order_in_the_learning_rate():
    # Alternating steps take G's gradient at the UPDATED D, so G differs by O(lr^2).
    gap, half_gap = _alternating_gap(0.2), _alternating_gap(0.1)
    assert gap > 1e-6
    assert 3.0 < gap / half_gap < 5.0


def test_with_adam_the_generator_weight_is_not_a_learning_rate_ratio():
    # Adam divides by the gradient's scale: lambda cancels (where |grad| >> epsilon).
    runs = []
    for lam in (1.0, 0.1):
        model = _toy()
        model.compile(optimizer=keras.optimizers.Adam(1e-2, epsilon=1e-12), generator_weight=lam)
        model.train_on_batch(TX, TZ)
        runs.append(_weights(model)[0])
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


def test_step_ratio_counts_each_players_updates():
    gan = zoo.DCGAN((8, 8, 1), seed=0, **TINY)
    gan.compile(loss="wasserstein", gradient_penalty=10.0, d_steps=5, g_steps=1)
    gan.fit(X, batch_size=20, epochs=1, verbose=0)  # 2 train steps
    assert int(gan.d_optimizer.iterations) == 10
    assert int(gan.g_optimizer.iterations) == 2
    assert int(gan.optimizer.iterations) == 2
    gan.compile(loss="rsgan", d_steps=1, g_steps=2)
    gan.fit(X, batch_size=20, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 2 and int(gan.g_optimizer.iterations) == 4


def _assert_same_optimizer_state(a, b):
    for opt_a, opt_b in ((a.g_optimizer, b.g_optimizer), (a.d_optimizer, b.d_optimizer)):
        assert len(opt_a.variables) == len(opt_b.variables) > 2
        for u, v in zip(opt_a.variables, opt_b.variables):
            np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


MODELS = {
    "dcgan": (lambda: zoo.DCGAN((8, 8, 1), seed=0, **TINY), (X,)),
    "cgan": (lambda: zoo.ConditionalGAN((8, 8, 1), num_classes=10, seed=0, **TINY), (X, Y)),
    "aae": (
        lambda: zoo.AdversarialAutoencoder((8, 8, 1), latent_dim=4, hidden_units=(16,), seed=0),
        (X,),
    ),
    "ali": (lambda: zoo.ALI((8, 8, 1), seed=0, **TINY), (X,)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_round_trip_keeps_both_optimizers_and_training_continues(name, tmp_path):
    make, args = MODELS[name]
    model = make()
    model.compile(
        g_optimizer=kgo.EMA(keras.optimizers.Adam(1e-3), momentum=0.9),
        d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
        loss="hinge" if name != "aae" else "non_saturating",
    )
    model.fit(*args, batch_size=20, epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    assert type(loaded) is type(model)
    assert isinstance(loaded.optimizer, PlayerOptimizers)
    _assert_same_optimizer_state(model, loaded)
    labels = {"labels": Y[:4]} if name == "cgan" else {}
    np.testing.assert_array_equal(
        model.generate(4, seed=3, **labels), loaded.generate(4, seed=3, **labels)
    )
    if name == "dcgan":  # sampling with the generator's EMA weights
        ema = model.generate(4, seed=3, ema=True)
        assert not np.allclose(ema, model.generate(4, seed=3))
        np.testing.assert_array_equal(ema, loaded.generate(4, seed=3, ema=True))
    batch = tuple(a[:20] for a in args)
    model.train_on_batch(*batch)
    loaded.train_on_batch(*batch)
    for u, v in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=1e-6, err_msg=u.path)


class _StopAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


def test_backup_and_restore_resumes_both_players_exactly(tmp_path):
    def make():
        gan = zoo.DCGAN((8, 8, 1), seed=0, **TINY)
        gan.compile(
            g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3)
        )
        return gan

    keras.utils.set_random_seed(0)
    straight = make()
    straight.fit(X, batch_size=20, epochs=3, verbose=0, shuffle=False)

    keras.utils.set_random_seed(0)
    first = make()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(RuntimeError, match="interrupted"):
        first.fit(
            X, batch_size=20, epochs=3, verbose=0, shuffle=False, callbacks=[backup, _StopAt(2)]
        )

    keras.utils.set_random_seed(5)  # different initial weights: all must come from the backup
    resumed = make()
    history = resumed.fit(X, batch_size=20, epochs=3, verbose=0, shuffle=False, callbacks=[backup])
    assert len(history.history["d_loss"]) == 1  # only epoch 3 ran
    assert int(resumed.d_optimizer.iterations) == int(straight.d_optimizer.iterations) == 6
    _assert_same_optimizer_state(straight, resumed)
    for u, v in zip(straight.weights, resumed.weights):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=1e-6, err_msg=u.path)


class DataNoiseDCGAN(zoo.DCGAN):
    """DCGAN whose codes and penalty weights come from the data: a deterministic step."""

    def game(self, x, y=None, training=False, for_generator=False):
        return Game(x, self.generator(y, training=training))

    def interpolation_weights(self, real):
        return ops.mean(ops.reshape(real, (ops.shape(real)[0], -1)), axis=-1)


def _wgan_gp_step(strategy, weights, x, z):
    with strategy.scope():
        gan = DataNoiseDCGAN((8, 8, 1), **TINY)
        gan.set_weights(weights)
        gan.compile(
            g_optimizer=keras.optimizers.Adam(1e-3),
            d_optimizer=keras.optimizers.Adam(1e-3),
            loss="wasserstein",
            gradient_penalty=10.0,
            d_steps=5,
        )
    data = tf.data.Dataset.from_tensor_slices((x, z)).batch(20)
    logs = gan.fit(data, epochs=1, verbose=0).history
    return [np.asarray(w) for w in gan.weights], logs


def test_mirrored_wgan_gp_step_equals_one_device(mirrored):
    z = RNG.normal(size=(40, 4)).astype("float32")
    weights = DataNoiseDCGAN((8, 8, 1), **TINY).get_weights()
    single, single_logs = _wgan_gp_step(tf.distribute.get_strategy(), weights, X, z)
    multi, multi_logs = _wgan_gp_step(mirrored, weights, X, z)
    for a, b in zip(single, multi):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
    for key in ("d_loss", "g_loss", "gradient_penalty", "d_real", "d_fake"):
        np.testing.assert_allclose(single_logs[key], multi_logs[key], rtol=1e-4, atol=1e-5)


def test_mirrored_training_of_the_other_models(mirrored):
    # DCGAN with a plain discriminator: the parity test above.
    MODELS["dcgan-sn"] = (
        lambda: zoo.DCGAN((8, 8, 1), spectral_norm=True, vi_weight=1.0, **TINY),
        (X,),
    )
    for name in ("aae", "ali", "dcgan-sn"):
        make, args = MODELS.pop(name) if name == "dcgan-sn" else MODELS[name]
        with mirrored.scope():
            model = make()
            model.compile(loss="wasserstein", gradient_penalty=1.0)
        history = model.fit(*args, batch_size=20, epochs=1, verbose=0)
        assert np.isfinite(history.history["d_loss"]).all(), name


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_per_player_loss_scaling(policy):
    keras.config.set_dtype_policy(policy)
    gan = zoo.DCGAN((8, 8, 1), seed=0, **TINY)
    gan.compile(loss="non_saturating", r1_penalty=1.0)
    history = gan.fit(X, batch_size=20, epochs=2, verbose=0)
    assert all(np.isfinite(v).all() for v in history.history.values())
    scaled = isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (policy == "mixed_float16")
    assert gan.generate(2, seed=0).dtype == np.float32


def test_bad_configuration_and_input_are_clear_errors():
    gan = zoo.DCGAN((8, 8, 1), seed=0, **TINY)
    with pytest.raises(ValueError, match="either optimizer="):
        gan.compile(optimizer="sgd", g_optimizer="adam")
    with pytest.raises(ValueError, match="d_steps and g_steps must be >= 1"):
        gan.compile(d_steps=0)
    with pytest.raises(ValueError, match="unknown GAN loss"):
        gan.compile(loss="wgan")
    gan.compile()
    with pytest.raises(ValueError, match=r"expects images of shape \(8, 8, 1\)"):
        gan.fit(np.zeros((4, 32, 32, 3), "float32"), verbose=0)
    cgan = zoo.ConditionalGAN((8, 8, 1), num_classes=10, **TINY)
    cgan.compile()
    with pytest.raises(ValueError, match="class-conditional: pass labels"):
        cgan.fit(X[:8], verbose=0)
    with pytest.raises(ValueError, match="not class-conditional"):
        gan.generate(2, labels=[1, 2])
    with pytest.raises(ValueError, match=r"needs keras_gen\.optimizers\.EMA"):
        gan.generate(2, ema=True)
    with pytest.raises(ValueError, match="divisible by 4"):
        zoo.DCGAN((10, 10, 1), **TINY)


def test_vi_regulariser_pulls_towards_the_generator_before_its_last_update():
    gan = zoo.DCGAN((8, 8, 1), vi_weight=1.0, seed=0, **TINY)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    trained = [w.trainable for w in gan.generator.weights]
    before = [np.asarray(w) for w in gan.generator.weights]
    gan.train_on_batch(X[:20])
    # After one update the lagged copy holds the trained weights from before it (the
    # batch-norm statistics already moved in the discriminator's step).
    for old, w, t in zip(gan.generator_old.weights, before, trained):
        if t:
            np.testing.assert_array_equal(np.asarray(old), w)
    assert [v.path for v in gan.trainable_variables] == [
        v.path for v in gan.generator_variables + gan.discriminator_variables
    ]
    logs = gan.train_on_batch(X[:20], return_dict=True)
    assert logs["vi"] > 0  # G has moved away from G_old, so the term is active
    with pytest.raises(ValueError, match="vi_weight must be >= 0"):
        zoo.DCGAN((8, 8, 1), vi_weight=-1.0, **TINY)
