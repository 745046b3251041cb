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
  - a student's exact answer distributions: :func:`theory.l0_selection.selection_accuracy_policies`.

The selection formulas and their derivation are in :mod:`theory.l0_selection` (L0-sel).

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

The threshold is first order (T1 at theta0); over a long run fitting the frozen verdicts moves
the crossing a little above alpha = 1/2 (paper/theory.md), and a value that close to a threshold
should be read as undetermined.

Inverse maps (:func:`equivalent_alpha`): for a given kappa the alpha whose measure equals the
value (bisection; the measure is increasing in alpha); for ``kappa=None`` the closed hull of
the alphas allowed over all kappa >= 0 (a fixed geometric kappa grid of 49 points, kappa = inf,
and bounded refinement). Near the kappa below which the value is no longer reachable the
matching alpha tends to 0 or 1, so one end of that hull is 0 or 1 unless the value is exactly
the measure's kappa-free chance level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theory.l0_pairs import pair_accuracy
from theory.l0_selection import selection_accuracy_options, selection_accuracy_samples
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
    "side",
]

MEASURES = ("verdict", "pair", "selection")

_K_MAX = 256  # finite-K n-sample selection sums over K terms; beyond, K=None (mean-field)
_PAIR_KAPPA_SAT = 8.0  # theory.l0_pairs' n > 2 quadrature grows with kappa; saturated by 8
_KAPPA_GRID = np.geomspace(1e-3, 1e3, 49)
_BISECT = 60
_AT_TOL = 1e-9


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
        out = selection_accuracy_samples(a, k, st["n"], st["p_correct"], st.get("K"))
    else:
        out = selection_accuracy_options(a, k, st["K"])
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
    """Alpha with measure = value at each kappa; NaN where unreachable.

    Selection and n = 2 pair: bisection vectorised over kappa. The n > 2 pair measure builds one
    quadrature per kappa (theory.l0_pairs), so there each distinct (clamped) kappa is solved on
    its own with alpha vectorised: a 1025-point grid, then a 65-point grid inside the bracket.
    """
    if st["measure"] == "pair" and st["n"] > 2:
        clamped = np.minimum(kappas, _PAIR_KAPPA_SAT)
        uniq, inv = np.unique(clamped, return_inverse=True)
        return np.array([_alpha_at_one(st, value, float(k)) for k in uniq])[inv]
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


def _alpha_at_one(st: dict[str, Any], value: float, kappa: float) -> float:
    """One kappa, alpha vectorised: bracket on a fine grid, refine, interpolate linearly."""
    a = np.linspace(0.0, 1.0, 1025)
    v = np.asarray(_evaluate(st, a, kappa))
    if v[-1] - v[0] <= _AT_TOL or not v[0] - _AT_TOL <= value <= v[-1] + _AT_TOL:
        return math.nan
    j = int(np.clip(np.searchsorted(v, value), 1, a.size - 1))
    a = np.linspace(a[j - 1], a[j], 65)  # refine inside the bracket
    v = np.maximum.accumulate(np.asarray(_evaluate(st, a, kappa)))
    j = int(np.clip(np.searchsorted(v, value), 1, a.size - 1))
    w = 0.0 if v[j] == v[j - 1] else (value - v[j - 1]) / (v[j] - v[j - 1])
    return float(a[j - 1] + min(max(w, 0.0), 1.0) * (a[j] - a[j - 1]))


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
            raise _outside(st, value, (lo, hi), f"at kappa = {kappa:g}")
        return float(_alpha_at(st, value, np.array([float(kappa)]))[0])
    if abs(value - chance) <= _AT_TOL:
        return 0.0, 1.0  # kappa = 0 allows every alpha
    ks = _grid_with_limits()[1:]
    alpha = _alpha_at(st, value, ks)
    ok = ~np.isnan(alpha)
    if not ok.any():
        raise _outside(
            st, value, measure_range(measure, n=n, K=K, p_correct=p_correct), "for any verifier"
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


def _outside(st: dict[str, Any], value: float, rng: tuple[float, float], where: str) -> ValueError:
    """The one-line error for a measured value the measure cannot take ``where``."""
    return ValueError(
        f"{_describe(st)} {value:.4g} is outside [{rng[0]:.4g}, {rng[1]:.4g}], "
        f"what it can be {where}"
    )


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
    setting = dict(n=n, K=K, p_correct=p_correct)
    alpha = equivalent_alpha(value, measure, **setting, kappa=kappa)
    thr = measure_threshold(measure, **setting, kappa=kappa)
    rng = measure_range(measure, **setting, kappa=kappa)
    sd = side(value, measure, **setting, kappa=kappa)
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
        "random_scorer": random_scorer_level(measure, **setting),
        "range": list(rng),
        "equivalent_alpha": alpha if kappa is not None else list(alpha),
        "reading": (
            f"{_describe(st)} {float(value):.4g} vs threshold {thr_s}: {words}"
            f" (equivalent verdict accuracy alpha {alpha_s})"
        ),
    }
