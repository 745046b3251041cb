"""The ladder's task profiles and verifiers: the spec, competence b per task, the rungs' (alpha,
kappa) from a stated selection accuracy, and the cells the engine runs (one per rung, task and
student). See paper/experiments/ladder/__init__.py for the experiment as a whole."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from scipy.optimize import brentq

import theory
from paper.experiments import common

RUNGS = 4
STUDY = {"selection": [0.08, 0.13, 0.18, 0.23], "damage_pp": [3.4, 10.9]}
TASKS = ("MathVista", "MMMU", "BLINK", "MMMU-verdict")
WINDOWS = 4
# the calibration's own seeds: neither pilot (10_000 ..) nor confirmation (0 ..) seeds
FIT_START = 20_000


def spec(quick: bool) -> dict:
    """The experiment's parameters (task profiles, rungs, calibration grid, seeds)."""
    return dict(
        students=["default", "second"],
        K=4,
        n=4,
        gate="uniform",
        rounds=100 if quick else 200,
        pilot=16,
        min_seeds=16,
        max_seeds=48 if quick else 128,
        fit_seeds=16 if quick else 48,
        policies=600,
        rung_kappa=[1.5, 2.0, 2.5, 3.0],
        capability=[1, 2, 3, 4],
        tasks={
            "MathVista": {
                "accuracy": 0.55,
                "kappa_scale": 1.0,
                "selection": [0.7, 0.76, 0.82, 0.88],
            },
            "MMMU": {"accuracy": "fit", "kappa_scale": 1.0, "selection": STUDY["selection"]},
            "BLINK": {"accuracy": 0.45, "kappa_scale": 0.8, "selection": [0.62, 0.58, 0.44, 0.36]},
            "MMMU-verdict": {
                "accuracy": "fit",
                "alpha": STUDY["selection"],
                "kappa": [0.2, 0.6, 1.2, 3.0],
            },
        },
        mmmu_accuracy_grid=[0.3, 0.35, 0.4],  # nearer chance (0.25) only trades 0.1 pp of miss
        target_damage_pp=STUDY["damage_pp"],
        bootstrap=1000,
    )


@functools.lru_cache(maxsize=256)
def b_for(accuracy: float, K: int, mu: float) -> float:
    """Competence b whose initial held-out accuracy is ``accuracy`` (theory.heldout_accuracy0).

    Once per process for its inputs: the calibration, the pilot and the confirmation ask for
    the same roots (about 1.5 s each)."""
    return brentq(lambda b: theory.heldout_accuracy0(K, mu, b) - accuracy, -5.0, 20.0, xtol=1e-10)


def student_fields(student: str, K: int, b: float) -> dict[str, Any]:
    return common.model_fields(student, K=K, b=b)


def policies(fields: dict[str, Any], M: int) -> np.ndarray:
    return theory.theta0_policies(fields, M, seed=0)


def task_verifiers(p: dict, task: str, b_default: float) -> tuple[np.ndarray, np.ndarray]:
    """The rungs' (alpha, kappa) on ``task``: alpha from the stated selection accuracy on the
    2B's answer distributions (NaN where a rung's selection accuracy is out of reach)."""
    prof = p["tasks"][task]
    if "alpha" in prof:
        return np.array(prof["alpha"], float), np.array(prof["kappa"], float)
    kappa = np.array(p["rung_kappa"], float) * prof["kappa_scale"]
    pol = policies(student_fields("default", p["K"], b_default), p["policies"])
    alpha = np.full(RUNGS, np.nan)
    for r in range(RUNGS):
        try:
            alpha[r] = theory.equivalent_alpha_policies(prof["selection"][r], kappa[r], pol, p["n"])
        except ValueError:
            pass
    return alpha, kappa


def rung_cells(p: dict, student: str, task: str, c: float, alpha, kappa) -> list[dict]:
    """One cell per rung: the student's b on the task is c times its own b."""
    st = theory.STUDENTS[student]
    return [
        dict(
            task=task,
            rung=r,
            student=student,
            alpha=float(alpha[r]),
            kappa=float(kappa[r]),
            b=c * st.b,
            c=c,
        )
        for r in range(RUNGS)
    ]


def run_cells(p: dict, student: str, cells: list[dict], seeds: list[int], bar: common.Bar) -> Any:
    cfg = common.base_config(student, gate=p["gate"], rounds=p["rounds"], n=p["n"], K=p["K"])
    pts = {k: np.array([c[k] for c in cells]) for k in ("alpha", "kappa", "b")}
    return common.grid(cfg, pts, seeds, bar, f"ladder {student}")


def fit_seeds(p: dict) -> list[int]:
    """The calibration's seeds (FIT_START ..): never pilot or confirmation seeds."""
    return list(range(FIT_START, FIT_START + int(p["fit_seeds"])))
