"""Argument checks shared by the zoo's constructors and sampling methods: one clear error each.

>>> positive_int(3, "latent_dim")
3
>>> positive_int(2.5, "latent_dim")
Traceback (most recent call last):
...
ValueError: latent_dim must be a positive integer; got 2.5
>>> positive_ints([64, 32.0], "hidden_units")
(64, 32)
>>> positive_ints([64, 0.5], "hidden_units")
Traceback (most recent call last):
...
ValueError: hidden_units must be a sequence of positive integers; got [64, 0.5]
"""

from __future__ import annotations


def positive_int(value, name: str) -> int:
    """``value`` as an int if it is a positive integer (``True`` and 2.5 are not)."""
    if isinstance(value, bool | str) or not _is_integral(value) or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def non_negative_int(value, name: str) -> int:
    """``value`` as an int if it is an integer >= 0 (e.g. ``num_classes=0``: unconditional)."""
    if isinstance(value, bool | str) or not _is_integral(value) or int(value) < 0:
        raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
    return int(value)


def positive_ints(values, name: str) -> tuple[int, ...]:
    """``values`` (a sequence, possibly empty) as a tuple of positive ints: layer sizes."""
    try:
        ok = not isinstance(values, str) and all(
            not isinstance(v, bool | str) and _is_integral(v) and int(v) >= 1 for v in values
        )
    except TypeError:  # not iterable, e.g. hidden_units=64
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a sequence of positive integers; got {values!r}")
    return tuple(int(v) for v in values)


def _is_integral(value) -> bool:
    try:
        return int(value) == value
    except (TypeError, ValueError, OverflowError):
        return False
