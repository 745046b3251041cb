"""The verifier-driven self-DPO loop on a real student, resumable round by round.

One round t runs the steps of ``empirical.steps`` in paper/model.md's order: sample at
theta_{t-1}, score, pair, the pairs' DPO losses (under theta_{t-1}, and theta_{t-2} for ``loss``
progress), observe progress then build the replay distribution P (``sim.reference``'s gate),
draw the batch, train, evaluate, checkpoint. Every random draw of round t comes from a generator
seeded by (seed, t), so a run killed mid-round and resumed from the last complete round ends with
the same log as an uninterrupted one. Files in the run folder: config.json, log.jsonl (one line
per round), samples/round-TTTT.jsonl (every sample's score and rubric label, in the audit's
JSONL fields), ckpt-TTTT/ (the latest round's weights, optimiser, RNG and loop state).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from empirical import parallel
from empirical.checkpoint import Checkpointer, trainable_state
from empirical.config import LoopConfig
from empirical.data import Question
from empirical.gate import GateState, gate_init, gate_visit
from empirical.pairs import make_pairs
from empirical.steps import (
    draw_batch,
    eval_entry,
    evaluate,
    gate_step,
    pair_losses,
    round_seed,
    sample_records,
    sample_step,
    score_step,
    train_step,
)
from empirical.train import Trainer
from empirical.vision_cache import keep_features, register_prompts
from sim.files import atomic_write_json, atomic_write_text
from theory.util import UsageError

__all__ = ["LoopConfig", "LoopState", "read_log", "read_samples", "run_loop", "run_round"]


@dataclass
class LoopState:
    """What a checkpoint carries besides tensors: the gate's state and the log so far."""

    gate: GateState
    log: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        g = self.gate
        return {
            "S": g.S.tolist(),
            "last_visit": g.last_visit.tolist(),
            "reward_at_visit": [None if math.isnan(v) else v for v in g.reward_at_visit],
            "log": self.log,
        }

    @classmethod
    def from_json(cls, st: dict) -> LoopState:
        gate = GateState(
            np.array(st["S"], dtype=float),
            np.array(st["last_visit"], dtype=np.int64),
            np.array([np.nan if v is None else v for v in st["reward_at_visit"]], dtype=float),
        )
        return cls(gate, st["log"])


# ----- the loop ------------------------------------------------------------------------------


def _check_config(out: Path, cfg_json: dict, main: bool) -> None:
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


