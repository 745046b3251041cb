"""T5 (confidence inversion): closed forms against Monte Carlo and a second derivation."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import erf

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


@given(st.floats(0.0, 0.49), st.floats(0.0, 0.49), st.floats(0, 5), st.floats(0, 5))
def test_T5_inversion_condition(a1, a2, k1, k2):
    inv = theory.inverts(a1, k1, a2, k2)
    expected = a2 < a1 and (1 - 2 * a1) * erf(k1) > (1 - 2 * a2) * erf(k2)
    assert inv == expected
    if a2 < a1:
        ks = theory.inversion_kappa(a1, a2, k2)
        if math.isfinite(ks):
            assert theory.damage_rate(a1, ks) == pytest.approx(theory.damage_rate(a2, k2), abs=1e-9)
            assert theory.inverts(a1, ks + 1e-3, a2, k2) or k2 == 0
            assert not theory.inverts(a1, max(ks - 1e-3, 0.0), a2, k2)
        else:
            assert not theory.inverts(a1, 50.0, a2, k2)


def test_T5_kappa_to_zero_and_margin_gate():
    assert theory.damage_rate(np.array([0.0, 0.2, 0.4]), 0.0).tolist() == [0.0, 0.0, 0.0]
    ks = theory.inversion_kappa(0.23, 0.08, 0.1, gate="margin")
    dm = lambda a, k: theory.damage_rate(a, k, theory.gate_amplification(a, k, "margin"))
    assert dm(0.23, ks) == pytest.approx(dm(0.08, 0.1), rel=1e-8)
    with pytest.raises(ValueError, match="alpha2"):
        theory.inversion_kappa(0.1, 0.2, 1.0)
    with pytest.raises(ValueError, match="alpha1"):
        theory.inversion_kappa(0.6, 0.2, 1.0)
