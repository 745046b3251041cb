"""DPO training of the student: pair log-probs, the per-pair loss and the optimiser step.

Mixed precision as ``accelerate``'s ``mixed_precision="bf16"`` does it (torch autocast): with
``dtype="bfloat16"`` the trainable weights and the optimiser state stay float32 (the master copy)
and the forward pass runs under bf16 autocast; frozen weights (the LoRA base, the reference
model) are stored in bf16. ``dtype="float32"`` is plain float32. Each of a round's
``dpo_steps`` optimiser steps takes the round's whole replay batch, accumulated over
micro-batches of ``train_batch`` pairs, with gradient-norm clipping and a learning-rate schedule
over all the run's steps.

Step size convention (paper/model.md, the simulator's): the loss of the batch is
sum_x (count_x / B) l_x over the B draws, void draws counting in B (``step_norm="batch"``);
``step_norm="pairs"`` divides by the number of non-void draws instead (TRL's mean over pairs).
With ``optimizer="sgd"`` the step is exactly the simulator's theta + eta (1/B) sum G.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from empirical import parallel
from empirical.checkpoint import trainable_state
from empirical.dpo import dpo_loss
from empirical.prefix import distinct, logprobs
from empirical.torchutil import autocast
from empirical.vision_cache import features_kept_for, put_features, take_features

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "STEP_NORMS",
    "Trainer",
    "batched_logprobs",
    "dpo_losses",
    "reference_logprobs",
    "swapped_weights",
]

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("constant", "linear", "cosine")
STEP_NORMS = ("batch", "pairs")


def dpo_losses(pw, pl, rw, rl, beta: float) -> np.ndarray:
    """Per-pair DPO loss -log sigmoid(h) in numpy (float64), for logging and progress."""
    h = beta * ((np.asarray(pw) - rw) - (np.asarray(pl) - rl))
    return np.logaddexp(0.0, -h)


def batched_logprobs(
    student: Any,
    prompts: Sequence[Any],
    completions: Sequence[Sequence[int]],
    *,
    batch_size: int,
    model: Any = None,
) -> np.ndarray:
    """Summed completion log-probs without gradients, as a float64 numpy array.

    With prefix sharing the rows are grouped by prompt (the chosen and rejected ends of a
    pair land in the same chunk, so their prompt runs once) and put back in order after."""
    import torch

    m = student.model if model is None else model
    was = m.training
    m.eval()
    order = np.arange(len(prompts))
    if student.prefix_sharing:
        order = np.argsort(distinct(prompts)[1], kind="stable")
    prompts = [prompts[i] for i in order]
    completions = [completions[i] for i in order]

    def run_chunk(k: int, s: int, e: int) -> np.ndarray:
        with autocast(student):
            lp = logprobs(student, prompts[s:e], completions[s:e], model=m)
        return lp.double().cpu().numpy()

    with torch.no_grad():
        out = parallel.map_chunks(run_chunk, len(prompts), batch_size)
    m.train(was)
    res = np.zeros(len(order))
    res[order] = np.concatenate(out) if out else np.zeros(0)
    return res


def reference_logprobs(
    student: Any, ref_model: Any, prompts, completions, *, batch_size: int
) -> np.ndarray:
    """log pi_ref of each completion (the frozen start model, or the LoRA base)."""
    if student.lora:
        with student.model.disable_adapter():
            return batched_logprobs(student, prompts, completions, batch_size=batch_size)
    return batched_logprobs(student, prompts, completions, batch_size=batch_size, model=ref_model)


@contextlib.contextmanager
def swapped_weights(student: Any, weights: dict) -> Iterator[None]:
    """Temporarily load ``weights`` (a trainable-state dict) into the student's model, then
    restore them. The vision features cached before the swap stay valid after it, and those
    kept for ``weights`` (``keep_features``) serve the swap."""
    import torch

    model = student.model
    now = trainable_state(model)
    saved = take_features(student, model)
    with torch.no_grad():
        model.load_state_dict(weights, strict=False)
    put_features(student, model, features_kept_for(student, weights))
    try:
        yield
    finally:
        with torch.no_grad():
            model.load_state_dict(now, strict=False)
        put_features(student, model, saved)


def _lr_lambda(schedule: str, warmup: int, total: int):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if schedule == "constant":
            return 1.0
        frac = min(1.0, (step - warmup) / max(1, total - warmup))
        if schedule == "linear":
            return 1.0 - frac
        return 0.5 * (1.0 + np.cos(np.pi * frac))

    return f


class Trainer:
    """Optimiser, schedule and the DPO step for one student (state saved with the run)."""

    def __init__(
        self,
        student: Any,
        *,
        lr: float,
        beta: float,
        total_steps: int,
        optimizer: str = "adamw",
        schedule: str = "constant",
        warmup_steps: int = 0,
        grad_clip: float = 1.0,
        weight_decay: float = 0.0,
        micro_batch: int = 8,
        step_norm: str = "batch",
    ):
        import torch

        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}")
        if step_norm not in STEP_NORMS:
            raise ValueError(f"step_norm must be one of {', '.join(STEP_NORMS)}")
        self.student = student
        self.beta = beta
        self.grad_clip = grad_clip
        self.micro_batch = micro_batch
        self.step_norm = step_norm
        self.params = [p for p in student.model.parameters() if p.requires_grad]
        if optimizer == "adamw":
            self.opt = torch.optim.AdamW(self.params, lr=lr, weight_decay=weight_decay)
        else:
            self.opt = torch.optim.SGD(self.params, lr=lr, weight_decay=weight_decay)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, _lr_lambda(schedule, warmup_steps, total_steps)
        )

    def state_dict(self) -> dict:
        return {"optimizer": self.opt.state_dict(), "schedule": self.sched.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["schedule"])

    @property
    def lr(self) -> float:
        return float(self.sched.get_last_lr()[0])

    def step(
        self,
        prompts: Sequence[Any],
        chosen: Sequence[Sequence[int]],
        rejected: Sequence[Sequence[int]],
        ref_chosen: np.ndarray,
        ref_rejected: np.ndarray,
        counts: np.ndarray,
        batch: int,
    ) -> dict[str, float]:
        """One optimiser step on the pairs (with multiplicities ``counts`` out of ``batch``
        draws), accumulated over micro-batches and summed over ranks.

        Returns the learning rate used and the gradient norm before clipping.
        """
        import torch

        st = self.student
        counts = np.asarray(counts, dtype=float)
        denom = float(batch) if self.step_norm == "batch" else float(counts.sum())
        self.opt.zero_grad(set_to_none=True)
        st.model.train()
        for _, s, e in parallel.my_chunks(len(prompts), self.micro_batch):
            m = e - s
            wts = torch.tensor(counts[s:e] / denom, dtype=torch.float32, device=st.device)
            with autocast(st):
                lp = logprobs(st, list(prompts[s:e]) * 2, list(chosen[s:e]) + list(rejected[s:e]))
            rw = torch.tensor(ref_chosen[s:e], dtype=torch.float32, device=st.device)
            rl = torch.tensor(ref_rejected[s:e], dtype=torch.float32, device=st.device)
            loss = (wts * dpo_loss(lp[:m].float(), lp[m:].float(), rw, rl, self.beta)).sum()
            loss.backward()
        parallel.all_reduce_grads(self.params)
        norm = torch.nn.utils.clip_grad_norm_(
            self.params, self.grad_clip if self.grad_clip > 0 else float("inf")
        )
        lr = self.lr
        self.opt.step()
        self.sched.step()
        return {"lr": lr, "grad_norm": float(norm)}
