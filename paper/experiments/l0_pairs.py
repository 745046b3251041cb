"""L0 (the pair channel): first-round orientation of mixed pairs against a_pair, n = 2 and n > 2.

Sweep ``pairs``: uniform replay, one round suffices (only round 1's pairs are read). Results
layout (written and read here only): ``pair_right``, ``pair_wrong``, ``void_frac``
(n, alpha, kappa, seed) at round 1; theory's ``theory_pair_accuracy_grid`` (n, alpha, kappa) on
the sweep's kappas and ``theory_pair_accuracy`` (n, alpha, kappa_fine) for the figure, each with
``_se`` (the Monte Carlo error of the prompt average for n > 2; 0 for n = 2's closed form).
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np

import theory
from paper.claims import Claim, Test, decide, powered_row, unavailable
from paper.experiments import common
from sim.results import Results

SWEEP = "pairs"
ROWS = ("L0", "L0-n")
# pre-registered: the simulated orientation rate of mixed pairs within 0.02 of theory's a_pair
# at every grid point (TOST)
L0_TEST = Test("equivalent", 0.02, 0.04)


def spec(quick: bool) -> dict:
    """The sweep's parameters."""
    if quick:
        kappas, ns, prompts = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0], [2, 4], 1000
    else:
        kappas = [0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
        ns, prompts = [2, 3, 4, 8], 2000
    # only round 1's pairs are read, so one round is run
    return dict(
        alphas=[0.2, 0.8],
        kappas=kappas,
        ns=ns,
        theory_prompts=prompts,
        student="default",
        pilot=16,
        min_seeds=16,
        max_seeds=256 if quick else 512,
        rounds=1,
    )


def theory_pair_accuracy_mixture(
    alpha: float, kappas: np.ndarray, n: int, pis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """L0 averaged over prompts: E[right_x] / E[right_x + wrong_x], exact per prompt, and its SE.

    Uses theory's exact finite-K pair law per prompt (frozen verdicts averaged); the SE is the
    delta-method Monte Carlo error of the prompt average.
    """
    val, se = np.empty(len(kappas)), np.empty(len(kappas))
    for j, k in enumerate(kappas):
        probs = theory.expected_prompt_pair_probs(np.asarray(pis), alpha, float(k), n)
        r, m = probs["right"], probs["right"] + probs["wrong"]
        ratio = r.mean() / m.mean()
        resid = (r - ratio * m) / m.mean()
        val[j], se[j] = ratio, resid.std(ddof=1) / math.sqrt(len(r))
    return val, se


def run(p: dict, bar: common.Bar) -> common.Payload:
    """First-round pair orientation rates for several n (L0)."""
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    seeds = common.seed_range(p["seeds"])
    right, wrong, void = [], [], []
    for n in p["ns"]:
        cfg = common.base_config(p["student"], rounds=p["rounds"], n=int(n))
        traj = common.grid2(cfg, A, K, seeds, bar, f"pairs n={n}")
        right.append(traj.pair_right[..., 0])
        wrong.append(traj.pair_wrong[..., 0])
        void.append(traj.void_frac[..., 0])
    fine = np.linspace(0.0, max(p["kappas"]), 41)
    coords = {
        "n": np.array(p["ns"]),
        "alpha": A,
        "kappa": K,
        "seed": np.array(seeds),
        "kappa_fine": fine,
    }
    dims = ("n", "alpha", "kappa", "seed")
    data = {
        "pair_right": (dims, np.stack(right)),
        "pair_wrong": (dims, np.stack(wrong)),
        "void_frac": (dims, np.stack(void)),
    }
    theory_p = {k: p[k] for k in ("student", "theory_prompts", "ns", "alphas", "kappas")}
    data.update(_theory(json.dumps(theory_p, sort_keys=True), bar))
    return coords, data, {}


def _theory(key: str, bar: common.Bar) -> dict:
    """Theory's pair accuracies for the spec's (n, alpha, kappa) grid and a fine kappa curve.

    Seed-free, so computed once per process for its inputs (``key``: the spec's theory
    fields as JSON): the pilot and the confirmation ask for the same numbers (3 s quick).
    """
    bar("pairs: theory")
    return {k: (dims, v.copy()) for k, (dims, v) in _theory_arrays(key).items()}


@functools.lru_cache(maxsize=4)
def _theory_arrays(key: str) -> dict:
    p = json.loads(key)
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    fine = np.linspace(0.0, max(p["kappas"]), 41)
    data = {}
    pis = theory.theta0_policies(common.model_fields(p["student"]), p["theory_prompts"], seed=1)
    for name, ks in (("theory_pair_accuracy", fine), ("theory_pair_accuracy_grid", K)):
        val = np.empty((len(p["ns"]), len(A), len(ks)))
        se = np.zeros_like(val)
        for i, n in enumerate(p["ns"]):
            for j, a in enumerate(A):
                if int(n) == 2:  # exact closed form, independent of the policy
                    val[i, j] = theory.pair_accuracy(float(a), ks)
                else:  # the plotted fine curve is only drawn: fewer prompts
                    sub = pis if name.endswith("grid") or len(ks) <= 12 else pis[:200]
                    val[i, j], se[i, j] = theory_pair_accuracy_mixture(float(a), ks, int(n), sub)
        kdim = "kappa_fine" if name == "theory_pair_accuracy" else "kappa"
        data[name] = (("n", "alpha", kdim), val)
        data[name + "_se"] = (("n", "alpha", kdim), se)
    return data


def claims(res: Results, meta: dict, pilot: Results | None = None) -> list[Claim]:
    """L0 (n = 2) and L0-n (n > 2)."""
    return [_l0(res, meta, pilot, general_n=False), _l0(res, meta, pilot, general_n=True)]


def _sel(res: Results, general_n: bool) -> np.ndarray:
    ns = res.coords["n"]
    return ns > 2 if general_n else ns == 2


def _stat(res: Results, general_n: bool) -> np.ndarray:
    """(n * alpha * kappa, seed): round-1 orientation rate of mixed pairs minus theory's."""
    sel = _sel(res, general_n)
    right, wrong = res["pair_right"][sel], res["pair_wrong"][sel]
    mixed = right + wrong
    acc = np.divide(right, mixed, out=np.full_like(right, np.nan), where=mixed > 0)
    d = acc - res["theory_pair_accuracy_grid"][sel][..., None]
    return d.reshape(-1, d.shape[-1])


def _l0(res: Results, meta: dict, pilot: Results | None, *, general_n: bool) -> Claim:
    cid = "L0-n" if general_n else "L0"
    statement = (
        "best-vs-worst pairs over n > 2 samples are oriented right with the general-n "
        "probability a_pair(alpha, kappa, n) (order-statistics integral)"
        if general_n
        else "a mixed n = 2 pair is oriented right with probability "
        "a_pair = 1/2 + (2 alpha - 1)(Phi(sqrt2 kappa) - 1/2)"
    )
    sel = _sel(res, general_n)
    if not np.any(sel):
        return unavailable(cid, statement, "no such n in the sweep", **meta)
    th = res["theory_pair_accuracy_grid"][sel]
    d = decide(
        L0_TEST,
        _stat(res, general_n),
        None if pilot is None else _stat(pilot, general_n),
        extra_se=res["theory_pair_accuracy_grid_se"][sel].ravel(),
    )
    i, j, k = np.unravel_index(d["worst"], th.shape)
    n_i = int(res.coords["n"][sel][i])
    a_i, k_i = res.coords["alpha"][j], res.coords["kappa"][k]
    return powered_row(
        cid,
        statement,
        L0_TEST,
        d,
        theory=th[i, j, k],
        theory_text=f"a_pair at the worst point (n={n_i}, alpha={a_i:g}, kappa={k_i:g})",
        offset=float(th[i, j, k]),
        detail=f"round-1 orientation rate of mixed pairs minus theory at every (n, alpha, kappa), "
        f"n in {sorted(int(x) for x in res.coords['n'][sel])}",
        meta=meta,
    )
