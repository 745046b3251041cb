"""T6's experiment: the decision rule on synthetic results."""

from paper.experiments import t6_cap
from tests.paper.helpers import decide, edit


def test_T6_holds_on_synthetic_truth(synth):
    assert decide(t6_cap, synth)["T6"].holds


def test_T6_fails_when_the_gain_is_off(own):
    edit(own / "cap.nc", "theory_gain", lambda g: g * 3.0)
    assert not decide(t6_cap, own)["T6"].holds
