"""T1's experiment (phase diagram): decision rules on synthetic results."""

import numpy as np
import pytest

from paper.experiments import t1_threshold
from tests.paper.helpers import decide, edit


def test_T1_rows_hold_on_synthetic_truth(synth):
    rows = decide(t1_threshold, synth)
    assert rows["T1"].holds and rows["T5-kappa0"].holds


def test_T1_threshold_fails_when_the_crossing_moves(own):
    # every final change lowered: the crossing moves well above 1/2
    edit(own / "phase.nc", "heldout_acc", lambda h: h - 0.02 * np.arange(h.shape[-1]) / 8)
    assert not decide(t1_threshold, own)["T1-threshold"].holds


def test_T5_kappa0_fails_when_kappa0_moves_the_student(own):
    def move(h):
        h[:, 0] += 0.01 * np.arange(h.shape[-1])
        return h

    edit(own / "phase.nc", "heldout_acc", move)
    assert not decide(t1_threshold, own)["T5-kappa0"].holds


@pytest.mark.parametrize("kappa", [0.5, 1.0, 3.0])
def test_theory_threshold_is_one_half_for_positive_kappa(kappa):
    """L0: a_pair = 1/2 exactly at alpha = 1/2 (independent of the root finder)."""
    assert t1_threshold.theory_threshold(np.array([kappa]))[0] == pytest.approx(0.5, abs=1e-8)
    assert np.isnan(t1_threshold.theory_threshold(np.array([0.0]))[0])
