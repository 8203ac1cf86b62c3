"""A test harness for zoo models, like keras' ``run_layer_test`` and keras-hub's
``run_backbone_test``: one call checks what every model of the zoo must do.

:func:`run_model_test` builds a model from its constructor arguments and, on one small
batch, checks:

a. the config round trip: ``cls.from_config(model.get_config())`` gives the same config
   and the same number and shapes of weights;
b. the ``.keras`` round trip and EXACT resume: after one train step the model is saved
   and loaded; the loaded model has the same config, weights and optimizer state
   (every optimizer: a two-player model has one per player) and the same ``outputs``,
   and one more train step on each gives the same logs, weights and optimizer state
   (so the noise generators' states came back too);
c. distribution: one train step under a 2-replica ``MirroredStrategy`` equals the
   one-device step from the same weights: logs, weights and optimizer state;
d. precision: under each of ``precisions`` (``mixed_bfloat16``, and ``mixed_float16``,
   which must come with loss scaling) the layers follow the policy, a step moves the
   weights and leaves no NaN or inf, the weights stay float32, the loss terms are
   float32, and ``outputs`` still work.

Example (the 2-replica check needs a strategy with two replicas, e.g.
``keras_gen.training.make_strategy("mirrored")`` on two devices; without one it is
skipped):

>>> import numpy as np
>>> from keras_gen import zoo
>>> x = np.random.default_rng(0).random((8, 6), dtype="float32")
>>> recipe = {"optimizer": {"class": "Adam", "learning_rate": 1e-3}}
>>> run_model_test(zoo.LinearAutoencoder, {"image_shape": (6,), "latent_dim": 2}, (x,),
...                recipe, outputs=lambda m: m.encode(x[:2]), precisions=["mixed_bfloat16"])
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np

from keras_gen import presets
from keras_gen.training import AdversarialModel, GenerativeModel, PlayerOptimizers
from keras_gen.training.replica_noise import replica_independent_noise

__all__ = ["compile_with", "replica_independent_noise", "run_model_test"]

# compile arguments, a preset name, a Preset, or a function that compiles a model
Recipe = Mapping[str, Any] | str | presets.Preset | Callable[[keras.Model], None] | None

_OPTIMIZER_KEYS = ("optimizer", "g_optimizer", "d_optimizer")
_MAX_SKIPPED_STEPS = 20


def run_model_test(
    cls: type,
    init_kwargs: Mapping[str, Any],
    data: Sequence,
    recipe: Recipe = None,
    *,
    outputs: Callable[[keras.Model], Any] | None = None,
    strategy: Any = None,
    precisions: Sequence[str] = ("mixed_bfloat16", "mixed_float16"),
    replica_dependent: Sequence[str] = (),
    resume_tolerance: float = 1e-6,
    mirrored_tolerance: float = 1e-3,
) -> None:
    """Check config and ``.keras`` round trips, exact resume, 2-replica parity and precision.

    Every check trains on ``data`` as ONE batch (``fit(*data, batch_size=len(data[0]))``).
    Failures are ``AssertionError``s that name the check and the variable.

    Args:
        cls: a ``GenerativeModel`` or ``AdversarialModel`` subclass (a zoo model).
        init_kwargs: constructor arguments; keep the model tiny (a few seconds a model).
        data: the arguments of ``fit``: ``(x,)`` or ``(x, y)``, NumPy arrays. For the
            distribution check its length is split over the replicas: an odd length
            checks uneven replica batches; a model that slices its batch (``d_steps``)
            wants a length divisible by ``2 * d_steps``.
        recipe: how to compile each model the harness builds: ``compile`` arguments
            with optimizers as names or specs (``{"class": "Adam", "learning_rate":
            1e-3}``, see ``keras_gen.presets.build_optimizer``; not optimizer objects,
            since several models are compiled); a preset name or
            ``keras_gen.presets.Preset`` (its recipe); or a function ``compile(model)``.
            None: Adam(1e-3), or the two-player defaults for an ``AdversarialModel``.
        outputs: ``outputs(model)``, deterministic outputs of the public API (e.g.
            ``lambda m: m.generate(4, seed=0)``): the loaded model must give the same;
            under each precision its float outputs must be finite float32 (or 64).
        strategy: a 2-replica ``tf.distribute`` strategy (in the tests, the
            ``mirrored`` fixture); None skips check c.
        precisions: the policies of check d; ``()`` skips it.
        replica_dependent: paths of variables that check c does not compare because
            each replica fills them from its own examples BY DESIGN (a vector
            quantizer's buffer of sampled encoder outputs); the replicas still agree.
        resume_tolerance, mirrored_tolerance: the largest difference allowed, relative
            to the largest magnitude of each compared array. Replicas add in another
            order, which Adam's first update ``g / (|g| + eps)`` magnifies where ``|g|``
            is near eps; the bugs that check c looks for differ by O(1).

    Noise: replicas draw different noise by design (every draw of the zoo goes through
    ``keras_gen.training.backend.stateless_normal`` / ``stateless_uniform``, which fold
    the replica id into the seed), so 1 and 2 replicas never see the same noise. Checks
    b and c run inside :func:`replica_independent_noise`: each draw is one sample for the
    whole global batch, of which each replica takes the rows of its examples. Every
    example gets the noise it gets on one device (and other examples other noise), and
    nothing else changes: each replica still divides its per-example terms by the
    GLOBAL batch size, the optimizers still sum the replicas' gradients once, and
    synchronized batch normalization still needs the global batch's statistics (a
    replica's half holds other examples). So a per-replica mean (twice the gradient on 2
    replicas), a missing or doubled all-reduce or unsynchronized statistics change the
    weights or the optimizer state (Adam's moments show a gradient scaled by 2 even where
    its first update, about ``lr * sign(g)``, hides it). The seed generators advance as
    usual, so check b still sees whether their state was saved. That replicas DO draw
    different noise is tested separately; check d uses the real draws.
    """
    data = tuple(data)
    if not data:
        raise ValueError("run_model_test: data must hold at least x, e.g. (x,) or (x, y)")
    name = cls.__name__
    _check_config_round_trip(cls, init_kwargs, name)
    with replica_independent_noise():
        model = cls(**init_kwargs)
        initial = [keras.ops.convert_to_numpy(v) for v in model.variables]
        compile_with(model, recipe)
        logs = _train_one_step(model, data)
        if strategy is not None:
            multi = (cls, init_kwargs, data, recipe, strategy)
            _check_mirrored(multi, (initial, model, logs), replica_dependent, mirrored_tolerance)
        _check_resume(model, data, outputs, resume_tolerance)
    for policy in precisions:
        _check_precision(cls, init_kwargs, data, recipe, outputs, policy)


# -- compiling ------------------------------------------------------------------------


def compile_with(model: keras.Model, recipe: Recipe = None) -> None:
    """Compile ``model`` with a fresh copy of ``recipe`` (see :func:`run_model_test`).

    >>> from keras_gen import zoo
    >>> model = zoo.LinearAutoencoder((4,), latent_dim=2)
    >>> compile_with(model, {"optimizer": {"class": "SGD", "learning_rate": 0.1}})
    >>> type(model.optimizer).__name__
    'SGD'
    """
    if recipe is None:
        recipe = {} if isinstance(model, AdversarialModel) else {"optimizer": "adam"}
    if isinstance(recipe, str):
        recipe = presets.get(recipe)
    if isinstance(recipe, presets.Preset):
        recipe.compile(model)
        return
    if callable(recipe):
        recipe(model)
        return
    kwargs = dict(recipe)
    for key in _OPTIMIZER_KEYS:
        spec = kwargs.get(key)
        if isinstance(spec, keras.optimizers.Optimizer):
            raise TypeError(
                f"recipe[{key!r}] is an optimizer object; the harness compiles several "
                "models, so give a name or a spec ({'class': 'Adam', 'learning_rate': 1e-3})"
            )
        if isinstance(spec, Mapping):
            kwargs[key] = presets.build_optimizer(spec)
    model.compile(**kwargs)


# -- the checks -----------------------------------------------------------------------


def _check_config_round_trip(cls, init_kwargs, name):
    model = cls(**init_kwargs)
    config = model.get_config()
    rebuilt = cls.from_config(config)
    assert type(rebuilt) is cls, f"{name}.from_config built a {type(rebuilt).__name__}"
    assert rebuilt.get_config() == config, (
        f"{name}: from_config(get_config()) gives another config:\n"
        f"{rebuilt.get_config()}\n!=\n{config}"
    )
    shapes = [tuple(w.shape) for w in model.weights]
    rebuilt_shapes = [tuple(w.shape) for w in rebuilt.weights]
    assert shapes, f"{name} has no weights after construction (build it in __init__)"
    assert rebuilt_shapes == shapes, (
        f"{name}: from_config(get_config()) has other weights: {rebuilt_shapes} != {shapes}"
    )


def _train_one_step(model, data):
    """One train step on ``data`` as one batch; its logs (the step's terms)."""
    strategy = model.distribute_strategy
    if not model.optimizer.built:  # eagerly: variables created inside a trace cost seconds
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)
    if strategy.num_replicas_in_sync == 1:  # cheaper than fit
        logs = model.train_on_batch(*data, return_dict=True)
        return {key: float(value) for key, value in logs.items()}
    # train_on_batch would give every replica the whole batch; fit splits it.
    history = model.fit(*data, batch_size=len(data[0]), epochs=1, shuffle=False, verbose=0)
    return {key: values[-1] for key, values in history.history.items()}


