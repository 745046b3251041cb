"""The audit table: each (verifier, task)'s fit with theory's verdict, ranked by predicted gain.

The verdict is :func:`theory.predict` (L0, T1, T2, T5) at the estimate, and over the box of the
(alpha, kappa) intervals for the ranges and the side of the threshold.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from empirical.audit.containers import ScoreGroup, VerifierFit, finite_or_none
from empirical.audit.fit import fit_group
from empirical.audit.scores import load_scores
from theory import predict
from theory.gates import check_gate
from theory.util import check_int, check_range

__all__ = [
    "AuditRow",
    "CANNOT_TELL",
    "audit_json",
    "audit_row",
    "audit_table",
    "format_table",
    "labels_needed",
    "rank_rows",
]

KAPPA_EVAL_MAX = 40.0  # Phi(sqrt2 * 40) == 1 in double precision: stands in for kappa = inf
CANNOT_TELL = "cannot tell: label more"
_BOX = 7  # points per axis of the (alpha, kappa) interval box


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
                "notes": list(self.notes),
            }
        )
        return out


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
    """Fit one group (or take a fit) and attach theory's prediction (L0, T1, T2, T5)."""
    if isinstance(group_or_fit, ScoreGroup):
        fit = fit_group(group_or_fit, **fit_kwargs)
        verifier, task = group_or_fit.verifier, group_or_fit.task
        if p_correct is None:
            p_correct = float(np.clip(group_or_fit.label.mean(), 0.01, 0.99))
    else:
        fit = group_or_fit
    if p_correct is None:
        p_correct = 0.5

    def verdict(alpha: float, kappa: float) -> dict[str, Any]:
        return predict(alpha, min(kappa, KAPPA_EVAL_MAX), n, gate, p_correct=p_correct)

    point = verdict(fit.alpha, fit.kappa)
    # Ranges over the (alpha, kappa) interval box: a conservative projection of the intervals.
    a_lo, a_hi = fit.alpha_ci
    k_lo, k_hi = fit.kappa_ci
    box = [
        verdict(float(a), float(k))
        for a in np.linspace(a_lo, a_hi, _BOX)
        for k in np.linspace(k_lo, min(k_hi, KAPPA_EVAL_MAX), _BOX)
    ]
    notes: list[str] = []
    amp = point["gate_amplification"]
    if amp is None:
        notes.append(f"gate {gate!r} has no closed-form amplification: drift is uniform replay's")
    if k_lo <= 0.0:
        notes.append("kappa interval reaches 0: scores may carry no verdict signal")
    if fit.n_candidates < 30:
        notes.append(f"only {fit.n_candidates} labelled candidates")
    a_box = [p["a_pair"] for p in box]
    rate_box = [_gated_rate(p) for p in box]
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
        side=_side(box),
        drift_sign=point["drift_sign"],
        drift_rate=_gated_rate(point),
        drift_rate_range=(min(rate_box), max(rate_box)),
        gate_amplification=math.nan if amp is None else amp,
        labels_needed=labels_needed(fit),
        notes=tuple(notes),
    )


def rank_rows(rows: Sequence[AuditRow]) -> list[AuditRow]:
    """Order by predicted gain (gated drift rate, descending; T1, T5) and number the ranks."""
    order = sorted(rows, key=lambda r: (-r.drift_rate, r.verifier, r.task))
    return [replace(r, rank=i + 1) for i, r in enumerate(order)]


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
    n = check_int("n", n, 2)
    check_gate(gate)
    if p_correct is not None:
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
        if r.side != CANNOT_TELL and r.labels_needed is not None:
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
