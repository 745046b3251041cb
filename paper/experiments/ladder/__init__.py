"""The verifier ladder: the study's own setting (four verifiers, three tasks, two students).

Task profiles modelled on MathVista, MMMU and BLINK (numbers illustrative except MMMU's, which
are the study's): the student's accuracy on the task, the options per question (K = 4 for all
three: one compiled shape per student), and, per rung, the verifier's confidence kappa (grows with
general capability, scaled per task) and its *selection accuracy* on the task as a team measures
it (top-scored of n = 4 samples of the 2B student is rubric-correct), from which the verdict
accuracy alpha follows by theory's inverse map on the student's own answer distributions
(:func:`theory.equivalent_alpha_policies`). A capable general verifier can be sub-threshold on
one task: the rungs rise on MathVista, sit at 8-23% on MMMU, and cross the threshold downwards on
BLINK. Students: theory.STUDENTS ``default`` (the 2B) and ``second`` (the 3B); a task scales a
student's competence b by one factor (fitted for MMMU on the 2B, the 3B's follows).

Calibration (MMMU, 2B, selection reading): the task's accuracy factor (grid) and the training
budget R (any round up to ``rounds``) are fitted so that the rungs' damage spans the study's
3.4-10.9 pp, on the calibration's own seeds (``FIT_START`` ..: neither the pilot's nor the
confirmation's; :func:`calibrate`, shared by both runs); not used by the fit, hence
predictions: the order of damage across rungs, the 3B's range, the DPO-loss trend. A second
MMMU profile reads the study's 8-23% as verdict accuracy alpha (THEORY.md's example) with a
ladder whose bottom rung is near-random: the reading under which the model produces confidence
inversion.

Results layout (written and read here only; figures/ladder.py reads the same names): coordinate
``cell`` with ``cell_task``, ``cell_rung``, ``cell_student``, ``cell_main`` (1 for the 24 cells of
the main ladder), ``alpha``, ``kappa``, ``b``, ``a_pair``, ``selection``, ``threshold``,
``theory_change`` (first-order change over R, T1), ``capability``; ``heldout_acc`` (cell, seed,
round), ``loss_trained`` (cell, seed, step), ``delta`` (cell, seed: change at round R),
``loss_windows`` (cell, seed, window over rounds 1..R); attrs ``tasks``, ``students``, ``fit``
(JSON: per reading the fitted accuracy, task factor, R, miss, least and most damaging rung, and
``fit_seeds``), ``R``.

Rows (:func:`claims`): each a pre-registered test (``paper.claims.Test``) on a per-seed
statistic, decided on the confirmation seeds with the power from the pilot's (reproduce runs the
pilot on seeds 10000.. and the confirmation on 0..S-1 with S the seeds for 90% power).

The package, one module a job: ``profiles`` (the spec, task profiles -> verifiers, the cells),
``fit`` (the calibration), ``simulate`` (the run and the results layout), ``analysis`` (reading
a results file), ``rows`` (the claim rows and their pre-registered tests), ``report``
(ladder.md). reproduce's cache hashes every module of the package (code_fingerprint).
"""

from __future__ import annotations

from paper.experiments.ladder.analysis import advice, cells
from paper.experiments.ladder.fit import calibrate, damage_curves, fit_budget
from paper.experiments.ladder.profiles import (
    FIT_START,
    RUNGS,
    STUDY,
    TASKS,
    WINDOWS,
    b_for,
    fit_seeds,
    spec,
    task_verifiers,
)
from paper.experiments.ladder.report import markdown
from paper.experiments.ladder.rows import ROWS, claims
from paper.experiments.ladder.simulate import run

SWEEP = "ladder"
REPORT = "ladder.md"  # reproduce writes OUT/ladder.md from :func:`markdown`

__all__ = [
    "FIT_START",
    "REPORT",
    "ROWS",
    "RUNGS",
    "STUDY",
    "SWEEP",
    "TASKS",
    "WINDOWS",
    "advice",
    "b_for",
    "calibrate",
    "cells",
    "claims",
    "damage_curves",
    "fit_budget",
    "fit_seeds",
    "markdown",
    "run",
    "spec",
    "task_verifiers",
]
