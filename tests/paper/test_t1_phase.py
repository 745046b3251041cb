"""The phase diagram's row: T5's kappa -> 0 limit."""

import numpy as np
import pytest

from paper.experiments import t1_phase
from tests.paper.helpers import decide, edit


def test_T5_kappa0_holds_on_synthetic_truth(synth):
    assert decide(t1_phase, synth)["T5-kappa0"].holds


def test_T5_kappa0_fails_when_kappa0_moves_the_student(own):
    def move(h):
        h[:, 0] += 0.01 * np.arange(h.shape[-1])
        return h

    edit(own / "phase.nc", "heldout_acc", move)
    assert not decide(t1_phase, own)["T5-kappa0"].holds


@pytest.mark.parametrize("kappa", [0.5, 1.0, 3.0])
def test_theory_threshold_is_one_half_for_positive_kappa(kappa):
    """L0: a_pair = 1/2 exactly at alpha = 1/2 (independent of the root finder)."""
    assert t1_phase.theory_threshold(np.array([kappa]))[0] == pytest.approx(0.5, abs=1e-8)
    assert np.isnan(t1_phase.theory_threshold(np.array([0.0]))[0])
