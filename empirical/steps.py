"""The steps of one self-DPO round, each a function that can be run and tested alone.

``sample_step`` (n answers per train question at theta_{t-1}), ``score_step`` (the frozen
verifier's scores and the rubric labels), ``empirical.pairs.make_pairs`` (best vs worst),
``pair_losses`` (each fresh pair's DPO loss under theta_{t-1} and, for ``loss`` progress, under
theta_{t-2}), ``gate_step`` (progress observed and smoothed, then the replay distribution P:
``empirical.gate``, i.e. ``sim.reference``'s gate code, in paper/model.md's order),
``draw_batch`` (B questions i.i.d. from P), ``train_step`` (DPO on the drawn pairs),
``evaluate`` (held-out rubric accuracy) and ``sample_records`` (the per-sample log).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from empirical import parallel
from empirical.config import LoopConfig
from empirical.data import Question, rubric
from empirical.gate import GateState, gate_update, loss_progress, reward_progress
from empirical.pairs import Pairs
from empirical.sampling import sample_answers
from empirical.train import (
    Trainer,
    batched_logprobs,
    dpo_losses,
    reference_logprobs,
    swapped_weights,
)

__all__ = [
    "choice_completion",
    "draw_batch",
    "eval_entry",
    "evaluate",
    "gate_step",
    "pair_losses",
    "round_seed",
    "sample_records",
    "sample_step",
    "score_step",
    "train_step",
]


def round_seed(seed: int, t: int, stream: int) -> int:
    """The seed of random stream ``stream`` in round ``t``."""
    return int(np.random.SeedSequence([seed, t, stream]).generate_state(1)[0])


def choice_completion(student: Any, letter: str) -> tuple[int, ...]:
    """Token ids of the bare answer ``letter`` followed by EOS (tokenised once per letter)."""
    memo = student.extra.setdefault("choice_ids", {})
    if letter not in memo:
        ids = student.tokenizer(letter, add_special_tokens=False)["input_ids"]
        memo[letter] = tuple(int(i) for i in ids) + (student.eos_token_ids[0],)
    return memo[letter]


def sample_step(
    student: Any, prompts: Sequence[Any], cfg: LoopConfig, t: int
) -> tuple[list[list[tuple[int, ...]]], list[list[str]]]:
    """n answers per prompt at the current weights (token ids and decoded texts)."""
    samples = sample_answers(
        student,
        prompts,
        cfg.n,
        temperature=cfg.temperature,
        max_new_tokens=cfg.max_new_tokens,
        batch_size=cfg.gen_batch,
        seed=round_seed(cfg.seed, t, 0),
    )
    texts = [[student.decode(c) for c in comps] for comps in samples]
    return samples, texts


def score_step(
    verifier: Any,
    questions: Sequence[Question],
    texts: Sequence[Sequence[str]],
    seed: int | None,
    *,
    chunk: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, n) verifier scores and rubric labels c(x, y) of the decoded answers.

    Question x's score noise comes from a generator seeded by (``seed``, x), so the scores do
    not depend on how the questions are split over ranks (chunks of ``chunk`` questions).
    """
    correct = np.array([[rubric(q, a) for a in ts] for q, ts in zip(questions, texts)], float)

    def run_chunk(k: int, s: int, e: int) -> list[np.ndarray]:
        out = []
        for x in range(s, e):
            rng = np.random.default_rng([seed, x]) if seed is not None else None
            out.append(np.asarray(verifier.score(questions[x], texts[x], rng), float))
        return out

    parts = parallel.map_chunks(run_chunk, len(questions), chunk)
    rows = [r for part in parts for r in part]
    if any(r.shape != (len(t),) for r, t in zip(rows, texts)):
        bad = next(r.shape for r, t in zip(rows, texts) if r.shape != (len(t),))
        raise ValueError(f"verifier returned scores of shape {bad}, not one per answer")
    scores = np.stack(rows)
    if not np.isfinite(scores).all():
        raise ValueError("verifier returned a non-finite score")
    return scores, correct


def pair_losses(
    student: Any,
    ref_model: Any,
    prompts: Sequence[Any],
    pairs: Pairs,
    cfg: LoopConfig,
    prev_weights: dict | None,
) -> dict[str, np.ndarray | None]:
    """Reference log-probs and DPO losses of the live pairs under theta_{t-1} (and theta_{t-2}).

    Returns ``ref`` (2L,: chosen then rejected), ``loss_now`` (L,) and ``loss_prev`` (L,) or
    None when there is no previous update or the progress signal is not ``loss``.
    """
    pr = [prompts[x] for x in pairs.live]
    two_p, two_c = pr + pr, pairs.chosen + pairs.rejected
    bs = 2 * cfg.train_batch
    L = len(pr)
    ref = reference_logprobs(student, ref_model, two_p, two_c, batch_size=bs)
    pol = batched_logprobs(student, two_p, two_c, batch_size=bs)
    loss_now = dpo_losses(pol[:L], pol[L:], ref[:L], ref[L:], cfg.beta)
    loss_prev = None
    if prev_weights is not None and cfg.progress == "loss" and L:
        with swapped_weights(student, prev_weights):
            old = batched_logprobs(student, two_p, two_c, batch_size=bs)
        loss_prev = dpo_losses(old[:L], old[L:], ref[:L], ref[L:], cfg.beta)
    return {"ref": ref, "loss_now": loss_now, "loss_prev": loss_prev}


