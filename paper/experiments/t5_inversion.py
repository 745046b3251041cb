"""T5 (confidence inversion) and the gate's amplification of sub-threshold damage.

Sweep ``inversion``: a sub-threshold (alpha, kappa) grid under uniform and rank-gated replay.
Results layout (written and read here only): ``heldout_acc``, ``train_acc`` (gate, alpha, kappa,
seed, round), ``loss_trained``, ``n_eff``, ``frac_wrong`` (gate, alpha, kappa, seed, step),
``theory_damage`` (alpha, kappa): T5's damage rate; attrs ``gate_names``, ``highlight`` (the
two verifiers of THEORY.md's example).
"""

from __future__ import annotations

import json

import numpy as np
from scipy.stats import rankdata

import theory
from paper.claims import Claim, Test, ci_text, decide, powered_row, unavailable
from paper.experiments import common
from sim.results import Results
from sim.stats import mean_ci

SWEEP = "inversion"
ROWS = ("T5", "T5-condition", "T5-amplification")
FIELDS = ("heldout_acc", "train_acc", "loss_trained", "n_eff", "frac_wrong")
# pre-registered: the confident verifier's final damage exceeds the hesitant one's by at least
# 1 pp (smallest effect of interest); the gate's mean damage over the run (area under the
# damage curve, per round) exceeds uniform replay's by at least 0.5 pp
INVERSION_TEST = Test("greater", 0.01, 0.02, " pp", 100.0)
AMPLIFICATION_TEST = Test("greater", 0.005, 0.01, " pp", 100.0)
# pre-registered (session 4, before any run of this rule): per seed, the Spearman correlation
# between T5's damage rate and the early damage over the grid's verifiers exceeds 0.5 (theory
# orders the verifiers clearly better than halfway); smallest effect of interest 0.1 above it
CONDITION_RHO = 0.5
CONDITION_TEST = Test("greater", 0.1, 0.3)


def spec(quick: bool) -> dict:
    """The sweep's parameters."""
    if quick:
        alphas, kappas = [0.08, 0.15, 0.23, 0.35, 0.45], [0.1, 0.5, 1.0, 3.0]
    else:
        alphas = [0.02, 0.08, 0.15, 0.23, 0.3, 0.35, 0.4, 0.45]
        kappas = [0.1, 0.25, 0.5, 1.0, 2.0, 3.0]
    return dict(
        alphas=alphas,
        kappas=kappas,
        gates=["uniform", "rank"],
        highlight=[[0.23, 3.0], [0.08, 0.1]],
        student="default",
        pilot=16,
        min_seeds=16,
        max_seeds=64 if quick else 128,
        rounds=100 if quick else 200,
    )


def run(p: dict, bar: common.Bar) -> common.Payload:
    """The grid under every gate."""
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    seeds = common.seed_range(p["seeds"])
    trajs = []
    for g in p["gates"]:
        cfg = common.base_config(p["student"], gate=g, rounds=p["rounds"])
        trajs.append(common.grid2(cfg, A, K, seeds, bar, f"inversion {g}"))
    coords = {
        "gate": np.arange(len(p["gates"])),
        "alpha": A,
        "kappa": K,
        "seed": np.array(seeds),
        **common.round_coords(p["rounds"]),
    }
    data = common.trajectory_data(
        common.stack(trajs), ("gate", "alpha", "kappa", "seed"), fields=FIELDS
    )
    aa, kk = np.meshgrid(A, K, indexing="ij")
    data["theory_damage"] = (("alpha", "kappa"), np.asarray(theory.damage_rate(aa, kk)))
    attrs = {"gate_names": json.dumps(p["gates"]), "highlight": json.dumps(p["highlight"])}
    return coords, data, attrs


def claims(res: Results, meta: dict, pilot: Results | None = None) -> list[Claim]:
    """T5, T5-condition, T5-amplification."""
    return [
        _inversion(res, meta, pilot),
        _condition(res, meta, pilot),
        _amplification(res, meta, pilot),
    ]


