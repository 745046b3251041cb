"""The ladder's run: the calibration, then every task on both students at the fit; the results
file's contents (layout in paper/experiments/ladder/__init__.py)."""

from __future__ import annotations

import json

import numpy as np

import theory
from paper.experiments import common
from paper.experiments.ladder.fit import calibrate
from paper.experiments.ladder.profiles import (
    TASKS,
    WINDOWS,
    b_for,
    fit_seeds,
    policies,
    run_cells,
    rung_cells,
    student_fields,
    task_verifiers,
)


def run(p: dict, bar: common.Bar) -> common.Payload:
    """The calibration on its own seeds, then every task on both students at the fit."""
    K, mu_d, b_d = p["K"], theory.STUDENTS["default"].mu, theory.STUDENTS["default"].b
    fits = calibrate(p, bar)
    c_fit = {
        t: b_for(v["accuracy"], K, mu_d) / b_d
        for t, v in p["tasks"].items()
        if v["accuracy"] != "fit"
    }
    c_fit.update({t: fits[t]["c"] for t in ("MMMU", "MMMU-verdict")})
    cells_d: list[dict] = []
    for t in TASKS:
        alpha, kappa = task_verifiers(p, t, c_fit[t] * b_d)
        if np.isnan(alpha).any():
            raise ValueError(f"task {t}: a rung's selection accuracy is out of reach")
        cells_d += rung_cells(p, "default", t, c_fit[t], alpha, kappa)
    # the same verifiers; the 3B's competence scaled by the same task factor
    cells_s = [
        {**c, "student": "second", "b": c["c"] * theory.STUDENTS["second"].b} for c in cells_d
    ]
    seeds = common.seed_range(p["seeds"])
    traj_d = run_cells(p, "default", cells_d, seeds, bar)
    traj_s = run_cells(p, "second", cells_s, seeds, bar)
    traj = type(traj_d)(*(np.concatenate([a, b]) for a, b in zip(traj_d, traj_s)))
    return _payload(p, cells_d + cells_s, traj, fits["MMMU"]["R"], fits, c_fit)


def _payload(p, cells, traj, R, fits, c_fit) -> common.Payload:
    n = p["n"]
    students = p["students"]
    h = np.asarray(traj.heldout_acc)
    loss = np.asarray(traj.loss_trained)[..., :R]
    windows = np.stack([w.mean(-1) for w in np.array_split(loss, WINDOWS, axis=-1)], -1)
    meas = {k: np.empty(len(cells)) for k in ("a_pair", "selection", "threshold", "theory")}
    for i, c in enumerate(cells):
        fields = student_fields(c["student"], p["K"], c["b"])
        pol = policies(fields, p["policies"])
        meas["a_pair"][i] = theory.pair_accuracy(c["alpha"], c["kappa"])
        both = theory.selection_accuracy_policies(np.array([c["alpha"], 0.5]), c["kappa"], pol, n)
        meas["selection"][i], meas["threshold"][i] = both
        est = theory.first_round_drift_estimate(
            c["alpha"],
            c["kappa"],
            common.student_dict(fields),
            n=n,
            eta=fields["eta"],
            beta=fields["beta"],
            n_samples=1 << 13,
        )
        meas["theory"][i] = R * est["heldout"]
    main = np.array([c["task"] != "MMMU-verdict" for c in cells], dtype=np.int32)
    coords = {
        "cell": np.arange(len(cells)),
        "seed": np.array(common.seed_range(p["seeds"])),
        "window": np.arange(WINDOWS),
        **common.round_coords(p["rounds"]),
    }
    data = {
        "heldout_acc": (("cell", "seed", "round"), h),
        "loss_trained": (("cell", "seed", "step"), np.asarray(traj.loss_trained)),
        "delta": (("cell", "seed"), h[..., R] - h[..., 0]),
        "loss_windows": (("cell", "seed", "window"), windows),
        "cell_task": (("cell",), np.array([TASKS.index(c["task"]) for c in cells])),
        "cell_rung": (("cell",), np.array([c["rung"] for c in cells])),
        "cell_student": (("cell",), np.array([students.index(c["student"]) for c in cells])),
        "cell_main": (("cell",), main),
        "capability": (("cell",), np.array([p["capability"][c["rung"]] for c in cells], float)),
        "alpha": (("cell",), np.array([c["alpha"] for c in cells])),
        "kappa": (("cell",), np.array([c["kappa"] for c in cells])),
        "b": (("cell",), np.array([c["b"] for c in cells])),
        "a_pair": (("cell",), meas["a_pair"]),
        "selection": (("cell",), meas["selection"]),
        "threshold": (("cell",), meas["threshold"]),
        "theory_change": (("cell",), meas["theory"]),
    }
    fit = fits
    attrs = {
        "tasks": json.dumps(list(TASKS)),
        "students": json.dumps(students),
        "fit": json.dumps(
            {
                "fits": fit,
                "task_factor": c_fit,
                "target_pp": p["target_damage_pp"],
                "grid": p["mmmu_accuracy_grid"],
                "fit_seeds": fit_seeds(p),
            }
        ),
        "R": int(R),
        "bootstrap": int(p["bootstrap"]),
    }
    return coords, data, attrs
