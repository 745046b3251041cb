"""L0: the pair channel, checked symbolically, by independent Monte Carlo, and at its edges."""

import math
import time

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import ndtr

import theory
from tests.theory import _l0_previous
from theory import a_pair_expr
from theory.l0_pairs import _two_level_direct, _two_level_grids


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


def test_L0_exact_average_of_many_policies_is_each_policys_verdict_average():
    """(M, K) policies at once: row m is the 2^K-verdict average of prompt_pair_probs (the
    per-verdict law by best_worst_class_probs), computed here by brute force."""
    import itertools

    rng = np.random.default_rng(3)
    pis = rng.dirichlet(np.ones(4), size=5)
    alpha, kappa, n = 0.3, 1.5, 4
    many = theory.expected_prompt_pair_probs(pis, alpha, kappa, n)
    assert many["matrix"].shape == (5, 4, 4) and many["right"].shape == (5,)
    for m, pi in enumerate(pis):
        right = wrong = 0.0
        for v in itertools.product([0, 1], repeat=4):
            w = np.prod([alpha if (vj == 1) == (j == 0) else 1 - alpha for j, vj in enumerate(v)])
            o = theory.prompt_pair_probs(pi, np.array(v), kappa, n)
            right, wrong = right + w * o["right"], wrong + w * o["wrong"]
        assert many["right"][m] == pytest.approx(right, abs=1e-9)
        assert many["wrong"][m] == pytest.approx(wrong, abs=1e-9)
        one = theory.expected_prompt_pair_probs(pi, alpha, kappa, n)
        np.testing.assert_allclose(one["matrix"], many["matrix"][m], atol=1e-14)
    with pytest.raises(ValueError, match="sum to 1"):
        theory.expected_prompt_pair_probs(pis * 1.1, alpha, kappa, n)


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


@pytest.mark.parametrize("n", [3, 4, 7, 12])
@pytest.mark.parametrize("kappa", [0.0, 0.4, 1.5, 4.0])
def test_L0_windowed_quadrature_matches_previous_full_range_quadrature(n, kappa):
    Q = np.array([0.0, 0.1, 0.5, 0.83, 1.0])
    assert (
        np.abs(theory.two_level_J(kappa, n, Q) - _l0_previous.two_level_J(kappa, n, Q)).max() < 1e-9
    )
    q, m = np.array([0.2, 0.5, 0.3]), kappa * np.array([1.0, -1.0, 0.3])
    new = theory.best_worst_class_probs(q, m, n)
    assert np.abs(new - _l0_previous.best_worst_class_probs(q, m, n)).max() < 1e-9


@pytest.mark.parametrize("n", [3, 20, 40])
def test_L0_bernstein_and_direct_paths_agree(n):
    """two_level_J's two routes (Bernstein sum for many Q, one quadrature per Q) agree."""
    Q = np.linspace(0.0, 1.0, max(n, 40))  # at least n - 1 values: the Bernstein route
    both = theory.two_level_J(1.3, n, Q)
    assert np.abs(both - _two_level_direct(1.3, n, Q)).max() < 1e-10


def _mean_field_by_order_statistics(alpha, kappa, n, p, reps, seed):
    """L0 mean field by exact sampling of the best and worst of n scores, for any n.

    The best is at quantile U_(n) = V^(1/n) (kept as its survival 1 - U_(n) for precision), the
    worst at U_(n) (1 - W^(1/(n-1))); scores by bisection on the mixture cdf; given its score a
    sample's class is the posterior q_c phi(x - m_c) / f(x). Returns a_pair and its SE.
    """
    rng = np.random.default_rng(seed)
    v0 = rng.random(reps) < alpha  # the correct candidate's frozen verdict
    q = np.stack(
        [np.full(reps, p), np.full(reps, (1 - p) * (1 - alpha)), np.full(reps, (1 - p) * alpha)], 1
    )
    means = np.stack([np.where(v0, kappa, -kappa), np.full(reps, kappa), np.full(reps, -kappa)], 1)
    surv_top = -np.expm1(np.log(rng.random(reps)) / n)
    u_bottom = (1 - surv_top) * -np.expm1(np.log(rng.random(reps)) / (n - 1))

    def solve(target, upper_tail):
        lo, hi = np.full(reps, -60.0 - kappa), np.full(reps, 60.0 + kappa)
        for _ in range(80):  # [-60 - kappa, 60 + kappa] halved to below 1e-20
            mid = (lo + hi) / 2
            if upper_tail:
                above = (q * ndtr(means - mid[:, None])).sum(1) > target  # S(mid) > target
            else:
                above = (q * ndtr(mid[:, None] - means)).sum(1) < target  # F(mid) < target
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        return (lo + hi) / 2

    def posterior_correct(x):
        dens = q * np.exp(-0.5 * (x[:, None] - means) ** 2)
        return dens[:, 0] / dens.sum(1)

    pb, pw = posterior_correct(solve(surv_top, True)), posterior_correct(solve(u_bottom, False))
    right, wrong = pb * (1 - pw), pw * (1 - pb)
    a = right.mean() / (right.mean() + wrong.mean())
    resid = ((1 - a) * right - a * wrong) / (right.mean() + wrong.mean())
    return a, resid.std(ddof=1) / math.sqrt(reps)


