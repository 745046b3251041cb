"""L0's experiment: its decision rule on synthetic results with a known truth."""

import pytest

from paper.experiments import l0_pairs
from tests.figures import synthetic
from tests.paper.helpers import decide


def test_L0_holds_when_simulation_matches_the_closed_form(synth):
    rows = decide(l0_pairs, synth)
    assert rows["L0"].holds and rows["L0-n"].holds


def test_L0_fails_when_simulation_is_biased(tmp_path):
    # the synthetic truth shifted by 0.1: far outside any SE-based tolerance
    rows = decide(l0_pairs, synthetic.write_all(tmp_path, pair_bias=0.1))
    assert not rows["L0"].holds
    assert rows["L0"].sim - rows["L0"].theory == pytest.approx(0.1, abs=0.03)


def test_L0_mixture_prediction_is_a_ratio_of_prompt_means():
    """n > 2: E[right] / E[right + wrong] over prompts; one prompt repeated gives that prompt."""
    import numpy as np

    import theory

    pi = np.array([[0.4, 0.3, 0.2, 0.1]])
    val, se = l0_pairs.theory_pair_accuracy_mixture(0.8, np.array([1.0]), 4, np.repeat(pi, 3, 0))
    o = theory.expected_prompt_pair_probs(pi[0], 0.8, 1.0, 4)
    assert val[0] == pytest.approx(o["right"] / (o["right"] + o["wrong"]))
    assert se[0] == pytest.approx(0.0, abs=1e-12)
