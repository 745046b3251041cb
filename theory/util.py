"""Argument checks shared by every package: bad input is reported the same way everywhere.

(Atomic writes and strict JSON live in ``sim/files.py``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np


class UsageError(ValueError):
    """Bad input from a user; the CLI prints its message as one line and exits non-zero."""


def check_range(
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Raise ValueError naming ``name`` and its range if any element of ``value`` is outside it.

    NaN always fails. Works on scalars and arrays (numpy broadcasting inputs).
    """
    arr = np.asarray(value, dtype=float)
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    rng = f"{'(' if lo_open else '['}{lo_s}, {hi_s}{')' if hi_open else ']'}"
    bad = np.isnan(arr)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if np.any(bad):
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise ValueError(f"{name} must be in {rng}, got {first:g}")


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """Return ``value`` as int, or raise ValueError naming ``name`` and its range."""
    try:
        ok = not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError, OverflowError):  # inf, nan, text
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        rng = f"[{lo}, {'inf' if hi is None else hi}]"
        raise ValueError(f"{name} must be an integer in {rng}, got {v}")
    return v
