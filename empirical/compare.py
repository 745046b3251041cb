"""Measured vs predicted, on every run: the comparison report of a loop's own logs.

From the run's logged samples (every sample's verifier score and rubric label,
``samples/round-TTTT.jsonl``): the verifier's (alpha_hat, kappa_hat) with intervals, fitted by
``empirical.audit.fit_verifier`` on round 1's samples (the student's own answers at theta0:
calibration where the loop will use the verifier); theory's verdict at that estimate
(``theory.predict``: L0's a_pair, T1's drift sign and factor 2 a_pair - 1); the measured pair
orientation (right / (right + wrong) among mixed pairs, L0's a_pair as the loop saw it); the three
rubric-accuracy measures a team can compute (verdict = alpha_hat, pair, selection = the
verifier's top sample is rubric-correct among questions with a correct sample; each with its
threshold, ``theory.measures``); the held-out change (final, worst, drift per round); the DPO
loss trend (T4: it falls whether the run improves or regresses). ``compare_seeds`` pools the
reports of several seeds into means with run-to-run 95% t-intervals: the spread that decides
whether a measured sign is real (held-out sampling noise inside one run is 4x smaller).

T1's magnitude (eta beta / 2)(2 a_pair - 1) M holds for the linear-softmax student only; for a
VLM theory predicts the sign and that the drift is proportional to 2 a_pair - 1 across
verifiers (``drift_per_factor`` = measured drift / (2 a_pair - 1) should agree across them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import stdtrit

from empirical.audit import fit_verifier
from empirical.data import LETTERS, Question, rubric
from empirical.loop import read_samples
from sim.files import atomic_write_json, atomic_write_text
from theory import predict
from theory.measures import measure_threshold, selection_accuracy


def calibration_scores(
    verifier: Any,
    questions: Sequence[Question],
    *,
    seed: int = 0,
    candidates: Sequence[Sequence[str]] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Scores, rubric labels and candidate ids of every candidate of every question.

    Multiple-choice questions use their option letters as candidates unless ``candidates``
    gives the answers to score (e.g. the student's own samples).
    """
    rng = np.random.default_rng([seed, 7])
    scores, labels, ids = [], [], []
    for k, q in enumerate(questions):
        cands = (
            list(candidates[k]) if candidates is not None else list(LETTERS[: len(q.choices or [])])
        )
        if not cands:
            raise ValueError(f"question {q.qid} has no candidates to score")
        scores.extend(verifier.score(q, cands, rng))
        labels.extend(int(rubric(q, a)) for a in cands)
        ids.extend(f"{q.qid}\x1f{a}" for a in cands)
    return np.asarray(scores, float), np.asarray(labels, int), ids


def predict_sign(
    alpha: float,
    kappa: float,
    alpha_ci,
    kappa_ci,
    *,
    n: int,
    p_correct: float,
    gate: str = "uniform",
) -> tuple[float, int, int]:
    """T1 via L0, through theory's one verdict (``theory.predict``): a_pair at the estimate,
    the predicted drift sign there, and the sign the whole CI box agrees on (0 if not)."""
    p = float(np.clip(p_correct, 1e-3, 1 - 1e-3))
    est = predict(alpha, kappa, n=n, gate=gate, p_correct=p)
    corners = {
        predict(a, k, n=n, gate=gate, p_correct=p)["drift_sign"]
        for a in (alpha_ci[0], alpha_ci[1])
        for k in (kappa_ci[0], kappa_ci[1])
    }
    firm = corners.pop() if len(corners) == 1 else 0
    return float(est["a_pair"]), int(est["drift_sign"]), int(firm)


