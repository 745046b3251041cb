"""T5's experiment: decision rules on synthetic results."""

import numpy as np

from paper.experiments import t5_inversion
from tests.paper.helpers import decide, edit


def test_T5_rows_hold_on_synthetic_truth(synth):
    rows = decide(t5_inversion, synth)
    assert rows["T5"].holds and rows["T5-condition"].holds and rows["T5-amplification"].holds
    assert rows["T5"].theory > 0  # theory predicts the inversion


def test_T5_fails_when_the_confident_verifier_does_less_damage(own):
    def swap(h):  # uniform gate: (0.23, 3) no longer moves
        h[0, 1, 1] = 0.45
        return h

    edit(own / "inversion.nc", "heldout_acc", swap)
    assert not decide(t5_inversion, own)["T5"].holds


def test_T5_condition_fails_when_damage_is_ordered_against_theory(own):
    def invert(h):
        h[0] = 0.9 - h[0]  # every uniform trajectory mirrored: damage becomes gain
        return h

    edit(own / "inversion.nc", "heldout_acc", invert)
    row = decide(t5_inversion, own)["T5-condition"]
    assert not row.holds and np.isfinite(row.sim)


def test_T5_condition_is_a_powered_rank_correlation_test(synth):
    row = decide(t5_inversion, synth)["T5-condition"]
    assert row.holds and row.test and row.effect == 0.1 and row.sim > 0.5


def test_T5_condition_fails_when_damage_is_unrelated_to_theory(own):
    def shuffle(h):  # uniform gate: each seed's verifiers get a random permutation of paths
        rng = np.random.default_rng(3)
        g = h[0].reshape(-1, *h.shape[3:])
        for s in range(g.shape[1]):
            g[:, s] = g[rng.permutation(g.shape[0]), s]
        h[0] = g.reshape(h[0].shape)
        return h

    edit(own / "inversion.nc", "heldout_acc", shuffle)
    assert not decide(t5_inversion, own)["T5-condition"].holds
