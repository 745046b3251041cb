"""L0-sel: selection accuracy of V(alpha, kappa), the verifier's top choice is rubric-correct.

Two settings (theory.measures dispatches to them with checked arguments):

* *n samples*: n i.i.d. samples of a student with P(correct sample) = p; accuracy among
  questions with at least one correct sample. The correct candidate's frozen verdict is shared
  by all its samples; incorrect samples are either all distinct answers (``K=None``: free-form,
  the mean field of theory.l0_pairs) or spread uniformly over K - 1 options whose frozen verdicts
  are shared by the samples that hit them; or, exactly, given each question's answer
  distribution (:func:`selection_accuracy_policies`).
* *K options*: each of K options (exactly one correct) scored once.

Derivation. Let each sample fall in a class c with probability q_c and score ``N(m_c, 1)``;
F = sum_c q_c Phi(x - m_c). The best of n i.i.d. samples is in class i with probability
``n q_i int phi(x - m_i) F(x)^(n-1) dx`` (summing over the binomial count of class-i samples
telescopes). With the correct class at ``m_0 = kappa (2 v_0 - 1)``, averaging over the frozen
verdicts (v_0 = 1 w.p. alpha; an incorrect answer's verdict is 1 w.p. 1 - alpha; with finite K
over j ~ Bin(K - 1, 1 - alpha) incorrect options marked correct) and dividing by
``1 - (1 - p)^n`` gives the n-sample selection accuracy, a 1-D integral. The K-option variant is
the case of K singletons. Both are computed on a fixed window of +-10 sd around the correct
class's mean (the factor phi(x - m_0) confines the integrand), with the shifts x -+ kappa formed
without adding t to kappa, so the cost and accuracy do not depend on kappa or n. kappa = inf is
the noiseless limit in closed form (ties broken uniformly):

    n samples:  v_0 = 1: p (1 - (1 - q_h)^n) / q_h,   v_0 = 0: p (1 - q_h)^(n-1),
                q_h = mass of samples scored high (the correct one if v_0 = 1, plus incorrect
                ones whose verdict is 1);
    K options:  alpha (1 - alpha^K) / (K (1 - alpha)) + (1 - alpha) alpha^(K-1) / K.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy.special import ndtr
from scipy.stats import binom

from theory.util import check_int, check_range

__all__ = [
    "equivalent_alpha_policies",
    "selection_accuracy_options",
    "selection_accuracy_policies",
    "selection_accuracy_samples",
]

_WINDOW = 10.0  # +-10 sd: phi beyond is < 1e-22, times n <= 1e9 still negligible
_PANEL = 0.25  # panel width; F^(n-1) has a transition of width ~ 1/sqrt(2 log n) >= 0.15
_GL = 8
_K_MAX = 256  # finite-K n-sample selection sums over K terms; beyond, K=None (mean field)
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


def _samples(alpha: np.ndarray, kappa: np.ndarray, n: int, p: float, K: int | None) -> np.ndarray:
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


def _options(alpha: np.ndarray, kappa: np.ndarray, K: int) -> np.ndarray:
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


def _broadcast(alpha: Any, kappa: Any) -> tuple[np.ndarray, np.ndarray]:
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    a, k = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(kappa, float))
    return a, k


def _out(x: np.ndarray) -> Any:
    x = np.clip(x, 0.0, 1.0)
    return float(x) if x.ndim == 0 else x


def selection_accuracy_samples(
    alpha: Any, kappa: Any, n: int, p_correct: float, K: int | None = None
) -> Any:
    """L0-sel, n samples: P(top-scored of n samples is correct | at least one is correct).

    Args:
        alpha: verdict accuracy in [0, 1] (broadcasts with kappa).
        kappa: confidence >= 0; ``inf`` gives the noiseless limit.
        n: samples per question, >= 2.
        p_correct: the student's probability of a correct sample, in (0, 1).
        K: None (every incorrect sample a distinct answer) or the options per question
            (2..256), incorrect samples spread uniformly over the K - 1 incorrect ones.
    """
    n = check_int("n", n, 2)
    check_range("p_correct", p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
    if K is not None:
        K = check_int("K", K, 2, _K_MAX)
    a, k = _broadcast(alpha, kappa)
    return _out(_samples(a, k, n, float(p_correct), K))


def selection_accuracy_options(alpha: Any, kappa: Any, K: int) -> Any:
    """L0-sel, K options each scored once, one correct: P(top-scored option is correct)."""
    K = check_int("K", K, 2)
    a, k = _broadcast(alpha, kappa)
    return _out(_options(a, k, K))


_CHUNK_ELEMS = 1 << 22
_POLICY_K_MAX = 12  # the exact per-policy form enumerates 2^(K-1) verdict patterns


def _policy_table(kappa: float, policies: Any, n: int) -> tuple[np.ndarray, ...]:
    """Per question and verdict pattern, P(top correct, >= 1 correct | v_0, pattern): free of
    alpha, which enters only through the pattern weights (so inverse maps are cheap).

    Kept per (kappa, n, policies) in this process: a ladder asks for the same table for every
    alpha and student at a rung (seconds each for hundreds of questions)."""
    check_range("kappa", kappa, 0.0)
    n = check_int("n", n, 2)
    pi = np.atleast_2d(np.asarray(policies, dtype=float))
    if pi.ndim != 2 or not 2 <= pi.shape[1] <= _POLICY_K_MAX:
        raise ValueError(f"policies must be (M, K) with 2 <= K <= {_POLICY_K_MAX}")
    check_range("policies", pi, 0.0, 1.0)
    if np.any(np.abs(pi.sum(1) - 1.0) > 1e-9):
        raise ValueError("each row of policies must sum to 1")
    pi = np.ascontiguousarray(pi)
    return _policy_table_of(float(kappa), n, pi.tobytes(), pi.shape)


@functools.lru_cache(maxsize=256)
def _policy_table_of(
    kappa: float, n: int, pi_bytes: bytes, shape: tuple[int, int]
) -> tuple[np.ndarray, ...]:
    pi = np.frombuffer(pi_bytes, dtype=float).reshape(shape)
    K = pi.shape[1]
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
    table = (vals[0] / den, vals[1] / den, pats.sum(1))
    for arr in table:  # shared by every caller with these inputs
        arr.setflags(write=False)
    return (*table, K)


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
