"""``model.optimizer`` of a two-player model: one optimizer per player, saved and restored."""

from __future__ import annotations

import weakref

import keras


@keras.saving.register_keras_serializable(package="keras_gen")
class PlayerOptimizers(keras.optimizers.Optimizer):
    """``model.optimizer`` of a two-player model: the generator's and the discriminator's.

    Keras (``fit``, ``load_model``, ``BackupAndRestore``) builds ``model.optimizer`` on all
    trainable variables before it restores a file; this optimizer builds each player's
    optimizer on that player's variables, so both are created and restored (Keras'
    ``BackupAndRestore`` alone would skip a second optimizer). Its ``iterations`` counts
    train steps. It is not applied itself: the model applies each player's optimizer.

    Example:

    >>> opt = PlayerOptimizers(keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-4))
    >>> opt.generator.learning_rate.numpy().round(6)
    np.float32(0.0002)
    """

    def __init__(self, generator, discriminator, *, name: str = "player_optimizers", **kwargs):
        kwargs.pop("learning_rate", None)
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.generator = keras.optimizers.get(generator)
        self.discriminator = keras.optimizers.get(discriminator)
        self._model_ref = None

    def attach(self, model: keras.Model) -> None:
        """Tell the optimizer whose players' variables it builds on."""
        object.__setattr__(self, "_model_ref", weakref.ref(model))

    def build(self, variables):
        if self.built:
            return
        model = self._model_ref() if self._model_ref is not None else None
        if model is None:
            raise ValueError("PlayerOptimizers.build: compile an AdversarialModel with it first")
        if not self.generator.built:
            self.generator.build(model.generator_variables)
        if not self.discriminator.built:
            self.discriminator.build(model.discriminator_variables)
        super().build(variables)

    @property
    def variables(self):
        return self._variables[:] + list(self.generator.variables) + self.discriminator.variables

    def save_own_variables(self, store):
        # Keras' saving visits `generator` and `discriminator` by itself.
        for i, variable in enumerate(self._variables):
            store[str(i)] = keras.ops.convert_to_numpy(variable)

    def load_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def apply(self, grads, trainable_variables=None):
        raise NotImplementedError(
            "PlayerOptimizers is applied per player: use .generator and .discriminator"
        )

    def finalize_variable_values(self, var_list):
        model = self._model_ref() if self._model_ref is not None else None
        if model is not None:
            self.generator.finalize_variable_values(model.generator_variables)
            self.discriminator.finalize_variable_values(model.discriminator_variables)

    def get_config(self):
        return {
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        players = {
            key: keras.saving.deserialize_keras_object(config.pop(key), custom_objects)
            for key in ("generator", "discriminator")
        }
        return cls(**players, **config)


def player_optimizers(g_optimizer=None, d_optimizer=None, loss_scaling: bool = False):
    """A :class:`PlayerOptimizers` from each player's optimizer (a name, config or object).

    A player without one gets Adam(2e-4, beta_1=0.5) (Radford et al. 2016). With
    ``loss_scaling`` (``mixed_float16``) each player gets its own
    ``LossScaleOptimizer``: its own dynamic scale for its own loss.

    >>> opt = player_optimizers(d_optimizer="sgd")
    >>> type(opt.generator).__name__, type(opt.discriminator).__name__
    ('Adam', 'SGD')
    """
    players = [
        keras.optimizers.get(o)
        if o is not None
        else keras.optimizers.Adam(2e-4, beta_1=0.5, name=f"{who}_adam")
        for o, who in ((g_optimizer, "g"), (d_optimizer, "d"))
    ]
    if loss_scaling:
        players = [
            p
            if isinstance(p, keras.optimizers.LossScaleOptimizer)
            else keras.optimizers.LossScaleOptimizer(p)
            for p in players
        ]
    return PlayerOptimizers(*players)


def averaging_optimizer(optimizer):
    """The ``keras_gen.optimizers.EMA`` in a generator's optimizer chain, or a clear error.

    A ``LossScaleOptimizer`` (``mixed_float16``) around it is looked through.

    >>> from keras_gen.optimizers import EMA
    >>> type(averaging_optimizer(EMA(keras.optimizers.Adam()))).__name__
    'EMA'
    """
    opt = optimizer
    if isinstance(opt, keras.optimizers.LossScaleOptimizer):
        opt = opt.inner_optimizer
    if not hasattr(opt, "averaged_weights") and not hasattr(opt, "chain"):
        raise ValueError(
            "ema_generator() needs keras_gen.optimizers.EMA around the generator's "
            f"optimizer; g_optimizer is {type(opt).__name__}"
        )
    ema = next((o for o in opt.chain() if hasattr(o, "averaged_weights")), None)
    if ema is None:
        raise ValueError("ema_generator(): no keras_gen.optimizers.EMA in g_optimizer")
    return ema
