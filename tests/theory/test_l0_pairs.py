"""L0: the pair channel, checked symbolically, by independent Monte Carlo, and at its edges."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import ndtr

import theory
from theory import a_pair_expr


def _mc_pairs_mean_field(rng, alpha, kappa, n, p, reps):
    """Plain-numpy simulation of the L0 mean-field pair process (not using theory)."""
    v0 = rng.random(reps) < alpha  # correct candidate's frozen verdict is 1 (right)
    is_c = rng.random((reps, n)) < p
    v_inc = rng.random((reps, n)) >= alpha  # an incorrect sample's verdict is 1 w.p. 1 - alpha
    v = np.where(is_c, v0[:, None], v_inc)
    score = kappa * (2 * v - 1) + rng.standard_normal((reps, n))
    w, lo = score.argmax(1), score.argmin(1)
    cw, cl = is_c[np.arange(reps), w], is_c[np.arange(reps), lo]
    return cw & ~cl, ~cw & cl, cw & cl


def _within(est, theo, se, k=4.0):
    return abs(est - theo) <= k * se + 1e-12


def test_L0_closed_form_derived_symbolically():
    derived = a_pair_expr(derive=True)
    assert sp.simplify((derived - a_pair_expr()).rewrite(sp.erf)) == 0
    alpha, kappa = sorted(a_pair_expr().free_symbols, key=lambda s: s.name)
    erf_form = sp.Rational(1, 2) + (alpha - sp.Rational(1, 2)) * sp.erf(kappa)
    assert sp.simplify(a_pair_expr() - erf_form) == 0


def test_L0_limits_symbolic():
    e = a_pair_expr()
    alpha, kappa = sorted(e.free_symbols, key=lambda s: s.name)
    assert sp.limit(e, kappa, sp.oo) == alpha
    assert sp.simplify(e.subs(kappa, 0)) == sp.Rational(1, 2)
    assert sp.simplify(e.subs(alpha, sp.Rational(1, 2))) == sp.Rational(1, 2)


@given(st.floats(0, 1), st.floats(0, 8))
def test_L0_n2_monte_carlo(alpha, kappa):
    rng = np.random.default_rng(1)
    reps = 40_000
    # one correct and one incorrect sample, frozen verdicts per prompt
    vc = rng.random(reps) < alpha
    vi = rng.random(reps) >= alpha
    d = kappa * (2 * vc - 1) - kappa * (2 * vi - 1) + math.sqrt(2) * rng.standard_normal(reps)
    right = (d > 0).astype(float)
    se = right.std(ddof=1) / math.sqrt(reps) + 0.5 / reps
    assert _within(right.mean(), theory.pair_accuracy(alpha, kappa), se)


@given(
    st.floats(0, 1),
    st.floats(0, 8),
    st.integers(2, 16),
    st.floats(0.05, 0.95),
)
def test_L0_general_n_mean_field_monte_carlo(alpha, kappa, n, p):
    rng = np.random.default_rng(2)
    reps = 20_000
    right, wrong, void = _mc_pairs_mean_field(rng, alpha, kappa, n, p, reps)
    o = theory.pair_outcome_probs(alpha, kappa, n, p)
    for key, ind in (("right", right), ("wrong", wrong), ("void", void)):
        # SE under the null (the theory's probability), not the sample's: a rare outcome that
        # never occurs has sample SE 0
        q = float(o[key])
        se = math.sqrt(q * (1 - q) / reps) + 1.0 / reps
        assert _within(ind.astype(float).mean(), q, se), key
    mixed = right | wrong
    if mixed.sum() > 100:
        r = right[mixed].astype(float)
        a = float(theory.pair_accuracy(alpha, kappa, n, p))
        se = math.sqrt(a * (1 - a) / r.size) + 1.0 / r.size
        assert _within(r.mean(), a, se)


@given(st.integers(2, 6), st.integers(2, 9), st.floats(0, 4), st.integers(0, 10_000))
def test_L0_exact_per_prompt_monte_carlo(K, n, kappa, seed):
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(K))
    v = (rng.random(K) < 0.5).astype(float)
    res = theory.prompt_pair_probs(pi, v, kappa, n)
    reps = 20_000
    cand = (rng.random((reps, n))[..., None] > np.cumsum(pi)[None, None, :]).sum(-1)
    cand = np.minimum(cand, K - 1)
    score = kappa * (2 * v[cand] - 1) + rng.standard_normal((reps, n))
    w = cand[np.arange(reps), score.argmax(1)]
    lo = cand[np.arange(reps), score.argmin(1)]
    freq = np.zeros((K, K))
    np.add.at(freq, (w, lo), 1.0)
    freq /= reps
    # SE under the null (the exact probability): an empirical SE is 0 for a cell never hit, so it
    # would reject a correct probability of order 1/reps
    m = res["matrix"]
    se = np.sqrt(m * (1 - m) / reps) + 1.0 / reps
    assert np.all(np.abs(freq - m) <= 4 * se)
    assert res["matrix"].sum() == pytest.approx(1.0, abs=1e-9)


def test_L0_quadrature_against_independent_dblquad():
    q = np.array([0.25, 0.45, 0.3])
    m = np.array([1.2, -0.7, 0.4])
    n = 5
    P = theory.best_worst_class_probs(q, m, n)
    F = lambda t: float((q * ndtr(t - m)).sum())
    f = lambda t, c: math.exp(-0.5 * (t - m[c]) ** 2) / math.sqrt(2 * math.pi)
    for i, j in [(0, 1), (1, 0), (2, 2)]:
        val, _ = integrate.dblquad(
            lambda y, x, i=i, j=j: f(x, i) * f(y, j) * (F(x) - F(y)) ** (n - 2),
            -12,
            12,
            -12,
            lambda x: x,
            epsabs=1e-12,
        )
        assert P[i, j] == pytest.approx(n * (n - 1) * q[i] * q[j] * val, abs=1e-8)


@given(st.integers(2, 16), st.floats(0, 8), st.integers(0, 1000))
def test_L0_marginals_are_one_dimensional(n, kappa, seed):
    """Row/column sums of the double integral equal the 1-D order-statistic marginals."""
    rng = np.random.default_rng(seed)
    q = rng.dirichlet(np.ones(4))
    m = kappa * rng.choice([-1.0, 1.0], 4)
    P = theory.best_worst_class_probs(q, m, n)
    best, worst = theory.best_worst_marginals(q, m, n)
    np.testing.assert_allclose(P.sum(1), best, atol=1e-9)
    np.testing.assert_allclose(P.sum(0), worst, atol=1e-9)


def test_L0_joint_law_is_not_product_of_marginals():
    """THEORY.md's 'one-dimensional integral' is true of the marginals, not of the joint law."""
    q, m, n = np.array([0.5, 0.5]), np.array([1.0, -1.0]), 4
    P = theory.best_worst_class_probs(q, m, n)
    best, worst = theory.best_worst_marginals(q, m, n)
    assert np.max(np.abs(P - np.outer(best, worst))) > 1e-3  # quadrature error < 1e-8


