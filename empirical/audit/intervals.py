"""Intervals for the audit's (alpha, kappa): profile likelihood and the bootstrap.

Profile likelihood inverts the likelihood-ratio test against chi2_1; as kappa -> 0 alpha becomes
unidentified and its interval widens to [0, 1], which is the honest answer. The bootstrap
resamples candidates (percentile intervals).
"""

from __future__ import annotations

import math

import numpy as np

from empirical.audit.model import ScoreModel, canonical

__all__ = ["bootstrap_intervals", "profile_intervals"]


def profile_intervals(model: ScoreModel, mle, q: float, steps: int = 40, tol_x: float = 1e-6):
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


def bootstrap_intervals(model: ScoreModel, mle, level: float, n_boot: int, seed: int):
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
    a, lo, de, si = canonical(a, lo, de, si)
    k = de / si
    tail = 100.0 * (1.0 - level) / 2.0
    alpha_ci = tuple(float(x) for x in np.percentile(a, [tail, 100.0 - tail]))
    kappa_ci = tuple(float(x) for x in np.percentile(k, [tail, 100.0 - tail]))
    return alpha_ci, kappa_ci
