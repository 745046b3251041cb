"""Verifier audit: a verifier's rubric accuracy alpha and confidence kappa from labelled scores.

The pre-flight check of THEORY.md's advice: measure the verifier's rubric accuracy on the target
task before running a self-DPO loop, and rank verifiers by theory's predicted drift (T1, T5).

Modules: ``containers`` (ScoreGroup, VerifierFit), ``model`` (the score model and its EM),
``intervals`` (profile likelihood, bootstrap), ``fit`` (fit_group, fit_verifier), ``scores``
(reading JSONL, plain or gzip), ``measures`` (rubric accuracy as verdict, pair and selection
accuracy, with theory's threshold in each), ``report`` (theory's verdict per verifier, the
ranking and JSON), ``table`` (the text output), ``plot``
(the phase-diagram plot; imports matplotlib, so not imported here) and ``commands``
(``selfdpo audit``). numpy/scipy only: importing this package stays fast.
"""

from empirical.audit.containers import ScoreGroup, VerifierFit
from empirical.audit.fit import fit_group, fit_verifier
from empirical.audit.report import (
    CANNOT_TELL,
    AuditRow,
    audit_json,
    audit_row,
    audit_table,
    labels_needed,
    rank_rows,
)
from empirical.audit.scores import ScoresFile, load_scores
from empirical.audit.table import format_measures, format_table

__all__ = [
    "CANNOT_TELL",
    "AuditRow",
    "ScoreGroup",
    "ScoresFile",
    "VerifierFit",
    "audit_json",
    "audit_row",
    "audit_table",
    "fit_group",
    "fit_verifier",
    "format_measures",
    "format_table",
    "labels_needed",
    "load_scores",
    "rank_rows",
]
