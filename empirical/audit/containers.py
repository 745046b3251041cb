"""The audit's data containers: a (verifier, task) group of scored candidates and its fit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ScoreGroup", "VerifierFit", "finite_or_none"]


def finite_or_none(x: float) -> float | None:
    """``x`` as a float, or None when it is not finite (strict JSON)."""
    return float(x) if math.isfinite(x) else None


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
            "kappa_ci": [finite_or_none(x) for x in self.kappa_ci],
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
        question: (m,) question index (0 .. n_questions - 1) per candidate, or None when
            unknown; needed for the pair and selection measures.
    """

    verifier: str
    task: str
    label: np.ndarray
    n_rep: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    n_questions: int | None = None
    first_line: int = 0
    question: np.ndarray | None = None

    @property
    def n_candidates(self) -> int:
        return int(self.label.shape[0])

    @property
    def n_scores(self) -> int:
        return int(self.n_rep.sum())
