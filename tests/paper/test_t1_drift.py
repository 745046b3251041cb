"""T1's first round: the drift's closed form and the threshold at exactly 1/2."""

import numpy as np

from paper.experiments import t1_drift
from tests.paper.helpers import decide, edit


def test_first_round_rows_hold_on_synthetic_truth(synth):
    rows = decide(t1_drift, synth)
    assert rows["T1"].holds, rows["T1"].decision
    assert rows["T1-threshold"].holds, rows["T1-threshold"].decision


def test_T1_fails_when_the_first_round_is_off_theory(own):
    edit(own / "first_round.nc", "theory_first_round_drift", lambda t: t * 1.5)
    assert not decide(t1_drift, own)["T1"].holds


def test_threshold_fails_when_the_first_round_zero_moves(own):
    def move(h):
        h[..., 1] -= 0.002  # round-1 change at alpha = 1/2 now -0.2 pp
        return h

    edit(own / "first_round.nc", "heldout_acc", move)
    assert not decide(t1_drift, own)["T1-threshold"].holds


def test_threshold_statistic_is_the_alpha_half_slice(synth):
    from sim.results import read_results

    res = read_results(synth / "first_round.nc")
    stat = t1_drift._threshold_stat(res)
    assert stat.shape == (2 * int(np.sum(res.coords["kappa"] > 0)), res.coords["seed"].size)
