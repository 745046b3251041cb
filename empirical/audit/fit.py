"""Fit V(alpha, kappa) to a verifier's scores: the MLE with profile or bootstrap intervals.

numpy/scipy only: importing this module must stay fast (``selfdpo audit``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

from empirical.audit.containers import ScoreGroup, VerifierFit
from empirical.audit.intervals import bootstrap_intervals, profile_intervals
from empirical.audit.model import ScoreData, ScoreModel, compress
from theory.util import UsageError

__all__ = ["check_group", "fit_group", "fit_verifier"]


_TINY = 1e-100  # smallest spread of the scores that the fit accepts (squares stay normal)
_FIXED = 1e6  # a fixed scale within this factor of the scores' spread, a fixed loc within
# this many spreads of their mean: beyond, EM's sums overflow or it crawls for minutes


def _check_scaled(group: ScoreGroup, rel_spread, loc, scale, mu: float, sd: float) -> None:
    """Refuse settings whose standardised values would overflow or underflow the fit."""
    where = f"verifier {group.verifier!r} task {group.task!r}"
    if not rel_spread >= _TINY or not sd >= _TINY:
        raise UsageError(
            f"{where}: the scores' spread ({sd:.3g}) is too small to fit; rescale the scores"
        )
    if scale is not None and not 1.0 / _FIXED <= scale / sd <= _FIXED:
        raise UsageError(
            f"{where}: --scale {scale:g} is {scale / sd:.3g} times the scores' spread; "
            f"it must be within a factor {_FIXED:g}"
        )
    if loc is not None and not abs(loc - mu) / sd <= _FIXED:
        raise UsageError(
            f"{where}: --loc {loc:g} lies {abs(loc - mu) / sd:.3g} spreads from the scores' "
            f"mean; it must be within {_FIXED:g}"
        )


def _standardise(group: ScoreGroup, loc: float | None, scale: float | None):
    """The group's statistics in standardised units, with every data-dependent check.

    Returns (data, mean, sd, spread of the candidates' mean scores).
    """
    m = group.n_candidates
    if m < 2:
        raise UsageError(
            f"verifier {group.verifier!r} task {group.task!r} has {m} scored candidate(s); "
            "need at least 2"
        )
    r = np.asarray(group.n_rep, dtype=float)
    s1 = np.asarray(group.s1, dtype=float)
    s2 = np.asarray(group.s2, dtype=float)
    mean = s1 / r
    spread = float(np.std(mean))
    if scale is None and not spread > 0:
        raise UsageError(
            f"verifier {group.verifier!r} task {group.task!r}: all scores are equal; "
            "confidence cannot be estimated"
        )
    # Fit in standardised units (so tolerances are absolute), then map back. Sums of squares
    # about each candidate's mean and about the overall mean: no cancellation of large offsets.
    n_sc = r.sum()
    mu = float(s1.sum() / n_sc)
    within = np.maximum(s2 - s1 * mean, 0.0)
    between = r * (mean - mu) ** 2
    sd = math.sqrt(float(within.sum() + between.sum()) / n_sc) or 1.0
    _check_scaled(group, spread / sd if scale is None else 1.0, loc, scale, mu, sd)
    d = ScoreData(
        c=np.asarray(group.label, dtype=bool),
        r=r,
        s1=(s1 - r * mu) / sd,
        s2=(within + between) / sd**2,
        w=np.ones(m),
    )
    return d, mu, sd, spread


def check_group(group: ScoreGroup, *, loc: float | None = None, scale: float | None = None):
    """Raise UsageError (one line) if ``group`` cannot be fitted with these settings."""
    _standardise(group, loc, scale)


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
    d, mu, sd, spread = _standardise(group, loc, scale)
    m, n_sc = group.n_candidates, float(np.sum(group.n_rep))
    d = compress(d)
    model = ScoreModel(
        d,
        None if loc is None else (loc - mu) / sd,
        None if scale is None else scale / sd,
        sigma_floor=max(spread / sd, 1e-12) * 1e-6,
    )
    mle = model.mle()
    if method == "profile":
        q = float(special.gammaincinv(0.5, level))  # chi2_1 quantile / 2, as scipy.stats'
        alpha_ci, kappa_ci = profile_intervals(model, mle, q)
        label = f"profile likelihood (LR inversion, chi2_1), MLE by EM, level {level:g}"
    else:
        alpha_ci, kappa_ci = bootstrap_intervals(model, mle, level, n_boot, seed)
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
