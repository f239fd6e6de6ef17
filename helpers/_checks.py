"""Input checks shared by the public functions: one parser for each kind of argument."""

from __future__ import annotations

import numpy as np


def as_pair(value, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """Parse "an int, or a pair (height, width) of ints", each at least `minimum`.

    The one reading of every ``size``, ``tile_size`` and ``patch_size`` argument.
    Raises ValueError naming `name`, what was expected and what was received.

    >>> as_pair(128, "tile_size"), as_pair((64, 96), "size")
    ((128, 128), (64, 96))
    """
    try:
        pair = (value, value) if np.isscalar(value) else tuple(value)
    except TypeError:  # None, or another object that is neither a number nor a sequence
        pair = ()
    if (len(pair) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in pair)
            or min(pair) < minimum):
        which = "a positive int" if minimum == 1 else f"an int of at least {minimum}"
        raise ValueError(f"{name} must be {which} or a pair (height, width) of them, "
                         f"got {value!r}.")
    return int(pair[0]), int(pair[1])


def as_side(value, name: str, *, minimum: int = 1) -> int:
    """Parse one side: an int of at least `minimum` (the 1-D twin of `as_pair`).

    >>> as_side(128, "tile_size")
    128
    """
    if not np.isscalar(value):
        raise ValueError(f"{name} must be an int here (one side), got {value!r}.")
    return as_pair(value, name, minimum=minimum)[0]
