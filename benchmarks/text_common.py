"""Helpers of the text benchmarks: a wall-time training budget and result formatting."""

from __future__ import annotations

import time

import keras
import numpy as np


class TimeBudget(keras.callbacks.Callback):
    """Stop training after ``seconds`` of wall time (checked after every batch)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = float(seconds)
        self.start = None
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


class TimeCosineDecay(keras.callbacks.Callback):
    """Hold the learning rate, then cosine-decay it to ``final`` x over the rest of a time budget.

    A wall-time budget has no known step count, so the schedule runs on elapsed
    time: the rate is the optimizer's initial one until ``start`` of ``budget`` has
    passed, then follows a half cosine down to ``final`` times it at the budget's end.
    """

    def __init__(self, budget: TimeBudget, start: float = 0.5, final: float = 0.05):
        super().__init__()
        self.budget, self.start, self.final = budget, float(start), float(final)
        self.base = None

    def on_train_begin(self, logs=None):
        self.base = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None):
        t = self.budget.elapsed / self.budget.seconds
        u = min(max((t - self.start) / max(1.0 - self.start, 1e-9), 0.0), 1.0)
        scale = self.final + (1.0 - self.final) * 0.5 * (1.0 + np.cos(np.pi * u))
        self.model.optimizer.learning_rate = self.base * scale


def fit_for(model, data, seconds, epochs=1000, callbacks=(), **kwargs):
    """``model.fit(data)`` until ``seconds`` have passed; returns (history, steps, seconds, epochs)."""
    budget = TimeBudget(seconds)
    history = model.fit(
        data,
        epochs=epochs,
        callbacks=[budget, *callbacks],
        verbose=2,
        **kwargs,
    )
    return history, budget.steps, budget.elapsed, len(history.epoch)


def shuffled(rng: np.random.Generator, *arrays):
    order = rng.permutation(len(arrays[0]))
    return [a[order] if isinstance(a, np.ndarray) else [a[i] for i in order] for a in arrays]


class BestWeights(keras.callbacks.Callback):
    """Keep the weights of the epoch with the lowest ``monitor`` (restore with ``restore``)."""

    def __init__(self, monitor: str = "val_loss"):
        super().__init__()
        self.monitor = monitor
        self.best = np.inf
        self.best_epoch = -1
        self.weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best, self.best_epoch = float(value), epoch
            self.weights = self.model.get_weights()

    def restore(self, model):
        if self.weights is not None:
            model.set_weights(self.weights)
