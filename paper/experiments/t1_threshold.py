"""T1 (threshold and first-round drift) and T5's kappa -> 0 limit: the phase diagram.

Sweep ``phase``: uniform replay on the default student over an (alpha, kappa) grid. Results
layout (written and read here only): ``heldout_acc``, ``train_acc`` (alpha, kappa, seed, round),
the per-round Trajectory fields (alpha, kappa, seed, step), ``theory_threshold`` (kappa,):
the alpha where a_pair = 1/2, ``theory_first_round_drift`` and its ``_se`` (alpha, kappa):
T1's first-order held-out change after round 1.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

import theory
from paper.claims import Claim, agreement_row, row, unavailable
from paper.experiments import common
from sim.results import Results
from sim.stats import LEVEL, agreement, bootstrap_crossing

SWEEP = "phase"
ROWS = ("T1", "T1-threshold", "T5-kappa0")


def spec(quick: bool) -> dict:
    """The sweep's parameters (quick: a coarser grid, fewer rounds)."""
    if quick:
        alphas = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        kappas = [0.0, 0.5, 1.0, 2.0, 4.0]
        rounds = 100
    else:
        alphas = [round(float(x), 3) for x in np.linspace(0.0, 1.0, 21)]
        kappas = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
        rounds = 200
    return dict(
        alphas=alphas, kappas=kappas, gate="uniform", student="default", seeds=16, rounds=rounds
    )


def theory_threshold(kappas: np.ndarray) -> np.ndarray:
    """alpha at which theory's a_pair(alpha, kappa, n=2) = 1/2 (NaN where it never crosses)."""
    out = np.full(np.shape(kappas), np.nan)
    for i, k in enumerate(np.ravel(kappas)):
        f = lambda a, k=k: float(theory.pair_accuracy(a, k)) - 0.5
        lo, hi = f(0.0), f(1.0)
        if lo < 0 < hi or hi < 0 < lo:
            out[i] = brentq(f, 0.0, 1.0, xtol=1e-10)
    return out


def run(p: dict, bar: common.Bar) -> common.Payload:
    """Final held-out change over the (alpha, kappa) grid, uniform replay."""
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    seeds = common.seed_range(p["seeds"])
    cfg = common.base_config(p["student"], gate=p["gate"], rounds=p["rounds"])
    traj = common.grid2(cfg, A, K, seeds, bar, "phase")
    coords = {"alpha": A, "kappa": K, "seed": np.array(seeds), **common.round_coords(p["rounds"])}
    data = common.trajectory_data(traj, ("alpha", "kappa", "seed"))
    data["theory_threshold"] = (("kappa",), theory_threshold(K))
    bar("phase: theory")
    fields = common.model_fields(p["student"])
    val, se = common.theory_first_round(A[:, None], K[None, :], fields)
    data["theory_first_round_drift"] = (("alpha", "kappa"), val)
    data["theory_first_round_drift_se"] = (("alpha", "kappa"), se)
    return coords, data, {}


def claims(res: Results, meta: dict) -> list[Claim]:
    """T1, T1-threshold, T5-kappa0."""
    return [_drift(res, meta), _threshold(res, meta), _kappa0(res, meta)]


def _drift(res: Results, meta: dict) -> Claim:
    cid = "T1"
    statement = (
        "the expected first-order change of held-out accuracy from one round at theta0 "
        "is proportional to (2 a_pair - 1) M: its closed form matches simulation"
    )
    h = res["heldout_acc"]
    d1 = h[..., 1] - h[..., 0]  # (alpha, kappa, seed)
    ag = agreement(
        d1, res["theory_first_round_drift"], theory_se=res["theory_first_round_drift_se"]
    )
    i = ag["worst"]
    a_i, k_i = res.coords["alpha"][i[0]], res.coords["kappa"][i[1]]
    decision = (
        f"{ag['n']} (alpha, kappa) points, uniform replay; max |sim - theory|/SE = "
        f"{ag['max_z']:.2f} vs k = {ag['k']:.2f} (worst at alpha={a_i:g}, kappa={k_i:g})"
    )
    where = f"first-round held-out change at alpha={a_i:g}, kappa={k_i:g}"
    return agreement_row(cid, statement, ag, where, decision, meta)


def _threshold(res: Results, meta: dict) -> Claim:
    cid = "T1-threshold"
    statement = (
        "the zero contour of the final held-out change over (alpha, kappa) lies at "
        "theory's threshold alpha = 1/2 (a_pair = 1/2) for every kappa > 0"
    )
    alphas, kappas = res.coords["alpha"], res.coords["kappa"]
    h = res["heldout_acc"]
    delta = h[..., -1] - h[..., 0]  # (alpha, kappa, seed)
    ks = [j for j, k in enumerate(kappas) if k > 0]
    if not ks:
        return unavailable(cid, statement, "no kappa > 0 in the sweep", **meta)
    level = 1.0 - (1.0 - LEVEL) / len(ks)  # Bonferroni over kappa
    rows = []
    for j in ks:
        est, lo, hi = bootstrap_crossing(alphas, delta[:, j, :], level)
        thr = float(res["theory_threshold"][j])
        rows.append((kappas[j], est, lo, hi, thr, lo <= thr <= hi))
    worst = max(rows, key=lambda r: abs(r[1] - r[4]) if math.isfinite(r[1]) else math.inf)
    detail = "; ".join(f"kappa={r[0]:g}: {r[1]:.3f} [{r[2]:.3f}, {r[3]:.3f}]" for r in rows)
    decision = (
        f"crossing alpha* of the seed-mean final change per kappa with a "
        f"{100 * level:.1f}% bootstrap interval (Bonferroni over {len(rows)} kappas) "
        f"must contain theory's threshold: {detail}"
    )
    return row(
        cid,
        statement,
        theory=worst[4],
        theory_text=f"theory's threshold alpha at kappa={worst[0]:g}",
        sim=worst[1],
        ci=(worst[2], worst[3]),
        holds=all(r[5] for r in rows),
        decision=decision,
        meta=meta,
    )


def _kappa0(res: Results, meta: dict) -> Claim:
    cid = "T5-kappa0"
    statement = "as kappa -> 0 the held-out change goes to 0 for every alpha"
    kappas = res.coords["kappa"]
    if not np.any(kappas == 0):
        return unavailable(cid, statement, "kappa = 0 not in the phase sweep", **meta)
    j = int(np.flatnonzero(kappas == 0)[0])
    h = res["heldout_acc"][:, j]  # (alpha, seed, round)
    delta = h[..., -1] - h[..., 0]
    ag = agreement(delta, np.zeros(delta.shape[0]))
    decision = (
        f"final held-out change at kappa = 0 for {ag['n']} alphas; max |mean|/SE = "
        f"{ag['max_z']:.2f} vs k = {ag['k']:.2f}"
    )
    return agreement_row(
        cid, statement, ag, "held-out change at kappa = 0", decision, meta, theory=0.0
    )
