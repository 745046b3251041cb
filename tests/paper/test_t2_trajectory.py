"""T2 along trajectories (paper/experiments/t2_trajectory.py): the rows on synthetic results.

The synthetic per-run statistics are drawn here (no simulator): slopes around a chosen value
with a chosen spread; agreeing data must pass, disagreeing data must fail.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from paper.claims import meta
from paper.experiments import t2_trajectory as exp
from sim.results import Results


def _results(slope_cond, slope_ind, agated, seeds, seed0=0, sd=0.05) -> Results:
    rng = np.random.default_rng(seed0)
    G = len(exp.GATES)
    spec = {**exp.spec(True), "seeds": list(range(seed0, seed0 + seeds))}
    data = {
        "slope_cond": np.asarray(slope_cond, float)[:, None] + sd * rng.standard_normal((G, seeds)),
        "slope_ind": np.asarray(slope_ind, float)[:, None] + sd * rng.standard_normal((G, seeds)),
        "intercept_cond": np.zeros((G, seeds)),
        "corr_cond": np.full((G, seeds), 0.4),
        "agated_run": np.asarray(agated, float)[:, None] + 0.02 * rng.standard_normal((G, seeds)),
    }
    attrs = {
        "gate_names": json.dumps(list(exp.GATES)),
        "config": json.dumps(spec),
        "seeds": json.dumps(spec["seeds"]),
    }
    return Results(
        coords={"gate": np.arange(G), "seed": np.array(spec["seeds"])},
        data={k: (("gate", "seed"), v) for k, v in data.items()},
        attrs=attrs,
    )


def _rows(slope_cond, slope_ind, agated):
    pilot = _results(slope_cond, slope_ind, agated, 16, seed0=10_000)
    res = _results(slope_cond, slope_ind, agated, 32)
    rows = exp.claims(res, meta(res, "t2traj.nc", exp.SWEEP, pilot), pilot)
    assert [r.id for r in rows] == list(exp.ROWS)
    return {r.id: r for r in rows}


# gates: uniform, rank, proportional
AGREE = dict(slope_cond=[1.0, 0.98, 1.01], slope_ind=[1.0, 1.8, 2.2])


def test_T2_traj_rows_hold_on_agreeing_data():
    import theory

    a_th = float(theory.gated_pair_accuracy(0.3, 2.0))
    rows = _rows(**AGREE, agated=[0.3, 0.3, a_th])
    for cid in ("T2-traj", "T2-traj-uniform", "T2-traj-selection", "T2-agated-run"):
        assert rows[cid].holds, (cid, rows[cid].decision)
    assert rows["T2-traj"].pilot_seeds[0] >= 10_000
    assert rows["T2-traj"].power > 0.9


@pytest.mark.parametrize("gate", range(3))
def test_T2_traj_fails_when_one_gate_departs_from_slope_one(gate):
    slope = list(AGREE["slope_cond"])
    slope[gate] = 0.8
    rows = _rows(slope, AGREE["slope_ind"], agated=[0.3] * 3)
    assert not rows["T2-traj"].holds


def test_T2_traj_uniform_fails_when_the_independent_form_misses():
    rows = _rows(AGREE["slope_cond"], [1.25, 1.8, 2.2], agated=[0.3] * 3)
    assert not rows["T2-traj-uniform"].holds
    assert rows["T2-traj"].holds


def test_T2_traj_selection_fails_without_a_selection_effect():
    rows = _rows(AGREE["slope_cond"], [1.0, 1.0, 1.02], agated=[0.3] * 3)
    assert not rows["T2-traj-selection"].holds


def test_T2_agated_run_fails_when_the_run_sits_at_a_pair():
    rows = _rows(**AGREE, agated=[0.3, 0.3, 0.3])
    assert not rows["T2-agated-run"].holds


def test_T2_traj_rows_decided_on_the_shared_synthetic_results(synth):
    from tests.paper.helpers import decide

    rows = decide(exp, synth)
    assert rows["T2-traj"].holds and rows["T2-traj-uniform"].holds, rows["T2-traj"].decision
