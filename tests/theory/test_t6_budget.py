"""T6 (diminishing returns, compute cap) against a second derivation."""


import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

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


@given(st.floats(1e-4, 1e-1))
def test_T6_compute_cap(eps):
    cap = theory.compute_cap(eps)
    grid = cap * np.logspace(1e-6, 6, 200)
    assert np.all(theory.marginal_gain(grid) < eps)
    if cap > 1.0:
        assert theory.marginal_gain(cap) == pytest.approx(eps, rel=1e-6)
    # saturation: gain bounded by 2 alpha_inf - 1, increasing
    g = theory.gain_rate(np.logspace(0, 8, 50))
    assert np.all(np.diff(g) > 0) and g[-1] < 2 * 0.9 - 1


def test_T6_student_saturation_and_invalid():
    assert theory.student_mixed_mass(1.0) == 0.0
    assert theory.student_mixed_mass(0.5) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="epsilon"):
        theory.compute_cap(0.0)
    with pytest.raises(ValueError, match="C"):
        theory.gain_rate(0.5)
