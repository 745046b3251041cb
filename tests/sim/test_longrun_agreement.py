"""T1-long against the JAX simulator: the full-run threshold alpha* (uniform replay, 200 rounds).

The measured crossing is the zero of the seed-mean final held-out change on an alpha grid near
1/2 (linear interpolation between the bracketing grid points, common random numbers across the
grid), with a paired bootstrap over seeds for its standard error. Agreement: the theory's
crossing lies within 2 combined standard errors (theory's stated error and the measurement's)
of the measured one, for kappa = 1, 2, 4 and both named students.

Seed ranges (disjoint): pilot 10000-10255 (used while the theory was developed; the theory's
code was frozen before the confirmation ran), confirmation 20000-20255 (run once, numbers in
paper/theory.md, T1-long). Both tests are slow (about 2 minutes each on 2 cores).
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from theory.longrun import long_run_prediction

ALPHAS = np.array([0.48, 0.50, 0.52, 0.54])
KAPPAS = np.array([1.0, 2.0, 4.0])
PILOT = np.arange(10000, 10256)
CONFIRMATION = np.arange(20000, 20256)
Z = 2.0


def _zero(alphas: np.ndarray, y: np.ndarray) -> float:
    """Zero of y(alpha) by linear interpolation on the first bracketing interval (NaN if none)."""
    for i in range(alphas.size - 1):
        if y[i] * y[i + 1] <= 0.0 and y[i] != y[i + 1]:
            return float(alphas[i] - y[i] * (alphas[i + 1] - alphas[i]) / (y[i + 1] - y[i]))
    return float("nan")


def measured_crossings(student: str, seeds: np.ndarray, n_boot: int = 400) -> list[dict]:
    """Per kappa: measured crossing, its bootstrap SE and the mean change at alpha = 1/2."""
    traj = sim.sweep(ALPHAS, KAPPAS, seeds=seeds, gate="uniform", student=student, rounds=200)
    delta = sim.delta_heldout(traj)  # (alpha, kappa, seed)
    rng = np.random.default_rng(1)
    out = []
    for j, kappa in enumerate(KAPPAS):
        d = delta[:, j, :]
        cross = _zero(ALPHAS, d.mean(-1))
        boot = []
        for _ in range(n_boot):
            idx = rng.integers(0, d.shape[1], d.shape[1])
            boot.append(_zero(ALPHAS, d[:, idx].mean(-1)))
        boot = np.asarray(boot)
        boot = boot[np.isfinite(boot)]
        half = d[1]
        out.append(
            {
                "kappa": float(kappa),
                "crossing": cross,
                "crossing_se": float(boot.std(ddof=1)) if boot.size > 10 else float("inf"),
                "bootstrap_finite": int(boot.size),
                "delta_half": float(half.mean()),
                "delta_half_se": float(half.std(ddof=1) / np.sqrt(half.size)),
            }
        )
    return out


def _compare(student: str, seeds: np.ndarray) -> list[dict]:
    rows = []
    for m in measured_crossings(student, seeds):
        th = long_run_prediction(0.5, m["kappa"], student=student)
        err = float(np.hypot(th["threshold_full_run_error"], m["crossing_se"]))
        z = (th["threshold_full_run"] - m["crossing"]) / err
        rows.append(
            {
                "student": student,
                **m,
                "theory": th["threshold_full_run"],
                "theory_error": th["threshold_full_run_error"],
                "theory_delta_half": th["delta_heldout_at_half"],
                "theory_delta_half_error": th["error"],
                "z": float(z),
            }
        )
        print(rows[-1])
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("student", ["default", "second"])
def test_t1_long_threshold_pilot_seeds(student):
    """T1-long on the pilot seeds 10000-10255 (the seeds the theory was developed against)."""
    rows = _compare(student, PILOT)
    for r in rows:
        assert np.isfinite(r["crossing"]) and np.isfinite(r["theory"])
        assert abs(r["z"]) <= Z, r


@pytest.mark.slow
@pytest.mark.parametrize("student", ["default", "second"])
def test_t1_long_threshold_confirmation_seeds(student):
    """T1-long on the confirmation seeds 20000-20255 (never used in development)."""
    rows = _compare(student, CONFIRMATION)
    for r in rows:
        assert np.isfinite(r["crossing"]) and np.isfinite(r["theory"])
        assert abs(r["z"]) <= Z, r
