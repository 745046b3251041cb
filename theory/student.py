"""The named students of paper/model.md ("Student"): two-block linear-softmax policies.

A ``StudentSpec`` fixes the shared dimension ``d_s``, the number of candidates ``K``, the
competence shift ``mu`` of the correct candidate along u, the prompt-specific (tabular) scale
``s`` and the initial competence ``b`` (theta0 = b u). ``default`` starts at a middling held-out
accuracy (about 0.45); ``second`` differs in d_s, K, s and starts lower (about 0.3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from theory.util import check_int, check_range

STUDENT_KEYS = ("d_s", "K", "mu", "s", "b")


@dataclasses.dataclass(frozen=True)
class StudentSpec:
    """A synthetic student (paper/model.md)."""

    d_s: int  # shared feature dimension
    K: int  # candidates per prompt
    mu: float  # competence shift of the correct candidate along u
    s: float  # scale of the prompt-specific (tabular) block
    b: float  # initial competence, theta0 = b u

    def fields(self) -> dict[str, float | int]:
        """The spec as a plain dict (config overrides)."""
        return dataclasses.asdict(self)


STUDENTS = MappingProxyType(
    {
        "default": StudentSpec(d_s=8, K=4, mu=2.0, s=4.0, b=0.45),
        "second": StudentSpec(d_s=16, K=6, mu=2.5, s=3.0, b=0.4),
    }
)


def get_student(name: str) -> StudentSpec:
    """The named student, or ValueError naming the known ones."""
    if name not in STUDENTS:
        raise ValueError(f"student must be one of {', '.join(STUDENTS)}, got {name!r}")
    return STUDENTS[name]


def check_student(student: StudentSpec | Mapping, need_n: bool = False) -> dict[str, Any]:
    """A student's fields as a checked dict (a StudentSpec, or a mapping with d_s, K, mu, s, b
    and, when ``need_n``, the number of train prompts N); ValueError naming a bad field."""
    if isinstance(student, StudentSpec):
        student = student.fields()
    if not isinstance(student, Mapping):
        raise ValueError("student must be a StudentSpec or a mapping with keys d_s, K, mu, s, b")
    missing = [k for k in STUDENT_KEYS + (("N",) if need_n else ()) if k not in student]
    if missing:
        raise ValueError(f"student is missing keys {missing} (need d_s, K, mu, s, b)")
    out = dict(student)
    out["d_s"] = check_int("student['d_s']", student["d_s"], 1)
    out["K"] = check_int("student['K']", student["K"], 2)
    check_range("student['mu']", student["mu"], -1e6, 1e6)
    check_range("student['s']", student["s"], 0.0)
    check_range("student['b']", student["b"], -1e6, 1e6)
    if need_n:
        out["N"] = check_int("student['N']", student["N"], 1)
    return out


def theta0_sample(
    K: int, mu: float, b: float, M: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M prompts at theta0 = b u: noise z (M, K) of the first shared coordinate, that
    coordinate phi0 = mu 1[y = 0] + z, and the policy pi = softmax(b phi0) (M, K)."""
    z = rng.standard_normal((M, K))
    phi0 = z.copy()
    phi0[:, 0] += mu
    logits = b * phi0
    logits -= logits.max(1, keepdims=True)
    pi = np.exp(logits)
    pi /= pi.sum(1, keepdims=True)
    return z, phi0, pi


def theta0_policies(spec: StudentSpec | Mapping, M: int, seed: int = 0) -> np.ndarray:
    """M draws of a train prompt's policy at theta0 (paper/model.md), shape (M, K).

    ``logit(y) = b (mu 1[y = 0] + xi_y)`` with xi_y ~ N(0, 1) the first shared coordinate
    (candidate 0 correct). The one theta0 sampler: sim, the paper's experiments and theory's
    Monte Carlo estimates all draw from it. ``spec`` may be a StudentSpec or a mapping with
    K, mu, b (e.g. a student's fields with overrides).
    """
    if isinstance(spec, StudentSpec):
        spec = spec.fields()
    K = check_int("K", spec["K"], 2)
    check_range("mu", spec["mu"], -1e6, 1e6)
    check_range("b", spec["b"], -1e6, 1e6)
    M = check_int("M", M, 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    return theta0_sample(K, float(spec["mu"]), float(spec["b"]), M, rng)[2]
