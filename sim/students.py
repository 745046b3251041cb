"""Named students (paper/model.md, "Student"): two-block linear-softmax policies for replication.

Each entry fixes the shared dimension ``d_s``, the number of candidates ``K``, the competence
shift ``mu`` of the correct candidate along u, the prompt-specific (tabular) scale ``s`` and the
initial competence ``b`` (theta0 = b u). ``default`` starts at a middling held-out accuracy
(about 0.45); ``second`` differs in d_s, K, s and starts lower (about 0.3).
"""

from __future__ import annotations

from types import MappingProxyType

STUDENTS = MappingProxyType(
    {
        "default": MappingProxyType({"d_s": 8, "K": 4, "mu": 2.0, "s": 4.0, "b": 0.45}),
        "second": MappingProxyType({"d_s": 16, "K": 6, "mu": 2.5, "s": 3.0, "b": 0.4}),
    }
)
