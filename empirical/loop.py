"""The verifier-driven self-DPO loop on a real student, resumable round by round.

Per round t (paper/model.md, with a VLM in place of the linear-softmax student):
sample n answers per train question at the current theta, score them with the frozen verifier,
form best/worst pairs (void when both ends are the same answer), compute DPO losses of all fresh
pairs, draw a batch of B questions from the replay distribution P (``sim.reference.
replay_distribution``: the same gate semantics as the simulator), take DPO step(s) against the
frozen reference, measure progress (``loss``: l before - l after on each fresh pair; ``reward``:
the rise of the verifier's mean score since the question's last visit), smooth it, evaluate
held-out rubric accuracy, append one JSON line to the log and checkpoint (trainable weights,
optimizer, RNG, replay state, log). Every random draw of round t comes from a generator seeded
by (seed, t), so a run killed mid-round and resumed from the last complete round ends with the
same log as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from empirical.data import LETTERS, Question, rubric
from theory.util import UsageError, atomic_write_json, atomic_write_text

PROGRESS = ("loss", "reward")


@dataclass(frozen=True)
class LoopConfig:
    """Shape and hyper-parameters of one loop run (all of them go into the resume check)."""

    rounds: int = 10
    n: int = 4
    gate: str = "uniform"
    batch: int = 64
    lr: float = 1e-5
    beta: float = 0.1
    dpo_steps: int = 1
    progress: str = "loss"
    lam: float = 0.5
    tau: float = 0.0
    rank_temperature: float = 0.1
    staleness_coef: float = 0.1
    temperature: float = 1.0
    max_new_tokens: int = 32
    gen_batch: int = 16
    train_batch: int = 8
    choice_probs: bool = False
    greedy_eval: bool = True
    seed: int = 0


def _round_seed(seed: int, t: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, t, stream]).generate_state(1)[0])


def choice_completion(student: Any, letter: str) -> tuple[int, ...]:
    """Token ids of the bare answer ``letter`` followed by EOS."""
    ids = student.tokenizer(letter, add_special_tokens=False)["input_ids"]
    return tuple(int(i) for i in ids) + (student.eos_token_ids[0],)


def batched_logprobs(
    student: Any,
    prompts: Sequence[Any],
    completions: Sequence[Sequence[int]],
    *,
    batch_size: int,
    model: Any = None,
) -> np.ndarray:
    """Summed completion log-probs without gradients, as a numpy array."""
    import torch

    from empirical import parallel
    from empirical.student import completion_logprobs

    m = student.model if model is None else model
    was = m.training
    m.eval()

    def run_chunk(k: int, s: int, e: int) -> np.ndarray:
        lp = completion_logprobs(student, prompts[s:e], completions[s:e], model=m)
        return lp.double().cpu().numpy()

    with torch.no_grad():
        out = parallel.map_chunks(run_chunk, len(prompts), batch_size)
    m.train(was)
    return np.concatenate(out) if out else np.zeros(0)


def reference_logprobs(student: Any, ref_model: Any, prompts, completions, batch_size: int):
    """log pi_ref of each completion (the frozen start model, or the LoRA base)."""
    if student.lora:
        with student.model.disable_adapter():
            return batched_logprobs(student, prompts, completions, batch_size=batch_size)
    return batched_logprobs(student, prompts, completions, batch_size=batch_size, model=ref_model)


def evaluate(
    student: Any,
    questions: Sequence[Question],
    prompts: Sequence[Any],
    cfg: LoopConfig,
) -> dict[str, Any]:
    """Held-out rubric accuracy of greedy answers; with ``choice_probs``, also the exact
    probability of sampling the bare correct letter (``p_correct``, what the simulator's
    A_held measures)."""
    from empirical.student import sample_answers

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


def _dpo_losses(pw, pl, rw, rl, beta) -> np.ndarray:
    h = beta * ((pw - rw) - (pl - rl))
    return np.logaddexp(0.0, -h)  # -log sigmoid(h)


class Checkpointer:
    """Round checkpoints under ``out/ckpt-TTTT`` (written to a temp dir, then renamed)."""

    def __init__(self, out: Path):
        self.out = out

    def latest(self) -> tuple[int, Path] | None:
        done = []
        for p in self.out.glob("ckpt-*"):
            if p.is_dir() and (p / "COMPLETE").is_file():
                done.append((int(p.name.split("-")[1]), p))
        return max(done) if done else None

    def save(self, t: int, trainable: dict, optimizer: Any, state: dict) -> None:
        import torch

        tmp = self.out / f".tmp-ckpt-{t:04d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save(trainable, tmp / "trainable.pt")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save({"torch_rng": torch.get_rng_state()}, tmp / "rng.pt")
        (tmp / "state.json").write_text(json.dumps(state))
        (tmp / "COMPLETE").write_text("ok\n")
        final = self.out / f"ckpt-{t:04d}"
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for p in self.out.glob("ckpt-*"):
            if p != final:
                shutil.rmtree(p, ignore_errors=True)


def _trainable_state(model: Any) -> dict:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k in names}


def run_loop(
    student: Any,
    train: Sequence[Question],
    heldout: Sequence[Question],
    verifier: Any,
    cfg: LoopConfig,
    out: str | Path,
    *,
    quiet: bool = True,
    fault: Callable[[int, str], None] | None = None,
) -> list[dict]:
    """Run (or resume) the loop; returns the per-round log (round 0 = before training).

    Args:
        student: from ``empirical.student.load_student`` (its weights at call time are the
            frozen reference pi_ref and the start of training).
        train: the pool of train questions (every one gets a fresh pair each round).
        heldout: questions never trained on (the benchmark score).
        verifier: has ``score(question, answers, rng) -> scores``.
        cfg: loop configuration.
        out: run folder (config.json, log.jsonl, ckpt-TTTT/).
        quiet: no progress bar.
        fault: test hook called as fault(t, stage) at each stage (raise to simulate a crash).
    """
    import copy

    import torch

    from empirical import parallel
    from empirical.student import sample_answers
    from sim.reference import replay_distribution

    parallel.init()
    main = parallel.is_main()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg_json = {
        **asdict(cfg),
        "n_train": len(train),
        "n_heldout": len(heldout),
        "verifier": repr(verifier),
        "student": student.path,
    }
    cfg_path = out / "config.json"
    if cfg_path.is_file():
        old = json.loads(cfg_path.read_text())
        if old != json.loads(json.dumps(cfg_json)):
            diff = sorted(k for k in set(old) | set(cfg_json) if old.get(k) != cfg_json.get(k))
            raise UsageError(
                f"--out {out} holds a run with another configuration ({', '.join(diff)}); "
                "use a new --out"
            )
    elif main:
        atomic_write_json(cfg_path, cfg_json)
    parallel.barrier()
    fault = fault or (lambda t, stage: None)
    model = student.model
    ref_model = None
    if not student.lora:
        ref_model = copy.deepcopy(model).eval()
        for p in ref_model.parameters():
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    N = len(train)
    train_prompts = [student.encode(q.prompt, q.images) for q in train]
    held_prompts = [student.encode(q.prompt, q.images) for q in heldout]
    ck = Checkpointer(out)
    latest = ck.latest()
    if latest is not None:
        t0, path = latest
        model.load_state_dict(torch.load(path / "trainable.pt"), strict=False)
        opt.load_state_dict(torch.load(path / "optimizer.pt"))
        torch.set_rng_state(torch.load(path / "rng.pt")["torch_rng"])
        st = json.loads((path / "state.json").read_text())
        S, last_visit = np.array(st["S"]), np.array(st["last_visit"])
        reward_at_visit = np.array(
            [np.nan if v is None else v for v in st["reward_at_visit"]], dtype=float
        )
        log = st["log"]
    else:
        t0 = 0
        S, last_visit, reward_at_visit = np.zeros(N), np.zeros(N), np.full(N, np.nan)
        ev = evaluate(student, heldout, held_prompts, cfg)
        log = [
            {
                "round": 0,
                "heldout_acc": ev["acc"],
                "heldout_p_correct": ev.get("p_correct"),
                "heldout_p_correct_per_question": ev.get("p_correct_per_question"),
            }
        ]
    if main:
        atomic_write_text(out / "log.jsonl", "".join(json.dumps(r) + "\n" for r in log))
    bar = None
    if not quiet and main:
        from tqdm import tqdm

        bar = tqdm(total=cfg.rounds, initial=t0, desc="self-DPO rounds", file=sys.stderr)
    for t in range(t0 + 1, cfg.rounds + 1):
        tic = time.perf_counter()
        rng_batch = np.random.default_rng(_round_seed(cfg.seed, t, 1))
        rng_verifier = np.random.default_rng(_round_seed(cfg.seed, t, 2))
        samples = sample_answers(
            student,
            train_prompts,
            cfg.n,
            temperature=cfg.temperature,
            max_new_tokens=cfg.max_new_tokens,
            batch_size=cfg.gen_batch,
            seed=_round_seed(cfg.seed, t, 0),
        )
        fault(t, "sampled")
        texts = [[student.decode(c) for c in comps] for comps in samples]
        correct = np.array([[rubric(q, a) for a in ts] for q, ts in zip(train, texts)], float)
        scores = np.stack([verifier.score(q, ts, rng_verifier) for q, ts in zip(train, texts)])
        iw, il = scores.argmax(1), scores.argmin(1)
        void = np.array([texts[x][iw[x]] == texts[x][il[x]] for x in range(N)])
        cw = correct[np.arange(N), iw]
        cl = correct[np.arange(N), il]
        right = ~void & (cw > cl)
        wrong = ~void & (cw < cl)
        margins = np.where(void, 0.0, scores[np.arange(N), iw] - scores[np.arange(N), il])
        live = np.flatnonzero(~void)
        w_comp = [samples[x][iw[x]] for x in live]
        l_comp = [samples[x][il[x]] for x in live]
        pr = [train_prompts[x] for x in live]
        two_p, two_c = pr + pr, w_comp + l_comp
        bs = 2 * cfg.train_batch
        ref = reference_logprobs(student, ref_model, two_p, two_c, bs)
        pol = batched_logprobs(student, two_p, two_c, batch_size=bs)
        L = len(live)
        loss_before = _dpo_losses(pol[:L], pol[L:], ref[:L], ref[L:], cfg.beta)
        fault(t, "scored")
        # replay distribution over all N questions, then a batch of B draws with replacement
        staleness = t - last_visit
        P = replay_distribution(
            cfg.gate,
            S,
            staleness,
            margins,
            t,
            tau=cfg.tau,
            temperature=cfg.rank_temperature,
            staleness_coef=cfg.staleness_coef,
        )
        draws = rng_batch.choice(N, size=cfg.batch, replace=True, p=P)
        counts = np.bincount(draws, minlength=N)
        pos = {int(x): k for k, x in enumerate(live)}
        trained = [(pos[x], counts[x]) for x in np.flatnonzero(counts) if x in pos]
        model.train()
        for _ in range(cfg.dpo_steps):
            opt.zero_grad(set_to_none=True)
            # this rank's chunks of the trained pairs; gradients summed over ranks below
            for _, s, e in parallel.my_chunks(len(trained), cfg.train_batch):
                chunk = trained[s:e]
                idx = [k for k, _ in chunk]
                wts = (
                    torch.tensor([c for _, c in chunk], dtype=torch.float32, device=student.device)
                    / cfg.batch
                )
                lp = _grad_logprobs(
                    student,
                    [pr[k] for k in idx] * 2,
                    [w_comp[k] for k in idx] + [l_comp[k] for k in idx],
                )
                m = len(idx)
                rw = torch.tensor(ref[idx], dtype=torch.float32, device=student.device)
                rl = torch.tensor(
                    ref[[L + k for k in idx]], dtype=torch.float32, device=student.device
                )
                from empirical.dpo import dpo_loss

                loss = (wts * dpo_loss(lp[:m], lp[m:], rw, rl, cfg.beta)).sum()
                loss.backward()
            if trained:
                parallel.all_reduce_grads(params)
                opt.step()
        fault(t, "stepped")
        pol_after = batched_logprobs(student, two_p, two_c, batch_size=bs)
        loss_after = _dpo_losses(pol_after[:L], pol_after[L:], ref[:L], ref[L:], cfg.beta)
        # progress (model.md) and its exponential moving average
        mean_score = scores.mean(1)
        if cfg.progress == "loss":
            prog = np.zeros(N)
            prog[live] = loss_before - loss_after
        else:
            prog = np.where(np.isnan(reward_at_visit), 0.0, mean_score - reward_at_visit)
        observed = ~void
        S = np.where(observed, (1 - cfg.lam) * S + cfg.lam * prog, S)
        visited = counts > 0
        last_visit = np.where(visited, t, last_visit)
        reward_at_visit = np.where(visited, mean_score, reward_at_visit)
        ev = evaluate(student, heldout, held_prompts, cfg)
        fault(t, "evaluated")
        tr_idx = np.array([k for k, _ in trained], dtype=int)
        tr_w = np.array([c for _, c in trained], dtype=float)
        w_real = counts / cfg.batch
        entry = {
            "round": t,
            "heldout_acc": ev["acc"],
            "heldout_p_correct": ev.get("p_correct"),
            "heldout_p_correct_per_question": ev.get("p_correct_per_question"),
            "sample_acc": float(correct.mean()),
            "dpo_loss_trained": _wmean(loss_before[tr_idx], tr_w),
            "dpo_loss_trained_after": _wmean(loss_after[tr_idx], tr_w),
            "dpo_loss_fresh": float(loss_before.mean()) if L else None,
            "pairs": {
                "right": int(right.sum()),
                "wrong": int(wrong.sum()),
                "unoriented": int((~void & ~right & ~wrong).sum()),
                "void": int(void.sum()),
            },
            "replay_mass": {
                "right": float(P[right].sum()),
                "wrong": float(P[wrong].sum()),
                "unoriented": float(P[~right & ~wrong].sum()),
            },
            "gate": {
                "name": cfg.gate,
                "n_eff": float(w_real.sum() ** 2 / (w_real**2).sum()),
                "n_eff_dist": float(1.0 / (P**2).sum()),
                "max_weight": float(P.max()),
                "progress_mean": float(S.mean()),
                "progress_max": float(S.max()),
            },
            "seconds": round(time.perf_counter() - tic, 3),
        }
        log.append(entry)
        state = {
            "S": S.tolist(),
            "last_visit": last_visit.tolist(),
            "reward_at_visit": [None if math.isnan(v) else v for v in reward_at_visit],
            "log": log,
        }
        if main:
            ck.save(t, _trainable_state(model), opt, state)
            atomic_write_text(out / "log.jsonl", "".join(json.dumps(r) + "\n" for r in log))
        parallel.barrier()
        if bar is not None:
            bar.update(1)
            shown = ev["acc"] if ev["acc"] is not None else ev.get("p_correct")
            bar.set_postfix(heldout=shown, loss=entry["dpo_loss_trained"])
    if bar is not None:
        bar.close()
    return log


def _wmean(x: np.ndarray, w: np.ndarray) -> float | None:
    return float((x * w).sum() / w.sum()) if w.sum() > 0 else None


def _grad_logprobs(student: Any, prompts, completions):
    from empirical.student import completion_logprobs

    return completion_logprobs(student, prompts, completions)


def read_log(out: str | Path) -> list[dict]:
    """The per-round log of a run folder."""
    p = Path(out) / "log.jsonl"
    if not p.is_file():
        raise FileNotFoundError(f"no log.jsonl in {out}")
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


__all__ = ["LoopConfig", "run_loop", "evaluate", "read_log", "PROGRESS", "LETTERS"]
