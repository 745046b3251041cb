"""T5-gated and T2b-oscillation rows (paper/experiments/gate_noise.py) on synthetic results."""

import numpy as np

from paper.experiments import gate_noise
from tests.paper.helpers import decide, edit


def test_T5_gated_and_oscillation_hold_on_synthetic_truth(synth):
    rows = decide(gate_noise, synth)
    for cid in gate_noise.ROWS:
        assert rows[cid].holds, (cid, rows[cid].decision)
    # the reported value is the measured difference (theory's 1 pp plus the statistic)
    assert abs(rows["T5-gated"].sim - 0.01) < 0.005
    assert rows["T5-gated"].kind == "claim" and rows["T5-gated-expected-pairs"].kind == "boundary"


def test_T5_gated_fails_when_the_gate_does_more_damage_than_theory_says(own):
    def worse(h):  # second student, rank: 3 pp more damage every round after the first
        h[1, 1, :, 1:] -= 0.03
        return h

    edit(own / "gate_noise.nc", "heldout_acc", worse)
    rows = decide(gate_noise, own)
    assert not rows["T5-gated"].holds and rows["T5-gated"].sim < -0.01
    assert rows["T5-gated-expected-pairs"].holds  # the default student's row is untouched


def test_T2b_oscillation_fails_without_an_oscillation(own):
    def smooth(h):  # default, proportional = uniform's path plus its own small walk
        walk = np.random.default_rng(1).standard_normal(h[0, 0].shape)
        h[0, 2] = h[0, 0] + 0.002 * np.cumsum(walk, -1)
        return h

    edit(own / "gate_noise.nc", "heldout_acc", smooth)
    assert not decide(gate_noise, own)["T2b-oscillation"].holds