@given(st.floats(0, 1), st.integers(2, 16), st.floats(0.05, 0.95))
def test_L0_edges(alpha, n, p):
    assert theory.pair_accuracy(alpha, 0.0, n, p) == pytest.approx(0.5, abs=1e-9)
    assert theory.pair_accuracy(0.5, 3.0, n, p) == pytest.approx(0.5, abs=1e-9)
    noiseless = theory.pair_accuracy_noiseless(alpha, n, p)
    assert theory.pair_accuracy(alpha, 8.0, n, p) == pytest.approx(noiseless, abs=1e-8)


def test_L0_n2_noiseless_and_exact_finite_K_average():
    assert theory.pair_accuracy(0.3, 40.0) == pytest.approx(0.3)
    pi = np.array([0.4, 0.35, 0.25])
    ex = theory.expected_prompt_pair_probs(pi, 0.3, 2.0, 2)
    mf = theory.pair_outcome_probs(0.3, 2.0, 2, 0.4)
    assert ex["right"] == pytest.approx(mf["right"], abs=1e-12)
    assert ex["wrong"] == pytest.approx(mf["wrong"], abs=1e-12)
    assert ex["void"] == pytest.approx((pi**2).sum(), abs=1e-12)


def test_L0_broadcasting_and_void():
    out = theory.pair_accuracy(np.array([0.1, 0.9])[:, None], np.array([0.0, 1.0, 2.0]))
    assert out.shape == (2, 3)
    o = theory.pair_outcome_probs([0.2, 0.8], 1.0, n=3)
    assert o["right"].shape == (2,)
    assert theory.void_probability([0.2, 0.8]) == pytest.approx(0.68)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(alpha=1.5, kappa=1.0), "alpha"),
        (dict(alpha=-0.1, kappa=1.0), "alpha"),
        (dict(alpha=0.5, kappa=-1.0), "kappa"),
        (dict(alpha=0.5, kappa=1.0, n=1), "n"),
        (dict(alpha=0.5, kappa=1.0, n=3, p_correct=0.0), "p_correct"),
        (dict(alpha=0.5, kappa=1.0, p_correct=1.2), "p_correct"),
    ],
)
def test_L0_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        theory.pair_accuracy(**kwargs)


def test_L0_jax_matches_numpy():
    a = np.linspace(0, 1, 7)
    k = np.linspace(0, 4, 7)
    import jax

    f = jax.jit(jax.vmap(theory.jax_pair_accuracy))
    np.testing.assert_allclose(np.asarray(f(a, k)), theory.pair_accuracy(a, k), atol=1e-6)
    # d a_pair / d alpha = erf(kappa), traced through JAX
    g = jax.grad(theory.jax_pair_accuracy)(0.3, 1.0)
    assert float(g) == pytest.approx(math.erf(1.0), abs=1e-6)