def _check_resume(model, data, outputs, tolerance):
    """``model`` has taken one step: save, load, compare, and take one more step on both."""
    cls, name = type(model), type(model).__name__
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    assert type(loaded) is cls, f"{name}: the .keras file loaded as {type(loaded).__name__}"
    assert loaded.get_config() == model.get_config(), f"{name}: the loaded config differs"
    what = f"{name} after .keras save and load"
    # Weights only: Keras' own layers (e.g. an LSTM) own seed generators that they do not
    # save; the next step below shows whether the noise a model draws continues exactly.
    _assert_same_variables(model.weights, loaded.weights, 0.0, what)
    for key, optimizer in _optimizers(model).items():
        assert int(optimizer.iterations) > 0, f"{name}: {key} did not step"
    _assert_same_optimizer_states(model, loaded, 0.0, what)
    if outputs is not None:
        keras.tree.map_structure(
            lambda a, b: np.testing.assert_array_equal(a, b, err_msg=f"{what}: outputs"),
            outputs(model),
            outputs(loaded),
        )
    logs, loaded_logs = _train_one_step(model, data), _train_one_step(loaded, data)
    what = f"{name}: one step after loading vs. one step without saving"
    _assert_close_logs(logs, loaded_logs, tolerance, what)
    _assert_same_variables(model.weights, loaded.weights, tolerance, what)
    _assert_same_optimizer_states(model, loaded, tolerance, what)