def _slope(y: Sequence[float]) -> float | None:
    """Least-squares slope of y against its index (per round)."""
    y = np.asarray([v for v in y if v is not None], float)
    if y.size < 2:
        return None
    x = np.arange(y.size, dtype=float)
    return float(np.polyfit(x, y, 1)[0])


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def selection_measure(samples: Sequence[dict]) -> dict[str, float | int | None]:
    """Selection accuracy from logged samples: per (round, question), is the top-scored sample
    rubric-correct, among questions with at least one correct sample; and the chance level of
    a random pick among the same questions (mean share of correct samples)."""
    groups: dict[tuple, list[tuple[float, int]]] = {}
    for r in samples:
        groups.setdefault((r["round"], r["question_id"]), []).append((r["score"], r["label"]))
    hit, chance, m = 0, 0.0, 0
    for items in groups.values():
        labels = [lab for _, lab in items]
        if not any(labels):
            continue
        top = max(range(len(items)), key=lambda i: items[i][0])
        hit += labels[top]
        chance += float(np.mean(labels))
        m += 1
    return {
        "selection_accuracy": hit / m if m else None,
        "selection_chance": chance / m if m else None,
        "questions_with_a_correct_sample": m,
    }


def _orientation(rows: Sequence[dict]) -> float | None:
    right = sum(r["pairs"]["right"] for r in rows)
    wrong = sum(r["pairs"]["wrong"] for r in rows)
    return right / (right + wrong) if right + wrong else None