def _gate(res: Results, name: str) -> int:
    return json.loads(res.attrs["gate_names"]).index(name)


def _at(coord: np.ndarray, value: float) -> int:
    j = int(np.argmin(np.abs(coord - value)))
    if not np.isclose(coord[j], value):
        raise KeyError(f"{value} is not on the sweep's grid {coord.tolist()}")
    return j


def _inversion_stat(res: Results) -> np.ndarray:
    """(seed,): final damage of the first highlighted verifier minus the second's (uniform)."""
    (a1, k1), (a2, k2) = json.loads(res.attrs["highlight"])[:2]
    A, K = res.coords["alpha"], res.coords["kappa"]
    h = res["heldout_acc"][_gate(res, "uniform")]  # (alpha, kappa, seed, round)
    damage = -(h[..., -1] - h[..., 0])
    return damage[_at(A, a1), _at(K, k1)] - damage[_at(A, a2), _at(K, k2)]  # paired by seed


def _inversion(res: Results, meta: dict, pilot: Results | None) -> Claim:
    cid = "T5"
    statement = (
        "confidence inversion: under uniform replay the verifier (alpha 0.23, kappa 3) "
        "regresses the student more than (alpha 0.08, kappa 0.1)"
    )
    (a1, k1), (a2, k2) = json.loads(res.attrs["highlight"])[:2]
    A, K = res.coords["alpha"], res.coords["kappa"]
    d1 = res["theory_damage"][_at(A, a1), _at(K, k1)]
    d2 = res["theory_damage"][_at(A, a2), _at(K, k2)]
    if not d1 > d2:
        return unavailable(cid, statement, "theory does not predict this inversion", **meta)
    d = decide(
        INVERSION_TEST, _inversion_stat(res), None if pilot is None else _inversion_stat(pilot)
    )
    return powered_row(
        cid,
        statement,
        INVERSION_TEST,
        d,
        theory=d1 - d2,
        theory_text=f"theory's damage-rate difference (T5): {d1:.3g} - {d2:.3g} (inverts)",
        detail="paired (same seeds) difference of final damage, first minus second",
        meta=meta,
    )


