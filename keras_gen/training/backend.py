"""The TensorFlow-specific pieces of keras-gen, kept in one place.

Everything that touches ``tf.distribute``, ``tf.GradientTape`` or stateless TF
random ops lives here, so that layers, losses and zoo models stay written in
``keras.ops`` only.

Without a distribution strategy the helpers reduce to the single-device case:

>>> num_replicas()
1
>>> float(global_batch_size(32))
32.0
>>> x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
>>> input_gradient_sq_norm(lambda t: 2.0 * t, x).numpy()  # d sum(2x)/dx = 2 per entry
array([8., 8.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import tensorflow as tf

TensorLike = Any  # a tf.Tensor, a NumPy array or a Python number


def num_replicas() -> int:
    """Number of replicas that train in sync (1 without a distribution strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_id() -> tf.Tensor:
    """This replica's index in its sync group, as a scalar int32 tensor (0 without a strategy)."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: not inside strategy.run
        return tf.constant(0, tf.int32)
    return tf.cast(context.replica_id_in_sync_group, tf.int32)


def global_batch_size(local_batch_size: TensorLike) -> tf.Tensor:
    """Sum of the per-replica batch sizes, as a float32 scalar.

    Exact also for an uneven last batch, unlike ``local_batch * num_replicas``.
    """
    local = tf.cast(local_batch_size, tf.float32)
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return local
    return context.all_reduce(tf.distribute.ReduceOp.SUM, local)


def all_reduce_sum(value: TensorLike) -> TensorLike:
    """Sum ``value`` over the replicas (identity without a strategy or outside ``run``)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def step_outputs(logs: dict) -> dict:
    """Shape a train/test step's scalar logs so that Keras can reduce them.

    Keras 3.15 reduces step outputs under MultiWorkerMirroredStrategy with
    ``strategy.reduce("MEAN", v, axis=0)``, which fails on scalars ("Invalid
    reduction dimension 0"); a shape-(1,) value reduces to the same scalar.
    Epoch-end logs are read from the metrics themselves and stay scalars.
    """
    strategy = tf.distribute.get_strategy()
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.extended._in_multi_worker_mode()
    )
    if not multi_worker:
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def replica_seed(seed_generator: keras.random.SeedGenerator) -> tf.Tensor:
    """The next seed of ``seed_generator`` with this replica's id folded in.

    Keras draws the same seed on every replica of a MirroredStrategy (the
    generator's state is mirrored), so noise would repeat across replicas.
    """
    seed = tf.cast(seed_generator.next(), tf.int64)
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        seed = tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)
    return seed


def stateless_normal(
    shape: TensorLike, seed_generator: keras.random.SeedGenerator, dtype: str = "float32"
) -> tf.Tensor:
    """Standard normal noise from a layer's ``SeedGenerator``, different on every replica."""
    return tf.random.stateless_normal(shape, seed=replica_seed(seed_generator), dtype=dtype)


def stateless_uniform(
    shape: TensorLike, seed_generator: keras.random.SeedGenerator, dtype: str = "float32"
) -> tf.Tensor:
    """Uniform [0, 1) noise from a layer's ``SeedGenerator``, different on every replica."""
    return tf.random.stateless_uniform(shape, seed=replica_seed(seed_generator), dtype=dtype)


