"""KL annealing: a schedule of the KL weight ``beta`` and the callback that installs it.

The schedule is a function of the optimizer step computed in-graph, so the
weight is right on every replica, after a resume (the step is part of the
optimizer state) and in a model reloaded from a ``.keras`` file (the
schedule is part of the model's config).
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_gen.zoo.capabilities import KLWeighted

SHAPES = ("linear", "cosine", "sigmoid")
# The arguments KLWarmup and KLAnnealing share, which are also their whole configs.
SETTINGS = ("warmup_steps", "start", "end", "delay_steps", "shape", "cycles", "cycle_steps")
# Steepness of the logistic ramp over the unit interval (Bowman et al. 2016 use a logistic).
_SIGMOID_STEEPNESS = 10.0


def _non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 0:
        raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
    return int(value)


@keras.saving.register_keras_serializable(package="keras_gen")
class KLWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """The KL weight as a function of the optimizer step: a warm-up ramp, optionally cyclical.

    ``start`` for the first ``delay_steps`` steps, then a ramp of
    ``warmup_steps`` steps from ``start`` to ``end`` (``shape`` "linear",
    "cosine" (half a cosine) or "sigmoid" (a logistic, rescaled to hit both
    ends)), then ``end``. With ``cycles > 1`` the ramp-and-hold repeats
    (cyclical annealing, Fu et al. 2019): each cycle lasts ``cycle_steps``
    steps (default ``2 * warmup_steps``: half ramp, half hold, the paper's
    R = 0.5); after the last cycle the weight stays at ``end``.

    It is a ``LearningRateSchedule`` so that it serializes like one and can be
    a :class:`~keras_gen.zoo.VAE`'s ``beta``; it works on a tensor step
    in-graph.

    The arguments below are shared with :class:`KLAnnealing`.

    Args:
        warmup_steps: int >= 0, length of the ramp in optimizer steps; 0 jumps from
            ``start`` to ``end`` after the delay.
        start: the weight before and at the start of the ramp, a finite number >= 0;
            default 0.0.
        end: the weight after the ramp, a finite number >= 0; default 1.0.
        delay_steps: int >= 0, steps held at ``start`` before the first ramp; default 0.
        shape: the ramp's shape, "linear" (default), "cosine" or "sigmoid".
        cycles: int >= 1, how many times the ramp-and-hold runs; default 1 (monotonic).
        cycle_steps: optional int, the length of one cycle, >= ``warmup_steps`` and
            >= 1; None (default): ``2 * warmup_steps`` with ``cycles > 1`` (which then
            needs ``warmup_steps > 0``), ``warmup_steps`` otherwise.

    Example:

    >>> schedule = KLWarmup(warmup_steps=4, start=0.0, end=1.0)
    >>> [round(float(schedule(s)), 2) for s in range(6)]
    [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    >>> cyclical = KLWarmup(warmup_steps=2, cycles=2)  # cycle length 4
    >>> [round(float(cyclical(s)), 2) for s in range(10)]
    [0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0, 1.0, 1.0, 1.0]
    """

    def __init__(
        self,
        warmup_steps: int,
        start: float = 0.0,
        end: float = 1.0,
        delay_steps: int = 0,
        shape: str = "linear",
        cycles: int = 1,
        cycle_steps: int | None = None,
    ):
        super().__init__()
        self.warmup_steps = _non_negative_int(warmup_steps, "warmup_steps")
        self.delay_steps = _non_negative_int(delay_steps, "delay_steps")
        for name, value in (("start", start), ("end", end)):
            if not math.isfinite(float(value)) or float(value) < 0:
                raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
        self.start = float(start)
        self.end = float(end)
        if shape not in SHAPES:
            raise ValueError(f"shape must be one of {SHAPES}; got {shape!r}")
        self.shape = shape
        if isinstance(cycles, bool) or int(cycles) != cycles or int(cycles) < 1:
            raise ValueError(f"cycles must be an integer >= 1 (1 is monotonic); got {cycles!r}")
        self.cycles = int(cycles)
        if cycle_steps is None:
            if self.cycles > 1 and self.warmup_steps == 0:
                raise ValueError("cycles > 1 needs warmup_steps > 0 or an explicit cycle_steps")
        else:
            cycle_steps = _non_negative_int(cycle_steps, "cycle_steps")
            if cycle_steps < max(self.warmup_steps, 1):
                raise ValueError(
                    f"cycle_steps must be >= warmup_steps ({self.warmup_steps}) and >= 1; "
                    f"got {cycle_steps!r}"
                )
        self.cycle_steps = cycle_steps

    @property
    def cycle_length(self) -> int:
        """Steps per cycle (ramp plus hold)."""
        if self.cycle_steps is not None:
            return self.cycle_steps
        return max(2 * self.warmup_steps, 1) if self.cycles > 1 else max(self.warmup_steps, 1)

    def _ramp(self, progress):
        """The shape of the ramp on [0, 1], with f(0) = 0 and f(1) = 1."""
        if self.shape == "linear":
            return progress
        if self.shape == "cosine":
            return 0.5 * (1.0 - ops.cos(math.pi * progress))
        k = _SIGMOID_STEEPNESS
        low, high = 1.0 / (1.0 + math.exp(k / 2)), 1.0 / (1.0 + math.exp(-k / 2))
        return (ops.sigmoid(k * (progress - 0.5)) - low) / (high - low)

    def __call__(self, step):
        # Integer arithmetic for the cycle position: exact at any step count.
        step = ops.cast(step, "int64") - self.delay_steps
        length = self.cycle_length
        cycle = ops.floor_divide(step, length)
        position = ops.cast(step - cycle * length, "float32")
        if self.warmup_steps == 0:
            progress = ops.ones_like(position)
        else:
            progress = ops.clip(position / float(self.warmup_steps), 0.0, 1.0)
        progress = ops.where(cycle >= self.cycles, 1.0, progress)
        progress = ops.where(step < 0, 0.0, progress)
        # Pin the ends so that start and end are hit exactly, whatever the shape.
        f = ops.where(progress >= 1.0, 1.0, ops.where(progress <= 0.0, 0.0, self._ramp(progress)))
        return ops.cast(self.start * (1.0 - f) + self.end * f, "float32")

    def get_config(self) -> dict:
        return {name: getattr(self, name) for name in SETTINGS}


@keras.saving.register_keras_serializable(package="keras_gen")
class KLAnnealing(keras.callbacks.Callback):
    """Anneal a model's KL weight ``beta`` with a :class:`KLWarmup` schedule.

    At the start of ``fit`` it sets ``model.beta`` to
    ``KLWarmup(warmup_steps, start, end, ...)`` and retraces the train and
    test functions so that the new weight is used; after each epoch it adds
    the current weight to the logs as ``"beta"``. ``end`` defaults to the
    model's own (float) beta. Steps count from the optimizer's first step
    (``model.optimizer.iterations``), so a resumed run continues the
    schedule where it stopped; to warm up an already-trained model from now
    on, pass ``delay_steps=int(model.optimizer.iterations)``. The model
    keeps the schedule afterwards, and saves it in its config.

    Args:
        end: the weight after the ramp, a finite number >= 0; None (default): the
            model's own float ``beta`` when ``fit`` starts (or the ``end`` of a
            :class:`KLWarmup` it already holds).

    Other arguments: see :class:`KLWarmup` (validated when the callback is created).

    Example:

    >>> import numpy as np
    >>> from keras_gen.zoo import VAE
    >>> vae = VAE((8, 8, 1), latent_dim=2, hidden_units=(16,))
    >>> vae.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).random((16, 8, 8, 1), dtype="float32")
    >>> history = vae.fit(x, epochs=2, batch_size=8, verbose=0,
    ...                   callbacks=[KLAnnealing(warmup_steps=4)])
    >>> history.history["beta"]
    [0.5, 1.0]
    """

    def __init__(
        self,
        warmup_steps: int,
        start: float = 0.0,
        end: float | None = None,
        delay_steps: int = 0,
        shape: str = "linear",
        cycles: int = 1,
        cycle_steps: int | None = None,
    ):
        super().__init__()
        # Validate now (with a stand-in end) rather than when fit starts.
        KLWarmup(
            warmup_steps,
            start,
            1.0 if end is None else end,
            delay_steps,
            shape,
            cycles,
            cycle_steps,
        )
        self.warmup_steps = int(warmup_steps)
        self.start = float(start)
        self.end = None if end is None else float(end)
        self.delay_steps = int(delay_steps)
        self.shape = shape
        self.cycles = int(cycles)
        self.cycle_steps = cycle_steps
        self.schedule: KLWarmup | None = None

    def _resolve_end(self, model) -> float:
        if self.end is not None:
            return self.end
        beta = model.beta
        if isinstance(beta, KLWarmup):  # e.g. a reloaded, already annealed model
            return beta.end
        if callable(beta):
            raise ValueError(
                f"KLAnnealing(end=None) takes the end value from the model's float beta, but "
                f"{type(model).__name__}.beta is already a schedule ({beta!r}); pass end="
            )
        return float(beta)

    def on_train_begin(self, logs=None):
        model = self.model
        if not isinstance(model, KLWeighted):
            raise TypeError(
                f"KLAnnealing needs a model with a KL weight `beta` (a "
                f"keras_gen.zoo.capabilities.KLWeighted, e.g. keras_gen.zoo.VAE); "
                f"{type(model).__name__} has none"
            )
        self.schedule = KLWarmup(
            self.warmup_steps,
            start=self.start,
            end=self._resolve_end(model),
            delay_steps=self.delay_steps,
            shape=self.shape,
            cycles=self.cycles,
            cycle_steps=self.cycle_steps,
        )
        model.beta = self.schedule
        # The traced steps captured the old beta (a float becomes a graph constant):
        # fit reads model.train_function after on_train_begin, and evaluate calls
        # make_test_function() without force, so both must be rebuilt here.
        model.make_train_function(force=True)
        model.make_test_function(force=True)

    def current_beta(self) -> float:
        """The model's KL weight at its optimizer's current step."""
        beta = self.model.beta
        if callable(beta):
            return float(ops.convert_to_numpy(beta(self.model.optimizer.iterations)))
        return float(beta)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["beta"] = self.current_beta()

    def get_config(self) -> dict:
        return {name: getattr(self, name) for name in SETTINGS}

    @classmethod
    def from_config(cls, config: dict) -> KLAnnealing:
        return cls(**config)
