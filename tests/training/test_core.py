"""The training core: reduction, metrics and distribution.

Each zoo model's saving, 2-replica parity and precision: tests/zoo/<model>/ (the harness).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gen import zoo
from keras_gen.training import GenerativeModel, backend
from keras_gen.training.core import TrainingCore

RNG = np.random.default_rng(0)
X = RNG.random((64, 28, 28, 1), dtype="float32")

SMALL = {"latent_dim": 4, "hidden_units": (32,)}


def _vae():
    return zoo.VAE((28, 28, 1), seed=1, **SMALL)


def _autoencoder():
    return zoo.Autoencoder((28, 28, 1), **SMALL)


def test_history_and_evaluate_use_the_term_names():
    model = _vae()
    model.compile(optimizer="adam")
    history = model.fit(X, batch_size=32, epochs=1, verbose=0, validation_data=(X[:16],))
    assert set(history.history) == {
        "loss",
        "reconstruction",
        "kl",
        "val_loss",
        "val_reconstruction",
        "val_kl",
    }
    result = model.evaluate(X, batch_size=32, verbose=0, return_dict=True)
    assert set(result) == {"loss", "reconstruction", "kl"}
    np.testing.assert_allclose(result["loss"], result["reconstruction"] + result["kl"], rtol=1e-5)


def test_reported_loss_is_the_mean_per_example_loss_with_uneven_batches():
    model = _autoencoder()
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    # 64 examples in batches of 24: 24 + 24 + 16, so a mean of batch means would be biased.
    reported = model.evaluate(X, batch_size=24, verbose=0, return_dict=True)["loss"]
    per_example = keras.ops.convert_to_numpy(model.compute_terms(X)["loss"])
    np.testing.assert_allclose(reported, per_example.mean(), rtol=1e-5)


def test_sample_weights_weight_the_per_example_loss():
    model = _autoencoder()
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    weights = np.zeros(64, "float32")
    weights[:32] = 2.0
    # Keras drops sample weights when y is None, so unconditional models take a dummy y.
    weighted = model.evaluate(X, np.zeros(64), sample_weight=weights, batch_size=64, verbose=0)
    per_example = keras.ops.convert_to_numpy(model.compute_terms(X)["loss"])
    np.testing.assert_allclose(weighted, (per_example * weights).mean(), rtol=1e-5)


def test_steps_per_execution_gives_the_same_training():
    results = []
    for spe in (1, 4):
        keras.utils.set_random_seed(3)
        model = _autoencoder()
        model.compile(optimizer=keras.optimizers.SGD(0.01), steps_per_execution=spe)
        model.fit(X, batch_size=16, epochs=1, verbose=0, shuffle=False)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_layer_losses_join_the_objective():
    class WithPenalty(GenerativeModel):
        def __init__(self, **kwargs):
            super().__init__(term_names=("loss",), **kwargs)
            self.dense = keras.layers.Dense(3, kernel_regularizer=keras.regularizers.L2(1.0))

        def compute_terms(self, x, y=None, training=False):
            return {"loss": keras.ops.sum(keras.ops.square(self.dense(x)), axis=-1)}

    model = WithPenalty()
    x = np.ones((4, 2), "float32")
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    loss = model.evaluate(x, verbose=0)
    kernel = model.dense.kernel.numpy()
    out = x @ kernel
    np.testing.assert_allclose(loss, (out**2).sum(-1).mean() + (kernel**2).sum(), rtol=1e-5)


def test_missing_terms_are_a_clear_error():
    class Broken(GenerativeModel):
        def __init__(self):
            super().__init__(term_names=("loss", "kl"))
            self.dense = keras.layers.Dense(1)

        def compute_terms(self, x, y=None, training=False):
            return {"loss": keras.ops.sum(self.dense(x), axis=-1)}

    model = Broken()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"did not return \['kl'\]"):
        model.fit(np.ones((4, 2), "float32"), verbose=0)
    with pytest.raises(ValueError, match="must include 'loss'"):
        GenerativeModel(term_names=("kl",))


# -- distribution ---------------------------------------------------------------------


def _one_step_weights(strategy, make, weights, x, optimizer):
    with strategy.scope():
        model = make()
        model.set_weights(weights)
        model.compile(optimizer=optimizer())
    history = model.fit(x, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    return model.get_weights(), history.history["loss"][0]


@pytest.mark.parametrize("batch", [32, 31])  # 31: replicas get 16 and 15 examples
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_mirrored_step_equals_single_device_step(mirrored, batch, optimizer):
    make = _autoencoder
    weights = make().get_weights()
    opt = {
        "sgd": lambda: keras.optimizers.SGD(0.1),
        "adam": lambda: keras.optimizers.Adam(1e-2),
    }[optimizer]
    x = X[:batch]
    single, single_loss = _one_step_weights(tf.distribute.get_strategy(), make, weights, x, opt)
    multi, multi_loss = _one_step_weights(mirrored, make, weights, x, opt)
    assert mirrored.num_replicas_in_sync == 2
    np.testing.assert_allclose(multi_loss, single_loss, rtol=1e-5)
    moved = max(np.abs(a - b).max() for a, b in zip(single, weights))
    assert moved > 1e-4  # the step really changed the weights
    for a, b in zip(single, multi):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_mirrored_vae_losses_agree_statistically(mirrored):
    make = _vae
    weights = make().get_weights()
    x = RNG.random((512, 28, 28, 1), dtype="float32")
    results = []
    for strategy in (tf.distribute.get_strategy(), mirrored):
        with strategy.scope():
            model = make()
            model.set_weights(weights)
            model.compile(optimizer="adam")
        results.append(model.evaluate(x, batch_size=128, verbose=0, return_dict=True))
    single, multi = results
    # Only the sampled z differs; the reconstruction term's noise is a few nats at most.
    assert abs(single["reconstruction"] - multi["reconstruction"]) < 2.0
    np.testing.assert_allclose(single["kl"], multi["kl"], rtol=1e-4)  # KL needs no sampling
    with mirrored.scope():
        model = make()
        model.compile(optimizer="adam")
    history = model.fit(x, batch_size=64, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]


def test_replicas_draw_different_noise(mirrored):
    from keras_gen.layers import GaussianSampling

    with mirrored.scope():
        layer = GaussianSampling(seed=0)

    @tf.function
    def step(mean):
        return mirrored.run(lambda m: layer([m, tf.zeros_like(m)]), (mean,))

    data = mirrored.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(tf.zeros((8, 5))).repeat(2)
    )
    draws = []
    for batch in data:
        per_replica = mirrored.experimental_local_results(step(batch))
        assert not np.allclose(per_replica[0].numpy(), per_replica[1].numpy())
        draws.append(per_replica[0].numpy())
    assert not np.allclose(draws[0], draws[1])  # and new noise on every step


def test_global_batch_size_sums_the_replica_batches(mirrored):
    @tf.function
    def total(x):
        return mirrored.run(lambda t: backend.global_batch_size(tf.shape(t)[0]), (x,))

    data = mirrored.experimental_distribute_dataset(tf.data.Dataset.from_tensors(tf.zeros((7, 1))))
    for batch in data:
        values = mirrored.experimental_local_results(total(batch))
        assert [float(v) for v in values] == [7.0, 7.0]


def test_global_share_and_mean_are_exact_for_uneven_replica_batches(mirrored):
    @tf.function
    def run(x):
        return mirrored.run(
            lambda t: (TrainingCore.global_batch_share(t), TrainingCore.global_mean(t)), (x,)
        )

    data = mirrored.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(tf.range(7, dtype=tf.float32))  # 4 and 3 examples
    )
    for batch in data:
        shares, means = (mirrored.experimental_local_results(v) for v in run(batch))
        assert float(sum(shares)) == pytest.approx(3.0)  # the optimizers sum the shares
        assert [float(m) for m in means] == [3.0, 3.0]


def test_both_trainers_share_one_core():
    from keras_gen.training import AdversarialModel

    assert issubclass(GenerativeModel, TrainingCore) and issubclass(AdversarialModel, TrainingCore)
    model = GenerativeModel(term_names=("loss", "kl"), name="m")
    assert model.term_names == ("loss", "kl")
    assert sorted(model.get_config()) == ["dtype", "name", "trainable"]
    # Per-example terms count once per example, a scalar term once per example of its batch;
    # terms without a tracker are skipped.
    model.update_terms({"loss": np.array([1.0, 3.0]), "kl": 2.0, "other": 1.0}, local_n=2)
    model.update_terms({"loss": np.array([5.0]), "kl": 8.0}, local_n=1)
    assert {k: float(v) for k, v in model.step_logs().items()} == {"loss": 3.0, "kl": 4.0}
    with pytest.raises(ValueError, match="must be unique"):
        model.set_term_names(("loss", "loss"))
