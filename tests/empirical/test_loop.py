"""The self-DPO loop: per-round log contents, and resume after a simulated crash ends with the
same log as an uninterrupted run (same seed)."""

from __future__ import annotations

import json

import pytest

from empirical.data import synthetic_task
from empirical.loop import LoopConfig, read_log, run_loop
from empirical.student import load_student
from empirical.verifiers import SyntheticVerifier
from theory.util import UsageError

CFG = LoopConfig(
    rounds=3,
    n=3,
    gate="rank",
    batch=6,
    lr=1e-3,
    beta=0.5,
    max_new_tokens=2,
    gen_batch=8,
    train_batch=4,
    choice_probs=True,
    seed=3,
)


class Crash(RuntimeError):
    pass


def _strip(log):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in log]


def _run(tiny_path, out, **kw):
    s = load_student(tiny_path, device="cpu")
    return run_loop(
        s,
        synthetic_task(8, 0, split="pool"),
        synthetic_task(6, 0, split="held"),
        SyntheticVerifier(0.3, 2.0, seed=1),
        CFG,
        out,
        **kw,
    )


def test_log_contents(tiny_path, tmp_path):
    log = _run(tiny_path, tmp_path / "a")
    assert [r["round"] for r in log] == [0, 1, 2, 3]
    assert _strip(read_log(tmp_path / "a")) == _strip(log)
    for r in log[1:]:
        p = r["pairs"]
        assert p["right"] + p["wrong"] + p["unoriented"] + p["void"] == 8
        assert 0 <= r["heldout_p_correct"] <= 1
        assert sum(r["replay_mass"].values()) == pytest.approx(1.0)
        assert 1 <= r["gate"]["n_eff"] <= CFG.batch
    # round 1: policy == reference, so every fresh pair's DPO loss is log 2
    assert log[1]["dpo_loss_fresh"] == pytest.approx(0.6931, abs=1e-3)


@pytest.mark.parametrize("stage", ["sampled", "stepped", "evaluated"])
def test_resume_after_crash_gives_the_same_log(tiny_path, tmp_path, stage):
    full = _run(tiny_path, tmp_path / "full")

    def fault(t, s):
        if t == 2 and s == stage:
            raise Crash

    with pytest.raises(Crash):
        _run(tiny_path, tmp_path / "crash", fault=fault)
    assert [r["round"] for r in read_log(tmp_path / "crash")] == [0, 1]
    resumed = _run(tiny_path, tmp_path / "crash")
    assert _strip(resumed) == _strip(full)
    # re-running a finished run does nothing and returns the same log
    again = _run(tiny_path, tmp_path / "crash")
    assert _strip(again) == _strip(full)


def test_resume_refuses_another_configuration(tiny_path, tmp_path):
    _run(tiny_path, tmp_path / "r")
    s = load_student(tiny_path, device="cpu")
    other = LoopConfig(**{**CFG.__dict__, "lr": 5e-3})
    with pytest.raises(UsageError, match="lr"):
        run_loop(
            s,
            synthetic_task(8, 0, split="pool"),
            synthetic_task(6, 0, split="held"),
            SyntheticVerifier(0.3, 2.0, seed=1),
            other,
            tmp_path / "r",
        )
    assert json.loads((tmp_path / "r" / "config.json").read_text())["lr"] == CFG.lr


def test_resume_with_reward_progress_and_proportional_gate(tiny_path, tmp_path):
    """The `reward` progress signal's state (score at last visit, NaN before any) survives a
    checkpoint: resumed and uninterrupted runs give the same log."""
    cfg = LoopConfig(**{**CFG.__dict__, "progress": "reward", "gate": "proportional"})

    def run(out, **kw):
        s = load_student(tiny_path, device="cpu")
        return run_loop(
            s,
            synthetic_task(8, 0, split="pool"),
            synthetic_task(6, 0, split="held"),
            SyntheticVerifier(0.7, 1.0, seed=2),
            cfg,
            out,
            **kw,
        )

    full = run(tmp_path / "full")

    def fault(t, s):
        if t == 3 and s == "sampled":
            raise Crash

    with pytest.raises(Crash):
        run(tmp_path / "crash", fault=fault)
    assert _strip(run(tmp_path / "crash")) == _strip(full)


def test_lora_run_resumes_to_the_same_log(tiny_path, tmp_path):
    """LoRA student (frozen vision tower: its features cached; the reference is the adapter-free
    base; `loss` progress swaps adapters only): resumed and uninterrupted runs agree."""
    pytest.importorskip("peft")
    cfg = LoopConfig(**{**CFG.__dict__, "gate": "proportional"})

    def run(out, **kw):
        s = load_student(tiny_path, device="cpu", lora=True, lora_rank=4, lora_seed=3)
        return run_loop(
            s,
            synthetic_task(8, 0, split="pool"),
            synthetic_task(6, 0, split="held"),
            SyntheticVerifier(0.7, 1.0, seed=2),
            cfg,
            out,
            **kw,
        )

    full = run(tmp_path / "full")
    assert full[-1]["heldout_p_correct"] != full[0]["heldout_p_correct"]

    def fault(t, s):
        if t == 3 and s == "scored":
            raise Crash

    with pytest.raises(Crash):
        run(tmp_path / "crash", fault=fault)
    assert _strip(run(tmp_path / "crash")) == _strip(full)
