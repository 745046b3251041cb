"""Bounds on the simulator's inputs, checked before any work (issue 14).

What a run can take: seeds the RNG can tell apart, a kappa that float32 arithmetic still
resolves, integer sizes, and a memory estimate from the run's shapes that must fit in the
machine's available memory. Every check raises ``theory.util.UsageError`` (one line naming the
option, the bound and why); the commands call them before importing jax where they can.
Importing this module does not import jax.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from theory.util import UsageError, check_int, check_range

# jax.random.PRNGKey takes a uint32 seed; a larger one wraps (4294967296 would run seed 0).
SEED_MAX = 2**32 - 1

# Scores are kappa (2v - 1) + eps in float32, eps ~ N(0, 1). float32's spacing at 1e4 is
# 2^-10 (about 1e-3 of eps's sd); at 1e5 it is 2^-7 and at 1e8 it is 8, where eps is lost and
# same-verdict samples tie (void pairs). Since |eps| <= 5.3 by construction (sim.noise: 23-bit
# uniforms), every kappa above 5.3 already ranks samples by verdict alone, so 1e4 loses nothing.
KAPPA_MAX = 1e4
KAPPA_WHY = (
    "above 1e4 the float32 score kappa*(2v-1) + eps rounds the N(0,1) noise eps to steps "
    "coarser than 1e-3 (steps of 8 at 1e8: the noise is lost); kappa > 5.3 already ranks "
    "samples by verdict alone, so use 1e4 for a noiseless verifier"
)

# Grid points of one sweep axis: linspace is never asked for more than this (memory decides
# the rest; 1e6 x 8 bytes is the largest array a grid parse makes).
GRID_MAX = 10**6

# Fraction of the available memory a run may plan to use (jax, numpy and the results file
# writer need the rest).
MEMORY_FRACTION = 0.8
_GIB = 2**30
# Python, numpy and jax loaded and compiled, before any run (measured: about 0.45 GiB).
BASE_BYTES = _GIB // 2


def check_kappa(name: str, value: Any) -> None:
    """Every kappa in ``value`` (scalar or array) finite and in [0, KAPPA_MAX]."""
    try:
        check_range(name, value, 0.0, KAPPA_MAX)
    except ValueError as exc:
        raise UsageError(f"{exc}: {KAPPA_WHY}") from None


def check_seeds(seed0: int, seeds: int) -> None:
    """Seeds seed0 .. seed0 + seeds - 1 all within the RNG's uint32 range."""
    check_int("--seeds", seeds, 1)
    check_int("--seed0", seed0, 0, SEED_MAX)
    last = seed0 + seeds - 1
    if last > SEED_MAX:
        raise UsageError(
            f"--seed0 {seed0} with --seeds {seeds} reaches seed {last} > {SEED_MAX}: the RNG "
            f"takes uint32 seeds (a larger one would silently wrap to another seed)"
        )


def parse_grid(name: str, text: str) -> np.ndarray:
    """'a0:a1:num' (inclusive linspace, num <= GRID_MAX) or 'a,b,c' -> array of finite floats.

    Raises:
        UsageError: not one of the two forms, a non-finite number, or too many points.
    """
    form = f"{name} must be a0:a1:num or a comma list of finite numbers, got {text!r}"
    try:
        if ":" in text:
            a0, a1, num_f = (float(v) for v in text.split(":"))
            if not all(map(math.isfinite, (a0, a1, num_f))) or num_f != int(num_f) or num_f < 1:
                raise ValueError
            if num_f > GRID_MAX:
                raise UsageError(f"{name} asks for {num_f:.0f} grid points; at most {GRID_MAX}")
            values = np.linspace(a0, a1, int(num_f))
        else:
            parts = text.split(",")
            if len(parts) > GRID_MAX:
                raise UsageError(f"{name} lists {len(parts)} grid points; at most {GRID_MAX}")
            values = np.array([float(v) for v in parts])
    except ValueError as exc:
        if isinstance(exc, UsageError):
            raise
        raise UsageError(form) from None
    if not np.all(np.isfinite(values)):
        raise UsageError(form)
    return values


