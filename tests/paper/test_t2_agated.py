"""T2-agated (paper/experiments/t2_agated.py): the row on synthetic results (no simulator)."""

from __future__ import annotations

import json

import numpy as np

from paper.claims import meta
from paper.experiments import t2_agated as exp
from sim.results import Results

GATES = ["uniform", "rank", "proportional", "threshold"]
THEORY = np.array([[0.30, 0.67], [0.17, 0.79], [0.15, 0.80], [0.18, 0.78]])


def _results(shift, seeds, seed0=0, sd=0.15) -> Results:
    rng = np.random.default_rng(seed0)
    G, V = THEORY.shape
    spec = {**exp.spec(True), "gates": GATES, "seeds": list(range(seed0, seed0 + seeds))}
    sim = THEORY[..., None] + np.asarray(shift)[..., None] + sd * rng.standard_normal((G, V, seeds))
    sim[0, 0, 0] = np.nan  # a run without replay mass on an oriented pair: dropped
    data = {
        "agated": (("gate", "verifier", "seed"), sim),
        "theory": (("gate", "verifier"), THEORY),
        "theory_se": (("gate", "verifier"), np.full((G, V), 0.004)),
        "alpha": (("verifier",), np.array([0.3, 0.7])),
        "kappa": (("verifier",), np.array([2.0, 1.0])),
    }
    attrs = {
        "gate_names": json.dumps(GATES),
        "config": json.dumps(spec),
        "seeds": json.dumps(spec["seeds"]),
    }
    coords = {"gate": np.arange(G), "verifier": np.arange(V), "seed": np.array(spec["seeds"])}
    return Results(coords=coords, data=data, attrs=attrs)


def _row(shift):
    pilot = _results(shift, 64, seed0=10_000)
    res = _results(shift, 512)
    (row,) = exp.claims(res, meta(res, "agated.nc", exp.SWEEP, pilot), pilot)
    return row


def test_T2_agated_holds_when_the_simulator_agrees_with_theory():
    row = _row(np.zeros(THEORY.shape))
    assert row.holds, row.decision
    assert "511 runs (1 with no replay mass" in row.decision
    assert row.pilot_seeds[0] >= 10_000 and row.seeds[0] == 0


def test_T2_agated_fails_when_a_gate_sits_at_the_uniform_pair_accuracy():
    shift = np.zeros(THEORY.shape)
    shift[2, 0] = 0.30 - 0.15  # proportional at alpha 0.3 reads a_pair: no lock-in
    assert not _row(shift).holds


def test_T2_agated_decided_on_the_shared_synthetic_results(synth):
    from tests.paper.helpers import decide

    assert decide(exp, synth)["T2-agated"].holds
