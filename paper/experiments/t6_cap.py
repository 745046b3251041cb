"""T6 (diminishing returns, the verifier compute cap): gain along a compute power law.

Sweep ``cap``: verifiers (alpha(C), kappa(C)) on theory's power law in compute C, uniform
replay. Results layout (written and read here only): ``heldout_acc``, ``train_acc`` (compute,
seed, round), ``alpha``, ``kappa``, ``theory_gain`` and ``theory_gain_se`` (compute,);
attrs ``epsilon``, ``scale``, ``theory_cap``.
"""

from __future__ import annotations

import numpy as np

import theory
from paper.claims import Claim, agreement_row, fmt
from paper.experiments import common
from sim.results import Results
from sim.stats import agreement

SWEEP = "cap"
ROWS = ("T6",)


def spec(quick: bool) -> dict:
    """The sweep's parameters."""
    return dict(
        points=7 if quick else 13,
        log10_max=3.0,
        gate="uniform",
        student="default",
        seeds=16,
        rounds=100 if quick else 200,
    )


def run(p: dict, bar: common.Bar) -> common.Payload:
    """Verifiers along the power law; theory's first-round gain at each."""
    compute = np.logspace(0.0, p["log10_max"], p["points"])
    alphas = np.asarray(theory.alpha_of_compute(compute), dtype=float)
    kappas = np.asarray(theory.kappa_of_compute(compute), dtype=float)
    seeds = common.seed_range(p["seeds"])
    cfg = common.base_config(p["student"], gate=p["gate"], rounds=p["rounds"])
    traj = common.grid(cfg, {"alpha": alphas, "kappa": kappas}, seeds, bar, "cap")
    coords = {"compute": compute, "seed": np.array(seeds), **common.round_coords(p["rounds"])}
    data = common.trajectory_data(traj, ("compute", "seed"), fields=("heldout_acc", "train_acc"))
    data["alpha"] = (("compute",), alphas)
    data["kappa"] = (("compute",), kappas)
    bar("cap: theory")
    fields = common.model_fields(p["student"])
    gain, gain_se = common.theory_first_round(alphas, kappas, fields)
    data["theory_gain"] = (("compute",), gain)
    data["theory_gain_se"] = (("compute",), gain_se)
    # T6's scale eta beta M / 2: the first-round gain of a perfect verifier (alpha 1, erf = 1)
    scale = float(common.theory_first_round(np.array([1.0]), np.array([30.0]), fields)[0][0])
    c_star = float(10.0 ** (p["log10_max"] / 2.0))  # epsilon chosen to put the cap mid-grid
    eps = float(theory.marginal_gain(c_star, scale=scale))
    attrs = {
        "epsilon": eps,
        "scale": scale,
        "theory_cap": float(theory.compute_cap(eps, scale=scale)),
    }
    return coords, data, attrs


def claims(res: Results, meta: dict) -> list[Claim]:
    """T6."""
    cid = "T6"
    statement = (
        "diminishing returns above threshold: the first-round gain along a verifier "
        "compute power law follows theory, so the compute cap follows from it"
    )
    h = res["heldout_acc"]  # (compute, seed, round)
    ag = agreement(h[..., 1] - h[..., 0], res["theory_gain"], theory_se=res["theory_gain_se"])
    i = ag["worst"]
    decision = (
        f"{ag['n']} compute levels; first-round gain max |sim - theory|/SE = "
        f"{ag['max_z']:.2f} vs k = {ag['k']:.2f}; theory's cap "
        f"{fmt(float(res.attrs['theory_cap']))} compute units at epsilon "
        f"{fmt(float(res.attrs['epsilon']))}"
    )
    c = res.coords["compute"][i[0]]
    return [
        agreement_row(cid, statement, ag, f"first-round gain at compute {c:.3g}", decision, meta)
    ]
