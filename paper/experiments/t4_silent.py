"""T4 (silent regression): the DPO loss on trained pairs falls while held-out accuracy falls.

Sweep ``silent``: an improving (alpha 0.8) and a regressing (alpha 0.3) confident verifier
under uniform and rank-gated replay. Results layout (written and read here only): Trajectory
fields (gate, verifier, seed, round|step), ``alpha``, ``kappa`` (verifier,), attr
``gate_names``.
"""

from __future__ import annotations

import json

import numpy as np

from paper.claims import Claim, Test, decide, powered_row, unavailable
from paper.experiments import common
from sim.results import Results
from sim.stats import LEVEL, one_sided_t, window_means

SWEEP = "silent"
ROWS = ("T4", "T4-rank")
# pre-registered: the final held-out change < 0 with smallest effect of interest 1 pp (tested,
# powered); also required: the trained-pair loss falls between every pair of consecutive
# windows (one-sided upper bounds < 0, Bonferroni)
SILENT_TEST = Test("less", 0.01, 0.02, " pp", 100.0)


def spec(quick: bool) -> dict:
    """The sweep's parameters."""
    return dict(
        verifiers=[[0.8, 3.0], [0.3, 3.0]],
        gates=["uniform", "rank"],
        student="default",
        pilot=16,
        min_seeds=16,
        max_seeds=64 if quick else 128,
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


def claims(res: Results, meta: dict, pilot: Results | None = None) -> list[Claim]:
    """T4 (uniform replay) and T4-rank (boundary)."""
    return [_silent(res, meta, pilot, g) for g in ("uniform", "rank")]


def _final(res: Results, g: int, v: int) -> np.ndarray:
    h = res["heldout_acc"][g, v]
    return h[:, -1] - h[:, 0]


def _silent(res: Results, meta: dict, pilot: Results | None, gate: str, windows: int = 4) -> Claim:
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
    d = decide(SILENT_TEST, _final(res, g, v), None if pilot is None else _final(pilot, g, v))
    loss_falls = bool(np.all(upper < 0))
    if d["verdict"] == "holds" and not loss_falls:
        d = {**d, "verdict": "fails", "holds": False}
    others = []
    for w in range(len(alphas)):
        if w != v:
            lw = window_means(res["loss_trained"][g, w], windows).mean(axis=0)
            others.append(
                f"alpha={alphas[w]:g}: loss windows {np.round(lw, 3).tolist()}, "
                f"held-out change {np.mean(_final(res, g, w)) * 100:.2f} pp"
            )
    detail = (
        f"alpha={alphas[v]:g}, kappa={kappas[v]:g}: window-to-window loss change upper 95% "
        f"bounds {np.round(upper, 4).tolist()} (all must be < 0: "
        f"{'met' if loss_falls else 'NOT met'}); tested: the final held-out change. "
        f"Compare: {'; '.join(others)}"
    )
    return powered_row(
        cid,
        statement,
        SILENT_TEST,
        d,
        theory=None,
        theory_text="sign: loss falls (dl = -eta ||grad l||^2 < 0) while A falls",
        detail=detail,
        meta=meta,
        kind=kind,
    )
