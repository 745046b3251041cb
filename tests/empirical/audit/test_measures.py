"""Rubric accuracy in three measures (audit/measures.py) vs L0, theory.measures and Monte Carlo.

Data follow the audit's score model: each candidate of a question has its own frozen verdict
(= its rubric label with probability alpha) and one score kappa (2v - 1) + eps.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import erf

from empirical.audit import audit_row
from empirical.audit.containers import ScoreGroup
from empirical.audit.measures import (
    _bootstrap,
    _ratio,
    pair_estimate,
    question_summaries,
    selection_estimate,
    selection_threshold,
)
from theory.measures import selection_accuracy


def _group(score, label, question) -> ScoreGroup:
    score = np.asarray(score, float)
    _, q = np.unique(question, return_inverse=True)
    return ScoreGroup(
        "v",
        "t",
        np.asarray(label, np.int8),
        np.ones(score.shape[0]),
        score,
        score**2,
        n_questions=int(q.max()) + 1,
        question=q.astype(np.int64),
    )


def draw(alpha, kappa, Q, K, seed, *, p_correct=0.5, one_correct=False):
    """Q questions of K candidates from V(alpha, kappa); labels i.i.d. or exactly one correct."""
    rng = np.random.default_rng(seed)
    if one_correct:
        c = np.zeros((Q, K), int)
        c[np.arange(Q), rng.integers(0, K, Q)] = 1
        c = c.ravel()
    else:
        c = (rng.random(Q * K) < p_correct).astype(int)
    v = np.where(rng.random(Q * K) < alpha, c, 1 - c)
    s = kappa * (2 * v - 1) + rng.standard_normal(Q * K)
    return _group(s, c, np.repeat(np.arange(Q), K))


def _brute(group):
    """Per question, by enumeration: mixed pairs ordered right (ties 1/2) and the top's share."""
    s = group.s1 / group.n_rep
    out = []
    for q in range(int(group.question.max()) + 1):
        idx = np.flatnonzero(group.question == q)
        lab, sc = group.label[idx], s[idx]
        right = sum(
            1.0 if a > b else 0.5 if a == b else 0.0
            for (a, la), (b, lb) in itertools.product(zip(sc, lab), repeat=2)
            if la == 1 and lb == 0
        )
        top = lab[sc == sc.max()].mean()
        out.append((len(idx), lab.sum(), right, lab.sum() * (len(idx) - lab.sum()), top))
    return np.array(out, float)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 5), st.integers(-2, 2), st.integers(0, 1)), min_size=1, max_size=40
    )
)
def test_question_summaries_match_enumeration(data):
    """Mann-Whitney counts and top shares with ties, against a plain enumeration."""
    q, s, lab = (np.array(x) for x in zip(*data))
    g = _group(s, lab, q)
    got = question_summaries(g)
    want = _brute(g)
    for j, key in enumerate(("k", "c", "right", "mixed", "top")):
        np.testing.assert_allclose(got[key], want[:, j], err_msg=key)


def test_L0_pair_accuracy_is_what_the_pair_measure_estimates():
    """All-pairs accuracy under V(alpha, kappa) is L0's 1/2 + (alpha - 1/2) erf(kappa)."""
    for alpha, kappa, seed in ((0.23, 3.0, 1), (0.8, 0.7, 2), (0.5, 2.0, 3)):
        g = draw(alpha, kappa, 3000, 4, seed)
        value, ci, n_pairs, _ = pair_estimate(question_summaries(g), level=0.999, seed=seed)
        truth = 0.5 + (alpha - 0.5) * erf(kappa)
        assert ci[0] <= truth <= ci[1], (alpha, kappa, value, ci, truth)
        assert n_pairs > 3000


def test_pair_interval_coverage_is_nominal():
    """95% bootstrap intervals over questions cover L0's pair accuracy ~95% of the time."""
    alpha, kappa, R = 0.3, 1.0, 200
    truth = 0.5 + (alpha - 0.5) * erf(kappa)
    cover = 0
    for r in range(R):
        g = draw(alpha, kappa, 150, 4, 500 + r)
        _, ci, _, _ = pair_estimate(question_summaries(g), n_boot=400, seed=r)
        cover += ci[0] <= truth <= ci[1]
    lo, hi = stats.binom.ppf([0.0005, 0.9995], R, 0.95)
    assert lo <= cover <= hi, cover


