"""The audit: each (verifier, task)'s fit with theory's verdict, ranked by predicted gain.

The verdict is :func:`theory.predict` (L0, T1, T2, T5) at the estimate, and over the box of the
(alpha, kappa) intervals for the ranges and the side of the threshold. Each row also carries
the rubric accuracy in the three measures a team computes (:mod:`empirical.audit.measures`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from empirical.audit.containers import ScoreGroup, VerifierFit, finite_or_none
from empirical.audit.fit import check_group, fit_group
from empirical.audit.measures import Measure, rubric_measures
from empirical.audit.scores import ScoresFile, load_scores
from theory import predict
from theory.gates import check_gate
from theory.util import check_int, check_range

__all__ = [
    "AuditRow",
    "CANNOT_TELL",
    "MAX_N",
    "PLOT_SUFFIXES",
    "audit_json",
    "audit_row",
    "audit_table",
    "labels_needed",
    "labels_needed_text",
    "rank_rows",
]

KAPPA_EVAL_MAX = 40.0  # Phi(sqrt2 * 40) == 1 in double precision: stands in for kappa = inf
CANNOT_TELL = "cannot tell: label more"
PLOT_SUFFIXES = (".png", ".pdf")  # the phase-diagram plot's formats (empirical.audit.plot)
MAX_N = 32  # theory's best-vs-worst pair costs grow with n (0.05 s a call at 32, 49 calls a row)
_BOX = 7  # points per axis of the (alpha, kappa) interval box (n <= _BOX_SMALL_N)
_BOX_LARGE_N = 5  # points per axis for larger n, whose theory calls cost more
_BOX_SMALL_N = 8
_EXTRAPOLATE = 10  # labels_needed extrapolates 1/sqrt(m) shrinkage: trusted up to 10x the labels


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
    n_correct: int | None = None
    measures: dict[str, Measure] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: names, the fit's fields, then theory's prediction."""
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
                "gate_amplification": finite_or_none(self.gate_amplification),
                "labels_needed": self.labels_needed,
                "labels_needed_text": labels_needed_text(self),
                "n_labelled_correct": self.n_correct,
                "n_labelled_incorrect": (
                    None if self.n_correct is None else self.fit.n_candidates - self.n_correct
                ),
                "measures": {k: m.to_dict() for k, m in self.measures.items()},
                "notes": list(self.notes),
            }
        )
        return out


def labels_needed(fit: VerifierFit) -> int | None:
    """Labelled candidates needed for the alpha interval to exclude 1/2.

    The interval's half-width on the threshold's side is taken to shrink as 1/sqrt(m) (m =
    labelled candidates), so m_needed = m (half-width / |alpha_hat - 1/2|)^2. None when that
    extrapolation says more than 10x the labels at hand (it is not to be trusted that far) or
    alpha_hat is at 1/2 (no finite number decides). For a decided verifier this is below m.
    """
    a = fit.alpha
    m = fit.n_candidates
    gap = abs(a - 0.5)
    half = (a - fit.alpha_ci[0]) if a > 0.5 else (fit.alpha_ci[1] - a)
    if gap < 1e-9 or half > gap * math.sqrt(_EXTRAPOLATE):
        return None
    return max(2, math.ceil(m * (half / gap) ** 2))


def labels_needed_text(row: AuditRow) -> str:
    """``labels_needed`` for a reader: how many, or why it cannot be estimated."""
    m = row.fit.n_candidates
    if row.n_correct in (0, m):
        return "label both classes"
    if row.labels_needed is None:
        return f"> {_EXTRAPOLATE * m} (cannot be estimated from {m})"
    if row.side in ("above", "below"):
        return f"{row.labels_needed} (have {m})"
    return str(row.labels_needed)


def _gated_rate(pred: dict[str, Any]) -> float:
    """The gated drift rate of a :func:`theory.predict` result (uniform's when no closed form)."""
    g = pred["gated_drift_rate"]
    return pred["drift_rate"] if g is None else g