def run_report(
    out: str | Path,
    log: list[dict],
    *,
    n: int,
    gate: str = "uniform",
    spec: str = "",
    K: int | None = None,
) -> dict[str, Any]:
    """The comparison report of one finished run (its folder and log)."""
    samples = read_samples(out)
    first = [r for r in samples if r["round"] == 1]
    if not first:
        raise ValueError(f"{out}: no logged samples of round 1")
    scores = np.array([r["score"] for r in first])
    labels = np.array([r["label"] for r in first])
    ids = [f"{r['question_id']}\x1f{r['candidate_id']}" for r in first]
    fit = fit_verifier(scores, labels, candidate_ids=ids)
    p0 = float(np.clip(labels.mean(), 1e-3, 1 - 1e-3))
    a_pair, sign_est, sign_firm = predict_sign(
        fit.alpha, fit.kappa, fit.alpha_ci, fit.kappa_ci, n=n, p_correct=p0, gate=gate
    )
    key = "heldout_p_correct" if log[0].get("heldout_p_correct") is not None else "heldout_acc"
    curve = [r[key] for r in log]
    start = curve[0]
    fresh = [r.get("dpo_loss_fresh") for r in log[1:]]
    drops = [
        r["dpo_loss_trained"] - r["dpo_loss_trained_after"]
        for r in log[1:]
        if r.get("dpo_loss_trained") is not None and r.get("dpo_loss_trained_after") is not None
    ]
    a_meas1 = _orientation(log[1:2])
    sel1 = selection_measure(first)
    kappa_for_measures = min(fit.kappa, 8.0)
    sel_pred = float(selection_accuracy(fit.alpha, kappa_for_measures, n=n, K=K, p_correct=p0))
    sel_thr = measure_threshold("selection", n=n, K=K, p_correct=p0, kappa=kappa_for_measures)
    cfg_path = Path(out) / "config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
    B = int(cfg.get("batch", 1))
    drift = _slope(curve)
    early = max(1, (len(curve) - 1) // 4)
    return {
        "verifier": spec,
        "rounds": len(log) - 1,
        "metric": key,
        "fit": {
            "alpha_hat": fit.alpha,
            "alpha_ci": list(fit.alpha_ci),
            "kappa_hat": fit.kappa,
            "kappa_ci": list(fit.kappa_ci),
            "n_scores": fit.n_scores,
            "on": "round-1 samples (the student's own answers at theta0)",
        },
        "p_correct_start": p0,
        "predicted": {
            "a_pair": a_pair,
            "drift_factor": 2 * a_pair - 1,
            "sign": sign_est,
            "sign_firm": sign_firm,
            "selection_accuracy": sel_pred,
        },
        "measured": {
            "a_pair_round1": a_meas1,
            "a_pair_all_rounds": _orientation(log[1:]),
            "drift_factor_round1": None if a_meas1 is None else 2 * a_meas1 - 1,
            "pairs": {
                k: sum(r["pairs"][k] for r in log[1:])
                for k in ("right", "wrong", "unoriented", "void")
            },
        },
        "measures": {
            "verdict": {"value": fit.alpha, "ci": list(fit.alpha_ci), "threshold": 0.5},
            "pair": {"value": a_meas1, "predicted": a_pair, "threshold": 0.5},
            "selection": {
                "value": sel1["selection_accuracy"],
                "predicted": sel_pred,
                "threshold": float(sel_thr),
                "chance": sel1["selection_chance"],
                "questions": sel1["questions_with_a_correct_sample"],
            },
        },
        "heldout": {
            "start": start,
            "end": curve[-1],
            "change": curve[-1] - start,
            "worst_change": min(curve) - start,
            "early_change": curve[early] - start,
            "drift_per_round": drift,
            "drift_per_factor": _ratio(drift, 2 * a_pair - 1) if drift is not None else None,
            "curve": curve,
        },
        "dpo_loss": {
            "fresh_first": fresh[0],
            "fresh_last": fresh[-1],
            "fresh_slope_per_round": _slope(fresh),
            "step_drop_mean": float(np.mean(drops)) if drops else None,
        },
        "train": {
            "step_norm": cfg.get("step_norm"),
            "step_norm_rule": "batch: sum_x (count_x / B) l_x, void draws count in B (the "
            "simulator's step, paper/model.md); pairs: divided by the non-void draws (TRL)",
            "void_draw_fraction": _mean([r["train"]["draws_void"] / B for r in log[1:]]),
            "grad_norm_mean": _mean([r["train"]["grad_norm"] for r in log[1:]]),
        },
        "seconds": {
            k: _mean([r["seconds"][k] for r in log[1:]])
            for k in ("total", "sample", "score", "train", "evaluate")
        },
    }


def _mean(xs: Sequence[float | None]) -> float | None:
    v = [x for x in xs if x is not None]
    return float(np.mean(v)) if v else None


def interval(values: Sequence[float | None], level: float = 0.95) -> dict[str, Any]:
    """Mean over seeds with its run-to-run SD and Student-t interval."""
    v = np.asarray([x for x in values if x is not None], float)
    if v.size == 0:
        return {"mean": None, "sd": None, "ci": [None, None], "seeds": 0, "values": []}
    m = float(v.mean())
    if v.size < 2:
        return {"mean": m, "sd": None, "ci": [None, None], "seeds": 1, "values": v.tolist()}
    sd = float(v.std(ddof=1))
    half = float(stdtrit(v.size - 1, 0.5 + level / 2)) * sd / np.sqrt(v.size)
    return {
        "mean": m,
        "sd": sd,
        "ci": [m - half, m + half],
        "seeds": int(v.size),
        "values": v.tolist(),
    }


_POOLED = {
    "heldout_change": ("heldout", "change"),
    "heldout_worst_change": ("heldout", "worst_change"),
    "drift_per_round": ("heldout", "drift_per_round"),
    "drift_per_factor": ("heldout", "drift_per_factor"),
    "a_pair_predicted": ("predicted", "a_pair"),
    "a_pair_measured": ("measured", "a_pair_round1"),
    "drift_factor_predicted": ("predicted", "drift_factor"),
    "alpha_hat": ("fit", "alpha_hat"),
    "kappa_hat": ("fit", "kappa_hat"),
    "selection_accuracy": ("measures", "selection", "value"),
    "selection_predicted": ("measures", "selection", "predicted"),
    "selection_threshold": ("measures", "selection", "threshold"),
    "dpo_loss_slope": ("dpo_loss", "fresh_slope_per_round"),
    "dpo_loss_step_drop": ("dpo_loss", "step_drop_mean"),
}


def _get(rep: dict, path: tuple[str, ...]) -> Any:
    for k in path:
        rep = rep.get(k) if isinstance(rep, dict) else None
    return rep


def compare_seeds(spec: str, reports: Sequence[dict]) -> dict[str, Any]:
    """One verifier's reports over seeds: means with run-to-run intervals, and the verdict."""
    pooled = {k: interval([_get(r, p) for r in reports]) for k, p in _POOLED.items()}
    ch = pooled["heldout_change"]
    lo, hi = ch["ci"]
    measured_sign = 0 if lo is None or lo <= 0 <= hi else (1 if lo > 0 else -1)
    firm = {r["predicted"]["sign_firm"] for r in reports}
    signs = {int(np.sign(v)) for v in ch["values"]}
    return {
        "verifier": spec,
        "seeds": len(reports),
        "pooled": pooled,
        "predicted_sign_firm": firm.pop() if len(firm) == 1 else 0,
        "measured_sign": measured_sign,
        "measured_sign_rule": "sign of the held-out change when its 95% run-to-run t-interval "
        "excludes 0, else 0",
        "sign_in_every_seed": signs.pop() if len(signs) == 1 else 0,
        "runs": list(reports),
    }


def format_table(rows: Sequence[dict]) -> str:
    """The pooled comparison of several verifiers as a plain-text table."""

    def cell(iv: dict, fmt: str = "+.3f") -> str:
        if iv["mean"] is None:
            return "n/a"
        if iv["ci"][0] is None:
            return format(iv["mean"], fmt)
        return f"{iv['mean']:{fmt}} [{iv['ci'][0]:{fmt}},{iv['ci'][1]:{fmt}}]"

    head = (
        f"{'verifier':<20} {'alpha_hat':>18} {'a_pair pred':>11} {'a_pair meas':>24} "
        f"{'sel (thr)':>12} {'pred':>4} {'d_heldout [95% over seeds]':>28} {'meas':>4} "
        f"{'d_loss/round':>12}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        p = r["pooled"]
        pred = {1: "+", -1: "-", 0: "0?"}[r["predicted_sign_firm"]]
        meas = {1: "+", -1: "-", 0: "0?"}[r["measured_sign"]]
        sel = p["selection_accuracy"]["mean"]
        thr = p["selection_threshold"]["mean"]
        sel_s = "n/a" if sel is None else f"{sel:.2f} ({thr:.2f})"
        dl = p["dpo_loss_slope"]["mean"]
        lines.append(
            f"{r['verifier']:<20} {cell(p['alpha_hat'], '.2f'):>18} "
            f"{p['a_pair_predicted']['mean']:>11.3f} {cell(p['a_pair_measured'], '.3f'):>24} "
            f"{sel_s:>12} {pred:>4} {cell(p['heldout_change']):>28} {meas:>4} "
            f"{(dl if dl is not None else float('nan')):>+12.4f}"
        )
    return "\n".join(lines)


def _md_cell(iv: dict, fmt: str) -> str:
    if iv["mean"] is None:
        return "n/a"
    if iv["ci"][0] is None:
        return format(iv["mean"], fmt)
    return f"{iv['mean']:{fmt}} [{iv['ci'][0]:{fmt}}, {iv['ci'][1]:{fmt}}]"


def _md_num(x: float | None, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def format_markdown(rows: Sequence[dict], *, title: str, note: str = "") -> str:
    """The pooled comparison of several verifiers as Markdown (a pipe table per view, so the
    paper can include it through ``paper.mdtex``): measured vs predicted pair orientation (L0),
    the drift's sign and size (T1), the three measures, per-seed changes, the DPO loss (T4)."""
    sign = {1: "+", -1: "−", 0: "0?"}
    seeds = sorted({r["seeds"] for r in rows})
    out = [
        f"# {title}",
        "",
        f"Means over {', '.join(map(str, seeds))} seeds with 95% run-to-run Student-t intervals. "
        "The verifier's $\\hat\\alpha$, $\\hat\\kappa$ are fitted on round 1's samples (the "
        "student's own answers before training); the predicted $a_{\\mathrm{pair}}$ (L0) and "
        "drift sign (T1: the sign of $a_{\\mathrm{pair}} - 1/2$, given only when the whole "
        "interval box agrees, else 0?) are theory's at that fit; the measured sign is the sign "
        "of the held-out change when its interval excludes 0, else 0?."
        + (f" {note}" if note else ""),
        "",
        "| verifier | $\\hat\\alpha$ | $a_{\\mathrm{pair}}$ predicted | $a_{\\mathrm{pair}}$ "
        "measured | predicted sign | held-out change | measured sign | sign in every seed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = r["pooled"]
        out.append(
            f"| `{r['verifier']}` | {_md_cell(p['alpha_hat'], '.2f')} | "
            f"{_md_cell(p['a_pair_predicted'], '.3f')} | {_md_cell(p['a_pair_measured'], '.3f')} | "
            f"{sign[r['predicted_sign_firm']]} | {_md_cell(p['heldout_change'], '+.3f')} | "
            f"{sign[r['measured_sign']]} | {sign[r['sign_in_every_seed']]} |"
        )
    out += [
        "",
        "Drift and the rubric-accuracy measures. T1 predicts a drift per round proportional to "
        "$2 a_{\\mathrm{pair}} - 1$ with the same factor for every verifier (the last column); "
        "each measure's threshold is in brackets (verdict and pair: 1/2; selection: "
        "`theory.measures`). T4: every DPO step lowers the loss of its own pairs whatever the "
        "verifier.",
        "",
        "| verifier | $2 a_{\\mathrm{pair}} - 1$ | drift per round | drift / "
        "$(2 a_{\\mathrm{pair}} - 1)$ | selection (threshold) | DPO loss drop per step |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = r["pooled"]
        sel, thr = p["selection_accuracy"]["mean"], p["selection_threshold"]["mean"]
        out.append(
            f"| `{r['verifier']}` | {_md_cell(p['drift_factor_predicted'], '+.3f')} | "
            f"{_md_cell(p['drift_per_round'], '+.4f')} | "
            f"{_md_cell(p['drift_per_factor'], '+.4f')} | "
            f"{_md_num(sel, '.2f')} ({_md_num(thr, '.2f')}) | "
            f"{_md_cell(p['dpo_loss_step_drop'], '.4f')} |"
        )
    out += [
        "",
        "Per seed: held-out change (final minus start) and measured pair orientation.",
        "",
        "| verifier | " + " | ".join(f"run {k + 1}" for k in range(max(seeds))) + " |",
        "|---|" + "---|" * max(seeds),
    ]
    for r in rows:
        cells = [
            f"{_md_num(run['heldout']['change'], '+.3f')} "
            f"({_md_num(run['measured']['a_pair_round1'], '.2f')})"
            for run in r["runs"]
        ]
        cells += ["" for _ in range(max(seeds) - len(cells))]
        out.append(f"| `{r['verifier']}` | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def write_reports(out: str | Path, report: dict, rows: Sequence[dict], *, title: str) -> dict:
    """Write ``out/report.json`` (``report``), ``out/report.md`` (``format_markdown`` of
    ``rows``) and the measured-vs-predicted figure ``out/figures/empirical_compare.{png,pdf}``.

    The figure script (``figures.empirical_compare``) reads report.json only; it runs as its
    own process (figures and empirical are sibling layers: neither imports the other). A
    figure that cannot be drawn (no matplotlib) is reported on stderr; the reports stand.
    Returns the paths written ({"json", "markdown", "figure": [...]})."""
    out = Path(out)
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", format_markdown(rows, title=title))
    fig_dir = out / "figures"
    proc = subprocess.run(
        [sys.executable, "-m", "figures.empirical_compare", str(out), str(fig_dir)],
        capture_output=True,
        text=True,
    )
    figs = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0:
        sys.stderr.write(f"figure not drawn: {' '.join(proc.stderr.split())[-300:]}\n")
    return {"json": str(out / "report.json"), "markdown": str(out / "report.md"), "figure": figs}
