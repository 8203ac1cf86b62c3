"""Argument checks shared by the zoo's constructors and sampling methods: one clear error each.

>>> positive_int(3, "latent_dim")
3
>>> positive_int(2.5, "latent_dim")
Traceback (most recent call last):
...
ValueError: latent_dim must be a positive integer; got 2.5
"""

from __future__ import annotations


def positive_int(value, name: str) -> int:
    """``value`` as an int if it is a positive integer (``True`` and 2.5 are not)."""
    try:
        ok = not isinstance(value, bool) and int(value) == value and int(value) >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)
