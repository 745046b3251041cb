"""Replication (T1's student-independence): the sign of the held-out change on two students.

Sweep ``replication``: uniform replay over an (alpha, kappa) grid on both named students.
Results layout (written and read here only): ``heldout_acc``, ``train_acc`` (student, alpha,
kappa, seed, round), ``loss_trained`` (student, alpha, kappa, seed, step); attr
``student_names``.
"""

from __future__ import annotations

import json

import numpy as np

from paper.claims import Claim, row
from paper.experiments import common
from sim.results import Results
from sim.stats import mean_ci

SWEEP = "replication"
ROWS = ("replication",)


def spec(quick: bool) -> dict:
    """The sweep's parameters."""
    if quick:
        alphas, kappas = [0.2, 0.35, 0.65, 0.8], [1.0, 3.0]
    else:
        alphas, kappas = [0.1, 0.2, 0.35, 0.45, 0.55, 0.65, 0.8, 0.9], [0.5, 1.0, 3.0]
    return dict(
        alphas=alphas,
        kappas=kappas,
        students=["default", "second"],
        gate="uniform",
        seeds=16,
        rounds=100 if quick else 200,
    )


def run(p: dict, bar: common.Bar) -> common.Payload:
    """The grid on every student."""
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    seeds = common.seed_range(p["seeds"])
    trajs = []
    for st in p["students"]:
        cfg = common.base_config(st, gate=p["gate"], rounds=p["rounds"])
        trajs.append(common.grid2(cfg, A, K, seeds, bar, f"replication {st}"))
    coords = {
        "student": np.arange(len(p["students"])),
        "alpha": A,
        "kappa": K,
        "seed": np.array(seeds),
        **common.round_coords(p["rounds"]),
    }
    data = common.trajectory_data(
        common.stack(trajs),
        ("student", "alpha", "kappa", "seed"),
        fields=("heldout_acc", "train_acc", "loss_trained"),
    )
    return coords, data, {"student_names": json.dumps(p["students"])}


def claims(res: Results, meta: dict) -> list[Claim]:
    """replication."""
    cid = "replication"
    statement = (
        "on a second student (other d_s, K, s, initial accuracy) the held-out change "
        "has the same sign as theory's, sign(alpha - 1/2), at every verifier tested"
    )
    students = json.loads(res.attrs["student_names"])
    h = res["heldout_acc"]
    m, lo, hi, _ = mean_ci(h[..., -1] - h[..., 0], axis=-1)  # (student, alpha, kappa)
    th = np.sign(res.coords["alpha"] - 0.5)[None, :, None] * np.ones_like(m)
    sig = (lo > 0) | (hi < 0)
    wrong = sig & (np.sign(m) != th)
    per_student = [
        f"{name}: {int(sig[s].sum())}/{sig[s].size} significant, "
        f"{int(wrong[s].sum())} against theory"
        for s, name in enumerate(students)
    ]
    covered = all(
        np.any(sig[s] & (th[s] > 0)) and np.any(sig[s] & (th[s] < 0)) for s in range(len(students))
    )
    s2 = len(students) - 1
    decision = (
        "; ".join(per_student) + "; needs no significant sign against theory and, per "
        "student, significant points on both sides of the threshold"
    )
    return [
        row(
            cid,
            statement,
            theory=1.0,
            theory_text="fraction of verifiers with theory's sign",
            sim=float(np.mean(np.sign(m[s2]) == th[s2])),
            ci=None,
            holds=not wrong.any() and covered,
            decision=decision,
            meta=meta,
        )
    ]
