"""Verifier audit: estimate a verifier's rubric accuracy alpha and confidence kappa from scores.

The pre-flight check of THEORY.md's advice: measure the verifier's rubric accuracy on the target
task before running a self-DPO loop, and rank verifiers by theory's predicted drift (T1, T5).

Score model (THEORY.md's V(alpha, kappa) with the unknown location and scale of a real verifier):
a candidate with rubric label c has a frozen verdict v, equal to c with probability alpha, and
each call scores it ``loc + scale * (kappa * (2 v - 1) + eps)``, eps ~ N(0, 1). Given c, a score
is a two-component Gaussian mixture with common variance scale**2 and means loc +- scale*kappa;
the upper component has weight alpha when c = 1 and 1 - alpha when c = 0. kappa >= 0 makes the
parameters identifiable; as kappa -> 0 alpha becomes unidentified and its interval widens to
[0, 1], which is the honest answer. Repeated scores of the same candidate share its frozen verdict
(asked twice, a frozen verifier is wrong the same way), so they are pooled per candidate.

Estimator: maximum likelihood by EM (vectorised over a batch of starts / constrained fits).
Intervals: profile likelihood (inversion of the likelihood-ratio test against chi2_1), or the
nonparametric bootstrap over candidates (percentile) with ``method="bootstrap"``. Large groups
are compressed into fine bins of each candidate's mean score (per label and number of scores);
the bin width is 1/200 of the standard deviation of candidates' mean scores (a test checks that
binned and exact fits agree to 2% of the interval width).

numpy/scipy only: importing this module must stay fast (``selfdpo audit``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from theory.util import UsageError

__all__ = [
    "VerifierFit",
    "ScoreGroup",
    "AuditRow",
    "fit_verifier",
    "fit_group",
    "load_scores",
    "audit_table",
    "audit_json",
    "format_table",
    "plot_phase",
]

_LOG_2PI = math.log(2.0 * math.pi)
_COMPRESS_ABOVE = 4000  # candidates; larger groups are binned (see module docstring)
_BINS_PER_SD = 200


# ---------------------------------------------------------------------------------------------
# Data containers
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierFit:
    """Estimated V(alpha, kappa) of one verifier on one task, with intervals.

    Attributes:
        alpha: rubric (verdict) accuracy, MLE.
        alpha_ci: (lo, hi) interval at ``level``.
        kappa: confidence (signal-to-noise of scores), MLE, >= 0.
        kappa_ci: (lo, hi) interval at ``level`` (hi may be inf when unbounded).
        loc: score location (midpoint of the two verdict components).
        scale: score noise standard deviation.
        n_candidates: number of distinct scored candidates.
        n_scores: number of scores (> n_candidates when candidates were scored repeatedly).
        n_questions: number of distinct questions, or None when unknown.
        method: how the intervals were obtained.
        level: nominal coverage of the intervals.
        log_likelihood: maximised log-likelihood.
    """

    alpha: float
    alpha_ci: tuple[float, float]
    kappa: float
    kappa_ci: tuple[float, float]
    loc: float
    scale: float
    n_candidates: int
    n_scores: int
    n_questions: int | None
    method: str
    level: float
    log_likelihood: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "alpha_ci": list(self.alpha_ci),
            "kappa": self.kappa,
            "kappa_ci": [_finite_or_none(x) for x in self.kappa_ci],
            "loc": self.loc,
            "scale": self.scale,
            "n_candidates": self.n_candidates,
            "n_scores": self.n_scores,
            "n_questions": self.n_questions,
            "method": self.method,
            "level": self.level,
            "log_likelihood": self.log_likelihood,
        }


@dataclass(frozen=True)
class ScoreGroup:
    """All scored candidates of one (verifier, task), pooled per candidate.

    Attributes:
        verifier: verifier name.
        task: task name.
        label: (m,) int8 rubric label per candidate.
        n_rep: (m,) number of scores per candidate.
        s1: (m,) sum of the candidate's scores.
        s2: (m,) sum of squares of the candidate's scores.
        n_questions: number of distinct questions.
        first_line: line number of the group's first record (for messages), 0 if unknown.
    """

    verifier: str
    task: str
    label: np.ndarray
    n_rep: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    n_questions: int | None = None
    first_line: int = 0

    @property
    def n_candidates(self) -> int:
        return int(self.label.shape[0])

    @property
    def n_scores(self) -> int:
        return int(self.n_rep.sum())


@dataclass(frozen=True)
class AuditRow:
    """One verifier on one task: fit, theory's prediction and the decision it supports."""

    rank: int
    verifier: str
    task: str
    fit: VerifierFit
    n: int
    gate: str
    p_correct: float
    a_pair: float
    a_pair_range: tuple[float, float]
    side: str
    drift_sign: int
    drift_rate: float
    drift_rate_range: tuple[float, float]
    gate_amplification: float
    labels_needed: int | None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rank": self.rank,
            "verifier": self.verifier,
            "task": self.task,
        }
        out.update(self.fit.to_dict())
        out.update(
            {
                "n": self.n,
                "gate": self.gate,
                "p_correct": self.p_correct,
                "a_pair": self.a_pair,
                "a_pair_range": list(self.a_pair_range),
                "side": self.side,
                "drift_sign": self.drift_sign,
                "drift_rate": self.drift_rate,
                "drift_rate_range": list(self.drift_rate_range),
                "gate_amplification": _finite_or_none(self.gate_amplification),
                "labels_needed": self.labels_needed,
                "notes": list(self.notes),
            }
        )
        return out


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# EM for the two-component score model, batched over rows (starts, constrained fits, bootstrap)
# ---------------------------------------------------------------------------------------------


@dataclass
class _Data:
    """Per-candidate sufficient statistics (optionally binned), shape (m,)."""

    c: np.ndarray  # bool: rubric label
    r: np.ndarray  # float: number of scores
    s1: np.ndarray  # float: sum of scores
    s2: np.ndarray  # float: sum of squared scores
    w: np.ndarray  # float: multiplicity (1 per candidate; bin counts when compressed)


