"""Statistics of seed samples: t-intervals, agreement with theory, zero crossings, bootstrap.

The one home of the statistics that the claims report (paper/), the figures and the tests use.
Seeds are independent runs; configurations compared on the same seeds are compared through
per-seed paired differences (common random numbers). Nothing here runs the simulator.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

LEVEL = 0.95


def t_quantile(n: int, level: float = LEVEL) -> float:
    """Two-sided Student-t quantile for ``n`` samples (df = n - 1); NaN for n < 2."""
    if n < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2.0, df=n - 1))


def mean_ci(x: Any, axis: int = -1, level: float = LEVEL) -> tuple[np.ndarray, ...]:
    """Seed mean over ``axis`` with its t-interval: (mean, lo, hi, se)."""
    x = np.asarray(x, dtype=float)
    n = x.shape[axis]
    m = x.mean(axis=axis)
    se = x.std(axis=axis, ddof=1) / math.sqrt(n) if n > 1 else np.full_like(m, np.nan)
    half = t_quantile(n, level) * se
    return m, m - half, m + half, se


def critical_k(n_seeds: int, m_tests: int, level: float = LEVEL) -> float:
    """max(3, Bonferroni t quantile): the "within k SE at every one of m points" threshold."""
    return max(3.0, t_quantile(n_seeds, 1.0 - (1.0 - level) / max(m_tests, 1)))


def agreement(sim: Any, theory: Any, axis: int = -1, theory_se: Any = None) -> dict[str, Any]:
    """|seed mean - theory| / SE at every point; the worst point and the threshold k.

    SE is the seed standard error, combined in quadrature with ``theory_se`` (the Monte Carlo
    error of a theory value computed by sampling) when given. A point with zero spread agrees
    only if it equals theory exactly. Points where theory is not finite are skipped.
    """
    m, lo, hi, se = mean_ci(sim, axis=axis)
    if theory_se is not None:
        se = np.sqrt(se**2 + np.broadcast_to(np.asarray(theory_se, dtype=float), m.shape) ** 2)
    theory = np.broadcast_to(np.asarray(theory, dtype=float), m.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(m - theory) / np.where(se > 0, se, np.nan)
    z = np.where(se > 0, z, np.where(np.isclose(m, theory, rtol=0, atol=1e-12), 0.0, np.inf))
    n_seeds = np.asarray(sim).shape[axis]
    k = critical_k(n_seeds, int(np.isfinite(theory).sum()))
    z = np.where(np.isfinite(theory), z, np.nan)
    worst = int(np.nanargmax(z)) if np.any(np.isfinite(z) | np.isinf(z)) else 0
    return {
        "z": z,
        "k": k,
        "worst": np.unravel_index(worst, m.shape),
        "max_z": float(np.nanmax(z)) if z.size else float("nan"),
        "mean": m,
        "lo": lo,
        "hi": hi,
        "se": se,
        "theory": theory,
        "n": int(np.isfinite(theory).sum()),
    }


def crossing(alphas: Any, curve: Any) -> float:
    """alpha where ``curve`` (over increasing alphas) first changes sign, by linear interpolation.

    -inf if the curve is positive everywhere, +inf if it is negative everywhere.
    """
    c = np.asarray(curve, dtype=float)
    if np.all(c > 0):
        return -math.inf
    if np.all(c < 0):
        return math.inf
    for j in range(len(c) - 1):
        if c[j] == 0:
            return float(alphas[j])
        if c[j] < 0 < c[j + 1] or c[j] > 0 > c[j + 1]:
            t = c[j] / (c[j] - c[j + 1])
            return float(alphas[j] + t * (alphas[j + 1] - alphas[j]))
    return float(alphas[-1]) if c[-1] == 0 else math.nan


def bootstrap_crossing(
    alphas: Any, delta: Any, level: float, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Crossing of the seed-mean curve and its percentile bootstrap interval over seeds.

    ``delta`` has shape (alpha, seed). The resampling RNG is explicit (fixed ``seed``).
    """
    delta = np.asarray(delta, dtype=float)
    rng = np.random.default_rng(seed)
    S = delta.shape[1]
    est = crossing(alphas, delta.mean(axis=1))
    idx = rng.integers(0, S, size=(n_boot, S))
    boots = np.array([crossing(alphas, delta[:, ii].mean(axis=1)) for ii in idx])
    boots = boots[~np.isnan(boots)]
    q = (1.0 - level) / 2.0
    lo, hi = np.quantile(boots, [q, 1.0 - q]) if boots.size else (math.nan, math.nan)
    return est, float(lo), float(hi)


