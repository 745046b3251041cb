"""Measured vs predicted: a verifier's audited (alpha_hat, kappa_hat) through theory vs the loop.

The verifier scores every candidate answer of a rubric-labelled calibration split;
``empirical.audit.fit_verifier`` estimates (alpha, kappa) with confidence intervals; theory's L0
gives the pair accuracy a_pair and T1 the predicted sign of the held-out change, sign(a_pair - 1/2)
(firm only when the whole confidence box of (alpha, kappa) gives the same sign). T1's magnitude
(eta beta / 2)(2 a_pair - 1) M holds for the linear-softmax student only; for a VLM we report the
drift factor 2 a_pair - 1, which theory says the change is proportional to across verifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from empirical.data import LETTERS, Question, rubric
from theory import predict


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


def compare_run(
    spec: str, verifier: Any, calib: Sequence[Question], log: list[dict], *, n: int, seed: int = 0
) -> dict:
    """One row of the comparison table from a finished loop log."""
    from empirical.audit import fit_verifier

    s, lab, ids = calibration_scores(verifier, calib, seed=seed)
    fit = fit_verifier(s, lab, candidate_ids=ids)
    key = "heldout_p_correct" if log[0].get("heldout_p_correct") is not None else "heldout_acc"
    start, end = log[0][key], log[-1][key]
    worst = min(r[key] for r in log)
    per0 = log[0].get("heldout_p_correct_per_question")
    per1 = log[-1].get("heldout_p_correct_per_question")
    # SE of the held-out change over questions (paired): the held-out sampling noise
    se = (
        float(np.std(np.subtract(per1, per0), ddof=1) / np.sqrt(len(per0)))
        if per0 and per1 and len(per0) > 1
        else None
    )
    a_pair, sign_est, sign_firm = predict_sign(
        fit.alpha, fit.kappa, fit.alpha_ci, fit.kappa_ci, n=n, p_correct=start
    )
    trained = [r["dpo_loss_trained"] for r in log[1:] if r.get("dpo_loss_trained") is not None]
    fresh = [r["dpo_loss_fresh"] for r in log[1:] if r.get("dpo_loss_fresh") is not None]
    drops = [
        r["dpo_loss_trained"] - r["dpo_loss_trained_after"]
        for r in log[1:]
        if r.get("dpo_loss_trained") is not None
    ]
    pairs = {
        k: sum(r["pairs"][k] for r in log[1:]) for k in ("right", "wrong", "unoriented", "void")
    }
    return {
        "verifier": spec,
        "alpha_hat": fit.alpha,
        "alpha_ci": list(fit.alpha_ci),
        "kappa_hat": fit.kappa,
        "kappa_ci": list(fit.kappa_ci),
        "a_pair": a_pair,
        "drift_factor": 2 * a_pair - 1,
        "predicted_sign": sign_est,
        "predicted_sign_firm": sign_firm,
        "metric": key,
        "heldout_start": start,
        "heldout_end": end,
        "measured_change": end - start,
        "measured_change_se": se,
        "worst_change": worst - start,
        "measured_sign": int(np.sign(end - start)),
        "heldout_acc_change": (
            log[-1]["heldout_acc"] - log[0]["heldout_acc"]
            if log[0].get("heldout_acc") is not None
            else None
        ),
        "dpo_loss_first": fresh[0] if fresh else None,
        "dpo_loss_last": fresh[-1] if fresh else None,
        "dpo_loss_change": (fresh[-1] - fresh[0]) if fresh else None,
        "dpo_loss_trained_first": trained[0] if trained else None,
        "dpo_loss_trained_last": trained[-1] if trained else None,
        "dpo_loss_step_drop_mean": float(np.mean(drops)) if drops else None,
        "pairs": pairs,
        "rounds": len(log) - 1,
    }


def format_table(runs: Sequence[dict]) -> str:
    """The comparison as a plain-text table."""
    head = (
        f"{'verifier':<20} {'alpha_hat [CI]':<20} {'kappa_hat [CI]':<20} {'a_pair':>6} "
        f"{'pred':>5} {'d_heldout (SE)':>15} {'worst':>7} {'d_loss':>7} {'right/wrong':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        a = f"{r['alpha_hat']:.2f} [{r['alpha_ci'][0]:.2f},{r['alpha_ci'][1]:.2f}]"
        k = f"{r['kappa_hat']:.2f} [{r['kappa_ci'][0]:.2f},{r['kappa_ci'][1]:.2f}]"
        pred = {1: "+", -1: "-", 0: "0?"}[r["predicted_sign_firm"]]
        dl = r["dpo_loss_change"]
        lines.append(
            f"{r['verifier']:<20} {a:<20} {k:<20} {r['a_pair']:>6.3f} {pred:>5} "
            f"{r['measured_change']:>+7.3f} ({r['measured_change_se'] or float('nan'):.3f})"
            f" {r['worst_change']:>+7.3f} "
            f"{(dl if dl is not None else float('nan')):>+7.3f} "
            f"{r['pairs']['right']:>5}/{r['pairs']['wrong']:<5}"
        )
    return "\n".join(lines)
