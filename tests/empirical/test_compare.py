"""Theory's prediction from audited (alpha, kappa): T1's sign via L0's a_pair, firm only when the
whole confidence box is on one side of the threshold alpha = 1/2."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.compare import calibration_scores, predict_sign
from empirical.data import synthetic_task
from empirical.verifiers import SyntheticVerifier


def test_predicted_sign_T1():
    a, s, firm = predict_sign(0.9, 2.0, (0.85, 0.95), (1.5, 2.5), n=2, p_correct=0.5)
    assert a > 0.5 and s == 1 and firm == 1
    a, s, firm = predict_sign(0.2, 2.0, (0.15, 0.25), (1.5, 2.5), n=4, p_correct=0.4)
    assert a < 0.5 and s == -1 and firm == -1
    _, _, firm = predict_sign(0.45, 0.1, (0.0, 1.0), (0.0, 0.8), n=2, p_correct=0.5)
    assert firm == 0
    # n = 2 closed form of L0: 1/2 + (2 alpha - 1)(Phi(sqrt2 kappa) - 1/2)
    from scipy.stats import norm

    a, _, _ = predict_sign(0.7, 1.0, (0.7, 0.7), (1.0, 1.0), n=2, p_correct=0.5)
    assert np.isclose(a, 0.5 + 0.4 * (norm.cdf(np.sqrt(2.0)) - 0.5))


def test_calibration_scores_label_every_option():
    qs = synthetic_task(30, 0)
    s, lab, ids = calibration_scores(SyntheticVerifier(0.8, 1.0), qs)
    assert s.shape == (120,) and lab.sum() == 30 and len(set(ids)) == 120


def test_selection_measure_from_logged_samples():
    from empirical.compare import selection_measure

    rec = lambda r, q, s, lab: {"round": r, "question_id": q, "score": s, "label": lab}
    samples = [
        rec(1, "a", 2.0, 1),
        rec(1, "a", 1.0, 0),
        rec(1, "a", 0.0, 0),  # top correct; 1/3
        rec(1, "b", 0.5, 0),
        rec(1, "b", 0.1, 1),
        rec(1, "b", 0.2, 1),  # top wrong; 2/3
        rec(1, "c", 0.5, 0),
        rec(1, "c", 0.1, 0),
        rec(1, "c", 0.2, 0),  # no correct: excluded
        rec(2, "a", 0.0, 1),
        rec(2, "a", 1.0, 1),
        rec(2, "a", 0.5, 0),  # top correct; 2/3
    ]
    m = selection_measure(samples)
    assert m["questions_with_a_correct_sample"] == 3
    assert m["selection_accuracy"] == pytest.approx(2 / 3)
    assert m["selection_chance"] == pytest.approx((1 / 3 + 2 / 3 + 2 / 3) / 3)


def test_interval_over_seeds_and_sign_rule():
    from scipy import stats

    from empirical.compare import compare_seeds, interval

    v = [0.1, 0.3, 0.2, 0.25]
    iv = interval(v)
    half = stats.t.ppf(0.975, 3) * np.std(v, ddof=1) / 2
    assert iv["mean"] == pytest.approx(0.2125) and iv["ci"][1] - iv["mean"] == pytest.approx(half)

    def rep(change, firm):
        return {"heldout": {"change": change}, "predicted": {"sign_firm": firm}}

    up = compare_seeds("v", [rep(c, 1) for c in v])
    assert up["measured_sign"] == 1 and up["sign_in_every_seed"] == 1
    mixed = compare_seeds("v", [rep(c, -1) for c in (-0.3, 0.01, -0.2)])
    assert mixed["measured_sign"] == 0 and mixed["sign_in_every_seed"] == 0
    assert mixed["predicted_sign_firm"] == -1
