"""Audit fit (empirical/audit/fit.py, model.py, intervals.py) on scores from V(alpha, kappa)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize, stats

from empirical import audit
from empirical.audit import model as audit_model
from tests.empirical.audit.synthetic import generate


def _loglik_reference(params, s, c):
    """Independent log-likelihood of the score model (one score per candidate)."""
    alpha, loc, delta, sigma = params
    up = stats.norm.logpdf(s, loc + delta, sigma)
    down = stats.norm.logpdf(s, loc - delta, sigma)
    w_up = np.where(c == 1, alpha, 1 - alpha)
    return float(np.sum(np.log(w_up * np.exp(up) + (1 - w_up) * np.exp(down))))


# Per-example level: with 2 parameters and 40 derandomized examples, 1 - 0.9999 per interval
# keeps the chance that a correct method fails anywhere near 80 * 1e-4 < 1%.
WIDE = 0.9999


@given(
    alpha=st.floats(0.02, 0.98),
    kappa=st.floats(0.0, 4.0),
    m=st.integers(60, 800),
    loc=st.floats(-5, 5),
    scale=st.floats(0.2, 5.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_fit_recovers_alpha_kappa_within_intervals(alpha, kappa, m, loc, scale, seed):
    s, c, _ = generate(alpha, kappa, m, seed, loc=loc, scale=scale)
    fit = audit.fit_verifier(s, c, level=WIDE)
    assert fit.alpha_ci[0] <= alpha <= fit.alpha_ci[1]
    assert fit.kappa_ci[0] <= kappa <= fit.kappa_ci[1]
    assert fit.alpha_ci[0] <= fit.alpha <= fit.alpha_ci[1]
    assert 0.0 <= fit.kappa_ci[0] <= fit.kappa <= fit.kappa_ci[1]
    assert fit.n_candidates == m and fit.scale > 0


def test_mle_is_a_maximum_of_an_independent_likelihood():
    s, c, _ = generate(0.3, 1.2, 400, 7, loc=2.0, scale=3.0)
    fit = audit.fit_verifier(s, c)
    mle = np.array([fit.alpha, fit.loc, fit.kappa * fit.scale, fit.scale])
    ll = _loglik_reference(mle, s, c)
    assert ll == pytest.approx(fit.log_likelihood, abs=1e-6)
    # A general-purpose optimiser started at the truth finds nothing better.
    truth = np.array([0.3, 2.0, 1.2 * 3.0, 3.0])
    res = optimize.minimize(
        lambda p: -_loglik_reference(p, s, c),
        truth,
        method="L-BFGS-B",
        bounds=[(1e-6, 1 - 1e-6), (None, None), (0, None), (1e-3, None)],
    )
    assert -res.fun <= ll + 1e-6


def test_kappa_zero_leaves_alpha_unidentified():
    """kappa = 0: scores carry no verdict, the likelihood is flat in alpha: interval [0, 1]."""
    s, c, _ = generate(0.2, 0.0, 800, 3)
    fit = audit.fit_verifier(s, c)
    assert fit.alpha_ci[0] == 0.0 and fit.alpha_ci[1] == 1.0
    assert fit.kappa_ci[0] == 0.0


def _coverage_tolerance(R: int, level: float, conf: float = 0.999) -> tuple[int, int]:
    """Acceptance region for the number of covering intervals out of R, if coverage is nominal."""
    lo = int(stats.binom.ppf((1 - conf) / 2, R, level))
    hi = int(stats.binom.ppf(1 - (1 - conf) / 2, R, level))
    return lo, hi


@pytest.mark.parametrize(
    "alpha,kappa,m",
    [(0.23, 3.0, 200), (0.8, 1.5, 300)],
    ids=["confident-sub-threshold", "above-threshold"],
)
def test_profile_interval_coverage_is_nominal(alpha, kappa, m):
    """95% profile-likelihood intervals cover the truth at ~95% over repeated draws."""
    R, level = 150, 0.95
    cov_a = cov_k = 0
    for r in range(R):
        s, c, _ = generate(alpha, kappa, m, 1000 + r, loc=1.0, scale=2.0)
        fit = audit.fit_verifier(s, c, level=level)
        cov_a += fit.alpha_ci[0] <= alpha <= fit.alpha_ci[1]
        cov_k += fit.kappa_ci[0] <= kappa <= fit.kappa_ci[1]
    lo, hi = _coverage_tolerance(R, level)
    assert lo <= cov_a <= hi, (cov_a, lo, hi)
    assert lo <= cov_k <= hi, (cov_k, lo, hi)


def test_bootstrap_intervals_cover_and_agree_with_profile():
    s, c, _ = generate(0.7, 2.0, 400, 11)
    fp = audit.fit_verifier(s, c)
    fb = audit.fit_verifier(s, c, method="bootstrap", n_boot=200, seed=1)
    assert fb.alpha == pytest.approx(fp.alpha) and fb.kappa == pytest.approx(fp.kappa)
    assert "bootstrap" in fb.method and "profile" in fp.method
    # Same asymptotic width: within 35% of each other for this well-identified verifier.
    for a, b in ((fp.alpha_ci, fb.alpha_ci), (fp.kappa_ci, fb.kappa_ci)):
        wa, wb = a[1] - a[0], b[1] - b[0]
        assert abs(wa - wb) <= 0.35 * wa
    assert fb.alpha_ci[0] <= 0.7 <= fb.alpha_ci[1]


def test_fixed_loc_and_scale_for_synthetic_verifiers():
    s, c, _ = generate(0.35, 0.8, 600, 5)
    free = audit.fit_verifier(s, c)
    fixed = audit.fit_verifier(s, c, loc=0.0, scale=1.0, level=WIDE)
    assert fixed.loc == 0.0 and fixed.scale == 1.0
    assert fixed.alpha_ci[0] <= 0.35 <= fixed.alpha_ci[1]
    assert fixed.kappa_ci[0] <= 0.8 <= fixed.kappa_ci[1]
    # Knowing loc and scale can only sharpen kappa.
    assert fixed.kappa_ci[1] - fixed.kappa_ci[0] <= free.kappa_ci[1] - free.kappa_ci[0] + 1e-9


def test_repeated_scores_share_the_frozen_verdict():
    """A candidate scored 4 times is one verdict: pooled per candidate, the truth is covered;
    treating the 4 scores as 4 candidates claims 4x the labels."""
    alpha, kappa, m = 0.3, 0.7, 300
    s, c, cand = generate(alpha, kappa, m, 13, repeats=4)
    fit = audit.fit_verifier(s, c, candidate_ids=cand, level=WIDE)
    assert fit.n_candidates == m and fit.n_scores == 4 * m
    assert fit.alpha_ci[0] <= alpha <= fit.alpha_ci[1]
    assert fit.kappa_ci[0] <= kappa <= fit.kappa_ci[1]
    naive = audit.fit_verifier(s, c, level=WIDE)
    assert naive.n_candidates == 4 * m
    # Any hashable ids: (question, candidate) tuples give the same pooling.
    tuples = [(int(i) // 4, int(i) % 4) for i in cand]
    same = audit.fit_verifier(s, c, candidate_ids=tuples, question_ids=[q for q, _ in tuples])
    assert same.n_candidates == m and same.n_questions == len({i // 4 for i in range(m)})
    assert same.alpha == pytest.approx(audit.fit_verifier(s, c, candidate_ids=cand).alpha)


def test_binned_fit_matches_exact_fit(monkeypatch):
    """Groups above the compression size are binned at sd/200: the fit barely moves."""
    s, c, _ = generate(0.3, 1.0, 6000, 17, loc=-1.0, scale=0.5)
    binned = audit.fit_verifier(s, c)
    monkeypatch.setattr(audit_model, "_COMPRESS_ABOVE", 10**9)
    exact = audit.fit_verifier(s, c)
    width_a = exact.alpha_ci[1] - exact.alpha_ci[0]
    width_k = exact.kappa_ci[1] - exact.kappa_ci[0]
    assert abs(binned.alpha - exact.alpha) <= 0.02 * width_a
    assert abs(binned.kappa - exact.kappa) <= 0.02 * width_k
    for b, e, w in (
        (binned.alpha_ci, exact.alpha_ci, width_a),
        (binned.kappa_ci, exact.kappa_ci, width_k),
    ):
        assert abs(b[0] - e[0]) <= 0.02 * w and abs(b[1] - e[1]) <= 0.02 * w


def test_fit_rejects_bad_arrays():
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        audit.fit_verifier([0.1, 0.2, 0.3], [0, 1, 2])
    with pytest.raises(ValueError, match="finite"):
        audit.fit_verifier([0.1, np.nan, 0.3], [0, 1, 1])
    with pytest.raises(ValueError, match="at least 2"):
        audit.fit_verifier([0.1], [1])
    with pytest.raises(ValueError, match="all scores are equal"):
        audit.fit_verifier([0.5, 0.5, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match="differ in length"):
        audit.fit_verifier([0.1, 0.2], [0, 1, 1])