def _check_mirrored(multi_run, single_run, skip, tolerance):
    """The 2-replica step from the variables ``initial`` equals the one-device ``single``."""
    cls, init_kwargs, data, recipe, strategy = multi_run
    initial, single, single_logs = single_run
    name = cls.__name__
    if strategy.num_replicas_in_sync != 2:
        raise ValueError(
            f"run_model_test: strategy must have 2 replicas; got {strategy.num_replicas_in_sync}"
        )
    with strategy.scope():
        multi = cls(**init_kwargs)
        for variable, value in zip(multi.variables, initial):  # weights and noise states
            variable.assign(value)
        compile_with(multi, recipe)
    multi_logs = _train_one_step(multi, data)
    trainable = [(v, w) for v, w in zip(single.variables, initial) if v.trainable]
    moved = _moved(*zip(*trainable))
    assert moved > 1e-7, f"{name}: the train step did not change the weights"
    what = f"{name}: a 2-replica step vs. a one-device step"
    _assert_close_logs(single_logs, multi_logs, tolerance, what)
    unknown = set(skip) - {v.path for v in single.weights}
    assert not unknown, f"{name}: replica_dependent names no variable {sorted(unknown)}"
    compared = [(u, v) for u, v in zip(single.weights, multi.weights) if u.path not in skip]
    _assert_same_variables(*zip(*compared), tolerance, what)
    _assert_same_optimizer_states(single, multi, tolerance, what)
    for variable in multi.weights:  # and the replicas hold the same values
        copies = strategy.experimental_local_results(getattr(variable, "value", variable))
        for copy in copies[1:]:
            _assert_close(copies[0], copy, tolerance, f"{name}: replica copies of {variable.path}")


