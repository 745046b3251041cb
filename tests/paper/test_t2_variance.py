"""T2's experiment: the decision rule on synthetic results, and one small real measurement."""

import json

import numpy as np
import pytest

from paper.experiments import t2_variance
from sim.results import Results
from tests.paper.helpers import decide, edit


def test_T2_holds_on_synthetic_truth(synth):
    assert decide(t2_variance, synth)["T2"].holds


def test_T2_fails_on_one_prompt_far_from_its_prediction(own):
    def shift(m):
        m[3] += 0.01  # 20 of its SEs
        return m

    edit(own / "variance.nc", "measured_fresh", shift)
    row = decide(t2_variance, own)["T2"]
    assert not row.holds and "max |z|" in row.decision


def test_T2_fails_when_every_prompt_is_a_bit_off(own):
    # each prompt 0.09 pp above (about 18% of the predicted total): the per-run TOST fails
    edit(own / "variance.nc", "measured_fresh", lambda m: m + 0.0009)
    assert not decide(t2_variance, own)["T2"].holds


@pytest.mark.slow
def test_T2_simulator_progress_matches_theory_from_independent_moments():
    """sim.progress_moments' measured progress vs theory.expected_progress on moments of G_x
    estimated from independent draws: agreement within k SE on a small model."""
    p = dict(t2_variance.spec(True), seeds=[0, 1, 2], draws=4000, moment_batches=8)
    coords, data, _ = t2_variance.run(p, lambda s: None)
    res = Results(coords, data, {"config": json.dumps(p)})
    row = t2_variance.claims(res, {})[0]
    assert row.holds, row.decision
    assert np.corrcoef(data["predicted_fresh"][1], data["measured_fresh"][1])[0, 1] > 0.9
