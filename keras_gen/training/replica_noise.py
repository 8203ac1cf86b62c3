"""Noise that does not depend on the replica: what makes a 2-replica step comparable.

Replicas draw different noise by design (``backend.stateless_normal`` folds the replica
id into the seed). To compare a 2-replica train step with the one-device step exactly,
:func:`replica_independent_noise` makes every example get the noise it gets on one
device. ``keras_gen.testing.run_model_test`` uses it; it lives here because it is
TensorFlow code (``tf.distribute`` replica contexts).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf

from keras_gen.training import backend


def _global_rows(draw, shape, seed_generator, dtype):
    """This replica's rows of ONE draw for the whole global batch, from ``seed_generator``.

    Replicas hold consecutive slices of the global batch (``fit`` splits it in order);
    each takes the rows of the examples it holds, so every example gets the noise it gets
    on one device.
    """
    shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
    local_n = shape[0]
    offset, total = tf.constant(0, tf.int32), local_n
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        sizes = context.all_gather(tf.reshape(local_n, [1]), axis=0)
        total = tf.reduce_sum(sizes)
        replica = tf.cast(context.replica_id_in_sync_group, tf.int32)
        offset = tf.reduce_sum(sizes[:replica])
    seed = tf.cast(seed_generator.next(), tf.int64)  # the replica id is NOT folded in
    noise = draw(tf.concat([[total], shape[1:]], axis=0), seed=seed, dtype=dtype)
    return noise[offset : offset + local_n]


def _normal_by_example(shape, seed_generator, dtype="float32"):
    return _global_rows(tf.random.stateless_normal, shape, seed_generator, dtype)


def _uniform_by_example(shape, seed_generator, dtype="float32"):
    return _global_rows(tf.random.stateless_uniform, shape, seed_generator, dtype)


@contextlib.contextmanager
def replica_independent_noise() -> Iterator[None]:
    """Inside the block, an example's noise does not depend on the replica that holds it.

    ``keras_gen.training.backend.stateless_normal`` and ``stateless_uniform`` (through
    which every noise draw of the zoo goes) draw ONE sample for the whole global batch from
    the layer's seed generator, without folding in the replica id, and each replica takes
    the rows of its examples. The generators advance as usual, so the next step's noise
    still depends on their (saved) state. Train functions traced inside the block keep
    this noise. Without a strategy the draws are those of a single device.

    >>> import keras
    >>> with replica_independent_noise():
    ...     eps = backend.stateless_normal((2, 3), keras.random.SeedGenerator(0))
    >>> tuple(eps.shape), bool((eps[0] == eps[1]).numpy().all())
    ((2, 3), False)
    """
    saved = backend.stateless_normal, backend.stateless_uniform
    backend.stateless_normal, backend.stateless_uniform = (
        _normal_by_example,
        _uniform_by_example,
    )
    try:
        yield
    finally:
        backend.stateless_normal, backend.stateless_uniform = saved
