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
3.4-10.9 pp; not used by the fit, hence predictions: the order of damage across rungs, the 3B's
range, the DPO-loss trend. A second MMMU profile reads the study's 8-23% as verdict accuracy alpha
(THEORY.md's example) with a ladder whose bottom rung is near-random: the reading under which the
model produces confidence inversion.

Results layout (written and read here only; figures/ladder.py reads the same names): coordinate
``cell`` with ``cell_task``, ``cell_rung``, ``cell_student``, ``cell_main`` (1 for the 24 cells of
the main ladder), ``alpha``, ``kappa``, ``b``, ``a_pair``, ``selection``, ``threshold``,
``theory_change`` (first-order change over R, T1), ``capability``; ``heldout_acc`` (cell, seed,
round), ``loss_trained`` (cell, seed, step), ``delta`` (cell, seed: change at round R),
``loss_windows`` (cell, seed, window over rounds 1..R); attrs ``tasks``, ``students``, ``fit``
(JSON), ``R``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.stats import spearmanr

import theory
from paper.claims import Claim, ci_text, row
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


def spec(quick: bool) -> dict:
    """The experiment's parameters (task profiles, rungs, calibration grid, seeds)."""
    return dict(
        students=["default", "second"],
        K=4,
        n=4,
        gate="uniform",
        rounds=100 if quick else 200,
        seeds=16 if quick else 48,
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


def _run_cells(p: dict, student: str, cells: list[dict], bar: common.Bar) -> Any:
    cfg = common.base_config(student, gate=p["gate"], rounds=p["rounds"], n=p["n"], K=p["K"])
    pts = {k: np.array([c[k] for c in cells]) for k in ("alpha", "kappa", "b")}
    return common.grid(cfg, pts, common.seed_range(p["seeds"]), bar, f"ladder {student}")


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


def run(p: dict, bar: common.Bar) -> common.Payload:
    """Default student: every task, MMMU on its accuracy grid; fit; second student at the fit."""
    K, mu_d, b_d = p["K"], theory.STUDENTS["default"].mu, theory.STUDENTS["default"].b
    c_of = {
        t: _b_for(v["accuracy"], K, mu_d) / b_d
        for t, v in p["tasks"].items()
        if v["accuracy"] != "fit"
    }
    grid_c = [_b_for(a, K, mu_d) / b_d for a in p["mmmu_accuracy_grid"]]
    cells: list[dict] = []
    for t, c in c_of.items():
        alpha, kappa = task_verifiers(p, t, c * b_d)
        if np.isnan(alpha).any():
            raise ValueError(f"task {t}: a rung's selection accuracy is out of reach")
        cells += _cells(p, "default", t, c, alpha, kappa)
    for g, c in enumerate(grid_c):
        for t in ("MMMU", "MMMU-verdict"):
            alpha, kappa = task_verifiers(p, t, c * b_d)
            if np.isnan(alpha).any():
                continue  # 8% out of reach for this student accuracy: not a candidate
            for cell in _cells(p, "default", t, c, alpha, kappa):
                cells.append({**cell, "grid": g})
    traj_d = _run_cells(p, "default", cells, bar)

    fits = {}
    for t in ("MMMU", "MMMU-verdict"):
        best = None
        for g in range(len(grid_c)):
            idx = [i for i, c in enumerate(cells) if c["task"] == t and c.get("grid") == g]
            if not idx:
                continue
            R, miss = fit_budget(
                damage_curves(traj_d.heldout_acc[idx]),
                p["target_damage_pp"],
                max(3, p["rounds"] // 25),
            )
            if best is None or miss < best["miss_pp"]:
                best = dict(
                    grid=g,
                    accuracy=p["mmmu_accuracy_grid"][g],
                    c=grid_c[g],
                    R=R,
                    miss_pp=miss,
                    cells=idx,
                )
        fits[t] = best
    R = fits["MMMU"]["R"]
    keep = [i for i, c in enumerate(cells) if "grid" not in c]
    keep += fits["MMMU"]["cells"] + fits["MMMU-verdict"]["cells"]
    cells_d = [cells[i] for i in keep]
    traj_d = type(traj_d)(*(x[keep] for x in traj_d))

    c_fit = {**c_of, "MMMU": fits["MMMU"]["c"], "MMMU-verdict": fits["MMMU-verdict"]["c"]}
    cells_s: list[dict] = []
    for t in TASKS:  # the same verifiers; the 3B's competence scaled by the same task factor
        src = [c for c in cells_d if c["task"] == t]
        cells_s += [
            {**c, "student": "second", "b": c["c"] * theory.STUDENTS["second"].b} for c in src
        ]
    traj_s = _run_cells(p, "second", cells_s, bar)
    all_cells = cells_d + cells_s
    traj = type(traj_d)(*(np.concatenate([a, b]) for a, b in zip(traj_d, traj_s)))
    return _payload(p, all_cells, traj, R, fits, c_fit)


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
    fit = {t: {k: v for k, v in f.items() if k != "cells"} for t, f in fits.items()}
    attrs = {
        "tasks": json.dumps(list(TASKS)),
        "students": json.dumps(students),
        "fit": json.dumps(
            {
                "fits": fit,
                "task_factor": c_fit,
                "target_pp": p["target_damage_pp"],
                "grid": p["mmmu_accuracy_grid"],
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


def _bonf(x: np.ndarray, m: int) -> tuple[float, float, float]:
    """Seed mean of ``x`` with its two-sided interval at level 1 - 0.05 / m (Bonferroni)."""
    mean, lo, hi, _ = mean_ci(x, axis=0, level=1.0 - 0.05 / max(m, 1))
    return float(mean), float(lo), float(hi)


def _change(res: Results, i: int, m: int) -> tuple[float, float, float]:
    return _bonf(100.0 * res["delta"][i], m)


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


def claims(res: Results, meta: dict) -> list[Claim]:
    """LADDER-* rows (see ROWS)."""
    cs = cells(res)
    return [
        _task(res, cs, meta),
        _sides(res, cs, meta),
        _silent(res, cs, meta),
        _inversion(res, cs, meta),
        _order(res, cs, meta),
        _advice(res, meta),
        _fit(res, cs, meta),
        _second(res, cs, meta),
    ]


def _task(res, cs, meta) -> Claim:
    statement = (
        "a verifier that improves the 2B student on MathVista regresses it on MMMU "
        "(the most capable rung; model: verifier quality is task-specific)"
    )
    top = RUNGS
    i_mv = _pick(cs, student="default", task="MathVista", rung=top)[0]
    i_mm = _pick(cs, student="default", task="MMMU", rung=top)[0]
    mv, mm = cs[i_mv], cs[i_mm]
    c_mv, c_mm = _change(res, i_mv, 2), _change(res, i_mm, 2)
    both = [
        r
        for r in range(1, RUNGS + 1)
        if cs[_pick(cs, student="default", task="MathVista", rung=r)[0]]["sim_pp"][1] > 0
        and min(cs[j]["sim_pp"][2] for j in _pick(cs, student="default", rung=r, main=True)) < 0
    ]
    holds = c_mv[1] > 0 and c_mm[2] < 0
    return row(
        "LADDER-task",
        statement,
        theory=mv["theory_pp"] - mm["theory_pp"],
        theory_text=f"first-order change over R: MathVista {mv['theory_pp']:+.3g} pp, "
        f"MMMU {mm['theory_pp']:+.3g} pp (difference)",
        sim=mv["sim_pp"][0] - mm["sim_pp"][0],
        ci=None,
        holds=holds,
        decision=f"rung {top}, Bonferroni over 2: MathVista {ci_text(*c_mv, unit=' pp')} (must "
        f"be > 0), MMMU {ci_text(*c_mm, unit=' pp')} (must be < 0); rungs helping on MathVista "
        f"and hurting on another task (95% intervals): {both}",
        meta=meta,
    )


def _sides(res, cs, meta) -> Claim:
    statement = (
        "in every (rung, task, student) cell of the ladder the sign of the simulated change is "
        "the side of theory's threshold in the selection measure the study reports"
    )
    idx = [i for i, c in enumerate(cs) if c["main"]]
    ch = {i: _change(res, i, len(idx)) for i in idx}
    sig = [i for i in idx if ch[i][1] > 0 or ch[i][2] < 0]
    agree = [i for i in sig if (ch[i][0] > 0) == (cs[i]["selection"] > cs[i]["threshold"])]
    bad = [
        f"{cs[i]['student']}/{cs[i]['task']}/rung {cs[i]['rung']}" for i in sig if i not in agree
    ]
    return row(
        "LADDER-sides",
        statement,
        theory=1.0,
        theory_text="fraction of significant cells on theory's side",
        sim=len(agree) / len(sig) if sig else math.nan,
        ci=None,
        holds=bool(sig) and len(agree) == len(sig) and len(sig) >= 0.75 * len(idx),
        decision=f"{len(idx)} cells; interval (Bonferroni over {len(idx)}) excludes 0 in "
        f"{len(sig)} (need >= 3/4); "
        f"on theory's side: {len(agree)}" + (f"; against: {', '.join(bad)}" if bad else ""),
        meta=meta,
    )


def _silent(res, cs, meta) -> Claim:
    statement = (
        "on MMMU every rung regresses both students while the DPO loss on trained pairs falls "
        "(last minus first quarter of the budget), as the study reports (T4)"
    )
    idx = _pick(cs, task="MMMU")
    m = 2 * len(idx)  # two one-sided tests per cell
    trend = {i: _bonf(res["loss_windows"][i][:, -1] - res["loss_windows"][i][:, 0], m) for i in idx}
    ok = [i for i in idx if _change(res, i, m)[2] < 0 and trend[i][2] < 0]
    worst = max(idx, key=lambda i: trend[i][2])
    return row(
        "LADDER-silent",
        statement,
        theory=None,
        theory_text="T4: the trained-pair loss falls whatever the verifier",
        sim=trend[worst][0],
        ci=trend[worst][1:],
        holds=len(ok) == len(idx),
        decision=f"{len(ok)} of {len(idx)} MMMU cells regress with a falling loss (both "
        f"intervals < 0, Bonferroni over {m}; the loss paired by seed); least clear loss "
        f"trend: {cs[worst]['student']} rung {cs[worst]['rung']}",
        meta=meta,
    )


def _inversion(res, cs, meta) -> Claim:
    statement = (
        "confidence inversion along the ladder (MMMU, 8-23% read as verdict accuracy alpha, "
        "confidence rising with capability): the top rung damages the 2B more than the bottom"
    )
    i1 = _pick(cs, student="default", task="MMMU-verdict", rung=1)[0]
    i4 = _pick(cs, student="default", task="MMMU-verdict", rung=RUNGS)[0]
    c1, c4 = cs[i1], cs[i4]
    predicted = bool(theory.inverts(c4["alpha"], c4["kappa"], c1["alpha"], c1["kappa"]))
    m, lo, hi, _ = mean_ci(100.0 * (res["delta"][i1] - res["delta"][i4]), axis=0)
    return row(
        "LADDER-inversion",
        statement,
        theory=float(
            theory.damage_rate(c4["alpha"], c4["kappa"])
            - theory.damage_rate(c1["alpha"], c1["kappa"])
        ),
        theory_text=f"T5 damage-rate difference (predicts {'inversion' if predicted else 'none'})",
        sim=m,
        ci=(lo, hi),
        holds=predicted and lo > 0,
        decision=f"paired damage, top minus bottom rung: {ci_text(m, lo, hi, unit=' pp')} "
        f"(must be > 0); in the selection measure the top rung reads {c4['selection']:.3f} "
        f"and the bottom {c1['selection']:.3f}: ordered by selection accuracy there is no "
        "inversion",
        meta=meta,
    )


def _order(res, cs, meta) -> Claim:
    statement = (
        "study: on MMMU the more confident verifiers did more damage; model (selection reading, "
        "confidence and 8-23% rising with capability): the top rung damages the 2B more"
    )
    i1 = _pick(cs, student="default", task="MMMU", rung=1)[0]
    i4 = _pick(cs, student="default", task="MMMU", rung=RUNGS)[0]
    m, lo, hi, _ = mean_ci(100.0 * (res["delta"][i1] - res["delta"][i4]), axis=0)
    order = sorted(_pick(cs, student="default", task="MMMU"), key=lambda i: cs[i]["sim_pp"][0])
    return row(
        "LADDER-order",
        statement,
        theory=cs[i1]["theory_pp"] - cs[i4]["theory_pp"],
        theory_text="first-order damage difference top minus bottom (pp over R)",
        sim=m,
        ci=(lo, hi),
        holds=lo > 0,
        decision=f"paired damage, top minus bottom rung: {ci_text(m, lo, hi, unit=' pp')} "
        f"(the study's order needs > 0); rungs from most to least damage: "
        f"{[cs[i]['rung'] for i in order]}; along a selection-accuracy contour theory's damage "
        "barely moves with kappa, so damage follows selection accuracy, not confidence",
        meta=meta,
        kind="boundary",
    )


def _advice(res, meta) -> Claim:
    statement = (
        "the study's advice: ranking verifiers by target-task rubric accuracy (selection minus "
        "its threshold) predicts the students' outcomes better than ranking by general capability"
    )
    outs = {s: advice(res, s) for s in _json(res, "students")}
    holds = all(o["diff_ci"][0] > 0 for o in outs.values())
    text = "; ".join(
        f"{s}: rho(target) {o['rho_margin']:+.2f}, rho(raw selection) {o['rho_selection']:+.2f}, "
        f"rho(capability) {o['rho_capability']:+.2f}, difference {o['diff']:+.2f} "
        f"[{o['diff_ci'][0]:+.2f}, {o['diff_ci'][1]:+.2f}]"
        for s, o in outs.items()
    )
    first = outs[_json(res, "students")[0]]
    return row(
        "LADDER-advice",
        statement,
        theory=None,
        theory_text="T1: the sign follows the side of the target task's threshold",
        sim=first["diff"],
        ci=first["diff_ci"],
        holds=holds,
        decision=f"Spearman over 12 cells per student, seed bootstrap 95%: {text}; holds if "
        "both differences' intervals are above 0",
        meta=meta,
    )


def _fit(res, cs, meta) -> Claim:
    fit = _json(res, "fit")
    f = fit["fits"]["MMMU"]
    v = fit["fits"]["MMMU-verdict"]
    lo, hi = fit["target_pp"]
    dmg = sorted(-cs[i]["sim_pp"][0] for i in _pick(cs, student="default", task="MMMU"))
    statement = (
        f"calibration: the MMMU profile reproduces the study's pairing (selection accuracy "
        f"8-23% with {lo:g}-{hi:g} pp regression of the 2B)"
    )
    return row(
        "LADDER-fit",
        statement,
        theory=None,
        theory_text="fitted: MMMU accuracy of the 2B and the budget R",
        sim=f["miss_pp"],
        ci=None,
        holds=f["miss_pp"] <= 1.0,
        decision=f"fitted 2B accuracy on MMMU {f['accuracy']:g} (task factor {f['c']:.3f} on b), "
        f"budget R = {f['R']} rounds; damage {dmg[0]:.3g}-{dmg[-1]:.3g} pp, rms miss "
        f"{f['miss_pp']:.2f} pp (holds if <= 1 pp); verdict reading: accuracy "
        f"{v['accuracy']:g}, R = {v['R']}, miss {v['miss_pp']:.2f} pp",
        meta=meta,
        kind="boundary",
    )


def _second(res, cs, meta) -> Claim:
    statement = (
        "prediction (not fitted): with the same verifiers and task factor every MMMU rung "
        "regresses the 3B student too (the study: the same held for the 3B)"
    )
    idx = _pick(cs, student="second", task="MMMU")
    ms = [_change(res, i, len(idx)) for i in idx]
    sel = [cs[i]["selection"] for i in idx]
    return row(
        "LADDER-3B",
        statement,
        theory=max(cs[i]["theory_pp"] for i in idx),
        theory_text="largest first-order change over R among the rungs (pp)",
        sim=-min(m[0] for m in ms),
        ci=None,
        holds=all(m[2] < 0 for m in ms),
        decision=f"3B damage {-max(m[0] for m in ms):.3g}-{-min(m[0] for m in ms):.3g} pp "
        f"(every interval, Bonferroni over {len(idx)}, must be < 0; upper ends "
        f"{[round(m[2], 2) for m in ms]}); its selection accuracy "
        f"on MMMU {min(sel):.3f}-{max(sel):.3f}",
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
        f"(fitted), {res['delta'].shape[1]} seeds per cell. Measures as a team computes them: "
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


def _ci(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"
