"""The configuration of one self-DPO loop run (every field goes into the resume check)."""

from __future__ import annotations

from dataclasses import dataclass

from theory.gates import GATE_DEFAULTS

__all__ = ["LoopConfig"]


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
    lam: float = GATE_DEFAULTS["lam"]
    tau: float = GATE_DEFAULTS["tau"]
    rank_temperature: float = GATE_DEFAULTS["temperature"]
    staleness_coef: float = GATE_DEFAULTS["staleness"]
    temperature: float = 1.0
    max_new_tokens: int = 32
    gen_batch: int = 16
    train_batch: int = 8
    choice_probs: bool = False
    greedy_eval: bool = True
    seed: int = 0
    optimizer: str = "adamw"
    schedule: str = "constant"
    warmup_steps: int = 0
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    step_norm: str = "batch"