@pytest.mark.parametrize(
    "alpha, kappa, n, p",
    [(0.3, 1.0, 10_000, 0.5), (0.7, 0.5, 1000, 0.2), (0.4, 2.0, 50, 0.6), (0.8, 0.2, 5, 0.3)],
)
def test_L0_general_n_against_exact_order_statistics_sampling(alpha, kappa, n, p):
    est, se = _mean_field_by_order_statistics(alpha, kappa, n, p, 100_000, seed=n)
    assert abs(theory.pair_accuracy(alpha, kappa, n, p) - est) <= 4 * se + 1e-9


@pytest.mark.parametrize("n, p", [(3, 0.5), (5, 0.2), (12, 0.7)])
@pytest.mark.parametrize("alpha", [0.1, 0.35, 0.8])
def test_L0_general_n_kappa_limits(alpha, n, p):
    """kappa -> inf: the noiseless enumeration; kappa = 0: 1/2 (scores carry no information)."""
    limit = theory.pair_accuracy_noiseless(alpha, n, p)
    for big in (40.0, 1e3, 1e6, 1e308):
        assert theory.pair_accuracy(alpha, big, n, p) == pytest.approx(limit, abs=1e-12)
    assert theory.pair_accuracy(alpha, 12.0, n, p) == pytest.approx(limit, abs=1e-9)
    assert theory.pair_accuracy(alpha, 0.0, n, p) == pytest.approx(0.5, abs=1e-12)
    assert theory.pair_accuracy(alpha, 1e-7, n, p) == pytest.approx(0.5, abs=1e-6)


def test_L0_quadrature_grid_does_not_grow_with_kappa_or_n():
    shapes = {tuple(a.shape for a in _two_level_grids(k)[0, 1]) for k in (0.0, 3.0, 40.0)}
    assert len(shapes) == 1
    start = time.perf_counter()
    for n, k in ((10_000, 1e300), (3, 1e6), (5000, 2.0)):
        theory.pair_outcome_probs(0.3, k, n, 0.4)
    assert time.perf_counter() - start < 30  # about 1 s on one core; the old grid took minutes


def test_L0_n_is_bounded_with_a_clear_message():
    with pytest.raises(ValueError, match=r"n must be an integer in \[2, 10000\], got 10001"):
        theory.pair_accuracy(0.3, 1.0, 10_001)
    with pytest.raises(ValueError, match="n must be an integer"):
        theory.pair_accuracy(0.3, 1.0, math.inf)
    # functions that need thousands of masses Q use one Bernstein sum, so n <= 64 there
    with pytest.raises(ValueError, match=r"n must be an integer in \[2, 64\], got 65"):
        theory.expected_prompt_pair_probs(np.full(4, 0.25), 0.3, 1.0, 65)
    with pytest.raises(ValueError, match=r"n must be an integer in \[2, 64\]"):
        theory.first_round_drift_estimate(0.3, 1.0, theory.get_student("default"), n=100)


@given(st.floats(0, 1), st.floats(0, 50))
def test_L0_n2_numpy_form_is_the_sympy_derivation(alpha, kappa):
    a, k = sorted(a_pair_expr().free_symbols, key=lambda s: s.name)
    derived = sp.lambdify((a, k), a_pair_expr(derive=True), "mpmath")
    assert theory.pair_accuracy(alpha, kappa) == pytest.approx(
        float(derived(alpha, kappa)), abs=1e-12
    )
