"""T5-gated and T2b-oscillation rows (paper/experiments/gate_noise.py) on synthetic results."""

import numpy as np

from paper.experiments import gate_noise
from tests.paper.helpers import decide, edit


def test_T5_gated_and_oscillation_hold_on_synthetic_truth(synth):
    rows = decide(gate_noise, synth)
    assert rows["T5-gated"].holds, rows["T5-gated"].decision
    assert rows["T2b-oscillation"].holds, rows["T2b-oscillation"].decision
    # the reported value is the measured difference (theory's 1 pp plus the statistic)
    assert abs(rows["T5-gated"].sim - 0.01) < 0.005


def test_T5_gated_fails_when_the_gate_does_more_damage_than_theory_says(own):
    def worse(h):  # rank: 3 pp more damage every round after the first
        h[1, :, 1:] -= 0.03
        return h

    edit(own / "gate_noise.nc", "heldout_acc", worse)
    row = decide(gate_noise, own)["T5-gated"]
    assert not row.holds and row.sim < -0.01


def test_T2b_oscillation_fails_without_an_oscillation(own):
    def smooth(h):  # proportional = uniform's path plus its own small walk: no oscillation
        h[2] = h[0] + 0.002 * np.cumsum(np.random.default_rng(1).standard_normal(h[0].shape), -1)
        return h

    edit(own / "gate_noise.nc", "heldout_acc", smooth)
    assert not decide(gate_noise, own)["T2b-oscillation"].holds