def _e_step(d: _Data, alpha, loc, delta, sigma):
    """Responsibilities P(v = 1 | scores, c) and per-candidate log-likelihood, shape (R, m)."""
    a = alpha[:, None]
    with np.errstate(divide="ignore"):
        la = np.log(a)
        lb = np.log1p(-a)
    sig2 = sigma[:, None] ** 2
    mu0 = (loc - delta)[:, None]
    # log N(scores | mu0, sigma) for the v = 0 component, and the log-ratio of v = 1 to v = 0
    base = -(d.s2 - 2.0 * mu0 * d.s1 + d.r * mu0**2) / (2.0 * sig2) - d.r * (
        np.log(sigma)[:, None] + 0.5 * _LOG_2PI
    )
    diff = 2.0 * delta[:, None] * (d.s1 - d.r * loc[:, None]) / sig2
    lp1 = np.where(d.c, la, lb)
    lp0 = np.where(d.c, lb, la)
    a1 = lp1 + diff
    lse = np.logaddexp(a1, lp0)
    resp = np.exp(a1 - lse)
    return resp, base + lse


def _loglik(d: _Data, w: np.ndarray, alpha, loc, delta, sigma) -> np.ndarray:
    _, ll = _e_step(d, alpha, loc, delta, sigma)
    return (w * ll).sum(axis=1)