def _spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of ``x`` (V,) with each row of ``y`` (S, V) (average ranks)."""
    rx = rankdata(x)
    ry = rankdata(y, axis=1)
    rx = (rx - rx.mean()) / np.linalg.norm(rx - rx.mean())
    ry = ry - ry.mean(1, keepdims=True)
    return (ry @ rx) / np.maximum(np.linalg.norm(ry, axis=1), 1e-300)


def _condition_stat(res: Results) -> np.ndarray:
    """(seed,): Spearman correlation, over the sweep's verifiers, of T5's damage rate with the
    seed's early-window (R/4) damage under uniform replay, minus CONDITION_RHO."""
    h = res["heldout_acc"][_gate(res, "uniform")]
    r_e = max((h.shape[-1] - 1) // 4, 1)
    damage = -(h[..., r_e] - h[..., 0]).reshape(-1, h.shape[2])  # (verifier, seed)
    return _spearman(res["theory_damage"].reshape(-1), damage.T) - CONDITION_RHO


def _condition(res: Results, meta: dict, pilot: Results | None = None) -> Claim:
    cid = "T5-condition"
    statement = (
        "T5's damage rate (1 - 2 alpha) erf(kappa) orders the sub-threshold verifiers' early "
        f"damage: per seed, the Spearman correlation over the grid exceeds {CONDITION_RHO}"
    )
    th = res["theory_damage"].reshape(-1)
    if np.unique(th).size < 3:
        return unavailable(cid, statement, "theory orders fewer than 3 verifiers", **meta)
    d = decide(
        CONDITION_TEST, _condition_stat(res), None if pilot is None else _condition_stat(pilot)
    )
    h = res["heldout_acc"][_gate(res, "uniform")]
    r_e = max((h.shape[-1] - 1) // 4, 1)
    mean_damage = -(h[..., r_e] - h[..., 0]).mean(-1).reshape(-1)
    rho_means = float(_spearman(th, mean_damage[None])[0])
    detail = (
        f"{th.size} verifiers; statistic per seed: Spearman correlation of theory's damage rate "
        f"with the early-window (R/4 = {r_e} rounds) damage, minus {CONDITION_RHO} (reported "
        f"value: the correlation itself); correlation of the seed-mean damage: {rho_means:.3g}"
    )
    return powered_row(
        cid,
        statement,
        CONDITION_TEST,
        d,
        theory=1.0,
        theory_text="rank correlation 1 (theory orders every verifier)",
        detail=detail,
        meta=meta,
        offset=CONDITION_RHO,
    )


def _paths(res: Results, gate: str) -> np.ndarray:
    """(seed, round) held-out change of the first highlighted verifier under ``gate``."""
    a1, k1 = json.loads(res.attrs["highlight"])[0]
    i, j = _at(res.coords["alpha"], a1), _at(res.coords["kappa"], k1)
    h = res["heldout_acc"][_gate(res, gate), i, j]
    return h - h[:, :1]


def _auc_stat(res: Results, gate: str) -> np.ndarray:
    """(seed,): the gate's mean damage over rounds (area under the damage curve per round)
    minus uniform replay's, paired by seed."""
    return -(_paths(res, gate)[:, 1:].mean(1) - _paths(res, "uniform")[:, 1:].mean(1))


def _amplification(res: Results, meta: dict, pilot: Results | None, gate: str = "rank") -> Claim:
    cid = "T5-amplification"
    statement = (
        "amplification as a mean effect: under progress-gated replay the confident "
        "sub-threshold verifier's (alpha 0.23, kappa 3) mean damage over the run (area under "
        "the damage curve) is larger than under uniform replay"
    )
    d = decide(
        AMPLIFICATION_TEST, _auc_stat(res, gate), None if pilot is None else _auc_stat(pilot, gate)
    )
    g, u = _paths(res, gate), _paths(res, "uniform")
    fin = mean_ci(g[:, -1] - u[:, -1], axis=0)
    worst = mean_ci(g.min(1) - u.min(1), axis=0)
    path_sd = {
        k: float(np.mean(np.std(np.diff(p, axis=1), axis=1, ddof=1)))
        for k, p in ((gate, g), ("uniform", u))
    }
    a1, k1 = json.loads(res.attrs["highlight"])[0]
    ne = res["n_eff"][:, _at(res.coords["alpha"], a1), _at(res.coords["kappa"], k1)]
    n_eff = {k: float(ne[_gate(res, k), :, 1:].mean()) for k in (gate, "uniform")}
    lowers = fin[1] > 0  # gate's final change significantly above uniform's: less damage
    note = (
        f"the {gate} gate LOWERS final damage (paired final change {gate} - uniform "
        f"{ci_text(fin[0], fin[1], fin[2], 100, ' pp')})"
        if lowers
        else f"paired final change {gate} - uniform {ci_text(fin[0], fin[1], fin[2], 100, ' pp')}"
    )
    detail = (
        f"paired by seed, {gate} minus uniform: mean damage over rounds (the tested statistic); "
        f"{note}; worst point (min over rounds, not a mean effect: a noisier path has a lower "
        f"minimum) {ci_text(worst[0], worst[1], worst[2], 100, ' pp')}; round-to-round path SD "
        f"{gate} {100 * path_sd[gate]:.3g} pp vs uniform {100 * path_sd['uniform']:.3g} pp "
        f"(ratio {path_sd[gate] / max(path_sd['uniform'], 1e-300):.2g}); realised N_eff {gate} "
        f"{n_eff[gate]:.3g} vs uniform {n_eff['uniform']:.3g} (variance of the shared update "
        f"~ 1/N_eff, T2b)"
    )
    return powered_row(
        cid,
        statement,
        AMPLIFICATION_TEST,
        d,
        theory=None,
        theory_text=(
            "sign: first-order gate amplification > 1 (T2) raises mean damage (fails over a run; "
            "why: rows T5-gated, T5-gated-expected-pairs)"
        ),
        detail=detail,
        meta=meta,
    )
