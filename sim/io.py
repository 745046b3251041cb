"""Sweep results files (sim.results format: NetCDF-3 that xarray and pandas read).

Coordinates ``alpha``, ``kappa``, ``seed``, ``round`` (0..R for accuracies; per-round outcomes
use ``round`` 1..R on the ``step`` axis); attributes carry the config as JSON, its hash, the
seeds, gate, progress signal and student.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from sim.results import Results, read_results, write_results
from sim.trajectory import Trajectory

_ACC_FIELDS = ("train_acc", "heldout_acc")


def sweep_to_results(
    traj: Trajectory,
    alphas: Any,
    kappas: Any,
    seeds: Any,
    config_json: str,
    *,
    gate: str,
    progress: str,
    student: str,
    config_hash: str,
) -> tuple[dict, dict, dict]:
    """(coords, data, attrs) of a sweep Trajectory with axes (alpha, kappa, seed, round)."""
    R = np.asarray(traj.loss_trained).shape[-1]
    coords = {
        "alpha": np.asarray(alphas, dtype=float),
        "kappa": np.asarray(kappas, dtype=float),
        "seed": np.asarray(seeds, dtype=np.int64),
        "round": np.arange(R + 1),
        "step": np.arange(1, R + 1),
    }
    data = {}
    for name, arr in zip(Trajectory._fields, traj):
        axis = "round" if name in _ACC_FIELDS else "step"
        data[name] = (("alpha", "kappa", "seed", axis), np.asarray(arr, dtype=float))
    attrs = {
        "config": config_json,
        "config_hash": config_hash,
        "seeds": json.dumps([int(s) for s in np.asarray(seeds).ravel()]),
        "gate": gate,
        "progress": progress,
        "student": student,
        "model": "paper/model.md",
    }
    return coords, data, attrs


def save_sweep(
    path: str | os.PathLike,
    alphas: Any,
    kappas: Any,
    *,
    seeds: Any,
    traj: Trajectory | None = None,
    gate: str = "rank",
    student: str = "default",
    rounds: int = 200,
    progress: str = "loss",
    progress_bar=None,
    **overrides: Any,
) -> Path:
    """Run (unless ``traj`` is given) a sweep and write it to ``path`` atomically."""
    from sim.config import config_dict, config_hash, make_config
    from sim.grid import seed_keys, sweep

    seed_values, _ = seed_keys(seeds)
    if traj is None:
        traj = sweep(
            alphas,
            kappas,
            seeds=seed_values,
            gate=gate,
            student=student,
            rounds=rounds,
            progress=progress,
            progress_bar=progress_bar,
            **overrides,
        )
    cfg = make_config(
        0.5, 1.0, gate=gate, progress=progress, student=student, rounds=rounds, **overrides
    )
    d = config_dict(cfg)
    d.pop("alpha")
    d.pop("kappa")
    coords, data, attrs = sweep_to_results(
        traj,
        alphas,
        kappas,
        seed_values,
        json.dumps(d, sort_keys=True),
        gate=gate,
        progress=progress,
        student=student,
        config_hash=config_hash(d),
    )
    return write_results(path, coords, data, attrs)


def load_sweep(path: str | os.PathLike) -> tuple[Trajectory, Results]:
    """Read a sweep file: (Trajectory with axes (alpha, kappa, seed, round), the Results)."""
    res = read_results(path)
    missing = [f for f in Trajectory._fields if f not in res.data]
    if missing:
        raise ValueError(f"{path} is not a sweep file (missing {', '.join(missing)})")
    return Trajectory(*(res[f] for f in Trajectory._fields)), res
