"""T4 (silent regression): the DPO loss on trained pairs falls while held-out accuracy falls.

Sweep ``silent``: an improving (alpha 0.8) and a regressing (alpha 0.3) confident verifier
under uniform and rank-gated replay. Results layout (written and read here only): Trajectory
fields (gate, verifier, seed, round|step), ``alpha``, ``kappa`` (verifier,), attr
``gate_names``.
"""

from __future__ import annotations

import json

import numpy as np

from paper.claims import Claim, ci_text, row, unavailable
from paper.experiments import common
from sim.results import Results
from sim.stats import LEVEL, mean_ci, one_sided_t, window_means

SWEEP = "silent"
ROWS = ("T4", "T4-rank")


def spec(quick: bool) -> dict:
    """The sweep's parameters."""
    return dict(
        verifiers=[[0.8, 3.0], [0.3, 3.0]],
        gates=["uniform", "rank"],
        student="default",
        seeds=16,
        rounds=100 if quick else 200,
    )


def run(p: dict, bar: common.Bar) -> common.Payload:
    """Both verifiers under every gate."""
    vs = np.array(p["verifiers"], dtype=float)
    seeds = common.seed_range(p["seeds"])
    trajs = []
    for g in p["gates"]:
        cfg = common.base_config(p["student"], gate=g, rounds=p["rounds"])
        trajs.append(
            common.grid(cfg, {"alpha": vs[:, 0], "kappa": vs[:, 1]}, seeds, bar, f"silent {g}")
        )
    coords = {
        "gate": np.arange(len(p["gates"])),
        "verifier": np.arange(len(vs)),
        "seed": np.array(seeds),
        **common.round_coords(p["rounds"]),
    }
    data = common.trajectory_data(common.stack(trajs), ("gate", "verifier", "seed"))
    data["alpha"] = (("verifier",), vs[:, 0])
    data["kappa"] = (("verifier",), vs[:, 1])
    return coords, data, {"gate_names": json.dumps(p["gates"])}


def claims(res: Results, meta: dict) -> list[Claim]:
    """T4 (uniform replay) and T4-rank (boundary)."""
    return [_silent(res, meta, g) for g in ("uniform", "rank")]


def _silent(res: Results, meta: dict, gate: str, windows: int = 4) -> Claim:
    cid = "T4" if gate == "uniform" else f"T4-{gate}"
    statement = (
        "silent regression: with alpha < 1/2 and kappa large, the DPO loss on trained "
        f"pairs falls in every window while held-out accuracy falls ({gate} replay)"
    )
    if gate != "uniform":
        statement += (
            "; THEORY.md's T4 is a first-order statement shown under uniform replay, so this "
            "row shows where gate feedback takes over"
        )
    kind = "claim" if gate == "uniform" else "boundary"
    g = json.loads(res.attrs["gate_names"]).index(gate)
    alphas, kappas = res["alpha"], res["kappa"]
    sub = [v for v in range(len(alphas)) if alphas[v] < 0.5]
    if not sub:
        return unavailable(cid, statement, "no sub-threshold verifier", kind=kind, **meta)
    v = sub[0]
    loss = window_means(res["loss_trained"][g, v], windows)  # (seed, window)
    dl = np.diff(loss, axis=-1)
    n = dl.shape[0]
    tq = one_sided_t(n, 1.0 - (1.0 - LEVEL) / (windows - 1))  # Bonferroni over differences
    upper = dl.mean(axis=0) + tq * dl.std(axis=0, ddof=1) / np.sqrt(n)
    h = res["heldout_acc"][g, v]
    mA, loA, hiA, _ = mean_ci(h[:, -1] - h[:, 0], axis=0)
    others = []
    for w in range(len(alphas)):
        if w != v:
            lw = window_means(res["loss_trained"][g, w], windows).mean(axis=0)
            hw = res["heldout_acc"][g, w]
            others.append(
                f"alpha={alphas[w]:g}: loss windows {np.round(lw, 3).tolist()}, "
                f"held-out change {np.mean(hw[:, -1] - hw[:, 0]) * 100:.2f} pp"
            )
    decision = (
        f"alpha={alphas[v]:g}, kappa={kappas[v]:g}: window-to-window loss change upper 95% "
        f"bounds {np.round(upper, 4).tolist()} (all must be < 0); final held-out change "
        f"{ci_text(mA, loA, hiA, 100, ' pp')} (must be < 0). Compare: {'; '.join(others)}"
    )
    return row(
        cid,
        statement,
        theory=None,
        theory_text="sign: loss falls (dl = -eta ||grad l||^2 < 0) while A falls",
        sim=mA,
        ci=(loA, hiA),
        holds=bool(np.all(upper < 0) and hiA < 0),
        decision=decision,
        meta=meta,
        kind=kind,
    )
