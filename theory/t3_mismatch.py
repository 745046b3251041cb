"""T3, direction mismatch: gated and uniform replay can drift in opposite rubric directions.

Heterogeneous verifier: prompt types with mixed-pair orientation probability p (per type) and
frequency freq. At theta0 with equal mixed mass per prompt, prompt x's mean ascent direction in
the shared block is ``(2 p_x - 1) c`` for a common vector c with <c, grad A> > 0 (T1), so:

* uniform replay drifts along ``E[2p - 1] c``;
* a gate with weights w(p) drifts along ``E[w (2p - 1)] / E[w] c``. The model's loss progress
  (newest, independent pair = THEORY.md's T2), self-dominated (s^2 t_x >> N <m_x, m_y>), has
  w ~ ||mu_x||^2 ~ (2p - 1)^2 and gives the sign of ``E[(2p - 1)^3]``;
* the general condition is ``cos(E_gated[G], grad A) < 0 < cos(E_uniform[G], grad A)``;
* cross-dominated (s -> 0): progress_x ~ (2 p_x - 1) E_w[2p - 1] ||c||^2, so a proportional gate
  keeps only prompts agreeing with the current consensus and drifts with the consensus' sign,
  right or wrong ("locks in the consensus").

Counter-example (see theory.t2_progress): THEORY.md's literal definition measures progress on the
trained pair, so its self-term is w E||G||^2, which at theta0 does not depend on p; under it the
self-dominated gate has no first-order preference in p and no mismatch at theta0
(``weights="trained"``). The named students at N = 128 are cross-dominated under the model's
loss progress (self/cross about 0.2 to 0.4), so the cubic rule is expected only for large s or
small N; otherwise the consensus limit below applies.

Discovery (why the gate may never see the self-term): a prompt's self-term enters its progress
only in a round right after it was trained, with both that round's and the trained pair valid;
see :func:`gate_discovery`. The mismatch needs the horizon below to exceed the discovery time and
the EMA to remember at least one such observation.

Horizon: along a confidently-wrong prompt's own pair the DPO margin x = h obeys, in expectation,
``dx/dt = k (a - sigmoid(x))`` (T1's sigmoid factor) with ``k = 2 eta w beta^2 s^2 m`` (tabular,
K = 2, m the mixed-pair probability). Its mean direction, hence its self-progress, fades as
``(a - sigmoid(x))``; solved exactly:
``k t(x) = x / a - ln(|a - (1 - a) e^x| / |2 a - 1|) / (a (1 - a))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import logit, ndtri

from theory.util import check_range

__all__ = [
    "consensus_gate_drift",
    "gate_discovery",
    "horizon_time_expr",
    "margin_after",
    "mismatch_condition",
    "mismatch_horizon",
    "mismatch_signs",
    "saturation_time",
]


def _types(p: Any, freq: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.atleast_1d(np.asarray(p, float))
    f = np.atleast_1d(np.asarray(freq, float))
    check_range("p", p, 0.0, 1.0)
    check_range("freq", f, 0.0)
    if p.shape != f.shape or p.ndim != 1:
        raise ValueError("p and freq must be 1-D arrays of the same length")
    if f.sum() <= 0:
        raise ValueError("freq must have a positive entry")
    return p, f / f.sum()


def mismatch_signs(p: Any, freq: Any, weights: Any = "loss") -> dict[str, Any]:
    """T3: uniform vs gated first-order drift (in units of the common direction c).

    Args:
        p: (T,) orientation probability of each prompt type.
        freq: (T,) type frequencies (normalised here).
        weights: ``"loss"`` (the model's loss progress, newest independent pair, self-dominated:
            (2p - 1)^2 = THEORY.md's ||mu_x||^2; alias ``"mu2"``), ``"trained"`` (THEORY.md's
            literal trained-pair progress at theta0: constant, p-blind), ``"reward"`` (model's
            reward progress at theta0, K = 2: sqrt2 Phi^-1(p) (2p - 1)) or a (T,) array of gate
            weights.

    Returns ``uniform`` = E[2p - 1], ``gated`` = E[w (2p - 1)] / E[w], their signs,
    ``cubic`` = E[(2p - 1)^3] and ``mismatch`` (uniform > 0 > gated or the reverse).
    """
    p, f = _types(p, freq)
    d = 2 * p - 1
    if isinstance(weights, str):
        if weights in ("loss", "mu2"):
            w = d**2
        elif weights == "trained":
            w = np.ones_like(d)
        elif weights == "reward":
            # K = 2 two-level types: delta = sqrt2 Phi^-1(p), weight delta (2p - 1) >= 0
            w = np.sqrt(2.0) * ndtri(np.clip(p, 1e-300, 1 - 1e-16)) * d
        else:
            raise ValueError(
                f"weights must be loss, mu2, trained, reward or an array, got {weights!r}"
            )
    else:
        w = np.asarray(weights, float)
        check_range("weights", w, 0.0)
        if w.shape != d.shape:
            raise ValueError("weights must have the shape of p")
    uni = float((f * d).sum())
    den = float((f * w).sum())
    gated = float((f * w * d).sum() / den) if den > 0 else 0.0
    return {
        "uniform": uni,
        "gated": gated,
        "uniform_sign": int(np.sign(uni)),
        "gated_sign": int(np.sign(gated)),
        "cubic": float((f * d**3).sum()),
        "mismatch": bool(uni * gated < 0),
    }


def mismatch_condition(g_gated: Any, g_uniform: Any, grad_A: Any) -> dict[str, Any]:
    """T3 general condition: ``cos(E_gated[G], grad A) < 0 < cos(E_uniform[G], grad A)``."""
    gg, gu, ga = (np.asarray(v, float).ravel() for v in (g_gated, g_uniform, grad_A))
    if not gg.shape == gu.shape == ga.shape:
        raise ValueError("g_gated, g_uniform and grad_A must have the same size")

    def cos(a, b):
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0

    cg, cu = cos(gg, ga), cos(gu, ga)
    return {"cos_gated": cg, "cos_uniform": cu, "mismatch": cg < 0 < cu}


def consensus_gate_drift(p: Any, freq: Any, consensus: float | None = None) -> float:
    """T3 cross-dominated limit (s -> 0): proportional gate on progress ~ (2p - 1) * consensus.

    ``consensus`` defaults to the uniform drift E[2p - 1]. Returns E[w (2p - 1)] / E[w] with
    ``w = max((2p - 1) consensus, 0)``: it has the sign of the consensus, right or wrong.
    """
    p, f = _types(p, freq)
    d = 2 * p - 1
    c = float((f * d).sum()) if consensus is None else float(consensus)
    w = np.maximum(d * c, 0.0)
    den = float((f * w).sum())
    return float((f * w * d).sum() / den) if den > 0 else 0.0


def horizon_time_expr():
    """T3: sympy ``(T(x), a, x)``, the solution k t = T(x) of dx/dt = k (a - sigmoid(x))."""
    import sympy as sp

    a, x = sp.symbols("a x", positive=True)
    T = x / a - sp.log((a - (1 - a) * sp.exp(x)) / (2 * a - 1)) / (a * (1 - a))
    return T, a, x


def saturation_time(a: float, x: Any) -> Any:
    """T3: ``k t`` needed for the margin to go from 0 to x under dx/dt = k (a - sigmoid(x)).

    x must lie between 0 and the fixed point logit(a) (exclusive of the fixed point).
    """
    check_range("a", a, 0.0, 1.0, lo_open=True, hi_open=True)
    if a == 0.5:
        raise ValueError("a must differ from 1/2 (no drift at the threshold)")
    x = np.asarray(x, float)
    xs = logit(a)
    if np.any(x / xs < 0) or np.any(np.abs(x) >= abs(xs)):
        raise ValueError(f"x must lie in [0, logit(a)) = [0, {xs:g})")
    arg = np.abs(a - (1 - a) * np.exp(x)) / abs(2 * a - 1)
    out = x / a - np.log(arg) / (a * (1 - a))
    return float(out) if out.ndim == 0 else out


def margin_after(a: float, kt: Any) -> Any:
    """T3: margin x(t) given k t (inverse of :func:`saturation_time`, by bracketing)."""
    check_range("kt", kt, 0.0)
    xs = float(logit(a))
    kt_arr = np.atleast_1d(np.asarray(kt, float))
    out = np.empty(kt_arr.shape)
    for i, v in enumerate(kt_arr):
        if v == 0:
            out[i] = 0.0
            continue
        lo, hi = 0.0, xs * (1 - 1e-15)
        f = lambda x, v=v: saturation_time(a, x) - v
        out[i] = brentq(f, min(lo, hi), max(lo, hi), xtol=1e-14)
    return float(out[0]) if np.ndim(kt) == 0 else out


def mismatch_horizon(
    p: float,
    *,
    eta: float,
    beta: float = 1.0,
    s: float = 1.0,
    w: float = 1.0,
    mixed: float = 0.5,
    fraction: float = 0.5,
) -> float:
    """T3 horizon: rounds until a type-p prompt's mean direction falls to ``fraction`` of its start.

    Mean direction ~ (p - sigmoid(x)); it reaches ``fraction (p - 1/2)`` at
    ``x_f = logit(p - fraction (p - 1/2))``; rounds = T(x_f) / k with
    ``k = 2 eta w beta^2 s^2 mixed`` (tabular K = 2, mixed-pair probability held at its start,
    w the prompt's expected batch weight per round). Progress (~ its square) falls to
    fraction^2. For the mismatch, use p of the confidently-wrong type.
    """
    check_range("p", p, 0.0, 1.0, lo_open=True, hi_open=True)
    check_range("fraction", fraction, 0.0, 1.0, lo_open=True, hi_open=True)
    for name, v in (("eta", eta), ("beta", beta), ("s", s), ("w", w), ("mixed", mixed)):
        check_range(name, v, 0.0, lo_open=True)
    xf = float(logit(p - fraction * (p - 0.5)))
    k = 2 * eta * w * beta**2 * s**2 * mixed
    return float(saturation_time(p, xf) / k)


def gate_discovery(
    *, N: int, B: int, mixed: float, lam: float, p: Any = None, freq: Any = None
) -> dict[str, float]:
    """T3: how soon, and how reliably, a progress gate can see a prompt's self-term.

    The self-term of prompt x's loss progress at round t is eta w_x(t-1) <G_x(t), G_x(t-1)>: it
    is there only if x was in round t-1's batch (probability ``q = 1 - (1 - 1/N)^B`` under the
    near-uniform replay of the first rounds) and both x's pair of round t-1 and its newest pair
    are valid (probability ``mixed`` each, pairs independent given theta). So self-observations
    arrive at rate ``r = q mixed^2`` per round. They cluster (consecutive observations share a
    valid pair), so the first is a first passage of the two-state chain "trained with a valid
    pair last round or not": from the start, E0 = 1 + q m E1 + (1 - q m) E0 and
    E1 = 1 + (1 - m) E0 give ``(1 + q mixed) / (q mixed^2)`` rounds on average
    (``discovery_rounds``; the rounds count includes the observing one). The EMA S (weight lam
    per valid pair) forgets over
    ``1 / (lam mixed)`` rounds and so holds ``q mixed / lam`` self-observations
    (``memory_observations``).

    With K = 2 and a tabular-dominated G, one observation is +-||G||^2 with P(+) =
    p^2 + (1 - p)^2 = (1 + (2p - 1)^2) / 2. When S holds at most one observation a gate can only
    rank by its sign, which enriches type t at most to f_t (1 + d_t^2) / sum f (1 + d^2), d = 2p - 1
    (``sign_enrichment``, per type, given ``p`` and ``freq``), far below THEORY.md's
    (2p - 1)^2 weights. A reliable mismatch therefore needs horizon > discovery_rounds (the
    confidently-wrong prompts must be seen before they saturate) and memory_observations >= 1.
    """
    for name, v in (("N", N), ("B", B)):
        if isinstance(v, bool) or int(v) != v or int(v) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    check_range("mixed", mixed, 0.0, 1.0, lo_open=True)
    check_range("lam", lam, 0.0, 1.0, lo_open=True)
    q = 1.0 - (1.0 - 1.0 / int(N)) ** int(B)
    rate = q * mixed**2
    out = {
        "batch_probability": float(q),
        "observations_per_round": float(rate),
        "discovery_rounds": float((1.0 + q * mixed) / rate),
        "memory_rounds": float(1.0 / (lam * mixed)),
        "memory_observations": float(q * mixed / lam),
    }
    if p is not None or freq is not None:
        pp, f = _types(p, freq)
        plus = f * (1.0 + (2 * pp - 1) ** 2)
        out["sign_enrichment"] = (plus / plus.sum()).tolist()
    return out
