"""T6's experiment: the decision rule on synthetic results."""

from paper.experiments import t6_cap
from tests.paper.helpers import decide, edit


def test_T6_holds_on_synthetic_truth(synth):
    assert decide(t6_cap, synth)["T6"].holds


def test_T6_fails_when_the_measured_gain_is_flat(own):
    # no gain anywhere: the marginal gain below theory's cap is not above epsilon
    edit(own / "cap.nc", "heldout_acc", lambda h: h * 0 + 0.45)
    assert not decide(t6_cap, own)["T6"].holds


def test_T6_fails_when_the_cap_is_elsewhere(own):
    # epsilon fixed, gain 10x steeper: the marginal gain above theory's cap exceeds epsilon
    edit(own / "cap.nc", "heldout_acc", lambda h: 0.45 + 10 * (h - 0.45))
    assert not decide(t6_cap, own)["T6"].holds
