"""The student: save/load through the real path, answer log-probs summed over the completion
mask (TRL's convention), padding invariance, batched sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical.data import synthetic_task
from empirical.sampling import sample_answers
from empirical.steps import choice_completion
from empirical.student import (
    collate,
    completion_logprobs,
    load_student,
    sequence_logprobs,
)


def test_sequence_logprobs_sums_only_masked_tokens():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 11, generator=g)
    labels = torch.randint(0, 11, (3, 5), generator=g)
    mask = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0]])
    got = sequence_logprobs(logits, labels, mask)
    lp = torch.log_softmax(logits, -1)
    want = [sum(lp[b, i, labels[b, i]].item() for i in range(5) if mask[b, i]) for b in range(3)]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6)


def test_tiny_checkpoint_round_trip(tiny_path, tmp_path):
    """A saved tiny checkpoint loads through load_student (AutoModelForImageTextToText +
    the checkpoint's own tokenizer/processor files) and reproduces the model's outputs."""
    s = load_student(tiny_path, device="cpu")
    assert type(s.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert s.dtype == torch.float32 and s.tokenizer.padding_side == "left"
    q = synthetic_task(3, 0)
    prompts = [s.encode(x.prompt, x.images) for x in q]
    # 56 x 56 image, 14 px patches merged 2 x 2: 4 image tokens per prompt
    assert all(p.input_ids.count(s.image_token_id) == 4 for p in prompts)
    comps = [choice_completion(s, x.answer) for x in q]
    lp = completion_logprobs(s, prompts, comps).detach()
    s.model.save_pretrained(tmp_path / "copy")
    for f in tiny_path.iterdir():
        if f.name not in ("config.json", "generation_config.json", "model.safetensors"):
            (tmp_path / "copy" / f.name).write_bytes(f.read_bytes())
    s2 = load_student(tmp_path / "copy", device="cpu")
    lp2 = completion_logprobs(s2, prompts, comps).detach()
    np.testing.assert_allclose(lp2.numpy(), lp.numpy(), rtol=1e-6, atol=1e-6)


def test_completion_logprobs_padding_invariant_and_summed(tiny_path):
    """Batched (left-padded) log-probs equal one-row passes and the sum of per-token log-probs."""
    s = load_student(tiny_path, device="cpu")
    q = synthetic_task(4, 1)
    prompts = [s.encode(x.prompt, x.images) for x in q]
    eos = s.eos_token_ids[0]
    tok = s.tokenizer
    comps = [
        (tok.convert_tokens_to_ids("A"), eos),
        (tok.convert_tokens_to_ids("red"), tok.convert_tokens_to_ids("B"), eos),
        (eos,),
        (
            tok.convert_tokens_to_ids("yes"),
            tok.convert_tokens_to_ids("no"),
            tok.convert_tokens_to_ids("C"),
            eos,
        ),
    ]
    with torch.no_grad():
        batched = completion_logprobs(s, prompts, comps)
        for i in range(4):
            one = completion_logprobs(s, [prompts[i]], [comps[i]])
            assert one.item() == pytest.approx(batched[i].item(), abs=1e-4)
            # token by token from the full-vocabulary logits of an unpadded pass
            b = collate(s, [prompts[i]], [comps[i]])
            b.pop("completion_mask")
            logits = s.model(**b).logits[0]
            ids = b["input_ids"][0]
            L = len(comps[i])
            tot = sum(
                torch.log_softmax(logits[-L - 1 + k], -1)[ids[-L + k]].item() for k in range(L)
            )
            assert tot == pytest.approx(batched[i].item(), abs=1e-4)


def test_sampling_batched_reproducible(tiny_path):
    s = load_student(tiny_path, device="cpu")
    q = synthetic_task(5, 2)
    prompts = [s.encode(x.prompt, x.images) for x in q]
    a = sample_answers(s, prompts, 3, max_new_tokens=3, batch_size=2, seed=5)
    b = sample_answers(s, prompts, 3, max_new_tokens=3, batch_size=2, seed=5)
    assert a == b and len(a) == 5 and all(len(c) == 3 for c in a)
    assert all(1 <= len(c) <= 3 for comps in a for c in comps)
    eos = set(s.eos_token_ids)
    # a completion stops at its first EOS
    assert all(not (set(c[:-1]) & eos) for comps in a for c in comps)
    g = sample_answers(s, prompts, 1, greedy=True, max_new_tokens=3)
    assert len(g) == 5 and all(len(c) == 1 for c in g)


def test_missing_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="student checkpoint directory not found"):
        load_student(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_student(tmp_path / "empty")


def test_lora_needs_peft(tiny_path):
    try:
        import peft  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="lora"):
            load_student(tiny_path, device="cpu", lora=True)
    else:
        s = load_student(tiny_path, device="cpu", lora=True)
        assert any(p.requires_grad for p in s.model.parameters())


def test_sampling_ignores_the_checkpoint_generation_config(tiny_path):
    """Samples come from the model's own distribution: a checkpoint whose generation config
    carries penalties and truncation (repetition_penalty, top_k, top_p, no_repeat_ngram_size)
    samples exactly what a clean checkpoint samples with the same seed."""
    from empirical.data import synthetic_task

    qs = synthetic_task(6, 0, split="pool")
    out = []
    for dirty in (False, True):
        st = load_student(tiny_path, device="cpu")
        if dirty:
            g = st.model.generation_config
            g.repetition_penalty, g.top_k, g.top_p, g.no_repeat_ngram_size = 50.0, 1, 0.1, 1
        prompts = [st.encode(q.prompt, q.images) for q in qs]
        out.append(sample_answers(st, prompts, 4, max_new_tokens=4, batch_size=3, seed=5))
        if dirty:
            assert st.model.generation_config.repetition_penalty == 50.0  # restored after
    assert out[0] == out[1]
