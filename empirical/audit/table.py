"""The audit's text output: the ranked table, the three-measure table and their legend."""

from __future__ import annotations

import math
from collections.abc import Sequence

from empirical.audit.measures import MEASURES
from empirical.audit.report import AuditRow, labels_needed_text

__all__ = ["format_legend", "format_measures", "format_table"]


def _fmt_ci(ci: tuple[float, float] | None, digits: int = 2) -> str:
    if ci is None:
        return "-"
    hi = f"{ci[1]:.{digits}f}" if math.isfinite(ci[1]) else "inf"
    return f"[{ci[0]:.{digits}f}, {hi}]"


def _columns(head: list[str], body: list[list[str]]) -> str:
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
    return "\n".join(lines)


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
                labels_needed_text(r),
            ]
        )
    return _columns(head, body)


def format_measures(rows: Sequence[AuditRow]) -> str:
    """The three rubric-accuracy measures of each row, with intervals and thresholds."""
    head = ["rank", "verifier", "task", "measure", "value", "CI", "threshold", "side", "counted"]
    body = []
    for r in rows:
        for name in MEASURES:
            m = r.measures.get(name)
            if m is None:
                continue
            body.append(
                [
                    str(r.rank),
                    r.verifier,
                    r.task,
                    name,
                    "-" if m.value is None else f"{m.value:.3f}",
                    _fmt_ci(m.ci, 3),
                    f"{m.threshold:.3f}" if math.isfinite(m.threshold) else "-",
                    m.side,
                    f"{m.count} {m.unit}",
                ]
            )
    return _columns(head, body) if body else ""


def format_legend(rows: Sequence[AuditRow], *, level: float, n: int, gate: str) -> str:
    """The lines under the tables that say what the columns mean."""
    if not rows:
        return ""
    no_amp = math.isnan(rows[0].gate_amplification)
    lines = [
        f"alpha: rubric (verdict) accuracy; kappa: confidence; intervals {level:g} "
        f"({rows[0].fit.method}). a_pair at n={n}; drift = theory's predicted rate "
        f"(T1, units eta*beta*M) with gate {gate!r}"
        + (" (no closed-form amplification: uniform replay's rate)" if no_amp else " amplification")
        + ". side: where alpha sits against the 1/2 threshold (theory.predict over the "
        "interval box)."
    ]
    if any(r.measures for r in rows):
        lines.append(
            "measures: verdict = alpha; pair = share of (correct, incorrect) pairs of a question "
            "ordered right; selection = share of questions (>= 2 candidates, >= 1 correct) whose "
            "top-scored candidate is correct. Pair and selection intervals: bootstrap over "
            "questions. threshold: theory's T1 in that measure (its value at alpha = 1/2): 1/2 "
            "for verdict and pair, a random pick's level on these questions for selection "
            "(1/K with K candidates, one correct)."
        )
    return "\n".join(lines)
