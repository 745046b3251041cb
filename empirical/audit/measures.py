"""Rubric accuracy in the three measures a team computes, from the labelled scores directly.

* ``verdict``: alpha, the score model's verdict accuracy (the fit's MLE and profile interval).
* ``pair``: among all pairs of one correct and one incorrect candidate of the same question,
  the share the verifier orders right (a tie counts one half); L0's pair accuracy at n = 2.
* ``selection``: among questions with at least one correct candidate (and at least two
  candidates), the share whose top-scored candidate (by its mean score) is correct (a tie at
  the top counts the correct share of the tied candidates).

Pair and selection are measured from the data; their intervals are percentile intervals of
the nonparametric bootstrap over questions (exact multinomial resampling of the questions,
drawn over the distinct per-question summaries, so the cost does not grow with the number of
questions); with fewer than 10 questions counted no interval is given and the side is not
decided.

The threshold in each measure is theory's T1 in that measure (:mod:`theory.measures`): the
measure's value at alpha = 1/2. Verdict and pair: 1/2. Selection: a question's candidates are
distinct (each has its own frozen verdict, as in the audit's score model), so this is theory's
K-option selection, whose threshold is 1/K for every kappa (at alpha = 1/2 the candidates'
scores are i.i.d.); the same exchangeability gives c/k for a question with c correct among k
candidates. The threshold is the mean of these over the questions counted, i.e. the level of a
random pick on these very questions. Identical answers should share a candidate_id (they share
the verifier's verdict); theory's n-sample selection (top of n samples, duplicates counted) is
read with ``selfdpo predict --measure selection``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from empirical.audit.containers import ScoreGroup, VerifierFit, finite_or_none
from theory.measures import equivalent_alpha, measure_threshold

__all__ = [
    "MEASURES",
    "Measure",
    "pair_estimate",
    "question_summaries",
    "rubric_measures",
    "selection_estimate",
    "selection_threshold",
]

MEASURES = ("verdict", "pair", "selection")
N_BOOT = 1000
MIN_QUESTIONS = 10  # fewer questions: a bootstrap over them says nothing; no interval


@dataclass(frozen=True)
class Measure:
    """One rubric-accuracy measure of one verifier on one task.

    Attributes:
        name: ``verdict``, ``pair`` or ``selection``.
        value: the measured accuracy, or None when the data have no unit it counts.
        ci: (lo, hi) interval at the report's level, or None.
        threshold: theory's threshold in this measure (T1; the same for every kappa here).
        side: ``above``, ``below``, or ``cannot tell: ...`` with the reason.
        count: what the measure counts: candidates, mixed pairs or questions.
        unit: the name of that unit.
        chance: a random scorer's level (kappa = 0) on these data.
        equivalent_alpha: the alpha that theory maps this value to at the fitted kappa, or None
            (outside what the measure can be at that kappa).
        setting: theory's setting used for the threshold (n, K, p_correct).
        method: how the interval was obtained.
    """

    name: str
    value: float | None
    ci: tuple[float, float] | None
    threshold: float
    side: str
    count: int
    unit: str
    chance: float
    equivalent_alpha: float | None
    setting: dict[str, Any] = field(default_factory=dict)
    method: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (non-finite numbers as null)."""
        return {
            "value": None if self.value is None else finite_or_none(self.value),
            "ci": None if self.ci is None else [finite_or_none(x) for x in self.ci],
            "threshold": finite_or_none(self.threshold),
            "side": self.side,
            "count": self.count,
            "unit": self.unit,
            "chance": finite_or_none(self.chance),
            "equivalent_alpha": (
                None if self.equivalent_alpha is None else finite_or_none(self.equivalent_alpha)
            ),
            "setting": dict(self.setting),
            "method": self.method,
        }


