"""T2b's experiment: the decision rule on synthetic results."""

from paper.experiments import t2b_neff
from tests.paper.helpers import decide, edit


def test_T2b_holds_when_the_gate_shrinks_neff(synth):
    row = decide(t2b_neff, synth)["T2b"]
    assert row.holds and row.theory == 32.0


def test_T2b_fails_when_neff_exceeds_B(own):
    def over(ne):
        ne[1, 0, 0, 3] = 40.0
        return ne

    edit(own / "neff.nc", "n_eff", over)
    assert not decide(t2b_neff, own)["T2b"].holds


def test_T2b_fails_when_the_gate_does_not_shrink_neff(own):
    edit(own / "neff.nc", "n_eff", lambda ne: ne * 0 + 28.0)
    assert not decide(t2b_neff, own)["T2b"].holds
