"""The replication experiment: the decision rule on synthetic results."""

from paper.experiments import replication
from tests.paper.helpers import decide, edit


def test_replication_holds_when_signs_follow_alpha(synth):
    assert decide(replication, synth)["replication"].holds


def test_replication_fails_when_the_second_student_flips(own):
    def flip(h):
        h[1] = 0.9 - h[1]
        return h

    edit(own / "replication.nc", "heldout_acc", flip)
    assert not decide(replication, own)["replication"].holds