def question_summaries(group: ScoreGroup) -> dict[str, np.ndarray]:
    """Per-question summaries of a group (candidates ranked by their mean score).

    Returns arrays of shape (Q,): ``k`` candidates, ``c`` correct ones, ``right`` mixed pairs
    ordered right (ties one half; the Mann-Whitney U of the correct candidates), ``mixed``
    mixed pairs ``c (k - c)``, ``top`` the correct share of the top-scored candidates.
    """
    if group.question is None:
        raise ValueError("the group has no question ids: pair and selection need them")
    q = np.asarray(group.question, dtype=np.int64)
    score = np.asarray(group.s1, float) / np.asarray(group.n_rep, float)
    lab = np.asarray(group.label, dtype=np.int64)
    Q = int(q.max()) + 1
    o = np.lexsort((score, q))
    qs, ss, ls = q[o], score[o], lab[o]
    m = qs.shape[0]
    k = np.bincount(qs, minlength=Q)
    c = np.bincount(qs, weights=ls, minlength=Q)
    q_start = np.concatenate([[0], np.cumsum(k)[:-1]])
    # Tie blocks of equal (question, score): midranks within the question (1-based).
    new_block = np.r_[True, (qs[1:] != qs[:-1]) | (ss[1:] != ss[:-1])]
    block = np.cumsum(new_block) - 1
    b_start = np.flatnonzero(new_block)
    b_end = np.r_[b_start[1:], m]  # exclusive
    pos_lo, pos_hi = b_start - q_start[qs[b_start]], b_end - 1 - q_start[qs[b_start]]
    midrank = 0.5 * (pos_lo + pos_hi)[block] + 1.0
    right = np.bincount(qs, weights=ls * midrank, minlength=Q) - c * (c + 1) / 2.0
    # The top tie block of each question is the block holding its last (highest) candidate.
    last = q_start + k - 1
    top_block = block[last]
    in_top = block == top_block[qs]
    n_top = np.bincount(qs, weights=in_top, minlength=Q)
    c_top = np.bincount(qs, weights=in_top * ls, minlength=Q)
    return {
        "k": k.astype(float),
        "c": c,
        "right": right,
        "mixed": c * (k - c),
        "top": c_top / n_top,
    }


def _bootstrap(cols: np.ndarray, stat, level: float, n_boot: int, seed: int):
    """Percentile interval of ``stat(weights, cols)`` under resampling of the rows (questions).

    Rows with identical summaries are merged first: resampling Q questions with replacement is
    a multinomial over the distinct rows with probabilities count / Q. None for Q < 10.
    """
    if cols.shape[0] < MIN_QUESTIONS:
        return None
    uniq, counts = np.unique(cols, axis=0, return_counts=True)
    Q = int(counts.sum())
    rng = np.random.default_rng(seed)
    w = rng.multinomial(Q, counts / Q, size=n_boot).astype(float)
    vals = stat(w, uniq)
    vals = vals[np.isfinite(vals)]
    if vals.shape[0] == 0:
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(vals, [tail, 100.0 - tail])
    return float(lo), float(hi)


def _side(ci: tuple[float, float] | None, thr: float, why_none: str) -> str:
    """The measure's side of its threshold: decided only when the interval excludes it."""
    if ci is None:
        return f"cannot tell: {why_none}"
    if ci[0] > thr:
        return "above"
    if ci[1] < thr:
        return "below"
    return "cannot tell: interval holds the threshold"


def _equivalent(value: float | None, measure: str, kappa: float, **setting: Any):
    """Theory's alpha for the measured value at the fitted kappa (None where it has none)."""
    if value is None or not kappa > 0:
        return None
    try:
        return float(equivalent_alpha(value, measure, kappa=kappa, **setting))
    except ValueError:  # outside what the measure can be at this kappa (sampling noise)
        return None


