"""The phase diagram (uniform replay over alpha x kappa) and T5's kappa -> 0 limit.

Sweep ``phase``: uniform replay on the default student over an (alpha, kappa) grid (the phase
diagram figure: its zero contour over a full run is T1-long's alpha*, tested in
t1_threshold.py; the first round is tested in t1_drift.py). Results layout (written and read
here only): ``heldout_acc``, ``train_acc`` (alpha, kappa, seed, round), the per-round
Trajectory fields (alpha, kappa, seed, step), ``theory_threshold`` (kappa,): the alpha where
a_pair = 1/2 (the first-round threshold).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

import theory
from paper.claims import Claim, Test, decide, powered_row, unavailable
from paper.experiments import common
from sim.results import Results

SWEEP = "phase"
ROWS = ("T5-kappa0",)
# pre-registered: the kappa = 0 final change within 1 pp of 0 at every alpha
KAPPA0_TEST = Test("equivalent", 0.01, 0.02, " pp", 100.0)


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
        alphas=alphas,
        kappas=kappas,
        gate="uniform",
        student="default",
        pilot=16,
        min_seeds=16,
        max_seeds=96 if quick else 192,
        rounds=rounds,
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
    return coords, data, {}


def claims(res: Results, meta: dict, pilot: Results | None = None) -> list[Claim]:
    """T5-kappa0."""
    return [_kappa0(res, meta, pilot)]


def _kappa0(res: Results, meta: dict, pilot: Results | None) -> Claim:
    cid = "T5-kappa0"
    statement = "as kappa -> 0 the held-out change goes to 0 for every alpha"
    kappas = res.coords["kappa"]
    if not np.any(kappas == 0):
        return unavailable(cid, statement, "kappa = 0 not in the phase sweep", **meta)

    def stat(r: Results) -> np.ndarray:
        h = r["heldout_acc"][:, int(np.flatnonzero(r.coords["kappa"] == 0)[0])]
        return h[..., -1] - h[..., 0]  # (alpha, seed)

    d = decide(KAPPA0_TEST, stat(res), None if pilot is None else stat(pilot))
    return powered_row(
        cid,
        statement,
        KAPPA0_TEST,
        d,
        theory=0.0,
        theory_text="held-out change at kappa = 0",
        detail=f"final held-out change at kappa = 0 for {d['points']} alphas "
        f"(worst alpha={res.coords['alpha'][d['worst']]:g})",
        meta=meta,
    )
