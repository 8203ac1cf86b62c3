"""The two-player core: penalties, the single-loss identity, step ratios, resuming.

Each two-player zoo model's saving, 2-replica parity and precision: tests/zoo/<model>/.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from scipy.special import expit

from keras_gen import zoo
from keras_gen.training import AdversarialModel, Game, PlayerOptimizers

RNG = np.random.default_rng(0)
X = RNG.random((40, 8, 8, 1), dtype="float32")  # small images keep the tests fast
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


def test_compile_validates_then_builds_the_optimizers_and_the_trackers():
    model = _toy()
    for kwargs, match in [
        ({"metrics": ["mae"]}, "does not take metrics="),
        ({"gradient_penalty": -1.0}, "penalty weights must be >= 0"),
        ({"optimizer": "sgd", "d_steps": 2}, "one step for both players"),
    ]:
        with pytest.raises(ValueError, match=match):
            model.compile(**kwargs)
    model.compile(optimizer="sgd", gradient_penalty=1.0)
    assert model.term_names == ("d_loss", "g_loss", "d_real", "d_fake", "gradient_penalty", "loss")
    model.compile(d_optimizer="sgd", r1_penalty=1.0)
    assert model.term_names == ("d_loss", "g_loss", "d_real", "d_fake", "r1")
    assert isinstance(model.optimizer, PlayerOptimizers)
    assert (model.g_optimizer.name, type(model.d_optimizer).__name__) == ("g_adam", "SGD")
    # Saved files name the optimizer by its registered name, unchanged by the module move.
    assert keras.saving.get_registered_name(PlayerOptimizers) == "keras_gen>PlayerOptimizers"


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


def test_bad_configuration_is_a_clear_error():
    model = _toy()
    with pytest.raises(ValueError, match="either optimizer="):
        model.compile(optimizer="sgd", g_optimizer="adam")
    with pytest.raises(ValueError, match="d_steps and g_steps must be >= 1"):
        model.compile(d_steps=0)
    with pytest.raises(ValueError, match="unknown GAN loss"):
        model.compile(loss="wgan")
