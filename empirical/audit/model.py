"""The audit's score model and its maximum-likelihood fit by EM.

Score model (THEORY.md's V(alpha, kappa) with the unknown location and scale of a real verifier):
a candidate with rubric label c has a frozen verdict v, equal to c with probability alpha, and
each call scores it ``loc + scale * (kappa * (2 v - 1) + eps)``, eps ~ N(0, 1). Given c, a score
is a two-component Gaussian mixture with common variance scale**2 and means loc +- scale*kappa;
the upper component has weight alpha when c = 1 and 1 - alpha when c = 0. kappa >= 0 makes the
parameters identifiable. Repeated scores of the same candidate share its frozen verdict (asked
twice, a frozen verifier is wrong the same way), so they are pooled per candidate.

EM is vectorised over a batch of rows (starts, constrained fits for the profile likelihood,
bootstrap replicates). Large groups are compressed into fine bins of each candidate's mean score
(per label and number of scores); the bin width is 1/200 of the standard deviation of
candidates' mean scores (a test checks that binned and exact fits agree to 2% of the interval
width).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ScoreData", "ScoreModel", "canonical", "compress", "e_step", "run_em"]

_LOG_2PI = math.log(2.0 * math.pi)
_COMPRESS_ABOVE = 4000  # candidates; larger groups are binned (see module docstring)
_BINS_PER_SD = 200


@dataclass
class ScoreData:
    """Per-candidate sufficient statistics (optionally binned), shape (m,)."""

    c: np.ndarray  # bool: rubric label
    r: np.ndarray  # float: number of scores
    s1: np.ndarray  # float: sum of scores
    s2: np.ndarray  # float: sum of squared scores
    w: np.ndarray  # float: multiplicity (1 per candidate; bin counts when compressed)


def e_step(d: ScoreData, alpha, loc, delta, sigma):
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


def run_em(
    d: ScoreData,
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
        resp, ll_c = e_step(d, a_in, lo_in, de_in, si_in)
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


def canonical(alpha, loc, delta, sigma):
    """Map (alpha, delta < 0) to the equivalent (1 - alpha, -delta): kappa >= 0."""
    flip = delta < 0
    return np.where(flip, 1.0 - alpha, alpha), loc, np.abs(delta), sigma


def compress(d: ScoreData) -> ScoreData:
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
    return ScoreData(
        c=(uniq % 2).astype(bool),
        r=((uniq // 2) % rmax).astype(float),
        s1=np.bincount(inv, weights=d.w * d.s1, minlength=k) / w,
        s2=np.bincount(inv, weights=d.w * d.s2, minlength=k) / w,
        w=w,
    )


def _starts(d: ScoreData, loc_fixed, scale_fixed):
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
class ScoreModel:
    """The data of one group with the fixed parts of the model (standardised units).

    Attributes:
        d: the candidates' sufficient statistics.
        loc_fixed: the score location when it is known (synthetic verifiers), else None.
        scale_fixed: the score scale when it is known, else None.
        sigma_floor: lower bound on the fitted scale (keeps a degenerate fit finite).
    """

    d: ScoreData
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
        """:func:`run_em` on this data with per-row flags broadcast to the batch size."""
        R = np.shape(alpha)[0]
        return run_em(
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
        a, lo, de, si = canonical(a[i], lo[i], de[i], si[i])
        return float(a), float(lo), float(de), float(si), float(ll[i])
