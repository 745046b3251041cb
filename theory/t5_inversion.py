"""T5, confidence inversion: below threshold, a more confident verifier does more damage.

First-order damage rate (drift with the sign flipped, in units of eta beta M / 2):

    damage(alpha, kappa) = -(2 a_pair - 1) amp = (1 - 2 alpha)(2 Phi(sqrt2 kappa) - 1) amp
                         = (1 - 2 alpha) erf(kappa) amp,

with amp the gate's amplification (T2). Verifier 1 (alpha_1, kappa_1) *inverts* against
verifier 2 when it is more accurate, both are sub-threshold (alpha_2 < alpha_1 < 1/2), and it
does more damage: (1 - 2 alpha_1) erf(kappa_1) amp_1 > (1 - 2 alpha_2) erf(kappa_2) amp_2.
For equal amplification that is kappa_1 > erfinv((1 - 2 alpha_2) erf(kappa_2) / (1 - 2 alpha_1)),
possible iff the argument is < 1. As kappa -> 0, damage -> 0 for every alpha.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import erf, erfinv

from theory.l0_pairs import a_pair_expr
from theory.t2_progress import gate_amplification
from theory.util import check_range

__all__ = ["damage_expr", "damage_rate", "inversion_kappa", "inverts"]


def damage_expr():
    """T5: sympy ``(derived, closed)``: derived = -(2 a_pair - 1), closed = (1-2a)(2Phi-1)."""
    import sympy as sp

    expr = a_pair_expr()
    alpha, kappa = sorted(expr.free_symbols, key=lambda s: s.name)
    Phi = (1 + sp.erf(sp.sqrt(2) * kappa / sp.sqrt(2))) / 2
    return -(2 * expr - 1), (1 - 2 * alpha) * (2 * Phi - 1)


def damage_rate(alpha: Any, kappa: Any, amp: Any = 1.0) -> Any:
    """T5: ``(1 - 2 alpha)(2 Phi(sqrt2 kappa) - 1) amp`` (negative above threshold: a gain)."""
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    check_range("amp", amp, 0.0)
    out = (
        (1 - 2 * np.asarray(alpha, float)) * erf(np.asarray(kappa, float)) * np.asarray(amp, float)
    )
    return float(out) if np.ndim(out) == 0 else out


def _amp(alpha, kappa, gate):
    amp = gate_amplification(alpha, kappa, gate)
    if np.any(np.isnan(amp)):
        raise ValueError(
            f"gate {gate!r} has no closed-form amplification; use uniform, "
            "threshold, proportional or margin"
        )
    return amp


def inverts(alpha1: Any, kappa1: Any, alpha2: Any, kappa2: Any, gate: str = "uniform") -> Any:
    """T5: True where verifier 1 is more accurate, both are sub-threshold, and 1 hurts more."""
    for name, v in (("alpha1", alpha1), ("alpha2", alpha2)):
        check_range(name, v, 0.0, 1.0)
    for name, v in (("kappa1", kappa1), ("kappa2", kappa2)):
        check_range(name, v, 0.0)
    a1, a2 = np.asarray(alpha1, float), np.asarray(alpha2, float)
    d1 = damage_rate(alpha1, kappa1, _amp(alpha1, kappa1, gate))
    d2 = damage_rate(alpha2, kappa2, _amp(alpha2, kappa2, gate))
    out = (a2 < a1) & (a1 < 0.5) & (np.asarray(d1) > np.asarray(d2))
    return bool(out) if out.ndim == 0 else out


def inversion_kappa(alpha1: float, alpha2: float, kappa2: float, gate: str = "uniform") -> float:
    """T5: the confidence above which verifier 1 (alpha2 < alpha1 < 1/2) out-damages verifier 2.

    Closed form for uniform/threshold/proportional (amplification free of kappa):
    ``erfinv((1 - 2 alpha2) erf(kappa2) amp2 / ((1 - 2 alpha1) amp1))``; inf when that argument
    is >= 1 (no confidence suffices). For margin, a bracketing root find (brentq).
    """
    check_range("alpha1", alpha1, 0.0, 0.5, hi_open=True)
    check_range("alpha2", alpha2, 0.0, 0.5, hi_open=True)
    check_range("kappa2", kappa2, 0.0)
    if not alpha2 < alpha1:
        raise ValueError(
            f"alpha2 must be < alpha1 (verifier 1 more accurate), got {alpha2} >= {alpha1}"
        )
    d2 = damage_rate(alpha2, kappa2, _amp(alpha2, kappa2, gate))
    if gate != "margin":
        amp1 = float(_amp(alpha1, 1.0, gate))
        arg = d2 / ((1 - 2 * alpha1) * amp1)
        return math.inf if arg >= 1 else float(erfinv(arg))
    f = lambda k: damage_rate(alpha1, k, _amp(alpha1, k, gate)) - d2
    hi = 1.0
    while f(hi) <= 0:
        hi *= 2
        if hi > 1e3:
            return math.inf
    return float(brentq(f, 0.0, hi, xtol=1e-12)) if f(0.0) < 0 else 0.0
