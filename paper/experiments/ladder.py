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
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.stats import spearmanr

import theory
from paper.claims import Claim, Test, decide, powered_row, test_text
from paper.experiments import common
from sim.results import Results
from sim.stats import mean_ci

SWEEP = "ladder"
ROWS = (
    "LADDER-task",
    "LADDER-sides",
    "LADDER-silent",
    "LADDER-inversion",
    "LADDER-order",
    "LADDER-advice",
    "LADDER-fit",
    "LADDER-3B",
)

RUNGS = 4
STUDY = {"selection": [0.08, 0.13, 0.18, 0.23], "damage_pp": [3.4, 10.9]}
TASKS = ("MathVista", "MMMU", "BLINK", "MMMU-verdict")
WINDOWS = 4
REPORT = "ladder.md"  # reproduce writes OUT/ladder.md from :func:`markdown`
# the calibration's own seeds: neither pilot (10_000 ..) nor confirmation (0 ..) seeds
FIT_START = 20_000

# Pre-registered tests (fixed before the confirmation run; the pilot's SD gives the power and
# the seeds for 90% power). Changes in held-out accuracy (fractions; printed in pp): smallest
# effect of interest 2 pp, tolerance (widest allowed interval) 4 pp: the ladder's claims are
# about effects of the study's size (its smallest regression is 3.4 pp). History: first set at
# 1 pp (as the other change rows) and the loss's at 0.005; the first quick pilot asked 65 seeds
# for LADDER-sides and 917 for the loss (per-seed SD of the loss trend about 0.04 over R = 8
# rounds), so both were raised once, to the sizes the study's statements are about, before any
# confirmation run was read.
CHANGE_TEST = Test("greater", 0.02, 0.04, " pp", 100.0)
REGRESS_TEST = Test("less", 0.02, 0.04, " pp", 100.0)
# the DPO loss on trained pairs, last minus first quarter of the budget: falls by >= 0.03 (4%
# of its starting value log 2)
LOSS_TEST = Test("less", 0.03, 0.06)
# LADDER-sides tests only cells theory puts clearly off the threshold: |alpha - 1/2| >= 0.1
# (the full-run zero moves by up to about 0.02 in alpha, T1-long). History: first 0.15, as the
# replication row; that excluded every BLINK cell (its rungs sit 0.10-0.15 from 1/2 by design,
# the profile's point being a rung on each side), so it was lowered once, after the first quick
# run, to 0.1, which tests BLINK's rungs 1, 2 and 4 and leaves out rung 3 (alpha 0.45).
SIDES_MIN_DISTANCE = 0.1
# the advice: per seed (one training run per verifier, as a team has), Spearman rho of the
# change over the 12 main cells with the target-task margin minus that with capability > 0;
# smallest effect of interest 0.2 in rho, tolerance 0.4
ADVICE_TEST = Test("greater", 0.2, 0.4)
# the calibration (equals): the confirmation's least and most damaging MMMU rungs (which ones:
# fixed by the fit seeds) within 1.5 pp of the study's 3.4 and 10.9 pp (TOST), tolerance 3 pp
FIT_TEST = Test("equivalent", 0.015, 0.03, " pp", 100.0)


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


# ---------------------------------------------------------------- profiles -> verifiers ------


def _b_for(accuracy: float, K: int, mu: float) -> float:
    """Competence b whose initial held-out accuracy is ``accuracy`` (theory.heldout_accuracy0)."""
    return brentq(lambda b: theory.heldout_accuracy0(K, mu, b) - accuracy, -5.0, 20.0, xtol=1e-10)


def _fields(student: str, K: int, b: float) -> dict[str, Any]:
    return common.model_fields(student, K=K, b=b)


def _policies(fields: dict[str, Any], M: int) -> np.ndarray:
    return theory.theta0_policies(fields, M, seed=0)


def task_verifiers(p: dict, task: str, b_default: float) -> tuple[np.ndarray, np.ndarray]:
    """The rungs' (alpha, kappa) on ``task``: alpha from the stated selection accuracy on the
    2B's answer distributions (NaN where a rung's selection accuracy is out of reach)."""
    prof = p["tasks"][task]
    if "alpha" in prof:
        return np.array(prof["alpha"], float), np.array(prof["kappa"], float)
    kappa = np.array(p["rung_kappa"], float) * prof["kappa_scale"]
    pol = _policies(_fields("default", p["K"], b_default), p["policies"])
    alpha = np.full(RUNGS, np.nan)
    for r in range(RUNGS):
        try:
            alpha[r] = theory.equivalent_alpha_policies(prof["selection"][r], kappa[r], pol, p["n"])
        except ValueError:
            pass
    return alpha, kappa


def _cells(p: dict, student: str, task: str, c: float, alpha, kappa) -> list[dict]:
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


