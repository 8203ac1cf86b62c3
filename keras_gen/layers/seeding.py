"""Save the state of a layer's random generators with its weights."""

from __future__ import annotations


class SavesSeedState:
    """Mixin for a layer or model that owns ``keras.random.SeedGenerator`` objects.

    Keras does not write a SeedGenerator's state into a ``.keras`` file, so a
    reloaded model would replay the noise of step 0: training would not
    continue exactly. This mixin stores the states after the layer's own
    variables, and still loads files written without them.

    Example:

    >>> import keras
    >>> class Noisy(SavesSeedState, keras.layers.Layer):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.seed_generator = keras.random.SeedGenerator(0)
    """

    def _own_variable_count(self) -> int:
        return len(self._trainable_variables) + len(self._non_trainable_variables)

    def save_own_variables(self, store):
        super().save_own_variables(store)
        offset = self._own_variable_count()
        for i, generator in enumerate(self._seed_generators):
            store[f"{offset + i}"] = generator.state

    def load_own_variables(self, store):
        offset = self._own_variable_count()
        generators = self._seed_generators
        if generators and len(store.keys()) == offset + len(generators):
            for i, generator in enumerate(generators):
                generator.state.assign(store[f"{offset + i}"])
            store = {f"{i}": store[f"{i}"] for i in range(offset)}
        super().load_own_variables(store)
