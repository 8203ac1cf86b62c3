"""Learning-rate schedules: piecewise linear (bert4keras style) and linear warm-up.

Schedules are evaluated by the base optimizer at its ``iterations``, which inside the
keras-gen wrappers counts real updates (GradientAccumulation's micro-steps do not count).
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
from keras import ops

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def as_float(value, message: str) -> float:
    """``float(value)``, or a ``TypeError`` with ``message`` (a config value that is no number).

    >>> as_float("0.5", "rate must be a number")
    0.5
    """
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(message) from err


def _as_schedule(value):
    if isinstance(value, dict):
        return keras.saving.deserialize_keras_object(value)
    return value


@keras.saving.register_keras_serializable(package="keras_gen")
class PiecewiseLinear(LearningRateSchedule):
    """``learning_rate * f(step)``, ``f`` linear between the points of ``{step: multiplier}``.

    As in bert4keras: a point ``(0, 0.0)`` is added when the first step is not 0, and
    after the last point the last multiplier holds.

    Args:
        schedule: the points, a non-empty mapping ``{step: multiplier}`` (or a list of
            ``[step, multiplier]`` pairs, as in a saved config) with distinct int steps
            >= 0; the order does not matter.
        learning_rate: the rate the multipliers scale; default 1.0 (the schedule then
            gives the multiplier itself).
        name: optional name of the schedule (kept in its config).

    Example:

    >>> s = PiecewiseLinear({100: 1.0, 200: 0.1}, learning_rate=1e-3)
    >>> [round(float(s(t)), 6) for t in (0, 50, 100, 150, 300)]
    [0.0, 0.0005, 0.001, 0.00055, 0.0001]
    """

    def __init__(self, schedule: Mapping | list, learning_rate: float = 1.0, name=None):
        items = schedule.items() if isinstance(schedule, Mapping) else schedule
        try:
            points = sorted((int(k), float(v)) for k, v in items)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"PiecewiseLinear: schedule must map int steps to numbers; got {schedule!r}"
            ) from err
        if not points:
            raise ValueError("PiecewiseLinear: schedule is empty; expected {step: multiplier}")
        steps = [s for s, _ in points]
        if steps[0] < 0 or len(set(steps)) != len(steps):
            raise ValueError(
                f"PiecewiseLinear: steps must be distinct and >= 0; got {sorted(steps)}"
            )
        if points[0][0] != 0:
            points = [(0, 0.0), *points]
        self.points = points
        self.learning_rate = float(learning_rate)
        self.name = name

    def __call__(self, step):
        t = ops.cast(step, "float32")
        value = ops.convert_to_tensor(self.points[0][1], "float32")
        for (s0, v0), (s1, v1) in zip(self.points[:-1], self.points[1:]):
            frac = ops.clip((t - s0) / float(s1 - s0), 0.0, 1.0)
            # Past s0 the segment takes over; the clip holds its end value beyond s1.
            value = ops.where(t >= s0, v0 + frac * (v1 - v0), value)
        return self.learning_rate * value

    def get_config(self):
        return {
            "schedule": [[s, v] for s, v in self.points],
            "learning_rate": self.learning_rate,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="keras_gen")
class Warmup(LearningRateSchedule):
    """Ramp any schedule (or constant) up linearly over the first ``warmup_steps`` updates.

    ``lr(step) = after(step) * min(1, (step + 1) / warmup_steps)``: the first update
    already moves (``1 / warmup_steps`` of the rate), update ``warmup_steps`` has the
    full rate. ``after`` is evaluated at the same step (not shifted).

    Args:
        after: the rate to ramp up to: a number, a ``LearningRateSchedule`` (e.g. a
            :class:`PiecewiseLinear`), or a serialized schedule dict (as in a saved config).
        warmup_steps: length of the ramp in real updates, an int >= 1.
        name: optional name of the schedule (kept in its config).

    Example:

    >>> s = Warmup(1e-3, warmup_steps=4)
    >>> [round(float(s(t)), 6) for t in (0, 1, 3, 10)]
    [0.00025, 0.0005, 0.001, 0.001]
    """

    def __init__(self, after, warmup_steps: int, name=None):
        after = _as_schedule(after)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 1:
            raise ValueError(f"Warmup: warmup_steps must be an int >= 1; got {warmup_steps!r}")
        if not isinstance(after, LearningRateSchedule):
            message = f"Warmup: after must be a number or a LearningRateSchedule; got {after!r}"
            after = as_float(after, message)
        self.after = after
        self.warmup_steps = warmup_steps
        self.name = name

    def __call__(self, step):
        t = ops.cast(step, "float32")
        ramp = ops.minimum(1.0, (t + 1.0) / float(self.warmup_steps))
        base = self.after(step) if callable(self.after) else self.after
        return ops.cast(base, "float32") * ramp

    def get_config(self):
        after = self.after
        if isinstance(after, LearningRateSchedule):
            after = keras.saving.serialize_keras_object(after)
        return {"after": after, "warmup_steps": self.warmup_steps, "name": self.name}
