"""Distribution strategies and precision policies, chosen by name."""

from __future__ import annotations

import contextlib
import functools
import json
import os

import keras
import tensorflow as tf

STRATEGIES = ("none", "mirrored", "multi-worker")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


def make_strategy(name: str = "none") -> tf.distribute.Strategy:
    """A ``tf.distribute`` strategy by name: "none", "mirrored" or "multi-worker".

    "mirrored" uses every local GPU (or the CPU's logical devices when there is
    no GPU); "multi-worker" reads the cluster from the ``TF_CONFIG`` environment
    variable. A process gets ONE strategy of each kind: two MirroredStrategy
    objects over the same devices reuse the same collective-op keys, and TF
    then mixes up their all-reduces ("Shape mismatch in the collective instance").

    >>> strategy = make_strategy("none")
    >>> strategy.num_replicas_in_sync
    1
    """
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return _cached_strategy("mirrored")
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--distribute multi-worker needs the TF_CONFIG environment variable "
                '(e.g. {"cluster": {"worker": ["host1:port", "host2:port"]}, '
                '"task": {"type": "worker", "index": 0}})'
            )
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as err:
            raise ValueError(f"TF_CONFIG is not valid JSON: {err}") from err
        return _cached_strategy("multi-worker")
    raise ValueError(f"distribute must be one of {STRATEGIES}; got {name!r}")


@functools.cache
def _cached_strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief() -> bool:
    """True unless this process is a non-chief worker of a multi-worker cluster."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    cluster = config.get("cluster", {})
    if not task or "chief" in cluster:
        return task.get("type", "chief") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0


def cpu_supports_bfloat16() -> bool:
    """Whether this CPU has native bfloat16 matrix units (AMX or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(name: str = "auto", architecture: str = "conv") -> str:
    """The dtype policy name for ``name``; "auto" picks what was measured fastest.

    Measured on a 2-core Xeon with AMX (benchmarks/RESULTS.md): ``mixed_bfloat16``
    trains the conv VAE about 2.2x faster than float32, and gains nothing for the
    200-unit MLP VAE while costing it some accuracy. So "auto" is
    ``mixed_bfloat16`` for convolutional models on a CPU with native bfloat16
    units (AMX or AVX512-BF16), and float32 everywhere else, including GPUs,
    where nothing has been measured yet (pass ``mixed_float16`` there). On a CPU
    WITHOUT such units (an AMD EPYC here) bfloat16 convolutions and transposed
    convolutions measured 9-11x slower than float32 (benchmarks/precision_layers.py).

    >>> resolve_precision("float32")
    'float32'
    >>> resolve_precision("auto", architecture="mlp")
    'float32'
    """
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {name!r}")
    if name != "auto":
        return name
    on_cpu = not tf.config.list_physical_devices("GPU")
    if architecture == "conv" and on_cpu and cpu_supports_bfloat16():
        return "mixed_bfloat16"
    return "float32"


@contextlib.contextmanager
def precision_policy(name: str):
    """Set the global Keras dtype policy inside the block and restore it after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_precision(name))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