def _side(box: list[dict[str, Any]]) -> str:
    """T1 over the interval box: a side only when theory gives it at every point of the box."""
    sides = {p["side"] for p in box}
    return sides.pop() if len(sides) == 1 and sides <= {"above", "below"} else CANNOT_TELL


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
    """Fit one group (or take a fit) and attach theory's prediction (L0, T1, T2, T5).

    A group with question ids also gets the three rubric-accuracy measures (``measures``).
    """
    n = check_int("n", n, 2, MAX_N)
    group = group_or_fit if isinstance(group_or_fit, ScoreGroup) else None
    n_correct = None
    if group is not None:
        fit = fit_group(group, **fit_kwargs)
        verifier, task = group.verifier, group.task
        n_correct = int(np.asarray(group.label).sum())
        if p_correct is None:
            p_correct = float(np.clip(group.label.mean(), 0.01, 0.99))
    else:
        fit = group_or_fit
    if p_correct is None:
        p_correct = 0.5
    size = _BOX if n <= _BOX_SMALL_N else _BOX_LARGE_N

    def verdict(alpha: float, kappa: float) -> dict[str, Any]:
        return predict(alpha, min(kappa, KAPPA_EVAL_MAX), n, gate, p_correct=p_correct)

    point = verdict(fit.alpha, fit.kappa)
    # Ranges over the (alpha, kappa) interval box: a conservative projection of the intervals.
    a_lo, a_hi = fit.alpha_ci
    k_lo, k_hi = fit.kappa_ci
    box = [
        verdict(float(a), float(k))
        for a in np.linspace(a_lo, a_hi, size)
        for k in np.linspace(k_lo, min(k_hi, KAPPA_EVAL_MAX), size)
    ]
    notes: list[str] = []
    amp = point["gate_amplification"]
    if amp is None:
        notes.append(f"gate {gate!r} has no closed-form amplification: drift is uniform replay's")
    if k_lo <= 0.0:
        notes.append("kappa interval reaches 0: scores may carry no verdict signal")
    if fit.n_candidates < 30:
        notes.append(f"only {fit.n_candidates} labelled candidates")
    side = _side(box)
    if n_correct in (0, fit.n_candidates):
        cls = f"{fit.n_candidates} labelled {1 if n_correct else 0}, none {0 if n_correct else 1}"
        notes.append(
            f"one label class ({cls}): alpha rests on the two-mode shape of the scores alone"
        )
        if side == CANNOT_TELL:
            side = f"cannot tell: one label class ({cls})"
    if fit.n_questions == 1:
        notes.append("all candidates belong to one question")
    a_box = [p["a_pair"] for p in box]
    rate_box = [_gated_rate(p) for p in box]
    measures = {}
    if group is not None and group.question is not None:
        level = fit_kwargs.get("level", 0.95)
        measures = rubric_measures(group, fit, side, level=level)
    return AuditRow(
        rank=0,
        verifier=verifier,
        task=task,
        fit=fit,
        n=n,
        gate=gate,
        p_correct=float(p_correct),
        a_pair=point["a_pair"],
        a_pair_range=(min(a_box), max(a_box)),
        side=side,
        drift_sign=point["drift_sign"],
        drift_rate=_gated_rate(point),
        drift_rate_range=(min(rate_box), max(rate_box)),
        gate_amplification=math.nan if amp is None else amp,
        labels_needed=None if n_correct in (0, fit.n_candidates) else labels_needed(fit),
        notes=tuple(notes),
        n_correct=n_correct,
        measures=measures,
    )


def rank_rows(rows: Sequence[AuditRow]) -> list[AuditRow]:
    """Order by predicted gain (gated drift rate, descending; T1, T5) and number the ranks."""
    order = sorted(rows, key=lambda r: (-r.drift_rate, r.verifier, r.task))
    return [replace(r, rank=i + 1) for i, r in enumerate(order)]


def audit_table(
    path_or_records: str | os.PathLike | ScoresFile | dict | Sequence[ScoreGroup],
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
        path_or_records: a JSONL path, what :func:`load_scores` returned (or its ``groups``
            dict), or a sequence of :class:`ScoreGroup`.
        n: candidates per question in the planned loop (best-vs-worst of n; L0), 2 .. 32.
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
    n = check_int("n", n, 2, MAX_N)
    check_gate(gate)
    if p_correct is not None:
        check_range("p_correct", p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
    if isinstance(path_or_records, (str, os.PathLike)):
        groups = list(load_scores(path_or_records, skip_bad=skip_bad).groups.values())
    elif isinstance(path_or_records, ScoresFile):
        groups = list(path_or_records.groups.values())
    elif isinstance(path_or_records, dict):
        groups = list(path_or_records.values())
    else:
        groups = list(path_or_records)
    for g in groups:  # every group's data checked before the first fit
        check_group(g, loc=loc, scale=scale)
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