def batch_jacobian_sq_norm(fn: Callable, x: TensorLike) -> tf.Tensor:
    """Per-example squared Frobenius norm of the Jacobian of ``fn`` at ``x``.

    ``fn`` maps a batch (B, ...) to a batch (B, d); the result has shape (B,).
    Used by the contractive autoencoder's penalty; differentiable (second order).
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(fn(x), tf.float32)
    jac = tape.batch_jacobian(y, x)  # (B, d, *x.shape[1:])
    jac = tf.cast(tf.reshape(jac, [tf.shape(jac)[0], -1]), tf.float32)
    return tf.reduce_sum(tf.square(jac), axis=-1)


def input_gradient_sq_norm(fn: Callable, inputs: Any) -> tf.Tensor:
    """Per-example squared norm of the gradient of ``sum(fn(inputs))`` w.r.t. ``inputs``.

    ``inputs`` may be a nested structure (e.g. ALI's ``(x, z)``); the squared norms of all
    its parts are added. Differentiable (second order), for gradient penalties; float32.
    """
    leaves = [tf.cast(t, tf.float32) for t in tf.nest.flatten(inputs)]
    with tf.GradientTape() as tape:
        tape.watch(leaves)
        out = tf.reduce_sum(tf.cast(fn(tf.nest.pack_sequence_as(inputs, leaves)), tf.float32))
    grads = tape.gradient(out, leaves)
    total = 0.0
    for g in grads:
        g = tf.reshape(tf.cast(g, tf.float32), [tf.shape(g)[0], -1])
        total = total + tf.reduce_sum(tf.square(g), axis=-1)
    return total


def compiled(fn: Callable, *, reduce_retracing: bool = True) -> Callable:
    """Compile ``fn`` into a graph function (used for batched inference loops)."""
    return tf.function(fn, reduce_retracing=reduce_retracing)


def all_gather(value: TensorLike) -> TensorLike:
    """Concatenate ``value`` (same shape on every replica) over the replicas along axis 0.

    Identity without a strategy or outside ``strategy.run``. Used where every replica must
    see the same rows, e.g. a vector quantizer's buffer of recent encoder outputs.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_gather(value, axis=0)


def map_row_chunks(
    fn: Callable, x: TensorLike, chunk_rows: int, output_dtype: str = "int32"
) -> tf.Tensor:
    """``fn`` applied to row chunks of a 2-D ``x``, one chunk at a time, results concatenated.

    Bounds the memory of a row-wise computation (e.g. an (N, K) distance matrix) to
    ``chunk_rows`` rows at once; ``fn`` maps (chunk_rows, D) to (chunk_rows,). Not
    differentiable (the vector quantizer only needs its argmin).
    """
    n = tf.shape(x)[0]
    num_chunks = (n + chunk_rows - 1) // chunk_rows
    padded = tf.pad(x, [[0, num_chunks * chunk_rows - n], [0, 0]])
    chunks = tf.reshape(padded, [num_chunks, chunk_rows, tf.shape(x)[1]])
    out = tf.map_fn(
        tf.autograph.experimental.do_not_convert(fn),  # plain tensor code; avoids a warning
        chunks,
        parallel_iterations=1,
        fn_output_signature=tf.TensorSpec([chunk_rows], tf.as_dtype(output_dtype)),
    )
    return tf.reshape(out, [-1])[:n]


# -- optimizer wrappers (keras_gen.optimizers) ----------------------------------------------
#
# The wrappers sum the gradients over the replicas ONCE, in the outermost wrapper, transform
# the sum (identical on every replica) and then update variables. Mirrored variables can only
# be written through ``strategy.extended.update`` from a merge call (what Keras' own
# optimizers do), and a ``tf.cond`` whose branch calls ``merge_call`` must itself run in the
# cross-replica context (what Keras' LossScaleOptimizer does); these helpers do both.


def _tf_variable(variable):
    return variable.value if isinstance(variable, keras.Variable) else variable


def all_reduce_gradients(grads: list) -> list:
    """Sum a list of gradients (no ``None``) over the replicas; identity on one replica.

    ``tf.IndexedSlices`` are made dense first, so that every transform sees a plain tensor.
    """
    grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1 or not grads:
        return grads
    return list(context.all_reduce(tf.distribute.ReduceOp.SUM, grads))


def sync_assign(variables: Sequence, values: Sequence, op: str = "assign") -> None:
    """Assign ``values`` (the same on every replica) to possibly mirrored ``variables``.

    ``op`` is ``"assign"``, ``"assign_add"`` or ``"assign_sub"``. Works in a replica context
    (through a merge call), in the cross-replica context and without a strategy.
    """
    if not variables:
        return
    update = _UPDATES[op]
    tf_vars = [_tf_variable(v) for v in variables]

    def merge_fn(distribution, values):
        for var, value in zip(tf_vars, values):
            distribution.extended.update(var, update, args=(value,), group=False)

    strategy = tf.distribute.get_strategy()
    if tf.distribute.in_cross_replica_context():
        merge_fn(strategy, list(values))
    else:
        tf.__internal__.distribute.interim.maybe_merge_call(merge_fn, strategy, list(values))


def _assign(var, value):
    return var.assign(tf.cast(value, var.dtype))


def _assign_add(var, value):
    return var.assign_add(tf.cast(value, var.dtype))


def _assign_sub(var, value):
    return var.assign_sub(tf.cast(value, var.dtype))


_UPDATES = {"assign": _assign, "assign_add": _assign_add, "assign_sub": _assign_sub}


def cond_in_sync(pred: TensorLike, true_fn: Callable, false_fn: Callable, args: tuple = ()) -> None:
    """``tf.cond(pred, true_fn(*args), false_fn(*args))`` for branches that update variables.

    ``pred`` and ``args`` must have the same value on every replica. The branches return
    nothing; they run in a replica context and may call :func:`sync_assign` or an
    optimizer's ``apply``. Tensors a branch needs must come through ``args``, not closures.
    """
    context = tf.distribute.get_replica_context()
    if tf.__internal__.distribute.strategy_supports_no_merge_call() or context is None:
        tf.cond(pred, lambda: _no_output(true_fn, args), lambda: _no_output(false_fn, args))
        return

    def merge_fn(distribution, pred, *args):
        pred = distribution.experimental_local_results(pred)[0]

        def branch(fn):
            return lambda: distribution.extended.call_for_each_replica(fn, args=args)

        tf.cond(pred, branch(true_fn), branch(false_fn))

    context.merge_call(merge_fn, args=(pred, *args))


def _no_output(fn, args):
    fn(*args)


def disable_all_reduce(optimizer: keras.optimizers.Optimizer) -> None:
    """Make a Keras optimizer use its gradients as given, without summing them over replicas.

    Keras' TensorFlow optimizer sums the gradients inside ``apply`` (in
    ``_all_reduce_sum_gradients``). An optimizer wrapped by a keras-gen wrapper receives
    gradients that the outermost wrapper has already summed.
    """
    # The instance attribute shadows the method; set without Keras' attribute tracking.
    object.__setattr__(optimizer, "_all_reduce_sum_gradients", _already_reduced)


def _already_reduced(grads_and_vars):
    return list(grads_and_vars)


def current_strategy() -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy in scope (the default strategy outside any scope)."""
    return tf.distribute.get_strategy()


def swap_variables(variables: Sequence, others: Sequence) -> None:
    """Swap the values of two lists of (possibly mirrored) variables, from eager code."""
    for var, other in zip(variables, others):
        var, other = _tf_variable(var), _tf_variable(other)
        saved = tf.identity(var.read_value())
        sync_assign([var], [other.read_value()])
        sync_assign([other], [saved])


def stateless_normal_seeded(
    shape: TensorLike, seed: TensorLike, dtype: str = "float32"
) -> tf.Tensor:
    """Standard normal noise from an explicit ``seed`` (two integers or an int tensor pair).

    Unlike :func:`stateless_normal`, the replica id is NOT folded in: every replica draws
    the same noise (what a transform of already-summed gradients needs).
    """
    seed = tf.cast(tf.stack(seed), tf.int64) if isinstance(seed, (tuple, list)) else seed
    return tf.random.stateless_normal(shape, seed=seed, dtype=dtype)


def snapshot(value: Any) -> tf.Tensor:
    """The current value of a variable (or tensor) as a tensor that later assignments keep.

    ``keras.ops.convert_to_tensor`` returns a Keras variable itself, which reads its NEW
    value after an assignment in eager mode.
    """
    return tf.identity(tf.convert_to_tensor(_tf_variable(value)))


# -- input checks inside the train and test steps ----------------------------------------------

_CHECK_MARK = "keras-gen input check: "
_CHECK_END = "(end of keras-gen input check)"


def checked(value: TensorLike, condition: TensorLike, message: str, data: Sequence = ()):
    """``value``, once the scalar ``condition`` holds; a ``ValueError`` naming the input if not.

    ``message`` says what was expected; ``data`` (strings and small tensors, e.g. the minimum
    and maximum seen) follow it. Eagerly the error is raised at once; in a traced step the
    assertion runs before anything that uses the returned ``value``, and :func:`input_errors`
    turns the op's ``InvalidArgumentError`` back into the ``ValueError``.

    >>> checked(tf.constant([1, 2]), tf.constant(False), "labels must be < 2; got max", [2])
    Traceback (most recent call last):
    ...
    ValueError: labels must be < 2; got max 2
    """
    if tf.executing_eagerly():
        if not bool(condition):
            parts = [message] + [_format(d) for d in data]
            raise ValueError(" ".join(parts))
        return value
    assertion = tf.debugging.Assert(
        condition, [_CHECK_MARK + message, *data, _CHECK_END], summarize=8
    )
    with tf.control_dependencies([assertion]):
        return tf.identity(value)


def _format(value) -> str:
    value = value.numpy() if hasattr(value, "numpy") else value
    return value.decode() if isinstance(value, bytes) else str(value)


@contextlib.contextmanager
def input_errors() -> Iterator[None]:
    """Re-raise a failed :func:`checked` assertion of a traced step as its ``ValueError``.

    TensorFlow reports it as a multi-line ``InvalidArgumentError`` naming graph nodes (also
    under ``tf.distribute`` and with ``steps_per_execution > 1``); other errors pass as they are.
    """
    try:
        yield
    except tf.errors.InvalidArgumentError as err:
        match = re.search(
            re.escape(_CHECK_MARK) + r"(.*?)\] \[" + re.escape(_CHECK_END), err.message, re.S
        )
        if match is None:
            raise
        raise ValueError(match.group(1).replace("] [", " ")) from None
