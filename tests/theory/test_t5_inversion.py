"""T5 (confidence inversion): closed forms against Monte Carlo and a second derivation."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate

import theory


def test_T5_damage_symbolic():
    derived, closed = theory.damage_expr()
    assert sp.simplify((derived - closed).rewrite(sp.erf)) == 0


def test_T5_paper_example_inverts():
    d_conf = theory.damage_rate(0.23, 3.0)
    d_rand = theory.damage_rate(0.08, 0.1)
    assert d_conf > d_rand > 0
    assert theory.inverts(0.23, 3.0, 0.08, 0.1)
    assert theory.inverts(0.23, 3.0, 0.08, 0.1, gate="proportional")
    assert not theory.inverts(0.08, 0.1, 0.23, 3.0)  # verifier 1 must be the more accurate


def test_T5_example_by_monte_carlo_of_pairs():
    """Independent check: simulated wrong-minus-right pair rate is larger for (0.23, 3)."""
    rng = np.random.default_rng(12)
    reps = 200_000
    rates = {}
    for alpha, kappa in ((0.23, 3.0), (0.08, 0.1)):
        vc = rng.random(reps) < alpha
        vi = rng.random(reps) >= alpha
        d = kappa * ((2 * vc - 1) - (2 * vi - 1)) + math.sqrt(2) * rng.standard_normal(reps)
        rates[(alpha, kappa)] = -np.sign(d)  # +1 for a wrong-oriented mixed pair
        se = rates[(alpha, kappa)].std(ddof=1) / math.sqrt(reps)
        assert abs(rates[(alpha, kappa)].mean() - theory.damage_rate(alpha, kappa)) <= 4 * se
    assert rates[(0.23, 3.0)].mean() > rates[(0.08, 0.1)].mean()


def _damage_by_quadrature(alpha: float, kappa: float) -> float:
    """T5 by a second derivation: P(wrong) - P(right) of a mixed pair, integrating the density
    of the score difference D ~ N(m, 2) for each frozen-verdict case (no erf)."""
    total = 0.0
    for prob, m in (
        (alpha**2, 2 * kappa),
        (2 * alpha * (1 - alpha), 0.0),
        ((1 - alpha) ** 2, -2 * kappa),
    ):
        dens = lambda x, m=m: math.exp(-((x - m) ** 2) / 4) / math.sqrt(4 * math.pi)
        right = integrate.quad(dens, 0.0, np.inf, epsabs=1e-13)[0]
        wrong = integrate.quad(dens, -np.inf, 0.0, epsabs=1e-13)[0]
        total += prob * (wrong - right)
    return total


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 0.49), st.floats(0.0, 0.49), st.floats(0, 5), st.floats(0, 5))
def test_T5_inversion_condition_against_quadrature(a1, a2, k1, k2):
    d1, d2 = _damage_by_quadrature(a1, k1), _damage_by_quadrature(a2, k2)
    assume(abs(d1 - d2) > 1e-8)  # a near-tie is decided by rounding, not by the condition
    assert theory.inverts(a1, k1, a2, k2) == (a2 < a1 and d1 > d2)
    if a2 < a1:
        ks = theory.inversion_kappa(a1, a2, k2)
        if math.isfinite(ks):
            assert _damage_by_quadrature(a1, ks) == pytest.approx(d2, abs=1e-7)
        else:  # even infinite confidence cannot make verifier 1 as damaging: 1 - 2 a1 < d2
            assert 1 - 2 * a1 <= d2 + 1e-9


def test_T5_kappa_to_zero_and_margin_gate():
    assert theory.damage_rate(np.array([0.0, 0.2, 0.4]), 0.0).tolist() == [0.0, 0.0, 0.0]
    ks = theory.inversion_kappa(0.23, 0.08, 0.1, gate="margin")
    dm = lambda a, k: theory.damage_rate(a, k, theory.gate_amplification(a, k, "margin"))
    assert dm(0.23, ks) == pytest.approx(dm(0.08, 0.1), rel=1e-8)
    with pytest.raises(ValueError, match="alpha2"):
        theory.inversion_kappa(0.1, 0.2, 1.0)
    with pytest.raises(ValueError, match="alpha1"):
        theory.inversion_kappa(0.6, 0.2, 1.0)
