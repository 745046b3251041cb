"""The named students of paper/model.md ("Student"): two-block linear-softmax policies.

A ``StudentSpec`` fixes the shared dimension ``d_s``, the number of candidates ``K``, the
competence shift ``mu`` of the correct candidate along u, the prompt-specific (tabular) scale
``s`` and the initial competence ``b`` (theta0 = b u). ``default`` starts at a middling held-out
accuracy (about 0.45); ``second`` differs in d_s, K, s and starts lower (about 0.3).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType


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