def run_bytes(shape: Mapping[str, int]) -> tuple[int, int, int]:
    """(device bytes per seed, device bytes per run, host bytes per run) of ``shape``.

    ``shape`` has N, N_h, K, d_s, n, B, rounds. Per seed: the random numbers (sim.noise: uint32
    bits and their float32 values), which every grid point of a seed shares (sim.grid draws
    them once per seed). Per run: the scan's state and its float32 outputs. Both times 2 for
    XLA's intermediates. Host: 12 float64 outcome rows of rounds + 1 (sim.trajectory), times 3
    for the copies made while chunks are joined and the results file is written.
    """
    N, N_h, K, d_s = shape["N"], shape["N_h"], shape["K"], shape["d_s"]
    n, B, R = shape["n"], shape["B"], shape["rounds"]
    floats = N * K * d_s + N_h * K * d_s + N * K + 4 * R * N * n + R * B
    state = 8 * N * K + 4 * N + 2 * K * d_s  # params, logits, probs, gate state, pairs
    return 2 * 8 * floats, 2 * (4 * state + 12 * (R + 1) * 4), 3 * 12 * (R + 1) * 8


def estimate_bytes(
    shape: Mapping[str, int], runs: int, seeds_at_once: int, runs_at_once: int
) -> int:
    """Peak bytes of ``runs`` runs of ``shape``, computed in chunks of ``runs_at_once`` runs
    that span ``seeds_at_once`` seeds.

    Measured against max RSS on CPU (default student): simulate 8 seeds x 5000 rounds used
    1.05 GiB for an estimate of 1.15 GiB, 1000 seeds x 200 rounds 3.75 GiB for 3.94 GiB;
    sweep 16 x 16 x 8 seeds x 50 rounds 0.45 GiB for 0.58 GiB, 4 x 4 x 4 x 2000 0.54 for 0.67.
    """
    per_seed, per_run, host = run_bytes(shape)
    return BASE_BYTES + seeds_at_once * per_seed + min(runs, runs_at_once) * per_run + runs * host


def available_bytes() -> int:
    """Memory this process may plan to use: MemAvailable (Linux), else physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * _GIB


def check_memory(what: str, need: int, sizes: str) -> None:
    """Refuse when ``need`` bytes exceed MEMORY_FRACTION of the available memory.

    Args:
        what: the command, e.g. "selfdpo sweep".
        need: the estimate (:func:`estimate_bytes`).
        sizes: the sizes that went into it, for the message.
    """
    have = available_bytes()
    if need > MEMORY_FRACTION * have:
        raise UsageError(
            f"{what} would need about {_fmt_bytes(need)} ({sizes}), more than "
            f"{MEMORY_FRACTION:.0%} of the {_fmt_bytes(have)} available: reduce them"
        )


def _fmt_bytes(b: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    i = 0
    while b >= 1024 and i < len(units) - 1:
        b /= 1024
        i += 1
    return f"{b:.3g} {units[i]}"


def shape_text(shape: Mapping[str, int]) -> str:
    """'N=128 N_h=256 K=4 d_s=8 n=2 B=32 rounds=200' for messages."""
    return " ".join(f"{k}={shape[k]}" for k in ("N", "N_h", "K", "d_s", "n", "B", "rounds"))


def check_sim_memory(
    what: str, *, G: int, S: int, has_points: bool, student: str = "default", **fields: Any
) -> int:
    """Refuse a sweep of G grid points x S seeds that would not fit in memory; return the estimate.

    ``fields`` are Shape overrides (rounds, n, N). Imports jax (through sim.config and
    sim.grid), so call it after the checks that need no jax.
    """
    from sim.config import defaults  # imports jax
    from sim.grid import CHUNK_RUNS, chunk_plan

    try:
        shape = defaults(student, **fields)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    g_chunk, s_chunk, _ = chunk_plan(G, S, shape["N"], 1, CHUNK_RUNS, has_points)
    need = estimate_bytes(shape, G * S, min(S, s_chunk), g_chunk * min(S, s_chunk))
    sizes = f"{G} grid points x {S} seeds, {shape_text(shape)}"
    check_memory(what, need, sizes)
    return need
