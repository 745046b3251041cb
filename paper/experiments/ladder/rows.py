"""The ladder's claim rows (LADDER-*): each a pre-registered test (paper.claims.Test, decided
by paper.claims.decide) on a per-seed statistic, computed the same way on the pilot (its SD
gives the power and the seeds for 90% power) and on the confirmation (the verdict);
Bonferroni over a row's points."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import spearmanr

import theory
from paper.claims import Claim, Test, decide, powered_row, test_text
from paper.experiments.ladder.analysis import advice, attr_json, cells, delta, labels, one, pick
from paper.experiments.ladder.profiles import RUNGS
from sim.results import Results

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
        d = delta(r)
        mv = one(r, student="default", task="MathVista", rung=RUNGS)
        mm = one(r, student="default", task="MMMU", rung=RUNGS)
        return np.stack([d[mv], -d[mm]])  # both > 0 if the claim holds

    d = _decide(CHANGE_TEST, stat, res, pilot)
    mv = cs[pick(cs, student="default", task="MathVista", rung=RUNGS)[0]]
    mm = cs[pick(cs, student="default", task="MMMU", rung=RUNGS)[0]]
    both = [
        r
        for r in range(1, RUNGS + 1)
        if cs[pick(cs, student="default", task="MathVista", rung=r)[0]]["sim_pp"][1] > 0
        and min(cs[j]["sim_pp"][2] for j in pick(cs, student="default", rung=r, main=True)) < 0
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
        for i, c in enumerate(labels(r))
        if c["main"] and abs(c["alpha"] - 0.5) >= SIDES_MIN_DISTANCE - 1e-12
    ]


def _sides(res, cs, meta, pilot) -> Claim:
    statement = (
        "in every (rung, task, student) cell of the ladder clearly off the threshold "
        f"(|alpha - 1/2| >= {SIDES_MIN_DISTANCE:g}) the sign of the simulated change is the side "
        "of theory's threshold in the selection measure the study reports"
    )

    def stat(r: Results) -> np.ndarray:
        lab, idx = labels(r), _sides_idx(r)
        side = np.array([np.sign(lab[i]["selection"] - lab[i]["threshold"]) for i in idx])
        return side[:, None] * delta(r)[idx]

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
        return pick(labels(r), task="MMMU")

    def change(r: Results) -> np.ndarray:
        return delta(r)[idx(r)]

    def trend(r: Results) -> np.ndarray:
        w = np.asarray(r["loss_windows"], dtype=float)[idx(r)]
        return w[..., -1] - w[..., 0]

    d1 = _decide(REGRESS_TEST, change, res, pilot)
    d2 = _decide(LOSS_TEST, trend, res, pilot)
    d = _both(d1, d2)
    i = pick(cs, task="MMMU")
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
        d = delta(r)
        i1 = one(r, student="default", task=task, rung=1)
        i4 = one(r, student="default", task=task, rung=RUNGS)
        return d[i1] - d[i4]  # damage of the top rung minus damage of the bottom rung

    return stat


def _inversion(res, cs, meta, pilot) -> Claim:
    statement = (
        "confidence inversion along the ladder (MMMU, 8-23% read as verdict accuracy alpha, "
        "confidence rising with capability): the top rung damages the 2B more than the bottom"
    )
    c1 = cs[pick(cs, student="default", task="MMMU-verdict", rung=1)[0]]
    c4 = cs[pick(cs, student="default", task="MMMU-verdict", rung=RUNGS)[0]]
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
    i1 = pick(cs, student="default", task="MMMU", rung=1)[0]
    i4 = pick(cs, student="default", task="MMMU", rung=RUNGS)[0]
    d = _decide(CHANGE_TEST, _pair_stat("MMMU"), res, pilot)
    order = sorted(pick(cs, student="default", task="MMMU"), key=lambda i: cs[i]["sim_pp"][0])
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
    lab = labels(r)
    out = []
    for s in attr_json(r, "students"):
        idx = pick(lab, student=s, main=True)
        d = delta(r)[idx]
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
    outs = {s: advice(res, s) for s in attr_json(res, "students")}
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
    f = attr_json(r, "fit")
    lo, hi = f["target_pp"]
    d = delta(r)
    least = d[one(r, student="default", task="MMMU", rung=f["fits"]["MMMU"]["least_rung"])]
    most = d[one(r, student="default", task="MMMU", rung=f["fits"]["MMMU"]["most_rung"])]
    return np.stack([-least - lo / 100.0, -most - hi / 100.0])


def _fit(res, cs, meta, pilot) -> Claim:
    fit = attr_json(res, "fit")
    f = fit["fits"]["MMMU"]
    v = fit["fits"]["MMMU-verdict"]
    lo, hi = fit["target_pp"]
    fs = fit["fit_seeds"]
    dmg = sorted(-cs[i]["sim_pp"][0] for i in pick(cs, student="default", task="MMMU"))
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
    idx = pick(cs, student="second", task="MMMU")
    d = _decide(
        REGRESS_TEST,
        lambda r: delta(r)[pick(labels(r), student="second", task="MMMU")],
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
