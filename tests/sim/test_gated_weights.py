"""T5-gated's gate weights (theory.gate_weights_from_progress) against the simulator's gate code."""

import numpy as np

from sim import replay
from theory import gate_weights_from_progress


def test_T5_gated_rank_and_proportional_weights_equal_the_simulators_gate_code():
    rng = np.random.default_rng(4)
    S = rng.standard_normal(64)
    got = gate_weights_from_progress(S, "rank", temperature=0.7, staleness=0.0)
    want = np.asarray(replay.rank_weights(S, 0.7))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    prop = gate_weights_from_progress(S, "proportional")
    np.testing.assert_allclose(prop, np.maximum(S, 0) / np.maximum(S, 0).sum(), rtol=1e-12)
    assert np.allclose(gate_weights_from_progress(-np.abs(S), "proportional"), 1 / 64)
