"""Rubric accuracy as teams measure it: verdict, pair and selection accuracy under V(alpha, kappa).

THEORY.md's alpha is a *verdict* accuracy (chance 1/2). A team that reports "rubric accuracy"
may have computed one of three numbers from a verifier's scores on rubric-labelled answers:

* ``verdict``: alpha itself, the verifier's yes/no verdict agrees with the rubric. Chance 1/2.
* ``pair`` (L0): a pair with one correct and one incorrect answer is ordered right,
  :func:`theory.l0_pairs.pair_accuracy` (n = 2: ``1/2 + (alpha - 1/2) erf(kappa)``; n > 2 its
  mean-field best-vs-worst version). Its value at alpha = 1/2 is 1/2 for n = 2.
* ``selection``: the verifier's top-scored answer is rubric-correct. Two variants:

  - *n samples* (``n`` given): n i.i.d. samples of a student with P(correct sample) =
    ``p_correct``; accuracy among questions with at least one correct sample. The correct
    candidate's frozen verdict is shared by all its samples; incorrect samples are either all
    distinct candidates (``K=None``: free-form answers, the mean-field of theory.l0_pairs) or
    spread uniformly over the ``K - 1`` incorrect options (``K`` given: multiple choice), whose
    frozen verdicts are shared by the samples that hit them.
  - *K options* (``n=None``): each of K options (exactly one correct) scored once.

Derivation (L0-sel). Let each sample fall in a class c with probability q_c and score
``N(m_c, 1)``; F = sum_c q_c Phi(x - m_c). The best of n i.i.d. samples is in class i with
probability ``n q_i int phi(x - m_i) F(x)^(n-1) dx`` (sum over the binomial count of class-i
samples telescopes). With the correct class at ``m_0 = kappa (2 v_0 - 1)``, averaging over the
frozen verdicts (v_0 = 1 w.p. alpha; an incorrect candidate's verdict is 1 w.p. 1 - alpha;
with finite K over j ~ Bin(K - 1, 1 - alpha) incorrect options marked correct) and dividing by
``1 - (1 - p)^n`` gives the n-sample selection accuracy, a 1-D integral. The K-option variant
is the case of K singletons. Both are computed on a fixed window of +-10 sd around the
correct class's mean (the factor phi(x - m_0) confines the integrand), so the cost does not grow
with kappa or n; kappa = inf uses the noiseless limit in closed form (ties broken uniformly):

    n samples:  v_0 = 1: p (1 - (1 - q_h)^n) / q_h,   v_0 = 0: p (1 - q_h)^(n-1),
                q_h = mass of samples scored high (the correct one if v_0 = 1, plus incorrect
                ones whose verdict is 1);
    K options:  alpha (1 - alpha^K) / (K (1 - alpha)) + (1 - alpha) alpha^(K-1) / K.

Thresholds (T1 in each measure). The sign of the first-order drift is set by alpha versus 1/2
for every kappa > 0 (T1), and every measure here rises with alpha at fixed kappa, so the
threshold in a measure is its value at alpha = 1/2 (:func:`measure_threshold`):

* verdict and pair (n = 2): 1/2 for every kappa;
* selection, K options: exactly 1/K for every kappa (at alpha = 1/2 the K options' scores are
  i.i.d.);
* selection, n samples: *dependent on kappa and the student*. At kappa = 0 it is the random
  pick ``p / (1 - (1 - p)^n)`` (below 1/2 whenever the student's p_correct is small, e.g.
  0.395 for p = 0.3, n = 4); it moves monotonically in kappa (checked numerically over
  K in {2..20, None}, n in 2..64) to the noiseless value at kappa = inf. The frozen verdict of
  the correct answer is shared by all its samples, so a confident coin-flip verifier loses them
  together: with free-form answers (K = None) the threshold *falls* with kappa (p = 0.3,
  n = 4: 0.395 -> 0.353); with few options the incorrect samples share verdicts too and it can
  *rise* (K = 3: 0.395 -> 0.402; K = 4: falls to 0.386). A study's "rubric accuracy of 8-23%"
  in this measure is sub-threshold for such students whatever the verifier's confidence.

Inverse maps (:func:`equivalent_alpha`): for a given kappa the alpha whose measure equals the
value (bisection; the measure is increasing in alpha); for ``kappa=None`` the closed hull of
the alphas allowed over all kappa >= 0 (a fixed geometric kappa grid of 49 points, kappa = inf,
and bounded refinement). Near the kappa below which the value is no longer reachable the
matching alpha tends to 0 or 1, so one end of that hull is 0 or 1 unless the value is exactly
the measure's kappa-free chance level.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy.special import ndtr
from scipy.stats import binom

from theory.l0_pairs import pair_accuracy
from theory.util import check_int, check_range

__all__ = [
    "MEASURES",
    "equivalent_alpha",
    "measure_range",
    "measure_threshold",
    "measure_value",
    "pair_measure",
    "random_scorer_level",
    "read_rubric_accuracy",
    "selection_accuracy",
    "selection_accuracy_policies",
    "equivalent_alpha_policies",
    "side",
]

MEASURES = ("verdict", "pair", "selection")

_WINDOW = 10.0  # +-10 sd: phi beyond is < 1e-22, times n <= 1e9 still negligible
_PANEL = 0.25  # panel width; F^(n-1) has a transition of width ~ 1/sqrt(2 log n) >= 0.15
_GL = 8
_K_MAX = 256  # finite-K n-sample selection sums over K terms; beyond, K=None (mean-field)
_PAIR_KAPPA_SAT = 8.0  # theory.l0_pairs' n > 2 quadrature grows with kappa; saturated by 8
_KAPPA_GRID = np.geomspace(1e-3, 1e3, 49)
_BISECT = 60
_AT_TOL = 1e-9


@functools.cache
def _nodes() -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [-_WINDOW, _WINDOW] (fixed size)."""
    t, w = np.polynomial.legendre.leggauss(_GL)
    panels = int(round(2 * _WINDOW / _PANEL))
    starts = -_WINDOW + _PANEL * np.arange(panels)
    x = (starts[:, None] + _PANEL * (t[None, :] + 1.0) / 2.0).ravel()
    wx = np.tile(w * _PANEL / 2.0, panels)
    return x, wx