def _em(
    d: _Data,
    w: np.ndarray,
    alpha: np.ndarray,
    loc: np.ndarray,
    delta: np.ndarray,
    sigma: np.ndarray,
    *,
    fix_alpha: np.ndarray,
    fix_kappa: np.ndarray,
    constrain: np.ndarray,
    loc_fixed: float | None,
    scale_fixed: float | None,
    sigma_floor: float,
    tol: float = 1e-9,
    max_iter: int = 1000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run EM on R rows at once; return (alpha, loc, delta, sigma, loglik), each shape (R,).

    ``w`` is (R, m) or (m,) candidate weights. Per row: ``fix_alpha`` keeps alpha; a finite
    ``fix_kappa`` holds kappa = delta / sigma at that value (ECM step, closed form);
    ``constrain`` keeps delta >= 0 (needed for profiles, where alpha <-> 1 - alpha is not free).
    EM is accelerated by SQUAREM (Varadhan and Roland 2008) with a monotonicity safeguard, since
    plain EM crawls when the two verdict components overlap (small kappa). Data are expected in
    standardised units, so ``tol`` is an absolute tolerance on the parameters.
    """
    R = np.shape(alpha)[0]
    w = np.broadcast_to(w, (R, d.c.shape[0]))
    W = w.sum(axis=1)
    N = (w * d.r).sum(axis=1)
    S1 = (w * d.s1).sum(axis=1)
    S2 = (w * d.s2).sum(axis=1)
    kfix = np.isfinite(fix_kappa)
    kval = np.where(kfix, fix_kappa, 0.0)
    cf = d.c.astype(float)

    def project(p: np.ndarray) -> np.ndarray:
        a, lo, de, si = p
        a = np.clip(a, 0.0, 1.0)
        si = np.full(R, scale_fixed) if scale_fixed is not None else np.maximum(si, sigma_floor)
        de = np.where(constrain, np.maximum(de, 0.0), de)
        de = np.where(kfix, kval * si, de)
        lo = np.full(R, loc_fixed) if loc_fixed is not None else lo
        return np.stack([a, lo, de, si])

    def step(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One EM (ECM) map; also returns the log-likelihood at ``p``."""
        a_in, lo_in, de_in, si_in = p
        resp, ll_c = _e_step(d, a_in, lo_in, de_in, si_in)
        ll = (w * ll_c).sum(axis=1)
        z = 2.0 * resp - 1.0
        wz = w * z
        new_alpha = (w * (cf * resp + (1.0 - cf) * (1.0 - resp))).sum(axis=1) / W
        Z = (wz * d.r).sum(axis=1)
        ZS = (wz * d.s1).sum(axis=1)
        if loc_fixed is None:
            sbar = S1 / N
            zbar = Z / N
            A = S2 - N * sbar**2
            B = ZS - sbar * Z
            C = N * (1.0 - zbar**2)
        else:
            L = loc_fixed
            A = S2 - 2.0 * L * S1 + N * L**2
            B = ZS - L * Z
            C = N.copy()
            zbar = np.zeros_like(N)
            sbar = np.full_like(N, L)
        A = np.maximum(A, 0.0)
        safe_c = np.where(C > 0, C, 1.0)
        d_free = np.where(C > 0, B / safe_c, 0.0)
        d_free = np.where(constrain, np.maximum(d_free, 0.0), d_free)
        if scale_fixed is None:
            s_free = np.sqrt(np.maximum((A - 2.0 * d_free * B + d_free**2 * C) / N, 0.0))
            # kappa fixed: maximise over sigma with delta = kappa sigma (and loc) in closed form
            s_kfix = (-kval * B + np.sqrt(kval**2 * B**2 + 4.0 * N * A)) / (2.0 * N)
            new_sigma = np.where(kfix, s_kfix, s_free)
        else:
            new_sigma = np.full(R, scale_fixed)
        new_sigma = np.maximum(new_sigma, sigma_floor)
        new_delta = np.where(kfix, kval * new_sigma, d_free)
        new_loc = sbar - new_delta * zbar
        new_alpha = np.where(fix_alpha, a_in, np.clip(new_alpha, 0.0, 1.0))
        return np.stack([new_alpha, new_loc, new_delta, new_sigma]), ll

    p0 = project(np.stack([np.asarray(x, dtype=float) for x in (alpha, loc, delta, sigma)]))
    ll_prev = np.full(R, -np.inf)
    for _ in range(max_iter):
        p1, ll0 = step(p0)
        # Converged in likelihood (flat directions, e.g. alpha at kappa ~ 0, need no more).
        flat = ll0 - ll_prev <= 1e-6
        ll_prev = ll0
        p2, _ = step(p1)
        r = p1 - p0
        v = p2 - p1 - r
        rn = np.sqrt((r**2).sum(axis=0))
        vn = np.sqrt((v**2).sum(axis=0))
        steplen = np.where(vn > 0, -rn / np.where(vn > 0, vn, 1.0), -1.0)
        steplen = np.minimum(steplen, -1.0)
        p_ext = project(p0 - 2.0 * steplen * r + steplen**2 * v)
        p3, ll_ext = step(p_ext)
        ok = np.isfinite(ll_ext) & (ll_ext >= ll0)
        p_new = project(np.where(ok, p3, p2))
        change = np.abs(p_new - p0).max(axis=0)
        p0 = p_new
        if np.all((change <= tol) | flat):
            break
    _, ll = step(p0)
    return p0[0], p0[1], p0[2], p0[3], ll


def _canonical(alpha, loc, delta, sigma):
    """Map (alpha, delta < 0) to the equivalent (1 - alpha, -delta): kappa >= 0."""
    flip = delta < 0
    return np.where(flip, 1.0 - alpha, alpha), loc, np.abs(delta), sigma


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------


def _compress(d: _Data) -> _Data:
    """Bin candidates by (label, number of scores, mean score) when there are many."""
    m = d.c.shape[0]
    if m <= _COMPRESS_ABOVE:
        return d
    mean = d.s1 / d.r
    sd = float(np.std(mean))
    if not sd > 0:
        return d
    width = sd / _BINS_PER_SD
    b = np.floor((mean - mean.min()) / width).astype(np.int64)
    rmax = int(d.r.max()) + 1
    key = (b * rmax + d.r.astype(np.int64)) * 2 + d.c.astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    if uniq.shape[0] * 2 > m:
        return d
    k = uniq.shape[0]
    w = np.bincount(inv, weights=d.w, minlength=k)
    return _Data(
        c=(uniq % 2).astype(bool),
        r=((uniq // 2) % rmax).astype(float),
        s1=np.bincount(inv, weights=d.w * d.s1, minlength=k) / w,
        s2=np.bincount(inv, weights=d.w * d.s2, minlength=k) / w,
        w=w,
    )


def _starts(d: _Data, loc_fixed, scale_fixed):
    """Several EM starts: alpha in {0.15, 0.5, 0.85} and two separations of the components."""
    mean = d.s1 / d.r
    wsum = d.w.sum()
    mu = float((d.w * mean).sum() / wsum)
    sd = float(np.sqrt((d.w * (mean - mu) ** 2).sum() / wsum)) or 1.0
    loc0 = mu if loc_fixed is None else loc_fixed
    sig0 = 0.6 * sd if scale_fixed is None else scale_fixed
    alphas, deltas = [], []
    for a in (0.15, 0.5, 0.85):
        for sep in (0.3, 1.0):
            alphas.append(a)
            deltas.append(sep * sd)
    R = len(alphas)
    return (
        np.array(alphas),
        np.full(R, loc0),
        np.array(deltas),
        np.full(R, sig0),
    )


@dataclass
class _Model:
    d: _Data
    loc_fixed: float | None
    scale_fixed: float | None
    sigma_floor: float

    def em(
        self,
        w,
        alpha,
        loc,
        delta,
        sigma,
        *,
        fix_alpha,
        fix_kappa,
        constrain,
        tol=1e-9,
        max_iter=1000,
    ):
        R = np.shape(alpha)[0]
        return _em(
            self.d,
            w,
            alpha,
            loc,
            delta,
            sigma,
            fix_alpha=np.broadcast_to(fix_alpha, (R,)),
            fix_kappa=np.broadcast_to(np.asarray(fix_kappa, dtype=float), (R,)),
            constrain=np.broadcast_to(constrain, (R,)),
            loc_fixed=self.loc_fixed,
            scale_fixed=self.scale_fixed,
            sigma_floor=self.sigma_floor,
            tol=tol,
            max_iter=max_iter,
        )

    def mle(self, w=None):
        """Best of several starts; returns canonical (alpha, loc, delta, sigma, ll) scalars.

        All starts run a few accelerated EM steps; the two best continue to convergence.
        """
        w = self.d.w if w is None else w
        a0, l0, d0, s0 = _starts(self.d, self.loc_fixed, self.scale_fixed)
        kw = dict(fix_alpha=False, fix_kappa=np.nan, constrain=False)
        a, lo, de, si, ll = self.em(w, a0, l0, d0, s0, **kw, tol=1e-9, max_iter=15)
        keep = np.argsort(-ll)[:2]
        a, lo, de, si, ll = self.em(w, a[keep], lo[keep], de[keep], si[keep], **kw, tol=1e-9)
        i = int(np.argmax(ll))
        a, lo, de, si = _canonical(a[i], lo[i], de[i], si[i])
        return float(a), float(lo), float(de), float(si), float(ll[i])


def _profile_intervals(model: _Model, mle, q: float, steps: int = 40, tol_x: float = 1e-6):
    """Profile-likelihood intervals for alpha and kappa (LR inversion), all four ends batched."""
    a_hat, l_hat, d_hat, s_hat, ll_hat = mle
    k_hat = d_hat / s_hat
    thr = ll_hat - q
    w = model.d.w

    def prof(kind: np.ndarray, value: np.ndarray, start):
        """Profile log-likelihood at alpha=value (kind 0) or kappa=value (kind 1), batched."""
        a, lo, de, si = start
        # alpha = 0 or 1 is absorbing for EM: free rows start just inside [0, 1].
        a = np.where(kind == 0, value, np.clip(a, 1e-3, 1.0 - 1e-3))
        fa = kind == 0
        fk = np.where(kind == 1, value, np.nan)
        de = np.where(kind == 1, value * si, de)
        out = model.em(w, a, lo, de, si, fix_alpha=fa, fix_kappa=fk, constrain=True, tol=1e-7)
        return out

    # Ends: alpha lo, alpha hi, kappa lo, kappa hi. Inner points are the MLE.
    kind = np.array([0, 0, 1, 1])
    inner = np.array([a_hat, a_hat, k_hat, k_hat])
    # Outer brackets: alpha in [0, 1]; kappa lo at 0; kappa hi expanded until the LR rejects.
    outer = np.array([0.0, 1.0, 0.0, k_hat + max(1.0, k_hat)])
    start = tuple(np.full(4, x) for x in (a_hat, l_hat, d_hat, s_hat))
    a, lo, de, si, ll = prof(kind, outer, start)
    for _ in range(12):
        if ll[3] < thr or not math.isfinite(outer[3]):
            break
        outer[3] = k_hat + 3.0 * (outer[3] - k_hat)
        a3, lo3, de3, si3, ll3 = prof(kind, outer, start)
        ll[3] = ll3[3]
    else:
        if ll[3] >= thr:
            outer[3] = np.inf
    # An end whose outer bracket is inside the region is the bracket itself (0, 1, 0, or inf).
    done = ll >= thr
    # Root of the signed root of the LR statistic, g(x) = sqrt(2 (ll_hat - lp(x))) - sqrt(2 q),
    # nearly linear in x: Illinois (modified regula falsi) keeps the bracket and converges fast.
    root_q = math.sqrt(2.0 * q)

    def g_of(ll_x):
        return np.sqrt(2.0 * np.maximum(ll_hat - ll_x, 0.0)) - root_q

    x_in, g_in = inner.copy(), np.full(4, -root_q)
    x_out, g_out = outer.copy(), g_of(ll)
    gt_in, gt_out = g_in.copy(), g_out.copy()  # true values (g_in/g_out get halved)
    last_side = np.zeros(4)
    cur = start
    for _ in range(steps):
        found = np.minimum(np.abs(gt_in), np.abs(gt_out)) < 1e-6
        active = ~done & ~found & (np.abs(x_out - x_in) > tol_x)
        if not active.any():
            break
        denom = np.where(g_out != g_in, g_out - g_in, 1.0)
        x = x_in - g_in * (x_out - x_in) / denom
        # Safeguard: fall back to bisection when the secant leaves the bracket's interior.
        lo_b, hi_b = np.minimum(x_in, x_out), np.maximum(x_in, x_out)
        margin = 1e-3 * (hi_b - lo_b)
        bad = ~np.isfinite(x) | (x <= lo_b + margin) | (x >= hi_b - margin)
        x = np.where(bad, 0.5 * (x_in + x_out), x)
        x = np.where(active, x, inner)
        a, lo, de, si, ll = prof(kind, x, cur)
        gx = g_of(ll)
        inside = gx < 0
        upd_in = active & inside
        upd_out = active & ~inside
        # Illinois: halve the stale end's value when the same end moves twice in a row.
        g_out = np.where(upd_in & (last_side == 1), 0.5 * g_out, g_out)
        g_in = np.where(upd_out & (last_side == -1), 0.5 * g_in, g_in)
        x_in = np.where(upd_in, x, x_in)
        g_in = np.where(upd_in, gx, g_in)
        x_out = np.where(upd_out, x, x_out)
        g_out = np.where(upd_out, gx, g_out)
        gt_in = np.where(upd_in, gx, gt_in)
        gt_out = np.where(upd_out, gx, gt_out)
        last_side = np.where(upd_in, 1, np.where(upd_out, -1, last_side))
        # Warm start from the fitted nuisance parameters of the last inside point.
        cur = tuple(np.where(upd_in, x_, y_) for x_, y_ in zip((a, lo, de, si), cur))
    x_best = np.where(np.abs(gt_in) <= np.abs(gt_out), x_in, x_out)
    found = np.minimum(np.abs(gt_in), np.abs(gt_out)) < 1e-6
    result = np.where(done, outer, np.where(found, x_best, 0.5 * (x_in + x_out)))
    alpha_ci = (float(min(result[0], a_hat)), float(max(result[1], a_hat)))
    kappa_ci = (float(min(result[2], k_hat)), float(max(result[3], k_hat)))
    return alpha_ci, kappa_ci


def _bootstrap_intervals(model: _Model, mle, level: float, n_boot: int, seed: int):
    """Nonparametric bootstrap over candidates (percentile intervals), batched EM."""
    a_hat, l_hat, d_hat, s_hat, _ = mle
    rng = np.random.default_rng(seed)
    d = model.d
    # Resample candidates: multinomial counts over the (possibly binned) support.
    p = d.w / d.w.sum()
    counts = rng.multinomial(int(round(d.w.sum())), p, size=n_boot).astype(float)
    R = n_boot
    a, lo, de, si, _ = model.em(
        counts,
        np.full(R, a_hat),
        np.full(R, l_hat),
        np.full(R, d_hat),
        np.full(R, s_hat),
        fix_alpha=False,
        fix_kappa=np.nan,
        constrain=False,
        tol=1e-6,
    )
    a, lo, de, si = _canonical(a, lo, de, si)
    k = de / si
    tail = 100.0 * (1.0 - level) / 2.0
    alpha_ci = tuple(float(x) for x in np.percentile(a, [tail, 100.0 - tail]))
    kappa_ci = tuple(float(x) for x in np.percentile(k, [tail, 100.0 - tail]))
    return alpha_ci, kappa_ci


def fit_group(
    group: ScoreGroup,
    *,
    level: float = 0.95,
    method: str = "profile",
    n_boot: int = 200,
    seed: int = 0,
    loc: float | None = None,
    scale: float | None = None,
) -> VerifierFit:
    """Fit V(alpha, kappa) to one (verifier, task) group of pooled candidates."""
    if not 0.0 < level < 1.0:
        raise UsageError(f"level must be in (0, 1), got {level:g}")
    if method not in ("profile", "bootstrap"):
        raise UsageError(f"method must be 'profile' or 'bootstrap', got {method!r}")
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise UsageError(f"scale must be a positive number, got {scale!r}")
    if loc is not None and not math.isfinite(loc):
        raise UsageError(f"loc must be a finite number, got {loc!r}")
    m = group.n_candidates
    if m < 2:
        raise UsageError(
            f"verifier {group.verifier!r} task {group.task!r} has {m} scored candidate(s); "
            "need at least 2"
        )
    r = np.asarray(group.n_rep, dtype=float)
    s1 = np.asarray(group.s1, dtype=float)
    s2 = np.asarray(group.s2, dtype=float)
    spread = float(np.std(s1 / r))
    if scale is None and not spread > 0:
        raise UsageError(
            f"verifier {group.verifier!r} task {group.task!r}: all scores are equal; "
            "confidence cannot be estimated"
        )
    # Fit in standardised units (so tolerances are absolute), then map back.
    n_sc = r.sum()
    mu = float(s1.sum() / n_sc)
    sd = math.sqrt(max(float(s2.sum() / n_sc) - mu**2, 0.0)) or 1.0
    d = _Data(
        c=np.asarray(group.label, dtype=bool),
        r=r,
        s1=(s1 - r * mu) / sd,
        s2=(s2 - 2.0 * mu * s1 + r * mu**2) / sd**2,
        w=np.ones(m),
    )
    d = _compress(d)
    model = _Model(
        d,
        None if loc is None else (loc - mu) / sd,
        None if scale is None else scale / sd,
        sigma_floor=max(spread / sd, 1e-12) * 1e-6,
    )
    mle = model.mle()
    if method == "profile":
        q = float(stats.chi2.ppf(level, 1)) / 2.0
        alpha_ci, kappa_ci = _profile_intervals(model, mle, q)
        label = f"profile likelihood (LR inversion, chi2_1), MLE by EM, level {level:g}"
    else:
        alpha_ci, kappa_ci = _bootstrap_intervals(model, mle, level, n_boot, seed)
        label = f"nonparametric bootstrap over candidates ({n_boot}, percentile), level {level:g}"
    a, lo, de, si, ll = mle
    lo, de, si, ll = mu + sd * lo, sd * de, sd * si, ll - n_sc * math.log(sd)
    return VerifierFit(
        alpha=a,
        alpha_ci=alpha_ci,
        kappa=de / si,
        kappa_ci=kappa_ci,
        loc=lo,
        scale=si,
        n_candidates=m,
        n_scores=group.n_scores,
        n_questions=group.n_questions,
        method=label,
        level=level,
        log_likelihood=ll,
    )


def fit_verifier(
    scores: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    method: str = "profile",
    loc: float | None = None,
    scale: float | None = None,
    candidate_ids: Sequence[Any] | np.ndarray | None = None,
    question_ids: Sequence[Any] | np.ndarray | None = None,
) -> VerifierFit:
    """Fit THEORY.md's V(alpha, kappa), with unknown loc and scale, to labelled scores.

    Args:
        scores: (k,) verifier scores, one per call.
        labels: (k,) rubric labels (0/1) of the scored candidates.
        n_boot: bootstrap replicates (``method="bootstrap"`` only).
        seed: bootstrap seed (``method="bootstrap"`` only).
        level: nominal coverage of the intervals.
        method: "profile" (profile likelihood, default) or "bootstrap".
        loc: fix the score location (e.g. 0.0 for a synthetic verifier); None estimates it.
        scale: fix the score scale (e.g. 1.0 for a synthetic verifier); None estimates it.
        candidate_ids: (k,) candidate id per score; repeated ids are repeated calls on the same
            candidate and share its frozen verdict. None: every score is its own candidate.
        question_ids: (k,) question id per score, used only to count questions.

    Returns:
        The fit, with ``alpha_ci`` and ``kappa_ci`` at ``level``.
    """
    s = np.asarray(scores, dtype=float).ravel()
    lab = np.asarray(labels).ravel()
    if s.shape != lab.shape:
        raise UsageError(f"scores and labels differ in length: {s.shape[0]} vs {lab.shape[0]}")
    if not np.all(np.isfinite(s)):
        raise UsageError("scores must be finite")
    if not np.all((lab == 0) | (lab == 1)):
        raise UsageError("labels must be 0 or 1")
    lab = lab.astype(np.int8)
    if candidate_ids is None:
        group = ScoreGroup("verifier", "task", lab, np.ones(s.shape[0]), s, s**2)
    else:
        ids = list(candidate_ids)
        if len(ids) != s.shape[0]:
            raise UsageError(
                f"candidate_ids and scores differ in length: {len(ids)} vs {s.shape[0]}"
            )
        index: dict[Any, int] = {}
        # Any hashable id (str, int, tuple); repeated ids are repeated calls on one candidate.
        inv = np.fromiter(
            (index.setdefault(x, len(index)) for x in ids), dtype=np.int64, count=len(ids)
        )
        k = int(inv.max()) + 1 if inv.size else 0
        first = np.full(k, -1)
        first[inv[::-1]] = np.arange(inv.shape[0])[::-1]
        clab = lab[first]
        if np.any(clab[inv] != lab):
            raise UsageError("a candidate has scores with different labels")
        group = ScoreGroup(
            "verifier",
            "task",
            clab,
            np.bincount(inv, minlength=k).astype(float),
            np.bincount(inv, weights=s, minlength=k),
            np.bincount(inv, weights=s**2, minlength=k),
        )
    n_q = None if question_ids is None else len(set(question_ids))
    group = ScoreGroup(
        group.verifier, group.task, group.label, group.n_rep, group.s1, group.s2, n_q
    )
    return fit_group(
        group, level=level, method=method, n_boot=n_boot, seed=seed, loc=loc, scale=scale
    )


# ---------------------------------------------------------------------------------------------
# Loading scores (JSONL)
# ---------------------------------------------------------------------------------------------

_REQUIRED = ("question_id", "candidate_id", "score", "label")
_DEFAULT_NAME = "default"


class _Bad(Exception):
    """One bad line: message names the line number and the problem."""


def _check_record(rec: Any) -> str | None:
    """Why a parsed line is not a valid record (None when it is)."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {type(rec).__name__}"
    for k in _REQUIRED:
        if k not in rec:
            return f"missing field {k!r}"
    for k in ("question_id", "candidate_id"):
        v = rec[k]
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            return f"{k} must be a string or an integer, got {json.dumps(v)}"
    for k in ("verifier", "task"):
        v = rec.get(k)
        if v is not None and not isinstance(v, str):
            return f"{k} must be a string, got {json.dumps(v)}"
    s = rec["score"]
    if isinstance(s, bool) or not isinstance(s, (int, float)):
        return f"score must be a number, got {json.dumps(s)}"
    if not math.isfinite(s):
        return f"score must be finite, got {s}"
    lab = rec["label"]
    if isinstance(lab, bool) or not isinstance(lab, (int, float)) or lab not in (0, 1):
        return f"label must be 0 or 1, got {json.dumps(lab)}"
    return None


def _records_from_lines(lines: Iterable[str], name: str, skip_bad: bool):
    """Parse lines into columns; the loop stays lean, checks that can be vectorised come later."""
    loads = json.loads
    raw_decode = json.JSONDecoder().raw_decode
    isfinite = math.isfinite
    cand: dict[tuple, int] = {}
    grp: dict[tuple[str, str], int] = {}
    ques: dict[tuple, int] = {}
    c_idx: list[int] = []
    scores: list[float] = []
    labels: list[int] = []
    line_no: list[int] = []
    cand_group: list[int] = []
    cand_q: list[int] = []
    cand_get = cand.get
    c_append, s_append, l_append, n_append = (
        c_idx.append,
        scores.append,
        labels.append,
        line_no.append,
    )
    n_bad = 0
    first_bad = ""
    n_lines = 0
    for i, line in enumerate(lines, 1):
        n_lines = i
        # Fast path: the decoder without json.loads' wrapper; anything unusual (leading
        # whitespace, blank line, trailing data, a bad field) goes to the careful path below.
        try:
            rec, end = raw_decode(line)
            q = rec["question_id"]
            c = rec["candidate_id"]
            s = rec["score"]
            lab = rec["label"]
            v = rec.get("verifier", _DEFAULT_NAME)
            tk = rec.get("task", _DEFAULT_NAME)
            ts, tl = type(s), type(lab)
            ok = (
                (ts is float or ts is int)
                and (tl is int or tl is float)
                and (lab == 0 or lab == 1)
                and isfinite(s)
                and (type(q) is str or type(q) is int)
                and (type(c) is str or type(c) is int)
                and type(v) is str
                and type(tk) is str
                and (end == len(line) or line[end:].isspace())
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            if not line.strip():
                continue
            try:
                rec = loads(line)
                why = _check_record(rec)
            except ValueError as exc:
                why = f"malformed JSON ({getattr(exc, 'msg', exc)})"
            if why is None:
                q, c, s, lab = (rec[k] for k in _REQUIRED)
                v = rec.get("verifier")
                tk = rec.get("task")
                v = _DEFAULT_NAME if v is None else v
                tk = _DEFAULT_NAME if tk is None else tk
            else:
                msg = f"{name} line {i}: {why}"
                if not skip_bad:
                    raise UsageError(msg)
                n_bad += 1
                first_bad = first_bad or msg
                continue
        key = (v, tk, q, c)
        ci = cand_get(key)
        if ci is None:
            gk = (v, tk)
            g = grp.get(gk)
            if g is None:
                g = grp[gk] = len(grp)
            ci = cand[key] = len(cand_group)
            cand_group.append(g)
            qk = (g, q)
            qi = ques.get(qk)
            if qi is None:
                qi = ques[qk] = len(ques)
            cand_q.append(qi)
        c_append(ci)
        s_append(s)
        l_append(lab)
        n_append(i)
    return {
        "groups": list(grp),
        "c_idx": np.asarray(c_idx, dtype=np.int64),
        "score": np.asarray(scores, dtype=float),
        "label": np.asarray(labels, dtype=np.int8),
        "line": np.asarray(line_no, dtype=np.int64),
        "cand_group": np.asarray(cand_group, dtype=np.int64),
        "cand_q": np.asarray(cand_q, dtype=np.int64),
        "n_bad": n_bad,
        "first_bad": first_bad,
        "n_lines": n_lines,
    }


def _groups_from_columns(cols: dict, name: str, skip_bad: bool) -> tuple[list[ScoreGroup], int]:
    """Pool scores per candidate, check label consistency and group sizes (vectorised)."""
    n_bad = cols["n_bad"]
    c_idx, score, label, line = cols["c_idx"], cols["score"], cols["label"], cols["line"]
    cand_group, cand_q = cols["cand_group"], cols["cand_q"]
    k = cand_group.shape[0]
    if k:
        # First label given for each candidate; later scores must agree (frozen rubric label).
        first = np.full(k, -1, dtype=np.int64)
        first[c_idx[::-1]] = np.arange(c_idx.shape[0])[::-1]
        conflict = label != label[first][c_idx]
        if conflict.any():
            bad_rows = np.flatnonzero(conflict)
            if not skip_bad:
                j = int(bad_rows[0])
                raise UsageError(
                    f"{name} line {int(line[j])}: label {int(label[j])} conflicts with label "
                    f"{int(label[first[c_idx[j]]])} of the same candidate on line "
                    f"{int(line[first[c_idx[j]]])}"
                )
            n_bad += bad_rows.shape[0]
            keep = ~conflict
            c_idx, score, label, line = c_idx[keep], score[keep], label[keep], line[keep]
    n_rep = np.bincount(c_idx, minlength=k).astype(float)
    s1 = np.bincount(c_idx, weights=score, minlength=k)
    s2 = np.bincount(c_idx, weights=score**2, minlength=k)
    clab = np.zeros(k, dtype=np.int8)
    clab[c_idx] = label
    cline = np.zeros(k, dtype=np.int64)
    cline[c_idx[::-1]] = line[::-1]
    groups: list[ScoreGroup] = []
    order = np.argsort(cand_group, kind="stable")
    bounds = np.searchsorted(cand_group[order], np.arange(len(cols["groups"]) + 1))
    for g, (v, tk) in enumerate(cols["groups"]):
        idx = order[bounds[g] : bounds[g + 1]]
        idx = idx[n_rep[idx] > 0]
        if idx.shape[0] < 2:
            where = f" (line {int(cline[idx[0]])})" if idx.shape[0] else ""
            msg = (
                f"{name}: verifier {v!r} task {tk!r} has {idx.shape[0]} scored candidate(s)"
                f"{where}; need at least 2"
            )
            if not skip_bad:
                raise UsageError(msg)
            n_bad += int(n_rep[idx].sum())
            continue
        groups.append(
            ScoreGroup(
                verifier=v,
                task=tk,
                label=clab[idx],
                n_rep=n_rep[idx],
                s1=s1[idx],
                s2=s2[idx],
                n_questions=int(np.unique(cand_q[idx]).shape[0]),
                first_line=int(cline[idx].min()),
            )
        )
    return groups, n_bad


def load_scores(
    path: str | os.PathLike, *, skip_bad: bool = False
) -> tuple[dict[tuple[str, str], ScoreGroup], int]:
    """Read a scores JSONL file into per-(verifier, task) groups.

    One record per scored candidate: ``question_id``, ``candidate_id``, ``score`` (finite
    number), ``label`` (0/1), optional ``verifier`` and ``task`` (default "default"). Repeated
    (question_id, candidate_id) records are repeated calls on one candidate and must share its
    label. Blank lines are ignored.

    Args:
        path: the JSONL file.
        skip_bad: continue past bad lines (and groups with fewer than 2 candidates) and count
            them, instead of raising on the first.

    Returns:
        ``(groups, n_bad)``: groups keyed by (verifier, task) in order of first appearance, and
        the number of skipped lines.

    Raises:
        UsageError: a bad line (one line naming the line number and problem), an empty file, or
            no valid record left; FileNotFoundError / IsADirectoryError for a bad path.
    """
    name = str(path)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{name}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{name}: is a directory, expected a JSONL file")
    with open(p, encoding="utf-8", errors="strict") as fh:
        try:
            cols = _records_from_lines(fh, name, skip_bad)
        except UnicodeDecodeError as exc:
            raise UsageError(f"{name}: not UTF-8 text ({exc.reason})") from None
    if cols["score"].shape[0] == 0 and cols["n_bad"] == 0:
        raise UsageError(f"{name}: no records (empty file)")
    groups, n_bad = _groups_from_columns(cols, name, skip_bad)
    if not groups:
        raise UsageError(
            f"{name}: no valid records left after skipping {n_bad} bad line(s); first: "
            f"{cols['first_bad'] or 'groups with fewer than 2 candidates'}"
        )
    return {(g.verifier, g.task): g for g in groups}, n_bad


# ---------------------------------------------------------------------------------------------
# The audit table: fit + theory's prediction per (verifier, task), ranked by predicted gain
# ---------------------------------------------------------------------------------------------

_KAPPA_EVAL_MAX = 40.0  # Phi(sqrt2 * 40) == 1 in double precision: stands in for kappa = inf


def side_of_interval(alpha_ci: tuple[float, float]) -> str:
    """T1: 'above' / 'below' the alpha = 1/2 threshold, or 'cannot tell: label more'."""
    lo, hi = alpha_ci
    if lo > 0.5:
        return "above"
    if hi < 0.5:
        return "below"
    return "cannot tell: label more"


def labels_needed(fit: VerifierFit) -> int | None:
    """Labelled candidates needed for the alpha interval to exclude 1/2.

    The interval's half-width on the threshold's side is taken to shrink as 1/sqrt(m) (m =
    labelled candidates), so m_needed = m (half-width / |alpha_hat - 1/2|)^2. None when
    alpha_hat is at 1/2 (no finite number decides). For a decided verifier this is below m.
    """
    a = fit.alpha
    gap = abs(a - 0.5)
    if gap < 1e-9:
        return None
    half = (a - fit.alpha_ci[0]) if a > 0.5 else (fit.alpha_ci[1] - a)
    return max(2, math.ceil(fit.n_candidates * (half / gap) ** 2))


def _theory_prediction(alpha, kappa, n, gate, p_correct):
    """theory.predict over arrays: (a_pair, uniform drift rate, gate amplification)."""
    from theory import drift_rate, gate_amplification, pair_accuracy

    k = np.minimum(kappa, _KAPPA_EVAL_MAX)
    ap = pair_accuracy(alpha, k, n, p_correct)
    rate = drift_rate(alpha, k, n=n, p_correct=p_correct)
    amp = gate_amplification(alpha, k, gate, n=n)
    return np.asarray(ap, float), np.asarray(rate, float), np.asarray(amp, float)


def audit_row(
    group_or_fit: ScoreGroup | VerifierFit,
    *,
    verifier: str = "verifier",
    task: str = "task",
    n: int = 2,
    gate: str = "rank",
    p_correct: float | None = None,
    **fit_kwargs: Any,
) -> AuditRow:
    """Fit one group (or take a fit) and attach theory's prediction (L0, T1, T2, T5)."""
    if isinstance(group_or_fit, ScoreGroup):
        fit = fit_group(group_or_fit, **fit_kwargs)
        verifier, task = group_or_fit.verifier, group_or_fit.task
        if p_correct is None:
            lab = group_or_fit.label
            p_correct = float(np.clip(lab.mean(), 0.01, 0.99))
    else:
        fit = group_or_fit
    if p_correct is None:
        p_correct = 0.5
    notes: list[str] = []
    ap, rate_u, amp = (
        float(x) for x in _theory_prediction(fit.alpha, fit.kappa, n, gate, p_correct)
    )
    # Ranges over the (alpha, kappa) interval box: a conservative projection of the intervals.
    a_lo, a_hi = fit.alpha_ci
    k_lo, k_hi = fit.kappa_ci
    ga = np.linspace(a_lo, a_hi, 7)[:, None]
    gk = np.linspace(k_lo, min(k_hi, _KAPPA_EVAL_MAX), 7)[None, :]
    ap_box, rate_box, amp_box = _theory_prediction(ga, gk, n, gate, p_correct)
    if math.isnan(amp):
        notes.append(f"gate {gate!r} has no closed-form amplification: drift is uniform replay's")
        amp_used, gated_box = 1.0, rate_box
    else:
        amp_used, gated_box = amp, rate_box * amp_box
    rate = rate_u * amp_used
    side = side_of_interval(fit.alpha_ci)
    sign = 1 if rate > 0 else (-1 if rate < 0 else 0)
    if k_lo <= 0.0:
        notes.append("kappa interval reaches 0: scores may carry no verdict signal")
    if fit.n_candidates < 30:
        notes.append(f"only {fit.n_candidates} labelled candidates")
    return AuditRow(
        rank=0,
        verifier=verifier,
        task=task,
        fit=fit,
        n=n,
        gate=gate,
        p_correct=float(p_correct),
        a_pair=ap,
        a_pair_range=(float(ap_box.min()), float(ap_box.max())),
        side=side,
        drift_sign=sign,
        drift_rate=rate,
        drift_rate_range=(float(gated_box.min()), float(gated_box.max())),
        gate_amplification=amp,
        labels_needed=labels_needed(fit),
        notes=tuple(notes),
    )


def rank_rows(rows: Sequence[AuditRow]) -> list[AuditRow]:
    """Order by predicted gain (gated drift rate, descending; T1, T5) and number the ranks."""
    order = sorted(rows, key=lambda r: (-r.drift_rate, r.verifier, r.task))
    return [
        AuditRow(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "rank": i + 1})
        for i, r in enumerate(order)
    ]


def audit_table(
    path_or_records: str | os.PathLike | dict | Sequence[ScoreGroup],
    *,
    n: int = 2,
    gate: str = "rank",
    level: float = 0.95,
    method: str = "profile",
    p_correct: float | None = None,
    loc: float | None = None,
    scale: float | None = None,
    skip_bad: bool = False,
) -> list[AuditRow]:
    """Audit every (verifier, task) of a scores file (or of loaded groups), ranked.

    Args:
        path_or_records: a JSONL path, the dict returned by :func:`load_scores`, or a sequence
            of :class:`ScoreGroup`.
        n: candidates per question in the planned loop (best-vs-worst of n; L0).
        gate: replay gate of the planned loop (uniform, threshold, rank, proportional, margin).
        level: interval coverage.
        method: "profile" or "bootstrap" intervals.
        p_correct: the student's chance of a correct sample (matters for n > 2); None uses each
            group's fraction of candidates labelled correct.
        loc, scale: fix the score location / scale (synthetic verifiers); None estimates them.
        skip_bad: passed to :func:`load_scores`.

    Returns:
        Rows ranked by predicted gain (drift rate, descending): a confidently sub-threshold
        verifier ranks below a near-random one when theory says it harms more (T5).
    """
    from theory.progress import check_gate
    from theory.util import check_int

    n = check_int("n", n, 2)
    check_gate(gate)
    if p_correct is not None:
        from theory.util import check_range

        check_range("p_correct", p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
    if isinstance(path_or_records, (str, os.PathLike)):
        groups = list(load_scores(path_or_records, skip_bad=skip_bad)[0].values())
    elif isinstance(path_or_records, dict):
        groups = list(path_or_records.values())
    else:
        groups = list(path_or_records)
    rows = [
        audit_row(
            g,
            n=n,
            gate=gate,
            p_correct=p_correct,
            level=level,
            method=method,
            loc=loc,
            scale=scale,
        )
        for g in groups
    ]
    return rank_rows(rows)


def audit_json(rows: Sequence[AuditRow], settings: dict[str, Any]) -> dict[str, Any]:
    """The --json object: settings and the ranked ``verifiers`` list."""
    return {"settings": dict(settings), "verifiers": [r.to_dict() for r in rows]}


def _fmt_ci(ci: tuple[float, float], digits: int = 2) -> str:
    hi = f"{ci[1]:.{digits}f}" if math.isfinite(ci[1]) else "inf"
    return f"[{ci[0]:.{digits}f}, {hi}]"


def format_table(rows: Sequence[AuditRow]) -> str:
    """Human-readable table of the ranked audit."""
    head = [
        "rank",
        "verifier",
        "task",
        "m",
        "alpha",
        "alpha CI",
        "kappa",
        "kappa CI",
        "a_pair",
        "side",
        "gate amp",
        "drift",
        "labels to decide",
    ]
    body = []
    for r in rows:
        f = r.fit
        need = "-" if r.labels_needed is None else str(r.labels_needed)
        if r.side != "cannot tell: label more" and r.labels_needed is not None:
            need = f"{need} (have {f.n_candidates})"
        body.append(
            [
                str(r.rank),
                r.verifier,
                r.task,
                str(f.n_candidates),
                f"{f.alpha:.3f}",
                _fmt_ci(f.alpha_ci, 3),
                f"{f.kappa:.2f}",
                _fmt_ci(f.kappa_ci, 2),
                f"{r.a_pair:.3f}",
                r.side,
                "n/a" if math.isnan(r.gate_amplification) else f"{r.gate_amplification:.2f}",
                f"{r.drift_rate:+.3f}",
                need,
            ]
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
    return "\n".join(lines)


def plot_phase(
    rows: Sequence[AuditRow], path: str | os.PathLike, *, n: int = 2, gate: str = "uniform"
) -> Path:
    """Draw each verifier on the (alpha, kappa) phase diagram with its interval bars.

    Background: theory's drift rate (T1 times the gate's T2 amplification; uniform replay's
    when the gate has no closed form, e.g. rank), sign and size on a diverging colour map
    centred at 0, and the alpha = 1/2 threshold line. PNG or PDF by the file's suffix; written
    atomically.
    """
    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf"):
        raise UsageError(f"--plot file must end in .png or .pdf, got {path.name!r}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kmax = 1.0
    for r in rows:
        hi = r.fit.kappa_ci[1]
        kmax = max(kmax, r.fit.kappa, hi if math.isfinite(hi) else r.fit.kappa)
    kmax = min(kmax * 1.15, _KAPPA_EVAL_MAX)
    A, K = np.meshgrid(np.linspace(0, 1, 201), np.linspace(0, kmax, 161))
    from theory import drift_rate

    Z = np.asarray(drift_rate(A, K, n=n, gate=gate), float)
    shown = gate
    if not np.all(np.isfinite(Z)):
        Z, shown = np.asarray(drift_rate(A, K, n=n), float), "uniform"
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    lim = float(np.abs(Z).max()) or 1.0
    # Raster background (imshow): a vector mesh makes PDFs slow and heavy.
    mesh = ax.imshow(
        Z,
        extent=(0.0, 1.0, 0.0, kmax),
        origin="lower",
        aspect="auto",
        cmap="PuOr_r",
        vmin=-lim,
        vmax=lim,
        interpolation="bilinear",
    )
    fig.colorbar(mesh, ax=ax, label=f"predicted drift rate (T1, {shown} replay)")
    ax.axvline(0.5, color="black", lw=1.2, ls="--", label="threshold alpha = 1/2")
    markers = "osD^vP*Xh<>"
    # Okabe-Ito colours (colour-blind safe), marker shapes as a second cue.
    colours = ["#000000", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#E69F00"]
    for i, r in enumerate(rows):
        f = r.fit
        k_hi = f.kappa_ci[1] if math.isfinite(f.kappa_ci[1]) else kmax
        ax.errorbar(
            f.alpha,
            f.kappa,
            xerr=[[f.alpha - f.alpha_ci[0]], [f.alpha_ci[1] - f.alpha]],
            yerr=[[f.kappa - f.kappa_ci[0]], [k_hi - f.kappa]],
            fmt=markers[i % len(markers)],
            color=colours[i % len(colours)],
            mec="black",
            mew=0.8,
            ms=8,
            capsize=3,
            label=f"#{r.rank} {r.verifier} / {r.task}",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, kmax)
    ax.set_xlabel("rubric accuracy alpha")
    ax.set_ylabel("confidence kappa")
    ax.set_title(f"Verifier audit on the (alpha, kappa) phase diagram (n = {n})")
    # Legend below the axes so it never hides a verifier.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=7, frameon=False)
    from theory.util import atomic_write

    try:
        atomic_write(
            path,
            lambda p: fig.savefig(p, format=path.suffix.lower()[1:], dpi=150, bbox_inches="tight"),
        )
    finally:
        plt.close(fig)
    return path
