"""The ladder's calibration: the MMMU profiles' accuracy and the budget R fitted on the
calibration's own seeds (FIT_START ..) to the study's damage range."""

from __future__ import annotations

import json

import numpy as np

import theory
from paper.experiments import common
from paper.experiments.ladder.profiles import (
    b_for,
    fit_seeds,
    run_cells,
    rung_cells,
    task_verifiers,
)


def damage_curves(heldout: np.ndarray) -> np.ndarray:
    """Seed-mean damage in pp at every round: heldout (rung, seed, round) -> (rung, round)."""
    return -100.0 * (heldout - heldout[..., :1]).mean(axis=1)


def fit_budget(curves: np.ndarray, target: tuple[float, float], r_min: int) -> tuple[int, float]:
    """The round R (>= r_min) whose min and max damage over rungs are nearest the target range:
    (R, root-mean-square miss in pp)."""
    lo, hi = curves.min(axis=0), curves.max(axis=0)
    miss = np.sqrt(0.5 * ((lo - target[0]) ** 2 + (hi - target[1]) ** 2))
    miss[:r_min] = np.inf
    R = int(np.argmin(miss))
    return R, float(miss[R])


_FITS: dict[str, dict] = {}  # calibration by its parameters: the pilot's and confirmation's


def calibrate(p: dict, bar: common.Bar) -> dict:
    """Fit the MMMU profiles on the 2B on the fit seeds: per reading (MMMU, MMMU-verdict) the
    grid accuracy and budget R nearest the study's damage range, and which rungs do the least
    and most damage at R (the points LADDER-fit tests on the confirmation seeds)."""
    key = json.dumps({k: v for k, v in p.items() if k not in ("seeds", "pilot")}, sort_keys=True)
    if key in _FITS:
        return _FITS[key]
    K, mu_d, b_d = p["K"], theory.STUDENTS["default"].mu, theory.STUDENTS["default"].b
    grid_c = [b_for(a, K, mu_d) / b_d for a in p["mmmu_accuracy_grid"]]
    cells: list[dict] = []
    for g, c in enumerate(grid_c):
        for t in ("MMMU", "MMMU-verdict"):
            alpha, kappa = task_verifiers(p, t, c * b_d)
            if np.isnan(alpha).any():
                continue  # 8% out of reach for this student accuracy: not a candidate
            cells += [{**cell, "grid": g} for cell in rung_cells(p, "default", t, c, alpha, kappa)]
    h = np.asarray(run_cells(p, "default", cells, fit_seeds(p), bar).heldout_acc)
    fits = {}
    for t in ("MMMU", "MMMU-verdict"):
        best = None
        for g in range(len(grid_c)):
            idx = [i for i, c in enumerate(cells) if c["task"] == t and c["grid"] == g]
            if not idx:
                continue
            curves = damage_curves(h[idx])
            R, miss = fit_budget(curves, p["target_damage_pp"], max(3, p["rounds"] // 25))
            if best is None or miss < best["miss_pp"]:
                best = dict(
                    grid=g,
                    accuracy=p["mmmu_accuracy_grid"][g],
                    c=grid_c[g],
                    R=R,
                    miss_pp=miss,
                    least_rung=int(np.argmin(curves[:, R])) + 1,
                    most_rung=int(np.argmax(curves[:, R])) + 1,
                    damage_pp=[float(x) for x in curves[:, R]],
                )
        if best is None:
            raise ValueError(f"{t}: no grid accuracy reaches the study's rubric accuracies")
        fits[t] = best
    _FITS[key] = fits
    return fits
