"""Reading the ladder's results file: per-cell labels and summaries, and the advice test
(Spearman rank correlations with a seed bootstrap); shared by the rows and the report."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from sim.results import Results
from sim.stats import mean_ci


def attr_json(res: Results, key: str) -> Any:
    return json.loads(res.attrs[key])


def cells(res: Results) -> list[dict[str, Any]]:
    """One dict per cell: its :func:`labels`, capability, kappa, pair accuracy, theory's side
    and change, the simulated change at R with its 95% interval (pp), and the DPO-loss trend
    (last minus first window)."""
    out = []
    for i, lab in enumerate(labels(res)):
        m, lo, hi, _ = mean_ci(100.0 * res["delta"][i], axis=0)
        w = res["loss_windows"][i]
        lm, llo, lhi, _ = mean_ci(w[:, -1] - w[:, 0], axis=0)
        out.append(
            dict(
                lab,
                capability=float(res["capability"][i]),
                kappa=float(res["kappa"][i]),
                a_pair=float(res["a_pair"][i]),
                side="above" if lab["alpha"] > 0.5 else "below",
                theory_pp=100.0 * float(res["theory_change"][i]),
                sim_pp=(float(m), float(lo), float(hi)),
                loss_first=float(w[:, 0].mean()),
                loss_last=float(w[:, -1].mean()),
                loss_trend=(float(lm), float(llo), float(lhi)),
            )
        )
    return out


def pick(cs: list[dict], **kw: Any) -> list[int]:
    return [i for i, c in enumerate(cs) if all(c[k] == v for k, v in kw.items())]


def advice(res: Results, student: str) -> dict[str, Any]:
    """The study's advice tested: Spearman rank correlation of the simulated change with the
    target-task rubric accuracy (selection minus its threshold; raw selection) and with general
    capability over the 12 main cells, with a seed bootstrap (percentile 95%) of the difference."""
    cs = cells(res)
    idx = [i for i in pick(cs, student=student, main=True)]
    d = res["delta"][idx]  # (cell, seed)
    margin = np.array([cs[i]["selection"] - cs[i]["threshold"] for i in idx])
    raw = np.array([cs[i]["selection"] for i in idx])
    cap = np.array([cs[i]["capability"] for i in idx])

    def rhos(mean: np.ndarray) -> np.ndarray:
        return np.array([spearmanr(x, mean)[0] for x in (margin, raw, cap)])

    point = rhos(d.mean(1))
    rng = np.random.default_rng(0)
    S = d.shape[1]
    boot = np.array(
        [rhos(d[:, rng.integers(0, S, S)].mean(1)) for _ in range(int(res.attrs["bootstrap"]))]
    )
    diff = boot[:, 0] - boot[:, 2]
    return dict(
        rho_margin=float(point[0]),
        rho_selection=float(point[1]),
        rho_capability=float(point[2]),
        diff=float(point[0] - point[2]),
        diff_ci=(float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))),
        rho_ci={
            k: (float(np.percentile(boot[:, j], 2.5)), float(np.percentile(boot[:, j], 97.5)))
            for j, k in enumerate(("margin", "selection", "capability"))
        },
    )


def labels(res: Results) -> list[dict[str, Any]]:
    """Per cell: task, rung (1-based), student, main, alpha, selection, threshold."""
    tasks, students = attr_json(res, "tasks"), attr_json(res, "students")
    return [
        dict(
            task=tasks[int(res["cell_task"][i])],
            rung=int(res["cell_rung"][i]) + 1,
            student=students[int(res["cell_student"][i])],
            main=bool(res["cell_main"][i]),
            alpha=float(res["alpha"][i]),
            selection=float(res["selection"][i]),
            threshold=float(res["threshold"][i]),
        )
        for i in range(len(res.coords["cell"]))
    ]


def one(res: Results, **kw: Any) -> int:
    return pick(labels(res), **kw)[0]


def delta(res: Results) -> np.ndarray:
    return np.asarray(res["delta"], dtype=float)  # (cell, seed)