def _ratio(w: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Bootstrap statistic: sum(w * numerator) / sum(w * denominator), per replicate."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ u[:, 0]) / (w @ u[:, 1])


def selection_threshold(k: np.ndarray, c: np.ndarray, kappa: float) -> float:
    """Theory's selection threshold on questions with k distinct candidates, c correct.

    One correct: theory's K-option threshold 1/K (:func:`theory.measures.measure_threshold`);
    c correct: c/k, by the same exchangeability at alpha = 1/2. The mean over the questions.
    """
    per_k = {
        int(K): float(measure_threshold("selection", K=int(K), kappa=kappa))
        for K in np.unique(k[c == 1])
    }
    one = np.array([per_k.get(int(K), np.nan) for K in k]) if per_k else np.zeros(k.shape)
    return float(np.where(c == 1, one, c / k).mean())


def pair_estimate(
    s: dict[str, np.ndarray], *, level: float = 0.95, n_boot: int = N_BOOT, seed: int = 0
):
    """Pair accuracy pooled over all mixed pairs, with its bootstrap interval over questions.

    Returns (value or None, interval or None, mixed pairs, questions with a mixed pair).
    """
    mixed, right = s["mixed"], s["right"]
    n_pairs = int(mixed.sum())
    has = mixed > 0
    value = float(right.sum() / n_pairs) if n_pairs else None
    ci = _bootstrap(np.stack([right[has], mixed[has]], 1), _ratio, level, n_boot, seed)
    return value, ci, n_pairs, int(has.sum())


def _counted(s: dict[str, np.ndarray]) -> np.ndarray:
    """Questions the selection measure counts: at least two candidates, one correct."""
    return (s["k"] >= 2) & (s["c"] >= 1)


def selection_estimate(
    s: dict[str, np.ndarray], *, level: float = 0.95, n_boot: int = N_BOOT, seed: int = 0
):
    """Selection accuracy over the counted questions, with its bootstrap interval.

    Returns (value or None, interval or None, questions counted).
    """
    top = s["top"][_counted(s)]
    n_q = int(top.shape[0])
    value = float(top.mean()) if n_q else None
    ci = _bootstrap(np.stack([top, np.ones(n_q)], 1), _ratio, level, n_boot, seed)
    return value, ci, n_q


def rubric_measures(
    group: ScoreGroup,
    fit: VerifierFit,
    verdict_side: str,
    *,
    level: float = 0.95,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, Measure]:
    """The three measures of one group, each with its interval and theory's threshold.

    Args:
        group: the group's candidates (with question ids).
        fit: the group's V(alpha, kappa) fit (gives the verdict measure and kappa).
        verdict_side: the report's side of alpha (theory.predict over the interval box).
        level: interval coverage.
        n_boot: bootstrap replicates over questions.
        seed: bootstrap seed.
    """
    s = question_summaries(group)
    boot = f"bootstrap over questions ({n_boot}, percentile), level {level:g}"
    kappa = fit.kappa
    out = {
        "verdict": Measure(
            name="verdict",
            value=fit.alpha,
            ci=fit.alpha_ci,
            threshold=float(measure_threshold("verdict", kappa=kappa)),
            side=verdict_side,
            count=fit.n_candidates,
            unit="candidates",
            chance=0.5,
            equivalent_alpha=fit.alpha,
            method=fit.method,
        )
    }
    value, ci, n_pairs, n_mixed_q = pair_estimate(s, level=level, n_boot=n_boot, seed=seed)
    thr = float(measure_threshold("pair", n=2, kappa=kappa))
    why = (
        f"only {n_mixed_q} question(s) with a mixed pair"
        if n_pairs
        else "no question has both a correct and an incorrect candidate"
    )
    out["pair"] = Measure(
        name="pair",
        value=value,
        ci=ci,
        threshold=thr,
        side=_side(ci, thr, why),
        count=n_pairs,
        unit="mixed pairs",
        chance=0.5,
        equivalent_alpha=_equivalent(value, "pair", kappa, n=2),
        setting={"n": 2},
        method=boot,
    )
    value, ci, n_q = selection_estimate(s, level=level, n_boot=n_boot, seed=seed + 1)
    elig = _counted(s)
    k, c = s["k"][elig], s["c"][elig]
    thr, setting, equiv = math.nan, {}, None
    why = "no question has two candidates and a correct one"
    if n_q:
        thr = selection_threshold(k, c, kappa)
        why = f"only {n_q} question(s) counted"
        if thr >= 1.0:  # every counted question has only correct candidates
            ci, why = None, "no counted question has an incorrect candidate"
        setting = {"variant": "distinct candidates", "candidates_per_question": _usual(k)}
        if np.all(c == 1) and np.all(k == k[0]):
            setting["K"] = int(k[0])
            equiv = _equivalent(value, "selection", kappa, K=int(k[0]))
    out["selection"] = Measure(
        name="selection",
        value=value,
        ci=ci,
        threshold=thr,
        side=_side(ci, thr, why),
        count=n_q,
        unit="questions",
        chance=thr,
        equivalent_alpha=equiv,
        setting=setting,
        method=boot,
    )
    return out


def _usual(k: np.ndarray) -> int:
    """The most common number of candidates per question."""
    return int(np.bincount(k.astype(np.int64)).argmax())
