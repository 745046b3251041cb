"""T6 (diminishing returns, compute cap) against a second derivation."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

import theory


def test_T6_marginal_gain_symbolic():
    g, dg, C = theory.gain_rate_expr()
    law = dict(alpha0=0.6, alpha_inf=0.85, gamma_a=0.4, kappa0=0.2, gamma_k=0.6, C0=1.0)
    subs = {s: law[s.name] for s in dg.free_symbols if s.name in law}
    f = sp.lambdify(C, dg.subs(subs), "mpmath")
    for c in (1.5, 3.7, 50.0):
        assert float(f(c)) == pytest.approx(theory.marginal_gain(c, **law), rel=1e-10)
        h = 1e-5 * c
        fd = (theory.gain_rate(c + h, **law) - theory.gain_rate(c - h, **law)) / (2 * h)
        assert fd == pytest.approx(theory.marginal_gain(c, **law), rel=1e-6)


_LAW = dict(alpha0=0.55, alpha_inf=0.9, gamma_a=0.5, kappa0=0.3, gamma_k=0.5, C0=1.0)


def _gain_from_l0(C):
    """T6 by a second route: the power laws of THEORY.md written out here, and the gain
    2 a_pair - 1 from L0 (Monte-Carlo-tested in test_l0_pairs)."""
    C = np.asarray(C, float)
    alpha = _LAW["alpha_inf"] - (_LAW["alpha_inf"] - _LAW["alpha0"]) * C ** (-_LAW["gamma_a"])
    kappa = _LAW["kappa0"] * C ** _LAW["gamma_k"]
    return 2 * theory.pair_accuracy(alpha, kappa) - 1


def _slope(C):
    h = 1e-5 * np.asarray(C, float)
    return (_gain_from_l0(C + h) - _gain_from_l0(C - h)) / (2 * h)


@settings(max_examples=25, deadline=None)
@given(st.floats(1e-4, 1e-1))
def test_T6_compute_cap_against_finite_differences_of_l0(eps):
    grid = np.logspace(0, 12, 24001)
    above = np.nonzero(_slope(grid) >= eps)[0]
    cap = theory.compute_cap(eps, **_LAW)
    if above.size == 0:
        assert cap == 1.0
        return
    i = above[-1]
    ref = optimize.brentq(lambda c: _slope(c) - eps, grid[i], grid[i + 1], rtol=1e-12)
    assert cap == pytest.approx(ref, rel=1e-5)


def test_T6_gain_saturates():
    # gain bounded by 2 alpha_inf - 1, increasing (THEORY.md's saturation)
    g = theory.gain_rate(np.logspace(0, 8, 50), **_LAW)
    assert np.all(np.diff(g) > 0) and g[-1] < 2 * _LAW["alpha_inf"] - 1
    assert g == pytest.approx(_gain_from_l0(np.logspace(0, 8, 50)), abs=1e-12)


def test_T6_student_saturation_and_invalid():
    assert theory.student_mixed_mass(1.0) == 0.0
    assert theory.student_mixed_mass(0.5) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="epsilon"):
        theory.compute_cap(0.0)
    with pytest.raises(ValueError, match="C"):
        theory.gain_rate(0.5)