def _run_cells(p: dict, student: str, cells: list[dict], seeds: list[int], bar: common.Bar) -> Any:
    cfg = common.base_config(student, gate=p["gate"], rounds=p["rounds"], n=p["n"], K=p["K"])
    pts = {k: np.array([c[k] for c in cells]) for k in ("alpha", "kappa", "b")}
    return common.grid(cfg, pts, seeds, bar, f"ladder {student}")


def fit_seeds(p: dict) -> list[int]:
    """The calibration's seeds (FIT_START ..): never pilot or confirmation seeds."""
    return list(range(FIT_START, FIT_START + int(p["fit_seeds"])))


# ---------------------------------------------------------------- calibration ----------------


def damage_curves(heldout: np.ndarray) -> np.ndarray:
    """Seed-mean damage in pp at every round: heldout (rung, seed, round) -> (rung, round)."""
    return -100.0 * (heldout - heldout[..., :1]).mean(axis=1)


def fit_budget(curves: np.ndarray, target: tuple[float, float], r_min: int) -> tuple[int, float]:
    """The round R (>= r_min) whose min and max damage over rungs are nearest the target range:
    (R, root-mean-square miss in pp)."""
    lo, hi = curves.min(axis=0), curves.max(axis=0)
    miss = np.sqrt(0.5 * ((lo - target[0]) ** 2 + (hi - target[1]) ** 2))
    miss[:r_min] = np.inf
    R = int(np.argmin(miss))
    return R, float(miss[R])


# ---------------------------------------------------------------- run ------------------------


_FITS: dict[str, dict] = {}  # calibration by its parameters: the pilot's and confirmation's


