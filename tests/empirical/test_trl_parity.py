"""TRL parity: the same batch through TRL's ``DPOTrainer.compute_loss`` (sigmoid DPO loss,
per-token log-probs summed over the completion mask) and through ours (``completion_logprobs``
+ ``dpo_loss``) gives the same loss to 1e-5 (THEORY.md's DPO; STYLE.md's TRL anchor)."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl", reason="trl is not installed (the test extra)")
pytest.importorskip("datasets", reason="datasets is not installed (TRL's dataset type)")


def test_dpo_loss_matches_trl(tiny_path, tmp_path):
    from datasets import Dataset
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from trl import DPOConfig, DPOTrainer

    from empirical.dpo import dpo_loss
    from empirical.student import Prompt, completion_logprobs, load_student

    st = load_student(tiny_path, device="cpu")
    tok = st.tokenizer
    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        eos_token_id=st.eos_token_ids[0],
        pad_token_id=st.pad_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    model, ref = Qwen2ForCausalLM(cfg), Qwen2ForCausalLM(cfg)
    rows = [
        {"prompt": "Which colour appears most ?", "chosen": "A", "rejected": "B red"},
        {"prompt": "Is the proposed answer correct ?", "chosen": "yes", "rejected": "no"},
        {"prompt": "Which colour ?", "chosen": "green blue yellow", "rejected": "C"},
    ]
    beta = 0.3
    args = DPOConfig(
        output_dir=str(tmp_path / "trl"),
        beta=beta,
        per_device_train_batch_size=3,
        report_to=[],
        use_cpu=True,
        bf16=False,
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=ref,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tok,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    want = trainer.compute_loss(trainer.model, batch).item()

    # the same tokens through our code: each row is prompt (mask 0) + completion (mask 1)
    prompts, comps = [], []
    for ids, att, cm in zip(batch["input_ids"], batch["attention_mask"], batch["completion_mask"]):
        keep = att.bool()
        ids, cm = ids[keep].tolist(), cm[keep].tolist()
        cut = cm.index(1)
        assert all(cm[cut:])
        prompts.append(Prompt(tuple(ids[:cut]), None, None))
        comps.append(tuple(ids[cut:]))
    ours = dataclasses.replace(st, model=model)
    trainer.model.eval()
    lp = completion_logprobs(ours, prompts, comps, model=trainer.model)
    with torch.no_grad():
        lr = completion_logprobs(ours, prompts, comps, model=ref)
    m = len(rows)
    got = dpo_loss(lp[:m], lp[m:], lr[:m], lr[m:], beta).mean().item()
    assert got == pytest.approx(want, abs=1e-5)
    assert abs(want - 0.6931) > 1e-3  # policy != reference, so the check is not at h = 0