def window_means(x: Any, windows: int) -> np.ndarray:
    """Mean of the last axis over ``windows`` equal consecutive windows (nan-aware)."""
    x = np.asarray(x, dtype=float)
    parts = np.array_split(np.arange(x.shape[-1]), windows)
    return np.stack([np.nanmean(x[..., p], axis=-1) for p in parts], axis=-1)


def one_sided_t(n: int, level: float) -> float:
    """One-sided Student-t quantile at ``level`` for ``n`` samples (df = n - 1)."""
    return float(stats.t.ppf(level, df=n - 1))


# Pre-registered tests: power, sample size, equivalence ---------------------------------------


def power_one_sided(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """Power of the one-sided one-sample t test (H1: mean > 0) at true mean ``effect`` > 0.

    Exact, through the noncentral t distribution with df = n - 1 and noncentrality
    effect sqrt(n) / sd. NaN for n < 2; 1 when sd = 0 and effect > 0.
    """
    if n < 2 or not np.isfinite(sd):
        return float("nan")
    if sd <= 0:
        return 1.0 if effect > 0 else 0.0
    tq = stats.t.ppf(1.0 - alpha, df=n - 1)
    return float(stats.nct.sf(tq, df=n - 1, nc=effect * math.sqrt(n) / sd))


def power_tost(margin: float, sd: float, n: int, true: float = 0.0, alpha: float = 0.05) -> float:
    """Power of the two one-sided tests (TOST) of |mean| < ``margin`` at true mean ``true``.

    The probability that the (1 - 2 alpha) t-interval of the mean lies inside (-margin, margin),
    computed by integrating over the sample SD (chi-square) the normal probability of the mean;
    exact for normal data. NaN for n < 2.
    """
    if n < 2 or not np.isfinite(sd):
        return float("nan")
    if sd <= 0:
        return 1.0 if abs(true) < margin else 0.0
    df = n - 1
    tq = stats.t.ppf(1.0 - alpha, df=df)
    se = sd / math.sqrt(n)
    # quadrature over s/sd = sqrt(chi2_df / df)
    q = np.linspace(1e-4, 1 - 1e-4, 400)
    ratio = np.sqrt(stats.chi2.ppf(q, df) / df)
    half = tq * se * ratio
    p = stats.norm.cdf((margin - half - true) / se) - stats.norm.cdf((-margin + half - true) / se)
    return float(np.mean(np.clip(p, 0.0, 1.0)))


def seeds_for_power(power: Any, target: float = 0.9, n_max: int = 100_000, n_min: int = 2) -> int:
    """Smallest n in [n_min, n_max] with ``power(n) >= target`` (``power`` increasing in n);
    ``n_max + 1`` when even n_max is not enough."""
    if power(n_max) < target:
        return n_max + 1
    lo, hi = n_min, n_max
    if power(lo) >= target:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def tost(x: Any, margin: float, alpha: float = 0.05, axis: int = -1) -> dict[str, Any]:
    """TOST equivalence of the mean of ``x`` to 0 within ``margin``.

    Equivalent iff the (1 - 2 alpha) t-interval lies inside (-margin, margin); the p-value is
    the larger of the two one-sided p-values. Returns mean, lo, hi (that interval), se, p,
    equivalent (arrays over the other axes).
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[axis]
    m = x.mean(axis=axis)
    se = x.std(axis=axis, ddof=1) / math.sqrt(n)
    tq = stats.t.ppf(1.0 - alpha, df=n - 1)
    lo, hi = m - tq * se, m + tq * se
    with np.errstate(divide="ignore", invalid="ignore"):
        p_lower = stats.t.sf((m + margin) / se, df=n - 1)
        p_upper = stats.t.cdf((m - margin) / se, df=n - 1)
    p = np.maximum(p_lower, p_upper)
    return {
        "mean": m,
        "lo": lo,
        "hi": hi,
        "se": se,
        "p": p,
        "equivalent": (lo > -margin) & (hi < margin),
    }