def _std_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


# ---------------------------------------------------------------- settings -------------------


def _setting(measure: str, n: int | None, K: int | None, p_correct: float | None) -> dict[str, Any]:
    """Validate which of n, K, p_correct a measure takes; ValueError with one line otherwise."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    if measure == "verdict":
        if n is not None or K is not None or p_correct is not None:
            raise ValueError("verdict accuracy takes no n, K or p_correct (it is alpha itself)")
        return {"measure": "verdict"}
    if measure == "pair":
        if K is not None:
            raise ValueError("pair accuracy takes no K (it orders one correct and one incorrect)")
        n = 2 if n is None else check_int("n", n, 2)
        if n == 2:
            if p_correct is not None:
                raise ValueError("pair accuracy with n = 2 takes no p_correct (it does not enter)")
            return {"measure": "pair", "n": 2}
        if p_correct is None:
            raise ValueError("pair accuracy with n > 2 (best vs worst) needs p_correct")
        check_range("p_correct", p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
        return {"measure": "pair", "n": n, "p_correct": float(p_correct)}
    if n is None:
        if p_correct is not None:
            raise ValueError(
                "selection with p_correct needs n (the samples per question); "
                "without n it is the K-option variant"
            )
        if K is None:
            raise ValueError("selection accuracy needs n and p_correct (n samples) or K (options)")
        return {"measure": "selection", "K": check_int("K", K, 2)}
    n = check_int("n", n, 2)
    if p_correct is None:
        raise ValueError("selection accuracy among n samples needs p_correct")
    check_range("p_correct", p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
    out = {"measure": "selection", "n": n, "p_correct": float(p_correct)}
    if K is not None:
        out["K"] = check_int("K", K, 2, _K_MAX)
    return out


# ---------------------------------------------------------------- selection ------------------


def _sel_samples(
    alpha: np.ndarray, kappa: np.ndarray, n: int, p: float, K: int | None
) -> np.ndarray:
    """L0-sel, n samples: P(top sample correct | >= 1 correct), arrays alpha, kappa (same shape)."""
    t, w = _nodes()
    inf = np.isinf(kappa)
    k = np.where(inf, 0.0, kappa)[..., None]
    a = alpha[..., None]
    Phi_t, wphi = ndtr(t), w * _std_pdf(t) * n * p
    if K is None:
        js, pmf = [None], [np.ones_like(alpha)]
    else:
        js = list(range(K))  # j = incorrect options marked correct ~ Bin(K - 1, 1 - alpha)
        pmf = [binom.pmf(j, K - 1, 1.0 - alpha) for j in js]
    total = np.zeros(alpha.shape)
    total_inf = np.zeros(alpha.shape)
    for v0, weight in ((1, alpha), (0, 1.0 - alpha)):
        # nodes x = m0 + t around the correct class's mean m0 = +-kappa; x -+ kappa formed
        # without adding t to kappa (exact for kappa up to 1e300)
        hi = ndtr(t if v0 else t - 2.0 * k)  # incorrect answers with verdict 1
        lo = ndtr(t + 2.0 * k if v0 else t)  # incorrect answers with verdict 0
        for j, pj in zip(js, pmf):
            if np.max(pj) < 1e-18:
                continue  # binomial tail that no alpha in the batch reaches
            if K is None:
                q_hi = (1.0 - p) * (1.0 - alpha)
                F = p * Phi_t + (1.0 - p) * ((1.0 - a) * hi + a * lo)
            else:
                r = (1.0 - p) / (K - 1)
                q_hi = np.full(alpha.shape, r * j)
                F = p * Phi_t + r * (j * hi + (K - 1 - j) * lo)
            val = (wphi * np.clip(F, 0.0, 1.0) ** (n - 1)).sum(-1)
            total += weight * pj * val
            if v0:  # noiseless limit: top is uniform among the high-scored samples
                qh = p + q_hi
                lim = p * (1.0 - (1.0 - np.minimum(qh, 1.0)) ** n) / qh  # qh >= p > 0
            else:
                lim = p * (1.0 - q_hi) ** (n - 1)
            total_inf += weight * pj * lim
    total = np.where(inf, total_inf, total)
    return total / -math.expm1(n * math.log1p(-p))


def _sel_options(alpha: np.ndarray, kappa: np.ndarray, K: int) -> np.ndarray:
    """L0-sel, K options scored once, one correct: P(top-scored option is the correct one)."""
    t, w = _nodes()
    inf = np.isinf(kappa)
    k = np.where(inf, 0.0, kappa)[..., None]
    a = alpha[..., None]
    out = np.zeros(alpha.shape)
    for v0, weight in ((1, alpha), (0, 1.0 - alpha)):
        hi = ndtr(t if v0 else t - 2.0 * k)
        lo = ndtr(t + 2.0 * k if v0 else t)
        G = (1.0 - a) * hi + a * lo
        out += weight * (w * _std_pdf(t) * np.clip(G, 0.0, 1.0) ** (K - 1)).sum(-1)
    geo = np.polynomial.polynomial.polyval(alpha, np.ones(K))  # sum_{i<K} alpha^i, stable at 1
    lim = alpha * geo / K + (1.0 - alpha) * alpha ** (K - 1) / K
    return np.where(inf, lim, out)


def selection_accuracy(
    alpha: Any,
    kappa: Any,
    *,
    n: int | None = None,
    K: int | None = None,
    p_correct: float | None = None,
) -> Any:
    """L0-sel: selection accuracy of V(alpha, kappa) (module docstring for the two variants).

    Args:
        alpha: verdict accuracy in [0, 1] (broadcasts with kappa).
        kappa: confidence >= 0; ``inf`` gives the noiseless limit.
        n: samples per question (n-sample variant); None for the K-option variant.
        K: options per question: required without n; with n, None means every incorrect
            sample is a distinct answer (free-form), K spreads incorrect samples uniformly over
            K - 1 options (K <= 256).
        p_correct: the student's probability of a correct sample, in (0, 1) (n-sample only).

    Returns:
        P(verifier's top choice is rubric-correct), conditional on at least one correct sample
        in the n-sample variant; float for scalar input.
    """
    st = _setting("selection", n, K, p_correct)
    return _evaluate(st, alpha, kappa)


_CHUNK_ELEMS = 1 << 22
_POLICY_K_MAX = 12  # the exact per-policy form enumerates 2^(K-1) verdict patterns


def _policy_table(kappa: float, policies: Any, n: int) -> tuple[np.ndarray, ...]:
    """Per question and verdict pattern, P(top correct, >= 1 correct | v_0, pattern): free of
    alpha, which enters only through the pattern weights (so inverse maps are cheap)."""
    check_range("kappa", kappa, 0.0)
    n = check_int("n", n, 2)
    pi = np.atleast_2d(np.asarray(policies, dtype=float))
    if pi.ndim != 2 or not 2 <= pi.shape[1] <= _POLICY_K_MAX:
        raise ValueError(f"policies must be (M, K) with 2 <= K <= {_POLICY_K_MAX}")
    check_range("policies", pi, 0.0, 1.0)
    if np.any(np.abs(pi.sum(1) - 1.0) > 1e-9):
        raise ValueError("each row of policies must sum to 1")
    K = pi.shape[1]
    kappa = float(kappa)
    pats = np.array(np.meshgrid(*[[0, 1]] * (K - 1), indexing="ij")).reshape(K - 1, -1).T
    p = pi[:, 0]
    q_hi = pi[:, 1:] @ pats.T  # (M, P) incorrect mass marked correct
    q_lo = (1.0 - p)[:, None] - q_hi
    t, w = _nodes()
    vals = []
    for v0 in (1, 0):
        if math.isinf(kappa):
            if v0:
                qh = p[:, None] + q_hi
                with np.errstate(divide="ignore", invalid="ignore"):
                    val = np.where(qh > 0, p[:, None] * (1.0 - (1.0 - qh) ** n) / qh, 0.0)
            else:
                val = p[:, None] * (1.0 - q_hi) ** (n - 1)
        else:
            hi = ndtr(t if v0 else t - 2.0 * kappa)
            lo = ndtr(t + 2.0 * kappa if v0 else t)
            wphi = w * _std_pdf(t) * n
            step = max(1, _CHUNK_ELEMS // (q_hi.shape[1] * t.size))  # bounded memory
            val = np.zeros(q_hi.shape)
            for m in range(0, p.size, step):
                sl = slice(m, m + step)
                F = p[sl, None, None] * ndtr(t) + q_hi[sl, :, None] * hi + q_lo[sl, :, None] * lo
                val[sl] = (wphi * np.clip(F, 0.0, 1.0) ** (n - 1)).sum(-1) * p[sl, None]
        vals.append(val.sum(0))  # pooled over questions: (P,)
    den = float((-np.expm1(n * np.log1p(-np.minimum(p, 1.0 - 1e-16)))).sum())
    if den <= 0.0:
        raise ValueError("no question has a correct answer with positive probability")
    return vals[0] / den, vals[1] / den, pats.sum(1), K


def _policy_value(table: tuple[np.ndarray, ...], alpha: Any) -> np.ndarray:
    v1, v0, n_yes, K = table
    a = np.asarray(alpha, dtype=float)[..., None]
    w_pat = (1.0 - a) ** n_yes * a ** (K - 1 - n_yes)
    out = a[..., 0] * (w_pat * v1).sum(-1) + (1.0 - a[..., 0]) * (w_pat * v0).sum(-1)
    return np.clip(out, 0.0, 1.0)


def selection_accuracy_policies(alpha: Any, kappa: float, policies: Any, n: int) -> Any:
    """L0-sel, n samples, exact for given policies: the pooled selection accuracy of a student.

    Each row of ``policies`` (M, K) is one question's answer distribution, column 0 the correct
    answer; every answer's frozen verdict is shared by its samples. Per question the formula of
    the module docstring holds with the incorrect mass split by verdict (``Q_hi``: verdict 1),
    enumerated over the 2^(K-1) verdict patterns of the incorrect answers. The pooled accuracy
    is what a team computes over questions with at least one correct sample:
    ``sum_m P(top correct, >= 1 correct)_m / sum_m (1 - (1 - p_m)^n)``.

    Args:
        alpha: verdict accuracy in [0, 1] (array allowed).
        kappa: confidence >= 0 (inf: noiseless limit), a scalar.
        policies: (M, K) rows summing to 1, K <= 12.
        n: samples per question, >= 2.
    """
    check_range("alpha", alpha, 0.0, 1.0)
    out = _policy_value(_policy_table(kappa, policies, n), alpha)
    return float(out) if out.ndim == 0 else out


def equivalent_alpha_policies(value: float, kappa: float, policies: Any, n: int) -> float:
    """Inverse of :func:`selection_accuracy_policies` in alpha at a given kappa > 0.

    Raises:
        ValueError: one line, when the value is outside what that kappa allows.
    """
    check_range("value", value, 0.0, 1.0)
    check_range("kappa", kappa, 0.0, lo_open=True)
    table = _policy_table(kappa, policies, n)
    lo, hi = (float(x) for x in _policy_value(table, np.array([0.0, 1.0])))
    if not lo - _AT_TOL <= value <= hi + _AT_TOL:
        raise ValueError(
            f"pooled selection accuracy {value:.4g} is outside [{lo:.4g}, {hi:.4g}], "
            f"what it can be at kappa = {kappa:g} for these policies"
        )
    a_lo, a_hi = 0.0, 1.0
    for _ in range(_BISECT):
        mid = 0.5 * (a_lo + a_hi)
        if float(_policy_value(table, mid)) < value:
            a_lo = mid
        else:
            a_hi = mid
    return 0.5 * (a_lo + a_hi)


def pair_measure(alpha: Any, kappa: Any, *, n: int = 2, p_correct: float | None = None) -> Any:
    """L0: pair accuracy via :func:`theory.l0_pairs.pair_accuracy` (kappa = inf allowed).

    For n > 2 the mean-field quadrature of theory.l0_pairs grows with kappa, so kappa is clamped at
    8, where the order-statistics overlap of the two score levels is below 1e-28.
    """
    st = _setting("pair", n, None, p_correct)
    return _evaluate(st, alpha, kappa)


def _evaluate(st: dict[str, Any], alpha: Any, kappa: Any) -> Any:
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    a, k = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(kappa, float))
    m = st["measure"]
    if m == "verdict":
        out = a.copy()
    elif m == "pair":
        if st["n"] == 2:
            out = np.asarray(pair_accuracy(a, k), float)
        else:
            out = np.asarray(
                pair_accuracy(a, np.minimum(k, _PAIR_KAPPA_SAT), st["n"], st["p_correct"]), float
            )
    elif "n" in st:
        out = _sel_samples(a, k, st["n"], st["p_correct"], st.get("K"))
    else:
        out = _sel_options(a, k, st["K"])
    out = np.clip(out, 0.0, 1.0)
    return float(out) if out.ndim == 0 else out


def measure_value(
    alpha: Any,
    kappa: Any,
    measure: str,
    *,
    n: int | None = None,
    K: int | None = None,
    p_correct: float | None = None,
) -> Any:
    """The named measure (``verdict``, ``pair`` or ``selection``) of V(alpha, kappa)."""
    return _evaluate(_setting(measure, n, K, p_correct), alpha, kappa)


# ---------------------------------------------------------------- thresholds -----------------


def _describe(st: dict[str, Any]) -> str:
    parts = [f"{key}={st[key]:g}" for key in ("n", "K", "p_correct") if key in st]
    return f"{st['measure']} accuracy" + (f" ({', '.join(parts)})" if parts else "")


def _grid_with_limits() -> np.ndarray:
    return np.concatenate([[0.0], _KAPPA_GRID, [np.inf]])


def random_scorer_level(
    measure: str, *, n: int | None = None, K: int | None = None, p_correct: float | None = None
) -> float:
    """The measure of a random scorer (kappa = 0, any alpha): 1/2, 1/2, 1/K or p / (1-(1-p)^n)."""
    st = _setting(measure, n, K, p_correct)
    return float(_evaluate(st, 0.5, 0.0))


def measure_threshold(
    measure: str,
    *,
    n: int | None = None,
    K: int | None = None,
    p_correct: float | None = None,
    kappa: float | None = None,
) -> float | tuple[float, float]:
    """T1 in the measure: its value at alpha = 1/2 (below it the loop regresses, first order).

    With ``kappa`` the threshold at that confidence; with ``kappa=None`` the range
    ``(min, max)`` over kappa >= 0 (only the n-sample selection and the n > 2 pair depend on
    kappa; see the module docstring).
    """
    st = _setting(measure, n, K, p_correct)
    if kappa is not None:
        check_range("kappa", kappa, 0.0)
        return float(_evaluate(st, 0.5, kappa))
    vals = _evaluate(st, np.full(_grid_with_limits().shape, 0.5), _grid_with_limits())
    return float(np.min(vals)), float(np.max(vals))


def measure_range(
    measure: str,
    *,
    n: int | None = None,
    K: int | None = None,
    p_correct: float | None = None,
    kappa: float | None = None,
) -> tuple[float, float]:
    """The values the measure can take: over alpha in [0, 1] at ``kappa``, or over all kappa."""
    st = _setting(measure, n, K, p_correct)
    ks = np.array([kappa], float) if kappa is not None else _grid_with_limits()
    check_range("kappa", ks, 0.0)
    lo = _evaluate(st, np.zeros(ks.shape), ks)
    hi = _evaluate(st, np.ones(ks.shape), ks)
    return float(np.min(lo)), float(np.max(hi))


# ---------------------------------------------------------------- inverse maps ---------------


def _alpha_at(st: dict[str, Any], value: float, kappas: np.ndarray) -> np.ndarray:
    """Alpha with measure = value at each kappa (bisection, vectorised); NaN where unreachable."""
    lo_v = np.asarray(_evaluate(st, np.zeros(kappas.shape), kappas))
    hi_v = np.asarray(_evaluate(st, np.ones(kappas.shape), kappas))
    a_lo, a_hi = np.zeros(kappas.shape), np.ones(kappas.shape)
    for _ in range(_BISECT):
        mid = 0.5 * (a_lo + a_hi)
        below = np.asarray(_evaluate(st, mid, kappas)) < value
        a_lo, a_hi = np.where(below, mid, a_lo), np.where(below, a_hi, mid)
    alpha = 0.5 * (a_lo + a_hi)
    flat = np.abs(hi_v - lo_v) <= _AT_TOL  # kappa = 0: the measure does not see alpha
    reach = (value >= lo_v - _AT_TOL) & (value <= hi_v + _AT_TOL) & ~flat
    return np.where(reach, alpha, np.nan)


def equivalent_alpha(
    value: float,
    measure: str,
    *,
    n: int | None = None,
    K: int | None = None,
    p_correct: float | None = None,
    kappa: float | None = None,
) -> float | tuple[float, float]:
    """The verdict accuracy alpha that a measured rubric accuracy corresponds to (inverse map).

    Args:
        value: the measured accuracy in the named measure.
        measure: ``verdict``, ``pair`` or ``selection``.
        n, K, p_correct: the measure's setting (see :func:`selection_accuracy`).
        kappa: the verifier's confidence if known; None for the hull of alphas over kappa >= 0.

    Returns:
        alpha (kappa given), or ``(alpha_lo, alpha_hi)`` (kappa None).

    Raises:
        ValueError: one line, if the value is outside what the measure allows (at that kappa,
            or at any kappa), or the setting is incomplete.
    """
    st = _setting(measure, n, K, p_correct)
    check_range("value", value, 0.0, 1.0)
    value = float(value)
    if st["measure"] == "verdict":
        return value if kappa is not None else (value, value)
    chance = float(_evaluate(st, 0.5, 0.0))
    if kappa is not None:
        check_range("kappa", kappa, 0.0)
        lo, hi = measure_range(measure, n=n, K=K, p_correct=p_correct, kappa=kappa)
        if kappa == 0.0:
            if abs(value - chance) <= _AT_TOL:
                raise ValueError(
                    f"at kappa = 0 every alpha gives {_describe(st)} {chance:.4g}: "
                    "alpha is not identified"
                )
            raise ValueError(
                f"at kappa = 0 {_describe(st)} is {chance:.4g} for every alpha, not {value:.4g}"
            )
        if not lo - _AT_TOL <= value <= hi + _AT_TOL:
            raise ValueError(
                f"{_describe(st)} {value:.4g} is outside [{lo:.4g}, {hi:.4g}], "
                f"what it can be at kappa = {kappa:g}"
            )
        return float(_alpha_at(st, value, np.array([float(kappa)]))[0])
    if abs(value - chance) <= _AT_TOL:
        return 0.0, 1.0  # kappa = 0 allows every alpha
    ks = _grid_with_limits()[1:]
    alpha = _alpha_at(st, value, ks)
    ok = ~np.isnan(alpha)
    if not ok.any():
        lo, hi = measure_range(measure, n=n, K=K, p_correct=p_correct)
        raise ValueError(
            f"{_describe(st)} {value:.4g} is outside [{lo:.4g}, {hi:.4g}], "
            "what it can be for any verifier"
        )
    lo_a, hi_a = float(np.min(alpha[ok])), float(np.max(alpha[ok]))
    lo_a, hi_a = _refine(st, value, ks, alpha, lo_a, hi_a)
    # As kappa -> 0 the measure's range shrinks to its chance level, so by continuity the value
    # is met at alpha = 1 (above chance) or alpha = 0 (below) at the smallest kappa reaching it.
    if value > chance:
        hi_a = 1.0
    else:
        lo_a = 0.0
    return lo_a, hi_a


def _refine(
    st: dict[str, Any], value: float, ks: np.ndarray, alpha: np.ndarray, lo_a: float, hi_a: float
) -> tuple[float, float]:
    """Bounded refinement of interior extremes of alpha(kappa) between grid neighbours."""
    finite = np.isfinite(ks)
    for sign in (1.0, -1.0):
        idx = int(np.nanargmin(sign * alpha))
        if not finite[idx] or idx in (0, len(ks) - 2):
            continue  # extreme at kappa = inf or a grid end: nothing to refine inside
        fine = np.geomspace(ks[idx - 1], ks[idx + 1], 33)
        a = _alpha_at(st, value, fine)
        if np.isfinite(a).any():
            best = float(np.nanmin(sign * a)) * sign
            if sign > 0:
                lo_a = min(lo_a, best)
            else:
                hi_a = max(hi_a, best)
    return lo_a, hi_a


def side(
    value: float,
    measure: str,
    *,
    n: int | None = None,
    K: int | None = None,
    p_correct: float | None = None,
    kappa: float | None = None,
) -> str:
    """T1 in the measure: ``above`` / ``below`` the threshold, ``at`` it, or ``undetermined``.

    With kappa None the side holds for every kappa that allows the value (its equivalent alpha
    range lies on one side of 1/2), else ``undetermined``.
    """
    a = equivalent_alpha(value, measure, n=n, K=K, p_correct=p_correct, kappa=kappa)
    lo, hi = (a, a) if kappa is not None else a
    if lo > 0.5 + _AT_TOL:
        return "above"
    if hi < 0.5 - _AT_TOL:
        return "below"
    if kappa is not None or (abs(lo - 0.5) <= _AT_TOL and abs(hi - 0.5) <= _AT_TOL):
        return "at"
    return "undetermined"


def read_rubric_accuracy(
    value: float,
    measure: str,
    *,
    n: int | None = None,
    K: int | None = None,
    p_correct: float | None = None,
    kappa: float | None = None,
) -> dict[str, Any]:
    """Everything a team needs to read a measured rubric accuracy (JSON-ready dict).

    Keys: ``measure``, ``value``, the setting (``n``, ``K``, ``p_correct``, ``kappa``, None
    where not used), ``side``, ``threshold`` (float, or ``[lo, hi]`` over kappa),
    ``random_scorer`` (the kappa = 0 level), ``range`` (what the measure can take),
    ``equivalent_alpha`` (float, or ``[lo, hi]``) and a one-line ``reading``.
    """
    st = _setting(measure, n, K, p_correct)
    alpha = equivalent_alpha(value, measure, n=n, K=K, p_correct=p_correct, kappa=kappa)
    thr = measure_threshold(measure, n=n, K=K, p_correct=p_correct, kappa=kappa)
    rng = measure_range(measure, n=n, K=K, p_correct=p_correct, kappa=kappa)
    sd = side(value, measure, n=n, K=K, p_correct=p_correct, kappa=kappa)
    thr_s = f"{thr:.4g}" if kappa is not None else f"{thr[0]:.4g}-{thr[1]:.4g}"
    alpha_s = f"{alpha:.4g}" if kappa is not None else f"[{alpha[0]:.4g}, {alpha[1]:.4g}]"
    words = {
        "above": "above threshold: theory predicts the loop improves the student",
        "below": "below threshold: theory predicts the loop regresses the student",
        "at": "at threshold: no first-order drift",
        "undetermined": "the side depends on the verifier's confidence kappa: measure it",
    }[sd]
    return {
        "measure": st["measure"],
        "value": float(value),
        "n": st.get("n"),
        "K": st.get("K"),
        "p_correct": st.get("p_correct"),
        "kappa": None if kappa is None else float(kappa),
        "side": sd,
        "threshold": thr if kappa is not None else list(thr),
        "random_scorer": random_scorer_level(measure, n=n, K=K, p_correct=p_correct),
        "range": list(rng),
        "equivalent_alpha": alpha if kappa is not None else list(alpha),
        "reading": (
            f"{_describe(st)} {float(value):.4g} vs threshold {thr_s}: {words}"
            f" (equivalent verdict accuracy alpha {alpha_s})"
        ),
    }
