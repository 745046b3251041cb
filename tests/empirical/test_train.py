"""Training that trains: mixed precision keeps float32 master weights, so one step at the default
learning rate moves every trainable weight (issue 13: bf16 weights at lr 1e-6 barely moved);
gradient checkpointing gives the same gradients; LoRA rank/targets/seed are honoured."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.checkpoint import trainable_state
from empirical.commands import DEFAULT_LR
from empirical.data import synthetic_task
from empirical.student import load_student
from empirical.train import Trainer, batched_logprobs

torch = pytest.importorskip("torch")


def _batch(st, k=6):
    qs = synthetic_task(k, 1, split="pool")
    prompts = [st.encode(q.prompt, q.images) for q in qs]
    tok = st.tokenizer.convert_tokens_to_ids
    eos = st.eos_token_ids[0]
    chosen = [(tok(q.answer), eos) for q in qs]
    rejected = [(tok("ABCD"[("ABCD".index(q.answer) + 1) % 4]), eos) for q in qs]
    return prompts, chosen, rejected


def _step(st, lr, **kw):
    prompts, ch, rj = _batch(st)
    ref = batched_logprobs(st, prompts + prompts, ch + rj, batch_size=12)
    tr = Trainer(st, lr=lr, beta=0.1, total_steps=10, micro_batch=4, **kw)
    before = trainable_state(st.model)
    info = tr.step(prompts, ch, rj, ref[:6], ref[6:], np.ones(6), 6)
    return before, trainable_state(st.model), info


def test_one_bf16_step_at_the_default_lr_changes_the_weights(tiny_path):
    st = load_student(tiny_path, device="cpu", dtype="bfloat16")
    assert st.compute_dtype == "bfloat16"
    params = [p for p in st.model.parameters() if p.requires_grad]
    assert params and all(p.dtype == torch.float32 for p in params)  # master weights
    before, after, info = _step(st, DEFAULT_LR["full"])
    assert info["grad_norm"] > 0 and info["lr"] == DEFAULT_LR["full"]
    changed = sum(int((after[k] != before[k]).sum()) for k in before)
    total = sum(v.numel() for v in before.values())
    assert changed / total > 0.9, changed / total


def test_the_forward_pass_runs_in_bf16_under_autocast(tiny_path):
    from empirical.student import completion_logprobs
    from empirical.torchutil import autocast

    st = load_student(tiny_path, device="cpu", dtype="bfloat16")
    prompts, ch, _ = _batch(st, 2)
    seen = []
    h = st.model.lm_head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    with autocast(st):
        completion_logprobs(st, prompts, ch)
    h.remove()
    assert seen == [torch.bfloat16]


def test_gradient_checkpointing_gives_the_same_step(tiny_path):
    a = load_student(tiny_path, device="cpu")
    b = load_student(tiny_path, device="cpu", gradient_checkpointing=True)
    on = getattr(b.model, "is_activation_checkpointing", None)
    assert on if on is not None else b.model.is_gradient_checkpointing
    assert not getattr(a.model, "is_activation_checkpointing", False)
    _, wa, ia = _step(a, 1e-3, optimizer="sgd", grad_clip=0.0)
    _, wb, ib = _step(b, 1e-3, optimizer="sgd", grad_clip=0.0)
    assert ib["grad_norm"] == pytest.approx(ia["grad_norm"], rel=1e-5)
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-5, atol=1e-7)


def test_lr_schedule_and_clipping(tiny_path):
    st = load_student(tiny_path, device="cpu")
    prompts, ch, rj = _batch(st)
    ref = batched_logprobs(st, prompts + prompts, ch + rj, batch_size=12)
    tr = Trainer(st, lr=1e-2, beta=0.1, total_steps=4, schedule="linear", grad_clip=1e-3)
    lrs = []
    for _ in range(3):
        before = trainable_state(st.model)
        info = tr.step(prompts, ch, rj, ref[:6], ref[6:], np.ones(6), 6)
        lrs.append(info["lr"])
        after = trainable_state(st.model)
    assert lrs == pytest.approx([1e-2, 0.75e-2, 0.5e-2])
    assert info["grad_norm"] > 1e-3  # so the clip was active
    del before, after


def test_lora_rank_targets_and_seed(tiny_path):
    pytest.importorskip("peft")
    kw = dict(device="cpu", lora=True, lora_rank=4, lora_targets=("q_proj", "v_proj"))
    a = load_student(tiny_path, lora_seed=1, **kw)
    b = load_student(tiny_path, lora_seed=1, **kw)
    c = load_student(tiny_path, lora_seed=2, **kw)
    sa, sb, sc = (trainable_state(s.model) for s in (a, b, c))
    assert sa and all(("q_proj" in k or "v_proj" in k) and "lora_" in k for k in sa)
    assert all(v.shape[0] == 4 or v.shape[1] == 4 for v in sa.values())
    assert all(torch.equal(sa[k], sb[k]) for k in sa)  # the seed fixes the adapter's init
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)
