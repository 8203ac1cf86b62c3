"""Helpers of the text benchmarks: a wall-time training budget and result formatting."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

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


class StopAfter(keras.callbacks.Callback):
    """Stop at the first epoch end after ``seconds`` of this process (None: never)."""

    def __init__(self, seconds: float | None):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds is not None and time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


class PlateauStop(keras.callbacks.Callback):
    """Stop when ``best`` (a :class:`BestWeights` earlier in the callbacks) has not improved
    for ``patience`` epochs (0: never); it reads the best epoch that ``best`` keeps on disk,
    so a resumed run counts the epochs of the earlier processes too."""

    def __init__(self, best: BestWeights, patience: int = 0):
        super().__init__()
        self.best, self.patience = best, patience

    def plateaued(self, last_epoch: int) -> bool:
        return self.patience > 0 and last_epoch - self.best.best_epoch >= self.patience

    def on_epoch_end(self, epoch, logs=None):
        if self.plateaued(epoch):
            self.model.stop_training = True


class EpochSeconds(keras.callbacks.Callback):
    """Add each epoch's wall time (validation included) to its logs as ``seconds``."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self.start


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
    """Keep the weights of the epoch with the lowest ``monitor`` (restore with ``restore``).

    With ``directory``, they go to ``directory/best.weights.h5`` with the best value in
    ``best.json``, so a run resumed by another process keeps comparing against them. With
    ``ema`` (a ``keras_gen.optimizers.EMA``), it keeps the EMA's averaged weights.
    """

    def __init__(self, monitor: str = "val_loss", directory=None, ema=None):
        super().__init__()
        self.monitor = monitor
        self.ema = ema
        self.best = np.inf
        self.best_epoch = -1
        self.weights = None
        self.directory = None if directory is None else Path(directory)
        if self.directory is not None and (self.directory / "best.json").exists():
            state = json.loads((self.directory / "best.json").read_text())
            self.best, self.best_epoch = state["best"], state["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best, self.best_epoch = float(value), epoch
            with self.ema.averaged_weights() if self.ema is not None else contextlib.nullcontext():
                self._keep()

    def _keep(self):
        if self.directory is None:
            self.weights = self.model.get_weights()
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.model.save_weights(self.directory / "best.weights.h5")
            state = {"best": self.best, "epoch": self.best_epoch}
            (self.directory / "best.json").write_text(json.dumps(state))

    def restore(self, model):
        if self.directory is not None and (self.directory / "best.weights.h5").exists():
            model.load_weights(self.directory / "best.weights.h5")
        elif self.weights is not None:
            model.set_weights(self.weights)
