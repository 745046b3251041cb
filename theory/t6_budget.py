"""T6, diminishing returns and the verifier compute cap.

Gain rate (first order, uniform replay, n = 2): ``g = (eta beta / 2) erf(kappa) (2 alpha - 1) M``
saturates in kappa through erf(kappa) = 2 Phi(sqrt2 kappa) - 1 and in the student's accuracy
through M (tabular, K = 2: ``M = 4 s^2 pi0^2 (1 - pi0)^2 -> 0`` as pi0 -> 1).

Stated power law for a verifier of compute C >= C0 (our assumption, documented):

    kappa(C) = kappa0 (C / C0)^gamma_k,
    alpha(C) = alpha_inf - (alpha_inf - alpha0) (C / C0)^(-gamma_a),

(confidence grows without bound, rubric accuracy approaches alpha_inf as a power law). The
compute cap for a tolerance epsilon is the largest C with ``dg/dC >= epsilon``; beyond it every
extra unit of verifier compute buys less than epsilon of gain rate. ``dg/dC`` -> 0 as C -> inf,
so the cap is finite; it is found by a geometric scan and a bracketing root find.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf

from theory.util import check_range

__all__ = [
    "alpha_of_compute",
    "compute_cap",
    "gain_rate",
    "gain_rate_expr",
    "kappa_of_compute",
    "marginal_gain",
    "student_mixed_mass",
]

_DEFAULTS = dict(alpha0=0.55, alpha_inf=0.9, gamma_a=0.5, kappa0=0.3, gamma_k=0.5, C0=1.0)


def _params(p: dict) -> dict:
    q = {**_DEFAULTS, **p}
    unknown = set(p) - set(_DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown power-law parameters {sorted(unknown)}; known: {sorted(_DEFAULTS)}"
        )
    check_range("alpha0", q["alpha0"], 0.0, 1.0)
    check_range("alpha_inf", q["alpha_inf"], 0.0, 1.0)
    check_range("gamma_a", q["gamma_a"], 0.0, lo_open=True)
    check_range("kappa0", q["kappa0"], 0.0)
    check_range("gamma_k", q["gamma_k"], 0.0)
    check_range("C0", q["C0"], 0.0, lo_open=True)
    return q


def alpha_of_compute(C: Any, **law: float) -> Any:
    """T6 power law: ``alpha_inf - (alpha_inf - alpha0)(C/C0)^(-gamma_a)``."""
    q = _params(law)
    check_range("C", C, q["C0"])
    return q["alpha_inf"] - (q["alpha_inf"] - q["alpha0"]) * (np.asarray(C, float) / q["C0"]) ** (
        -q["gamma_a"]
    )


def kappa_of_compute(C: Any, **law: float) -> Any:
    """T6 power law: ``kappa0 (C/C0)^gamma_k``."""
    q = _params(law)
    check_range("C", C, q["C0"])
    return q["kappa0"] * (np.asarray(C, float) / q["C0"]) ** q["gamma_k"]


def student_mixed_mass(pi0: Any, s: float = 1.0) -> Any:
    """T6: tabular K = 2 mixed mass ``4 s^2 pi0^2 (1 - pi0)^2`` (saturation in student accuracy)."""
    check_range("pi0", pi0, 0.0, 1.0)
    return 4 * s**2 * np.asarray(pi0, float) ** 2 * (1 - np.asarray(pi0, float)) ** 2


def gain_rate_expr():
    """T6: sympy ``(g(C), dg/dC, C)`` for the power law (eta beta M / 2 = 1)."""
    import sympy as sp

    C, C0, a0, ainf, ga, k0, gk = sp.symbols(
        "C C0 alpha0 alpha_inf gamma_a kappa0 gamma_k", positive=True
    )
    alpha = ainf - (ainf - a0) * (C / C0) ** (-ga)
    kappa = k0 * (C / C0) ** gk
    g = (2 * alpha - 1) * sp.erf(kappa)
    return g, sp.diff(g, C), C


def gain_rate(C: Any, *, scale: float = 1.0, **law: float) -> Any:
    """T6: ``scale (2 alpha(C) - 1) erf(kappa(C))`` with scale = eta beta M / 2."""
    a = alpha_of_compute(C, **law)
    k = kappa_of_compute(C, **law)
    out = scale * (2 * a - 1) * erf(k)
    return float(out) if np.ndim(out) == 0 else out


def marginal_gain(C: Any, *, scale: float = 1.0, **law: float) -> Any:
    """T6: marginal gain ``g'(C) = scale [2 alpha' erf(kappa) + (2 alpha - 1) erf'(kappa) kappa']``.

    Primes are d/dC of the power laws; erf'(k) = 2 exp(-k^2) / sqrt(pi).
    """
    q = _params(law)
    C = np.asarray(C, float)
    a = alpha_of_compute(C, **law)
    k = kappa_of_compute(C, **law)
    da = q["gamma_a"] * (q["alpha_inf"] - q["alpha0"]) * (C / q["C0"]) ** (-q["gamma_a"]) / C
    dk = q["gamma_k"] * k / C
    out = scale * (2 * da * erf(k) + (2 * a - 1) * 2 / math.sqrt(math.pi) * np.exp(-k * k) * dk)
    return float(out) if out.ndim == 0 else out


def compute_cap(epsilon: float, *, scale: float = 1.0, C_max: float = 1e15, **law: float) -> float:
    """T6: the budget cap, the largest C >= C0 with marginal gain >= epsilon.

    Returns C0 if the marginal gain is below epsilon everywhere on [C0, C_max] and raises if it
    is still >= epsilon at C_max.
    """
    check_range("epsilon", epsilon, 0.0, lo_open=True)
    q = _params(law)
    grid = q["C0"] * np.logspace(0, math.log10(C_max / q["C0"]), 4000)
    g = marginal_gain(grid, scale=scale, **law) - epsilon
    if g[-1] >= 0:
        raise ValueError(f"marginal gain still >= epsilon at C_max={C_max:g}; raise C_max")
    above = np.nonzero(g >= 0)[0]
    if above.size == 0:
        return float(q["C0"])
    i = above[-1]
    f = lambda c: marginal_gain(c, scale=scale, **law) - epsilon
    return float(brentq(f, grid[i], grid[i + 1], xtol=1e-12 * grid[i], rtol=1e-13))
