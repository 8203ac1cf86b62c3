"""Test set-up: two logical CPU devices, so MirroredStrategy tests run on any machine."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts from float32, a clean Keras session and the same seeds.

    Seeding per test (Python, NumPy, TF and Keras) makes a test's unseeded
    initialisations independent of which xdist worker runs it and of what ran before.
    """
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")
    keras.backend.clear_session()


@pytest.fixture(scope="session")
def mirrored():
    """A 2-replica MirroredStrategy over the two logical CPU devices.

    The same object as ``make_strategy("mirrored")`` (the CLI's): separate
    strategies in one process reuse the same collective instance keys, and TF then
    mixes up their all-reduces. Tests must not create MirroredStrategy objects.
    """
    from keras_gen.training import make_strategy

    strategy = make_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2, strategy.extended.worker_devices
    return strategy


def _assert_resumes_identically(model, loaded, fit_args, atol=1e-6):
    """``loaded`` (from ``model``'s .keras file) has the same optimizer state, and one more
    epoch on ``fit_args`` leaves both with the same weights."""
    import numpy as np

    saved = [v.numpy() for v in model.optimizer.variables]
    restored = [v.numpy() for v in loaded.optimizer.variables]
    assert len(saved) == len(restored) > 2
    for a, b in zip(saved, restored):
        np.testing.assert_array_equal(a, b)
    for m in (model, loaded):
        m.fit(*fit_args, batch_size=64, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=atol)


@pytest.fixture
def assert_resumes_identically():
    """The check every .keras round-trip test ends with (see ``_assert_resumes_identically``)."""
    return _assert_resumes_identically