def _frozen_reference(student: Any) -> Any:
    """A frozen copy of the start weights (None for LoRA: the base model is the reference)."""
    import copy

    if student.lora:
        return None
    ref = copy.deepcopy(student.model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    if getattr(student, "compute_dtype", "float32") == "bfloat16":
        ref.to(dtype=student.storage_dtype)
    return ref


@dataclass
class _Run:
    """Everything a round needs that does not change between rounds."""

    student: Any
    ref_model: Any
    trainer: Trainer
    train: Sequence[Question]
    heldout: Sequence[Question]
    train_prompts: list
    held_prompts: list
    verifier: Any
    cfg: LoopConfig
    out: Path
    fault: Callable[[int, str], None]


def run_round(run: _Run, state: LoopState, prev: dict | None, t: int) -> tuple[dict, dict]:
    """Round t: returns its log entry, the trainable weights before its step and its samples."""
    cfg, st = run.cfg, run.student
    clock = [time.perf_counter()]
    samples, texts = sample_step(st, run.train_prompts, cfg, t)
    run.fault(t, "sampled")
    clock.append(time.perf_counter())
    scores, correct = score_step(run.verifier, run.train, texts, round_seed(cfg.seed, t, 2))
    pairs = make_pairs(samples, texts, scores, correct)
    losses = pair_losses(st, run.ref_model, run.train_prompts, pairs, cfg, prev)
    run.fault(t, "scored")
    clock.append(time.perf_counter())
    mean_score = scores.mean(1)
    P, gate = gate_step(
        state.gate, cfg, t, pairs, losses["loss_now"], losses["loss_prev"], mean_score
    )
    counts = draw_batch(P, cfg.batch, np.random.default_rng(round_seed(cfg.seed, t, 1)))
    before = trainable_state(st.model)
    keep_features(st, st.model, before)  # theta_{t-1}'s features serve round t+1's loss_prev
    tr = train_step(run.trainer, st, run.train_prompts, pairs, losses["ref"], counts, cfg)
    run.fault(t, "stepped")
    clock.append(time.perf_counter())
    state.gate = gate_visit(gate, counts, t, mean_score)
    ev = evaluate(st, run.heldout, run.held_prompts, cfg)
    run.fault(t, "evaluated")
    clock.append(time.perf_counter())
    loss_now, k, w = losses["loss_now"], tr["drawn"], tr["weights"]
    w_real = counts / cfg.batch
    entry = {
        **eval_entry(t, ev),
        "sample_acc": float(correct.mean()),
        "dpo_loss_trained": _wmean(loss_now[k], w),
        "dpo_loss_trained_after": _wmean(tr["loss_after"], w),
        "dpo_loss_fresh": float(loss_now.mean()) if loss_now.size else None,
        "pairs": pairs.counts,
        "replay_mass": {
            "right": float(P[pairs.right].sum()),
            "wrong": float(P[pairs.wrong].sum()),
            "unoriented": float(P[~pairs.right & ~pairs.wrong].sum()),
        },
        "gate": {
            "name": cfg.gate,
            "n_eff": float(w_real.sum() ** 2 / (w_real**2).sum()),
            "n_eff_dist": float(1.0 / (P**2).sum()),
            "max_weight": float(P.max()),
            "progress_mean": float(gate.S.mean()),
            "progress_max": float(gate.S.max()),
        },
        "train": {
            "steps": len(tr["steps"]),
            "lr": tr["steps"][0]["lr"] if tr["steps"] else None,
            "grad_norm": tr["steps"][0]["grad_norm"] if tr["steps"] else None,
            "pairs_trained": int(k.size),
            "draws_void": int(cfg.batch - w.sum()),
        },
        "seconds": _split(clock),
    }
    recs = sample_records(t, run.train, texts, scores, correct, pairs)
    return entry, {"before": before, "samples": recs}


def _split(clock: list[float]) -> dict[str, float]:
    names = ("sample", "score", "train", "evaluate")
    out = {"total": round(clock[-1] - clock[0], 3)}
    out.update({n: round(b - a, 3) for n, a, b in zip(names, clock, clock[1:])})
    return out


def save_round(
    run: _Run, ck: Checkpointer, t: int, state: LoopState, prev: dict | None, samples: list[dict]
) -> None:
    """Checkpoint round t (rank 0) and rewrite the logs atomically."""
    if parallel.is_main():
        atomic_write_text(
            run.out / "samples" / f"round-{t:04d}.jsonl",
            "".join(json.dumps(r) + "\n" for r in samples),
        )
        tensors = {
            "trainable": trainable_state(run.student.model),
            "trainer": run.trainer.state_dict(),
        }
        if prev is not None:
            tensors["prev"] = prev
        import torch

        tensors["rng"] = {"torch_rng": torch.get_rng_state()}
        ck.save(t, tensors, state.to_json())
        _write_log(run.out, state.log)
    parallel.barrier()


def _write_log(out: Path, log: list[dict]) -> None:
    atomic_write_text(out / "log.jsonl", "".join(json.dumps(r) + "\n" for r in log))


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
        out: run folder (config.json, log.jsonl, samples/round-TTTT.jsonl, ckpt-TTTT/).
        quiet: no progress bar.
        fault: test hook called as fault(t, stage) at each stage (raise to simulate a crash).
    """
    parallel.init()
    run = _setup(student, train, heldout, verifier, cfg, Path(out), fault)
    ck = Checkpointer(run.out)
    t0, state, prev = _resume_or_start(run, ck)
    bar = _progress_bar(cfg.rounds, t0) if not quiet and parallel.is_main() else None
    for t in range(t0 + 1, cfg.rounds + 1):
        entry, extra = run_round(run, state, prev, t)
        state.log.append(entry)
        prev = extra["before"]
        save_round(run, ck, t, state, prev, extra["samples"])
        if bar is not None:
            shown = entry["heldout_acc"]
            bar.update(1)
            bar.set_postfix(
                heldout=shown if shown is not None else entry["heldout_p_correct"],
                loss=entry["dpo_loss_trained"],
            )
    if bar is not None:
        bar.close()
    return state.log


def _setup(student, train, heldout, verifier, cfg: LoopConfig, out: Path, fault) -> _Run:
    """Check (or write) the run's configuration and build what every round needs."""
    out.mkdir(parents=True, exist_ok=True)
    cfg_json = {
        **asdict(cfg),
        "n_train": len(train),
        "n_heldout": len(heldout),
        "verifier": repr(verifier),
        "student": student.path,
        "dtype": getattr(student, "compute_dtype", "float32"),
    }
    _check_config(out, cfg_json, parallel.is_main())
    parallel.barrier()
    trainer = Trainer(
        student,
        lr=cfg.lr,
        beta=cfg.beta,
        total_steps=cfg.rounds * cfg.dpo_steps,
        optimizer=cfg.optimizer,
        schedule=cfg.schedule,
        warmup_steps=cfg.warmup_steps,
        grad_clip=cfg.grad_clip,
        weight_decay=cfg.weight_decay,
        micro_batch=cfg.train_batch,
        step_norm=cfg.step_norm,
    )
    train_prompts = student.encode_all([(q.prompt, q.images) for q in train])
    held_prompts = student.encode_all([(q.prompt, q.images) for q in heldout])
    register_prompts(student, train_prompts)
    register_prompts(student, held_prompts)
    return _Run(
        student=student,
        ref_model=_frozen_reference(student),
        trainer=trainer,
        train=train,
        heldout=heldout,
        train_prompts=train_prompts,
        held_prompts=held_prompts,
        verifier=verifier,
        cfg=cfg,
        out=out,
        fault=fault or (lambda t, stage: None),
    )


def _resume_or_start(run: _Run, ck: Checkpointer) -> tuple[int, LoopState, dict | None]:
    """(last complete round, loop state, weights before its step) from the latest checkpoint,
    or round 0 with the start's held-out evaluation."""
    import torch

    if parallel.is_main():
        ck.clean_temp()
    latest = ck.latest()
    prev = None
    if latest is not None:
        t0, path = latest
        run.student.model.load_state_dict(ck.load(path, "trainable"), strict=False)
        run.trainer.load_state_dict(ck.load(path, "trainer"))
        torch.set_rng_state(ck.load(path, "rng")["torch_rng"])
        if (path / "prev.pt").is_file():
            prev = ck.load(path, "prev")
        state = LoopState.from_json(ck.state(path))
    else:
        t0 = 0
        ev = evaluate(run.student, run.heldout, run.held_prompts, run.cfg)
        state = LoopState(gate_init(len(run.train)), [eval_entry(0, ev)])
    if parallel.is_main():
        _write_log(run.out, state.log)
    return t0, state, prev


def _progress_bar(total: int, initial: int):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="self-DPO rounds", file=sys.stderr)


def _wmean(x: np.ndarray | None, w: np.ndarray) -> float | None:
    if x is None or w.sum() <= 0:
        return None
    return float((x * w).sum() / w.sum())


def read_log(out: str | Path) -> list[dict]:
    """The per-round log of a run folder."""
    p = Path(out) / "log.jsonl"
    if not p.is_file():
        raise FileNotFoundError(f"no log.jsonl in {out}")
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def read_samples(out: str | Path) -> list[dict]:
    """Every logged sample of a run folder (all rounds, in order)."""
    files = sorted((Path(out) / "samples").glob("round-*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line]