def gate_step(
    state: GateState,
    cfg: LoopConfig,
    t: int,
    pairs: Pairs,
    loss_now: np.ndarray,
    loss_prev: np.ndarray | None,
    mean_score: np.ndarray,
) -> tuple[np.ndarray, GateState]:
    """Progress of round t observed and smoothed, then the replay distribution P (model.md)."""
    N = pairs.void.size
    if cfg.progress == "loss":
        prog = np.zeros(N)
        if loss_prev is not None:
            prog[pairs.live] = loss_progress(loss_prev, loss_now)
    else:
        prog = reward_progress(state, mean_score)
    valid = ~pairs.void if (cfg.progress != "loss" or loss_prev is not None) else np.zeros(N, bool)
    return gate_update(
        state,
        cfg.gate,
        t,
        prog,
        valid,
        pairs.margins,
        lam=cfg.lam,
        tau=cfg.tau,
        temperature=cfg.rank_temperature,
        staleness_coef=cfg.staleness_coef,
    )


def draw_batch(P: np.ndarray, batch: int, rng: np.random.Generator) -> np.ndarray:
    """(N,) counts of B i.i.d. draws from the replay distribution P."""
    draws = rng.choice(P.size, size=batch, replace=True, p=P)
    return np.bincount(draws, minlength=P.size)


def evaluate(
    student: Any,
    questions: Sequence[Question],
    prompts: Sequence[Any],
    cfg: LoopConfig,
) -> dict[str, Any]:
    """Held-out rubric accuracy of greedy answers; with ``choice_probs``, also the exact
    probability of sampling the bare correct letter (``p_correct``, what the simulator's
    A_held measures)."""
    res: dict[str, Any] = {"acc": None}
    if cfg.greedy_eval:
        greedy = sample_answers(
            student,
            prompts,
            1,
            greedy=True,
            max_new_tokens=cfg.max_new_tokens,
            batch_size=cfg.gen_batch,
        )
        res["acc"] = float(
            np.mean([rubric(q, student.decode(g[0])) for q, g in zip(questions, greedy)])
        )
    if cfg.choice_probs:
        comps = [choice_completion(student, q.answer) for q in questions]
        lp = batched_logprobs(student, prompts, comps, batch_size=4 * cfg.gen_batch)
        res["p_correct"] = float(np.mean(np.exp(lp)))
        res["p_correct_per_question"] = np.round(np.exp(lp), 6).tolist()
    return res


def eval_entry(t: int, ev: dict) -> dict:
    return {
        "round": t,
        "heldout_acc": ev["acc"],
        "heldout_p_correct": ev.get("p_correct"),
        "heldout_p_correct_per_question": ev.get("p_correct_per_question"),
    }


def sample_records(
    t: int,
    questions: Sequence[Question],
    texts: Sequence[Sequence[str]],
    scores: np.ndarray,
    correct: np.ndarray,
    pairs: Pairs,
) -> list[dict]:
    """One record per sample (the audit's JSONL fields: question_id, candidate_id, score,
    label), with the round and whether it was the pair's chosen or rejected end."""
    out = []
    for x, q in enumerate(questions):
        for j, a in enumerate(texts[x]):
            end = None
            if not pairs.void[x]:
                end = "chosen" if j == pairs.iw[x] else "rejected" if j == pairs.il[x] else None
            out.append(
                {
                    "round": t,
                    "question_id": q.qid,
                    "candidate_id": a,
                    "sample": j,
                    "score": float(scores[x, j]),
                    "label": int(correct[x, j]),
                    "end": end,
                }
            )
    return out


def train_step(
    trainer: Trainer,
    student: Any,
    prompts: Sequence[Any],
    pairs: Pairs,
    ref: np.ndarray,
    counts: np.ndarray,
    cfg: LoopConfig,
) -> dict[str, Any]:
    """``dpo_steps`` optimiser steps on the drawn live pairs, and their losses after.

    Returns ``drawn`` (positions among the live pairs with a draw), ``weights`` (their draw
    counts), ``steps`` (lr and gradient norm of each step) and ``loss_after`` (the drawn
    pairs' DPO losses after the steps, T4's per-step drop; None if nothing was drawn).
    """
    L = pairs.live.size
    k = np.flatnonzero(counts[pairs.live])
    w = counts[pairs.live[k]]
    out: dict[str, Any] = {"drawn": k, "weights": w.astype(float), "steps": [], "loss_after": None}
    if not k.size:
        return out
    pr = [prompts[pairs.live[i]] for i in k]
    ch, rj = [pairs.chosen[i] for i in k], [pairs.rejected[i] for i in k]
    for _ in range(cfg.dpo_steps):
        out["steps"].append(trainer.step(pr, ch, rj, ref[k], ref[L + k], w, cfg.batch))
    lp = batched_logprobs(student, pr + pr, ch + rj, batch_size=2 * cfg.train_batch)
    out["loss_after"] = dpo_losses(lp[: k.size], lp[k.size :], ref[k], ref[L + k], cfg.beta)
    return out
