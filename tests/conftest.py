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


@pytest.fixture
def shrink_preset(monkeypatch):
    """``shrink_preset(name, stages=None, **config)``: a smaller preset for one test.

    The test-only path to train a registry preset end to end in seconds: the registry
    holds the smaller copy until the test ends.
    """
    import dataclasses

    from keras_gen import presets
    from keras_gen.presets import registry

    def shrink(name, stages=None, **config):
        preset = presets.get(name)
        small = dataclasses.replace(
            preset,
            config={**preset.config, **config},
            stages=preset.stages if stages is None else stages,
        )
        monkeypatch.setitem(registry._REGISTRY, name, small)
        return small

    return shrink