def _check_precision(cls, init_kwargs, data, recipe, outputs, policy):
    name = cls.__name__
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = cls(**init_kwargs)
        compile_with(model, recipe)
        what = f"{name} under {policy}"
        compute_dtype = keras.config.dtype_policy().compute_dtype
        assert any(layer.compute_dtype == compute_dtype for layer in model._flatten_layers()), (
            f"{what}: no layer computes in {compute_dtype}"
        )
        before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
        # Dynamic loss scaling skips the steps whose scaled gradients overflow float16 (it
        # starts at 2**15 and halves): allow for a few of those before the weights move.
        for _ in range(_MAX_SKIPPED_STEPS if policy == "mixed_float16" else 1):
            logs = _train_one_step(model, data)
            if _moved(model.trainable_variables, before) > 0:
                break
        assert _moved(model.trainable_variables, before) > 0, (
            f"{what}: the train steps did not change the weights"
        )
        for key, value in logs.items():
            assert np.isfinite(value), f"{what}: {key} is {value} after a step"
        for variable in model.weights:
            value = keras.ops.convert_to_numpy(variable)
            assert np.isfinite(value).all(), f"{what}: {variable.path} is not finite"
            if "float" in str(variable.dtype):
                assert variable.dtype == "float32", f"{what}: {variable.path} is {variable.dtype}"
        scaled = {
            isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
            for optimizer in _optimizers(model).values()
            if not isinstance(optimizer, PlayerOptimizers)
        }
        assert scaled == {policy == "mixed_float16"}, f"{what}: loss scaling, float16 only"
        for term, value in _loss_terms(model, data).items():
            assert value.dtype == "float32", f"{what}: the term {term} is {value.dtype}"
        if outputs is not None:
            for leaf in keras.tree.flatten(outputs(model)):
                leaf = np.asarray(leaf)
                if leaf.dtype.kind == "f" or leaf.dtype.name == "bfloat16":
                    assert leaf.dtype in (np.float32, np.float64), (
                        f"{what}: outputs are {leaf.dtype}"
                    )
                    assert np.isfinite(leaf).all(), f"{what}: outputs are not finite"
    finally:
        keras.config.set_dtype_policy(previous)


def _loss_terms(model, data) -> dict:
    """The named per-example terms of one training-mode forward pass on ``data``."""
    x, y = keras.tree.map_structure(keras.ops.convert_to_tensor, (data[0], data[-1]))
    y = y if len(data) > 1 else None  # as in a train step: tensors, not NumPy arrays
    if isinstance(model, GenerativeModel):
        return model.compute_terms(x, y, training=True)
    # The two players' terms, as the adversarial core's test step computes them.
    game = model.game(x, y, training=True, for_generator=True)
    d_terms, _ = model._discriminator_terms(game.real, game.fake, y)
    g_terms, _ = model._generator_terms(game, y)
    return {**d_terms, **g_terms}


# -- comparisons --------------------------------------------------------------------------


def _optimizers(model) -> dict:
    """``model``'s optimizers by name: each player's, and the ``PlayerOptimizers`` of both."""
    if isinstance(model, AdversarialModel) and not model.single_loss:
        return {
            "g_optimizer": model.g_optimizer,
            "d_optimizer": model.d_optimizer,
            "optimizer": model.optimizer,
        }
    return {"optimizer": model.optimizer}


def _assert_same_optimizer_states(a, b, tolerance, what):
    for (key, u), v in zip(_optimizers(a).items(), _optimizers(b).values()):
        _assert_same_variables(u.variables, v.variables, tolerance, f"{what}, {key} state")


def _moved(variables, values) -> float:
    """The largest change of ``variables`` from ``values``."""
    return max(
        float(np.max(np.abs(keras.ops.convert_to_numpy(v) - w))) for v, w in zip(variables, values)
    )


def _assert_close(a, b, tolerance, what):
    a, b = keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} and {b.shape}"
    if tolerance == 0.0 or a.dtype.kind not in "fc":
        np.testing.assert_array_equal(a, b, err_msg=what)
        return
    a, b = a.astype("float64"), b.astype("float64")
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    np.testing.assert_allclose(b, a, rtol=0, atol=tolerance * max(scale, 1e-6), err_msg=what)


def _assert_same_variables(a, b, tolerance, what):
    assert len(a) == len(b), f"{what}: {len(a)} and {len(b)} variables"
    for u, v in zip(a, b):
        _assert_close(u, v, tolerance, f"{what}: {getattr(u, 'path', u.name)}")


def _assert_close_logs(a, b, tolerance, what):
    assert set(a) == set(b), f"{what}: logged {sorted(a)} and {sorted(b)}"
    for key in a:
        np.testing.assert_allclose(
            b[key], a[key], rtol=tolerance, atol=tolerance * 1e-2, err_msg=f"{what}: {key}"
        )