def calibrate(p: dict, bar: common.Bar) -> dict:
    """Fit the MMMU profiles on the 2B on the fit seeds: per reading (MMMU, MMMU-verdict) the
    grid accuracy and budget R nearest the study's damage range, and which rungs do the least
    and most damage at R (the points LADDER-fit tests on the confirmation seeds)."""
    key = json.dumps({k: v for k, v in p.items() if k not in ("seeds", "pilot")}, sort_keys=True)
    if key in _FITS:
        return _FITS[key]
    K, mu_d, b_d = p["K"], theory.STUDENTS["default"].mu, theory.STUDENTS["default"].b
    grid_c = [_b_for(a, K, mu_d) / b_d for a in p["mmmu_accuracy_grid"]]
    cells: list[dict] = []
    for g, c in enumerate(grid_c):
        for t in ("MMMU", "MMMU-verdict"):
            alpha, kappa = task_verifiers(p, t, c * b_d)
            if np.isnan(alpha).any():
                continue  # 8% out of reach for this student accuracy: not a candidate
            cells += [{**cell, "grid": g} for cell in _cells(p, "default", t, c, alpha, kappa)]
    h = np.asarray(_run_cells(p, "default", cells, fit_seeds(p), bar).heldout_acc)
    fits = {}
    for t in ("MMMU", "MMMU-verdict"):
        best = None
        for g in range(len(grid_c)):
            idx = [i for i, c in enumerate(cells) if c["task"] == t and c["grid"] == g]
            if not idx:
                continue
            curves = damage_curves(h[idx])
            R, miss = fit_budget(curves, p["target_damage_pp"], max(3, p["rounds"] // 25))
            if best is None or miss < best["miss_pp"]:
                best = dict(
                    grid=g,
                    accuracy=p["mmmu_accuracy_grid"][g],
                    c=grid_c[g],
                    R=R,
                    miss_pp=miss,
                    least_rung=int(np.argmin(curves[:, R])) + 1,
                    most_rung=int(np.argmax(curves[:, R])) + 1,
                    damage_pp=[float(x) for x in curves[:, R]],
                )
        if best is None:
            raise ValueError(f"{t}: no grid accuracy reaches the study's rubric accuracies")
        fits[t] = best
    _FITS[key] = fits
    return fits


def run(p: dict, bar: common.Bar) -> common.Payload:
    """The calibration on its own seeds, then every task on both students at the fit."""
    K, mu_d, b_d = p["K"], theory.STUDENTS["default"].mu, theory.STUDENTS["default"].b
    fits = calibrate(p, bar)
    c_fit = {
        t: _b_for(v["accuracy"], K, mu_d) / b_d
        for t, v in p["tasks"].items()
        if v["accuracy"] != "fit"
    }
    c_fit.update({t: fits[t]["c"] for t in ("MMMU", "MMMU-verdict")})
    cells_d: list[dict] = []
    for t in TASKS:
        alpha, kappa = task_verifiers(p, t, c_fit[t] * b_d)
        if np.isnan(alpha).any():
            raise ValueError(f"task {t}: a rung's selection accuracy is out of reach")
        cells_d += _cells(p, "default", t, c_fit[t], alpha, kappa)
    # the same verifiers; the 3B's competence scaled by the same task factor
    cells_s = [
        {**c, "student": "second", "b": c["c"] * theory.STUDENTS["second"].b} for c in cells_d
    ]
    seeds = common.seed_range(p["seeds"])
    traj_d = _run_cells(p, "default", cells_d, seeds, bar)
    traj_s = _run_cells(p, "second", cells_s, seeds, bar)
    traj = type(traj_d)(*(np.concatenate([a, b]) for a, b in zip(traj_d, traj_s)))
    return _payload(p, cells_d + cells_s, traj, fits["MMMU"]["R"], fits, c_fit)


def _payload(p, cells, traj, R, fits, c_fit) -> common.Payload:
    n = p["n"]
    students = p["students"]
    h = np.asarray(traj.heldout_acc)
    loss = np.asarray(traj.loss_trained)[..., :R]
    windows = np.stack([w.mean(-1) for w in np.array_split(loss, WINDOWS, axis=-1)], -1)
    meas = {k: np.empty(len(cells)) for k in ("a_pair", "selection", "threshold", "theory")}
    for i, c in enumerate(cells):
        fields = _fields(c["student"], p["K"], c["b"])
        pol = _policies(fields, p["policies"])
        meas["a_pair"][i] = theory.pair_accuracy(c["alpha"], c["kappa"])
        both = theory.selection_accuracy_policies(np.array([c["alpha"], 0.5]), c["kappa"], pol, n)
        meas["selection"][i], meas["threshold"][i] = both
        est = theory.first_round_drift_estimate(
            c["alpha"],
            c["kappa"],
            common.student_dict(fields),
            n=n,
            eta=fields["eta"],
            beta=fields["beta"],
            n_samples=1 << 13,
        )
        meas["theory"][i] = R * est["heldout"]
    main = np.array([c["task"] != "MMMU-verdict" for c in cells], dtype=np.int32)
    coords = {
        "cell": np.arange(len(cells)),
        "seed": np.array(common.seed_range(p["seeds"])),
        "window": np.arange(WINDOWS),
        **common.round_coords(p["rounds"]),
    }
    data = {
        "heldout_acc": (("cell", "seed", "round"), h),
        "loss_trained": (("cell", "seed", "step"), np.asarray(traj.loss_trained)),
        "delta": (("cell", "seed"), h[..., R] - h[..., 0]),
        "loss_windows": (("cell", "seed", "window"), windows),
        "cell_task": (("cell",), np.array([TASKS.index(c["task"]) for c in cells])),
        "cell_rung": (("cell",), np.array([c["rung"] for c in cells])),
        "cell_student": (("cell",), np.array([students.index(c["student"]) for c in cells])),
        "cell_main": (("cell",), main),
        "capability": (("cell",), np.array([p["capability"][c["rung"]] for c in cells], float)),
        "alpha": (("cell",), np.array([c["alpha"] for c in cells])),
        "kappa": (("cell",), np.array([c["kappa"] for c in cells])),
        "b": (("cell",), np.array([c["b"] for c in cells])),
        "a_pair": (("cell",), meas["a_pair"]),
        "selection": (("cell",), meas["selection"]),
        "threshold": (("cell",), meas["threshold"]),
        "theory_change": (("cell",), meas["theory"]),
    }
    fit = fits
    attrs = {
        "tasks": json.dumps(list(TASKS)),
        "students": json.dumps(students),
        "fit": json.dumps(
            {
                "fits": fit,
                "task_factor": c_fit,
                "target_pp": p["target_damage_pp"],
                "grid": p["mmmu_accuracy_grid"],
                "fit_seeds": fit_seeds(p),
            }
        ),
        "R": int(R),
        "bootstrap": int(p["bootstrap"]),
    }
    return coords, data, attrs


# ---------------------------------------------------------------- analysis -------------------


def _json(res: Results, key: str) -> Any:
    return json.loads(res.attrs[key])


def cells(res: Results) -> list[dict[str, Any]]:
    """One dict per cell: labels, the three measures, theory's side and change, the simulated
    change at R with its 95% interval (pp), and the DPO-loss trend (last minus first window)."""
    tasks, students = _json(res, "tasks"), _json(res, "students")
    out = []
    for i in range(len(res.coords["cell"])):
        m, lo, hi, _ = mean_ci(100.0 * res["delta"][i], axis=0)
        w = res["loss_windows"][i]
        lm, llo, lhi, _ = mean_ci(w[:, -1] - w[:, 0], axis=0)
        sel, thr = float(res["selection"][i]), float(res["threshold"][i])
        out.append(
            dict(
                task=tasks[int(res["cell_task"][i])],
                rung=int(res["cell_rung"][i]) + 1,
                student=students[int(res["cell_student"][i])],
                main=bool(res["cell_main"][i]),
                capability=float(res["capability"][i]),
                alpha=float(res["alpha"][i]),
                kappa=float(res["kappa"][i]),
                a_pair=float(res["a_pair"][i]),
                selection=sel,
                threshold=thr,
                side="above" if res["alpha"][i] > 0.5 else "below",
                theory_pp=100.0 * float(res["theory_change"][i]),
                sim_pp=(float(m), float(lo), float(hi)),
                loss_first=float(w[:, 0].mean()),
                loss_last=float(w[:, -1].mean()),
                loss_trend=(float(lm), float(llo), float(lhi)),
            )
        )
    return out


def _pick(cs: list[dict], **kw: Any) -> list[int]:
    return [i for i, c in enumerate(cs) if all(c[k] == v for k, v in kw.items())]


def advice(res: Results, student: str) -> dict[str, Any]:
    """The study's advice tested: Spearman rank correlation of the simulated change with the
    target-task rubric accuracy (selection minus its threshold; raw selection) and with general
    capability over the 12 main cells, with a seed bootstrap (percentile 95%) of the difference."""
    cs = cells(res)
    idx = [i for i in _pick(cs, student=student, main=True)]
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


# ---------------------------------------------------------------- claims ---------------------
#
# Every row is a pre-registered test (paper.claims.Test, decided by paper.claims.decide): a
# per-seed statistic per point, computed the same way on the pilot (its SD gives the power and
# the seeds for 90% power) and on the confirmation (the verdict); Bonferroni over a row's points.


def _labels(res: Results) -> list[dict[str, Any]]:
    """Per cell: task, rung (1-based), student, main, alpha, selection, threshold."""
    tasks, students = _json(res, "tasks"), _json(res, "students")
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


def _one(res: Results, **kw: Any) -> int:
    return _pick(_labels(res), **kw)[0]


def _delta(res: Results) -> np.ndarray:
    return np.asarray(res["delta"], dtype=float)  # (cell, seed)


def _decide(test: Test, stat: Any, res: Results, pilot: Results | None) -> dict[str, Any]:
    """``decide`` on ``stat(res)`` with the pilot's ``stat(pilot)`` for power."""
    return decide(test, stat(res), None if pilot is None else stat(pilot))


def _both(d1: dict[str, Any], d2: dict[str, Any]) -> dict[str, Any]:
    """Two tests that must both pass (intersection-union: each at its own level): verdict holds
    if both hold, else underpowered if either is, else fails; the lower power, the larger need."""
    if d1["holds"] and d2["holds"]:
        verdict = "holds"
    elif "underpowered" in (d1["verdict"], d2["verdict"]):
        verdict = "underpowered"
    else:
        verdict = "fails"
    powers = [x["power"] for x in (d1, d2) if not math.isnan(x["power"])]
    needs = [x["seeds_for_power"] for x in (d1, d2) if x["seeds_for_power"] is not None]
    return {
        **d1,
        "verdict": verdict,
        "holds": verdict == "holds",
        "power": min(powers) if powers else math.nan,
        "seeds_for_power": max(needs) if needs else None,
    }


def claims(res: Results, meta: dict, pilot: Results | None = None) -> list[Claim]:
    """LADDER-* rows (see ROWS), each a pre-registered test on the confirmation seeds of
    ``res`` with the power from ``pilot`` (None: power not computed)."""
    cs = cells(res)
    return [
        _task(res, cs, meta, pilot),
        _sides(res, cs, meta, pilot),
        _silent(res, cs, meta, pilot),
        _inversion(res, cs, meta, pilot),
        _order(res, cs, meta, pilot),
        _advice(res, meta, pilot),
        _fit(res, cs, meta, pilot),
        _second(res, cs, meta, pilot),
    ]


def _pp(c: dict) -> str:
    m, lo, hi = c["sim_pp"]
    return f"{m:+.2f} pp [{lo:+.2f}, {hi:+.2f}]"


def _task(res, cs, meta, pilot) -> Claim:
    statement = (
        "a verifier that improves the 2B student on MathVista regresses it on MMMU "
        "(the most capable rung; model: verifier quality is task-specific)"
    )

    def stat(r: Results) -> np.ndarray:
        d = _delta(r)
        mv = _one(r, student="default", task="MathVista", rung=RUNGS)
        mm = _one(r, student="default", task="MMMU", rung=RUNGS)
        return np.stack([d[mv], -d[mm]])  # both > 0 if the claim holds

    d = _decide(CHANGE_TEST, stat, res, pilot)
    mv = cs[_pick(cs, student="default", task="MathVista", rung=RUNGS)[0]]
    mm = cs[_pick(cs, student="default", task="MMMU", rung=RUNGS)[0]]
    both = [
        r
        for r in range(1, RUNGS + 1)
        if cs[_pick(cs, student="default", task="MathVista", rung=r)[0]]["sim_pp"][1] > 0
        and min(cs[j]["sim_pp"][2] for j in _pick(cs, student="default", rung=r, main=True)) < 0
    ]
    return powered_row(
        "LADDER-task",
        statement,
        CHANGE_TEST,
        d,
        theory=(mv["theory_pp"], -mm["theory_pp"])[d["worst"]] / 100.0,
        theory_text=f"first-order change over R at the worst point, as a fraction (MathVista "
        f"{mv['theory_pp']:+.3g} pp, MMMU {mm['theory_pp']:+.3g} pp)",
        detail=f"rung {RUNGS}, points: the MathVista change (> 0) and minus the MMMU change "
        f"(> 0); MathVista {_pp(mv)}, MMMU {_pp(mm)} (95%); rungs helping on MathVista and "
        f"hurting on another task (95% intervals, descriptive): {both}",
        meta=meta,
    )


def _sides_idx(r: Results) -> list[int]:
    return [
        i
        for i, c in enumerate(_labels(r))
        if c["main"] and abs(c["alpha"] - 0.5) >= SIDES_MIN_DISTANCE - 1e-12
    ]


def _sides(res, cs, meta, pilot) -> Claim:
    statement = (
        "in every (rung, task, student) cell of the ladder clearly off the threshold "
        f"(|alpha - 1/2| >= {SIDES_MIN_DISTANCE:g}) the sign of the simulated change is the side "
        "of theory's threshold in the selection measure the study reports"
    )

    def stat(r: Results) -> np.ndarray:
        lab, idx = _labels(r), _sides_idx(r)
        side = np.array([np.sign(lab[i]["selection"] - lab[i]["threshold"]) for i in idx])
        return side[:, None] * _delta(r)[idx]

    d = _decide(CHANGE_TEST, stat, res, pilot)
    idx = _sides_idx(res)
    main = [i for i, c in enumerate(cs) if c["main"]]
    w = cs[idx[d["worst"]]]
    near = [f"{cs[i]['student']}/{cs[i]['task']}/{cs[i]['rung']}" for i in main if i not in idx]
    return powered_row(
        "LADDER-sides",
        statement,
        CHANGE_TEST,
        d,
        theory=1.0,
        theory_text="sign of (selection - threshold), i.e. of alpha - 1/2 (T1)",
        detail=f"{len(idx)} of {len(main)} main cells tested (statistic: sign(selection - "
        f"threshold) x change at R); not tested (nearer the threshold): {near or 'none'}; "
        f"worst cell {w['student']}/{w['task']}/rung {w['rung']} {_pp(w)}",
        meta=meta,
    )


def _silent(res, cs, meta, pilot) -> Claim:
    statement = (
        "on MMMU every rung regresses both students while the DPO loss on trained pairs falls "
        "(last minus first quarter of the budget), as the study reports (T4)"
    )

    def idx(r: Results) -> list[int]:
        return _pick(_labels(r), task="MMMU")

    def change(r: Results) -> np.ndarray:
        return _delta(r)[idx(r)]

    def trend(r: Results) -> np.ndarray:
        w = np.asarray(r["loss_windows"], dtype=float)[idx(r)]
        return w[..., -1] - w[..., 0]

    d1 = _decide(REGRESS_TEST, change, res, pilot)
    d2 = _decide(LOSS_TEST, trend, res, pilot)
    d = _both(d1, d2)
    i = _pick(cs, task="MMMU")
    worst = cs[i[d2["worst"]]]
    return powered_row(
        "LADDER-silent",
        statement,
        REGRESS_TEST,
        d,
        theory=None,
        theory_text="T4: the trained-pair loss falls whatever the verifier",
        detail=f"{len(i)} MMMU cells (2 students x {RUNGS} rungs); both tests must pass "
        f"(intersection-union). Loss: {test_text(LOSS_TEST, d2)}; least clear loss trend "
        f"{worst['student']} rung {worst['rung']}. Change at R",
        meta=meta,
    )


def _pair_stat(task: str):
    def stat(r: Results) -> np.ndarray:
        d = _delta(r)
        i1 = _one(r, student="default", task=task, rung=1)
        i4 = _one(r, student="default", task=task, rung=RUNGS)
        return d[i1] - d[i4]  # damage of the top rung minus damage of the bottom rung

    return stat


def _inversion(res, cs, meta, pilot) -> Claim:
    statement = (
        "confidence inversion along the ladder (MMMU, 8-23% read as verdict accuracy alpha, "
        "confidence rising with capability): the top rung damages the 2B more than the bottom"
    )
    c1 = cs[_pick(cs, student="default", task="MMMU-verdict", rung=1)[0]]
    c4 = cs[_pick(cs, student="default", task="MMMU-verdict", rung=RUNGS)[0]]
    predicted = bool(theory.inverts(c4["alpha"], c4["kappa"], c1["alpha"], c1["kappa"]))
    rate = float(
        theory.damage_rate(c4["alpha"], c4["kappa"]) - theory.damage_rate(c1["alpha"], c1["kappa"])
    )
    d = _decide(CHANGE_TEST, _pair_stat("MMMU-verdict"), res, pilot)
    if not predicted and d["holds"]:
        d = {**d, "verdict": "fails", "holds": False}
    return powered_row(
        "LADDER-inversion",
        statement,
        CHANGE_TEST,
        d,
        theory=(c1["theory_pp"] - c4["theory_pp"]) / 100.0,
        theory_text="first-order damage, top minus bottom rung, over R (fraction); T5's "
        f"damage-rate difference {rate:+.3f} (predicts {'inversion' if predicted else 'none'})",
        detail=f"statistic: damage of the top rung minus the bottom, paired by seed (theory "
        f"must predict inversion: {'yes' if predicted else 'NO'}); in the selection measure "
        f"the top rung reads {c4['selection']:.3f} and the bottom {c1['selection']:.3f}: "
        "ordered by selection accuracy there is no inversion",
        meta=meta,
    )


def _order(res, cs, meta, pilot) -> Claim:
    statement = (
        "study: on MMMU the more confident verifiers did more damage; model (selection reading, "
        "confidence and 8-23% rising with capability): the top rung damages the 2B more"
    )
    i1 = _pick(cs, student="default", task="MMMU", rung=1)[0]
    i4 = _pick(cs, student="default", task="MMMU", rung=RUNGS)[0]
    d = _decide(CHANGE_TEST, _pair_stat("MMMU"), res, pilot)
    order = sorted(_pick(cs, student="default", task="MMMU"), key=lambda i: cs[i]["sim_pp"][0])
    return powered_row(
        "LADDER-order",
        statement,
        CHANGE_TEST,
        d,
        theory=(cs[i1]["theory_pp"] - cs[i4]["theory_pp"]) / 100.0,
        theory_text="first-order damage, top minus bottom rung, over R (fraction)",
        detail=f"statistic: damage of the top rung minus the bottom, paired by seed (the "
        f"study's order needs > 0); rungs from most to least damage: "
        f"{[cs[i]['rung'] for i in order]}; along a selection-accuracy contour theory's damage "
        "barely moves with kappa, so damage follows selection accuracy, not confidence",
        meta=meta,
        kind="boundary",
    )


def _rho_diff(d: np.ndarray, margin: np.ndarray, cap: np.ndarray) -> float:
    """Spearman rho of the change with the target-task margin minus that with capability."""
    return float(spearmanr(margin, d)[0] - spearmanr(cap, d)[0])


def _advice_stat(r: Results) -> np.ndarray:
    """(student, seed): per seed, rho(change, target-task margin) - rho(change, capability)
    over the student's 12 main cells (one run per verifier, as a team has)."""
    lab = _labels(r)
    out = []
    for s in _json(r, "students"):
        idx = _pick(lab, student=s, main=True)
        d = _delta(r)[idx]
        margin = np.array([lab[i]["selection"] - lab[i]["threshold"] for i in idx])
        cap = np.asarray(r["capability"], dtype=float)[idx]
        out.append([_rho_diff(d[:, j], margin, cap) for j in range(d.shape[1])])
    return np.array(out)


def _advice(res, meta, pilot) -> Claim:
    statement = (
        "the study's advice: ranking verifiers by target-task rubric accuracy (selection minus "
        "its threshold) predicts the students' outcomes better than ranking by general capability"
    )
    d = _decide(ADVICE_TEST, _advice_stat, res, pilot)
    outs = {s: advice(res, s) for s in _json(res, "students")}
    text = "; ".join(
        f"{s}: rho(target) {o['rho_margin']:+.2f}, rho(raw selection) {o['rho_selection']:+.2f}, "
        f"rho(capability) {o['rho_capability']:+.2f}, difference {o['diff']:+.2f} "
        f"(bootstrap 95% [{o['diff_ci'][0]:+.2f}, {o['diff_ci'][1]:+.2f}])"
        for s, o in outs.items()
    )
    return powered_row(
        "LADDER-advice",
        statement,
        ADVICE_TEST,
        d,
        theory=None,
        theory_text="T1: the sign follows the side of the target task's threshold",
        detail=f"Spearman over the 12 main cells per student; points: the two students; "
        f"statistic: per seed, rho(target) - rho(capability); on seed means: {text}",
        meta=meta,
    )


def _fit_stat(r: Results) -> np.ndarray:
    """(2, seed): damage of the fit's least and most damaging MMMU rungs (2B) at R minus the
    study's 3.4 and 10.9 pp (fractions)."""
    f = _json(r, "fit")
    lo, hi = f["target_pp"]
    d = _delta(r)
    least = d[_one(r, student="default", task="MMMU", rung=f["fits"]["MMMU"]["least_rung"])]
    most = d[_one(r, student="default", task="MMMU", rung=f["fits"]["MMMU"]["most_rung"])]
    return np.stack([-least - lo / 100.0, -most - hi / 100.0])


def _fit(res, cs, meta, pilot) -> Claim:
    fit = _json(res, "fit")
    f = fit["fits"]["MMMU"]
    v = fit["fits"]["MMMU-verdict"]
    lo, hi = fit["target_pp"]
    fs = fit["fit_seeds"]
    dmg = sorted(-cs[i]["sim_pp"][0] for i in _pick(cs, student="default", task="MMMU"))
    statement = (
        f"calibration: the MMMU profile reproduces the study's pairing (selection accuracy "
        f"8-23% with {lo:g}-{hi:g} pp regression of the 2B), fitted on its own seeds and "
        "checked on the confirmation's"
    )
    d = _decide(FIT_TEST, _fit_stat, res, pilot)
    target = (lo, hi)[d["worst"]] / 100.0  # the statistic is damage minus the study's value
    return powered_row(
        "LADDER-fit",
        statement,
        FIT_TEST,
        d,
        theory=target,
        theory_text="the study's damage at that end of its range (the row reports the model's "
        "damage of the rung there; fitted: the 2B's MMMU accuracy and the budget R)",
        offset=target,
        detail=f"fit on seeds {fs[0]}..{fs[-1]} ({len(fs)}): 2B accuracy on MMMU "
        f"{f['accuracy']:g} (task factor {f['c']:.3f} on b), budget R = {f['R']} rounds, rms "
        f"miss {f['miss_pp']:.2f} pp (damage by rung {[round(x, 2) for x in f['damage_pp']]} pp;"
        f" least rung {f['least_rung']}, most rung {f['most_rung']}); points: their damage on "
        f"the confirmation seeds minus {lo:g} and {hi:g} pp; confirmation damage "
        f"{dmg[0]:.3g}-{dmg[-1]:.3g} pp; verdict reading: accuracy {v['accuracy']:g}, "
        f"R = {v['R']}, miss {v['miss_pp']:.2f} pp",
        meta=meta,
        kind="boundary",
    )


def _second(res, cs, meta, pilot) -> Claim:
    statement = (
        "prediction (not fitted): with the same verifiers and task factor every MMMU rung "
        "regresses the 3B student too (the study: the same held for the 3B)"
    )
    idx = _pick(cs, student="second", task="MMMU")
    d = _decide(
        REGRESS_TEST,
        lambda r: _delta(r)[_pick(_labels(r), student="second", task="MMMU")],
        res,
        pilot,
    )
    sel = [cs[i]["selection"] for i in idx]
    dm = [-cs[i]["sim_pp"][0] for i in idx]
    return powered_row(
        "LADDER-3B",
        statement,
        REGRESS_TEST,
        d,
        theory=cs[idx[d["worst"]]]["theory_pp"] / 100.0,
        theory_text="first-order change over R of the worst rung (fraction)",
        detail=f"{len(idx)} 3B MMMU cells; 3B damage {min(dm):.3g}-{max(dm):.3g} pp; its "
        f"selection accuracy on MMMU {min(sel):.3f}-{max(sel):.3f}",
        meta=meta,
    )


# ---------------------------------------------------------------- ladder.md ------------------


def markdown(res: Results) -> str:
    """ladder.md: per (student, task, rung) the three measures, theory's change, the simulated
    change with its 95% interval and the DPO-loss trend; the calibration; the advice test."""
    cs = cells(res)
    fit = _json(res, "fit")
    R = int(res.attrs["R"])
    f, v = fit["fits"]["MMMU"], fit["fits"]["MMMU-verdict"]
    lines = [
        "# The verifier ladder",
        "",
        f"Four verifier rungs x three task profiles (+ MMMU read as verdict accuracy) x two "
        f"students; uniform replay, n = 4 samples, K = 4 options, budget R = {R} rounds "
        f"(fitted), {_seeds_text(res)}. Measures as a team computes them: "
        "verdict accuracy alpha (chance 1/2), pair accuracy (a correct vs an incorrect answer "
        "ordered right, chance 1/2) and selection accuracy (top-scored of 4 samples of the "
        "student is correct, among questions with a correct sample; pooled over the student's "
        "answer distributions) with its threshold (value at alpha = 1/2, T1). Theory: first-order "
        "change over R (T1 at theta0 times R; the sign is the prediction, the size is first "
        "order). Loss: mean DPO loss on trained pairs, first -> last quarter of the budget.",
        "",
        "| student | task | rung | kappa | alpha | pair | selection | threshold | side | "
        "theory (pp) | simulated (pp) [95% CI] | DPO loss |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cs:
        m, lo, hi = c["sim_pp"]
        lines.append(
            f"| {c['student']} | {c['task']} | {c['rung']} | {c['kappa']:.2f} | "
            f"{c['alpha']:.3f} | {c['a_pair']:.3f} | {c['selection']:.3f} | "
            f"{c['threshold']:.3f} | {c['side']} | {c['theory_pp']:+.1f} | "
            f"{m:+.1f} [{lo:+.1f}, {hi:+.1f}] | {c['loss_first']:.3f} -> {c['loss_last']:.3f} |"
        )
    lines += [
        "",
        "## Calibration against the study (MMMU)",
        "",
        f"Fitted on the 2B (default) student: its MMMU accuracy {f['accuracy']:g} (grid "
        f"{fit['grid']}; task factor {f['c']:.3f} on b) and the budget R = {f['R']}, "
        f"to make the four rungs' damage span {fit['target_pp'][0]:g}-{fit['target_pp'][1]:g} pp "
        f"at selection accuracies 8-23%: rms miss {f['miss_pp']:.2f} pp. Reading 8-23% as "
        f"verdict accuracy instead: accuracy {v['accuracy']:g}, R = {v['R']}, miss "
        f"{v['miss_pp']:.2f} pp. Not used by the fit: the order of damage across rungs, the 3B's "
        "range and selection accuracies, the DPO-loss trend (rows LADDER-order, LADDER-3B, "
        "LADDER-silent).",
        "",
        _why(cs, fit),
        "",
        "## The study's advice",
        "",
    ]
    for s in _json(res, "students"):
        a = advice(res, s)
        lines.append(
            f"- {s}: Spearman rho of the change with target-task selection accuracy minus its "
            f"threshold {a['rho_margin']:+.2f} {_ci(a['rho_ci']['margin'])}, with raw selection "
            f"accuracy {a['rho_selection']:+.2f} {_ci(a['rho_ci']['selection'])}, with general "
            f"capability {a['rho_capability']:+.2f} {_ci(a['rho_ci']['capability'])}; "
            f"difference (target - capability) {a['diff']:+.2f} {_ci(a['diff_ci'])}."
        )
    lines += [
        "",
        "Within one task (4 rungs, seed-mean change; Spearman rho of the change with each "
        "measure and with capability):",
        "",
        "| student | task | verdict alpha | pair | selection | capability |",
        "|---|---|---|---|---|---|",
    ]
    for s in _json(res, "students"):
        for t in TASKS:
            idx = _pick(cs, student=s, task=t)
            if len(idx) < 2:
                continue
            d = [cs[i]["sim_pp"][0] for i in idx]
            rho = [
                spearmanr([cs[i][k] for i in idx], d)[0]
                for k in ("alpha", "a_pair", "selection", "capability")
            ]
            lines.append(f"| {s} | {t} | " + " | ".join(f"{r:+.2f}" for r in rho) + " |")
    return "\n".join(lines) + "\n"


def _why(cs: list[dict], fit: dict) -> str:
    """Why the selection reading misses: the model's damage ratio across 8-23% vs the study's."""
    mm = [cs[i] for i in _pick(cs, student="default", task="MMMU")]
    sim = [-c["sim_pp"][0] for c in mm]
    th = [-c["theory_pp"] for c in mm]
    lo, hi = fit["target_pp"]
    return (
        f"Why: at selection accuracies 8-23% the model's damage ratio, most- over least-damaging "
        f"rung, is {max(sim) / min(sim):.2f} simulated and {max(th) / min(th):.2f} at first "
        f"order (T1: damage is proportional to 1 - 2 a_pair, and along a contour of fixed "
        f"selection accuracy a_pair barely moves with kappa), while the study's "
        f"{hi:g}/{lo:g} = {hi / lo:.2f}; the fit trades the two ends off. Read as verdict "
        "accuracy with confidence rising from near-random, 8-23% spans a wider damage ratio "
        "(T5: damage is proportional to (1 - 2 alpha) erf(kappa)), which is why that reading fits."
    )


def _seeds_text(res: Results) -> str:
    """The seeds behind the table and the fit (the pilot's are in the rows of claims.md)."""
    seeds = [int(x) for x in res.coords["seed"]]
    fs = _json(res, "fit").get("fit_seeds", [])
    text = f"{len(seeds)} seeds per cell ({seeds[0]}..{seeds[-1]})"
    if fs:
        text += f", the calibration fitted on its own {len(fs)} seeds ({fs[0]}..{fs[-1]})"
    return (
        text + "; the LADDER-* rows of claims.md decide each claim on these seeds by a "
        "pre-registered test whose power comes from a pilot on other seeds"
    )


def _ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"
