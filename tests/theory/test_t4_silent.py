"""T4 (silent regression)."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import expit, ndtr

import theory


def test_T4_trained_loss_falls_for_every_verifier():
    rng = np.random.default_rng(10)
    beta, eta, D = 0.8, 1e-4, 6
    for alpha in (0.1, 0.5, 0.9):
        dphi = rng.standard_normal((16, D)) * (1 if alpha > 0.5 else -1)
        theta = rng.standard_normal(D) * 0.3

        def loss(th, dphi=dphi):
            return np.mean(np.log1p(np.exp(-beta * dphi @ th)))

        grads = -(beta * expit(-beta * dphi @ theta))[:, None] * dphi  # d l / d theta
        step = -eta * grads.mean(0)
        actual = loss(theta + step) - loss(theta)
        pred = theory.trained_loss_change(grads, eta)
        assert pred < 0 and actual < 0
        assert actual == pytest.approx(pred, rel=1e-3)


def test_T4_grad_norm_orientation_blind():
    assert theory.dpo_grad_sq_norm(0.0, 2.0, 1.0) == pytest.approx(0.5)
    assert theory.dpo_grad_sq_norm(1.0, 2.0) < theory.dpo_grad_sq_norm(-1.0, 2.0)


@given(st.floats(0, 1), st.floats(0, 6), st.floats(0.05, 0.95))
def test_T4_fresh_loss_symmetric_while_drift_antisymmetric(alpha, kappa, pi0):
    l1 = theory.fresh_loss_rate_tabular(alpha, kappa, pi0)
    l2 = theory.fresh_loss_rate_tabular(1 - alpha, kappa, pi0)
    assert l1 <= 0 and l1 == pytest.approx(l2, abs=1e-15)
    d1, d2 = theory.drift_rate(alpha, kappa), theory.drift_rate(1 - alpha, kappa)
    assert d1 == pytest.approx(-d2, abs=1e-15)


@pytest.mark.parametrize("alpha", [0.15, 0.85])
def test_T4_fresh_loss_monte_carlo_one_round(alpha):
    """Tabular K = 2 model: one uniform-replay round, then fresh pairs at theta1."""
    rng = np.random.default_rng(11)
    N, B, R, s, beta, eta, kappa, c = 4, 4, 40_000, 1.0, 1.0, 0.05, 2.0, 0.4
    pi0 = expit(c)

    def pairs(theta, v):
        logits = np.stack([c + s * theta[..., 0], s * theta[..., 1]], -1)
        p0 = expit(logits[..., 0] - logits[..., 1])
        cand = (rng.random(theta.shape[:-1] + (2,)) > p0[..., None]).astype(int)
        sc = kappa * (2 * np.take_along_axis(v, cand, -1) - 1) + rng.standard_normal(cand.shape)
        w = np.take_along_axis(cand, sc.argmax(-1)[..., None], -1)[..., 0]
        lo = np.take_along_axis(cand, sc.argmin(-1)[..., None], -1)[..., 0]
        return w, lo

    U = rng.random((R, N, 2))
    v = np.stack([U[..., 0] < alpha, U[..., 1] >= alpha], -1).astype(int)
    theta = np.zeros((R, N, 2))
    w, lo = pairs(theta, v)
    onehot = lambda i: (np.arange(2) == i[..., None]).astype(float)
    counts = np.zeros((R, N))
    np.add.at(counts, (np.arange(R)[:, None], rng.integers(0, N, (R, B))), 1.0 / B)
    theta1 = theta + eta * counts[..., None] * beta / 2 * s * (onehot(w) - onehot(lo))
    w1, l1 = pairs(theta1, v)
    h = (
        beta
        * s
        * (
            np.take_along_axis(theta1, w1[..., None], -1)
            - np.take_along_axis(theta1, l1[..., None], -1)
        )[..., 0]
    )
    dloss = (np.log1p(np.exp(-h)) - math.log(2)).mean(1)
    theo = theory.fresh_loss_rate_tabular(alpha, kappa, pi0, s=s, beta=beta, eta=eta, N=N)
    se = dloss.std(ddof=1) / math.sqrt(R)
    assert abs(dloss.mean() - theo) <= 4 * se
    assert abs(theo) > 6 * se
    # the same loss fall for alpha and 1 - alpha: a falling loss cannot flag regression
    assert theo == pytest.approx(
        theory.fresh_loss_rate_tabular(1 - alpha, kappa, pi0, s=s, beta=beta, eta=eta, N=N)
    )
    # mean direction per prompt type agrees with the T2 moments (route 2)
    p = ndtr(math.sqrt(2) * kappa)
    mom = theory.pair_direction_moments(np.array([pi0, 1 - pi0]), p, s=s, beta=beta)
    e2 = (alpha**2 + (1 - alpha) ** 2) * (2 * p - 1) ** 2
    assert theo == pytest.approx(-eta * mom["mean_sq"] / (2 * p - 1) ** 2 * e2 / N)


def test_T4_fresh_loss_rate_symbolic_and_symmetric():
    derived, closed, alpha = theory.fresh_loss_rate_expr()
    assert sp.simplify(derived - closed) == 0
    assert sp.simplify(closed - closed.subs(alpha, 1 - alpha)) == 0
    syms = {s.name: s for s in closed.free_symbols}
    f = sp.lambdify([syms[k] for k in ("alpha", "pi0", "Phi", "beta", "s")], closed)
    for a, k, p0 in ((0.2, 1.0, 0.3), (0.9, 0.4, 0.7)):
        val = f(a, p0, ndtr(math.sqrt(2) * k), 0.8, 1.3)
        assert theory.fresh_loss_rate_tabular(a, k, p0, s=1.3, beta=0.8) == pytest.approx(val)