@pytest.mark.parametrize("alpha,kappa,K", [(0.2, 1.5, 4), (0.8, 0.8, 3), (0.5, 2.0, 5)])
def test_K_option_selection_matches_theory_measures(alpha, kappa, K):
    """K options, one correct, scored once: theory.measures' K-option selection accuracy."""
    g = draw(alpha, kappa, 4000, K, int(100 * alpha) + K, one_correct=True)
    s = question_summaries(g)
    value, ci, n_q = selection_estimate(s, level=0.999)
    assert n_q == 4000
    assert ci[0] <= selection_accuracy(alpha, kappa, K=K) <= ci[1]
    assert selection_threshold(s["k"], s["c"], kappa) == pytest.approx(1.0 / K)


def test_selection_threshold_is_a_random_pick_at_alpha_half():
    """At alpha = 1/2 the top is correct as often as a random pick, whatever kappa (MC)."""
    rng = np.random.default_rng(9)
    Q = 20000
    k = rng.integers(2, 7, Q)
    c = np.array([rng.integers(1, kk + 1) for kk in k])
    lab = np.concatenate([np.r_[np.ones(ci), np.zeros(kk - ci)] for kk, ci in zip(k, c)])
    q = np.repeat(np.arange(Q), k)
    v = np.where(rng.random(lab.shape[0]) < 0.5, lab, 1 - lab)
    s = 3.0 * (2 * v - 1) + rng.standard_normal(lab.shape[0])
    summ = question_summaries(_group(s, lab, q))
    top = summ["top"]
    thr = selection_threshold(summ["k"], summ["c"], 3.0)
    assert thr == pytest.approx(np.mean(c / k))
    assert abs(top.mean() - thr) < 4 * top.std() / np.sqrt(Q)


def test_bootstrap_over_distinct_summaries_is_the_question_bootstrap():
    """Multinomial over distinct rows gives the same interval as resampling questions."""
    g = draw(0.35, 1.2, 400, 4, 21)
    s = question_summaries(g)
    cols = np.stack([s["right"], s["mixed"]], 1)
    fast = _bootstrap(cols, _ratio, 0.9, 20000, 0)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, cols.shape[0], (20000, cols.shape[0]))
    naive = cols[idx, 0].sum(1) / cols[idx, 1].sum(1)
    np.testing.assert_allclose(fast, np.percentile(naive, [5, 95]), atol=0.004)


def test_fewer_than_ten_questions_give_no_interval():
    g = draw(0.8, 2.0, 6, 4, 3)
    value, ci, n_q = selection_estimate(question_summaries(g))
    assert value is not None and ci is None and n_q <= 6


@pytest.mark.parametrize("alpha,side", [(0.85, "above"), (0.2, "below")])
def test_T1_all_three_measures_agree_on_the_side(alpha, side):
    """A verifier clearly on one side of alpha = 1/2 is on that side in every measure."""
    g = draw(alpha, 1.5, 500, 4, 77)
    row = audit_row(g, gate="uniform")
    assert set(row.measures) == {"verdict", "pair", "selection"}
    assert row.side == side
    assert {m.side for m in row.measures.values()} == {side}
    sel = row.measures["selection"]
    assert sel.count == int(np.sum(question_summaries(g)["c"] >= 1))
    assert row.measures["pair"].threshold == 0.5 and row.measures["verdict"].threshold == 0.5
    # theory's equivalent alpha of the measured pair accuracy sits near the fitted alpha
    assert abs(row.measures["pair"].equivalent_alpha - row.fit.alpha) < 0.1


def test_one_class_group_says_so():
    g = draw(0.7, 1.5, 40, 4, 5)
    g = ScoreGroup("v", "t", np.ones_like(g.label), g.n_rep, g.s1, g.s2, 40, question=g.question)
    row = audit_row(g)
    assert row.n_correct == 160
    assert row.measures["pair"].value is None
    assert "no question has both" in row.measures["pair"].side
    assert "no counted question has an incorrect candidate" in row.measures["selection"].side
    assert any("one label class (160 labelled 1, none 0)" in n for n in row.notes)
    assert row.labels_needed is None
