"""Argument checks shared by every package: bad input is reported the same way everywhere.

(Atomic writes and strict JSON live in ``sim/files.py``.)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def usable_cores() -> int:
    """The CPU cores this process may run on: its CPU affinity (a SLURM job's cpus-per-task, a
    container's cpuset), not the machine's count; ``os.cpu_count()`` where there is no affinity."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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
    finite: bool = False,
) -> None:
    """Raise ValueError naming ``name`` and its range if any element of ``value`` is outside it.

    NaN always fails; with ``finite`` so do +-inf. Works on scalars and arrays (numpy
    broadcasting inputs).
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    lo_b = "(" if lo_open or (finite and lo is None) else "["
    hi_b = ")" if hi_open or (finite and hi is None) else "]"
    rng = f"{lo_b}{lo_s}, {hi_s}{hi_b}"
    kind = "a finite number in " if finite else ""
    bad = np.isnan(arr) | (np.isinf(arr) if finite else False)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if np.any(bad):
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise ValueError(f"{name} must be {kind or 'in '}{rng}, got {first:g}")


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """Return ``value`` as int, or raise ValueError naming ``name``, its range and the value."""
    rng = f"[{lo}, {'inf' if hi is None else hi}]"
    try:
        ok = not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError, OverflowError):  # inf, nan, text
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer in {rng}, got {value!r}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be an integer in {rng}, got {v}")
    return v
