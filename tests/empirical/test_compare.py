"""Theory's prediction from audited (alpha, kappa): T1's sign via L0's a_pair, firm only when the
whole confidence box is on one side of the threshold alpha = 1/2."""

from __future__ import annotations

import numpy as np

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
