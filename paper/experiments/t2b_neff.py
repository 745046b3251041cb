"""T2b (effective replay size): a progress gate shrinks N_eff = (sum w)^2 / sum w^2 below B.

Sweep ``neff``: confident verifiers on both sides of the threshold under uniform and gated
replay. Results layout (written and read here only): ``n_eff``, ``n_eff_dist``, ``frac_wrong``
(gate, verifier, seed, step), ``heldout_acc`` (gate, verifier, seed, round), ``alpha``,
``kappa`` (verifier,), attr ``gate_names``; the batch size B is in the stored config (``B``).
"""

from __future__ import annotations

import json

import numpy as np

from paper.claims import Claim, ci_text, row
from paper.experiments import common
from sim.results import Results
from sim.stats import mean_ci

SWEEP = "neff"
ROWS = ("T2b",)
FIELDS = ("heldout_acc", "n_eff", "n_eff_dist", "frac_wrong")


def spec(quick: bool) -> dict:
    """The sweep's parameters; ``B`` is the model's batch size, stored for the decision."""
    student = "default"
    return dict(
        verifiers=[[0.23, 3.0], [0.35, 1.0], [0.8, 3.0]],
        gates=["uniform", "rank"],
        student=student,
        B=int(common.model_fields(student)["B"]),
        seeds=16,
        rounds=100 if quick else 200,
    )


def run(p: dict, bar: common.Bar) -> common.Payload:
    """Every verifier under every gate."""
    vs = np.array(p["verifiers"], dtype=float)
    seeds = common.seed_range(p["seeds"])
    trajs = []
    for g in p["gates"]:
        cfg = common.base_config(p["student"], gate=g, rounds=p["rounds"], B=p["B"])
        trajs.append(
            common.grid(cfg, {"alpha": vs[:, 0], "kappa": vs[:, 1]}, seeds, bar, f"neff {g}")
        )
    coords = {
        "gate": np.arange(len(p["gates"])),
        "verifier": np.arange(len(vs)),
        "seed": np.array(seeds),
        **common.round_coords(p["rounds"]),
    }
    data = common.trajectory_data(common.stack(trajs), ("gate", "verifier", "seed"), fields=FIELDS)
    data["alpha"] = (("verifier",), vs[:, 0])
    data["kappa"] = (("verifier",), vs[:, 1])
    return coords, data, {"gate_names": json.dumps(p["gates"])}


def claims(res: Results, meta: dict, gate: str = "rank") -> list[Claim]:
    """T2b."""
    cid = "T2b"
    statement = (
        "a progress gate shrinks the effective replay size N_eff = (sum w)^2 / sum w^2 "
        "below uniform replay's, and N_eff <= B always"
    )
    B = float(json.loads(res.attrs["config"])["B"])
    names = json.loads(res.attrs["gate_names"])
    ne = res["n_eff"]  # (gate, verifier, seed, step)
    per_seed = ne[..., 1:].mean(axis=(1, 3))  # (gate, seed), after round 1
    g, u = names.index(gate), names.index("uniform")
    m, lo, hi, _ = mean_ci(per_seed[g] - per_seed[u], axis=0)
    mg = float(per_seed[g].mean())
    decision = (
        f"mean realised N_eff over {ne.shape[1]} verifiers: {gate} {mg:.2f}, uniform "
        f"{per_seed[u].mean():.2f}, max {np.nanmax(ne):.2f} <= B = {B:g}; paired difference "
        f"{gate} - uniform {ci_text(m, lo, hi)} (must be < 0)"
    )
    return [
        row(
            cid,
            statement,
            theory=B,
            theory_text="upper bound B on N_eff",
            sim=mg,
            ci=None,
            holds=hi < 0 and np.nanmax(ne) <= B + 1e-9,
            decision=decision,
            meta=meta,
        )
    ]
