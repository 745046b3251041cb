"""T4's experiment: the decision rule on synthetic results."""

import numpy as np

from paper.experiments import t4_silent
from tests.paper.helpers import decide, edit


def test_T4_holds_when_loss_falls_and_accuracy_falls(synth):
    rows = decide(t4_silent, synth)
    assert rows["T4"].holds and rows["T4"].kind == "claim" and rows["T4-rank"].kind == "boundary"


def test_T4_fails_when_the_loss_rises_in_a_window(own):
    def rise(loss):
        loss[0, 1, :, -2:] += 0.2
        return loss

    edit(own / "silent.nc", "loss_trained", rise)
    assert not decide(t4_silent, own)["T4"].holds


def test_T4_fails_when_accuracy_rises(own):
    def up(h):
        h[0, 1] = 0.45 + 0.004 * np.arange(h.shape[-1])
        return h

    edit(own / "silent.nc", "heldout_acc", up)
    assert not decide(t4_silent, own)["T4"].holds
