"""Sampling a student's answers: n per prompt, reproducible per chunk of prompts.

With prefix sharing (``empirical.prefix.sample_shared``) each prompt runs once and its cache
serves its n samples; otherwise transformers' ``generate`` runs (the plain path). Both draw
the tokens the same way from the same seed (``tests/empirical/test_prefix.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from empirical import parallel
from empirical.prefix import sample_shared, shareable
from empirical.student import Prompt, Student, collate
from empirical.torchutil import autocast, generating_model, torch_module
from empirical.vision_cache import image_features

__all__ = ["neutral_generation_config", "sample_answers"]


def sample_answers(
    student: Student,
    prompts: Sequence[Prompt],
    n: int,
    *,
    temperature: float = 1.0,
    max_new_tokens: int = 32,
    batch_size: int = 16,
    seed: int = 0,
    greedy: bool = False,
) -> list[list[tuple[int, ...]]]:
    """Sample ``n`` completions per prompt (token ids up to and including EOS).

    Each chunk of ``batch_size`` prompts seeds the torch RNG from (``seed``, chunk index), so
    a round's samples are reproducible (resume) and the same whatever the number of processes
    (chunks are spread over ranks by ``empirical.parallel``).
    """
    torch = torch_module()
    model = student.model
    was_training = model.training
    model.eval()
    gen_kw = dict(
        max_new_tokens=max_new_tokens,
        pad_token_id=student.pad_token_id,
        eos_token_id=list(student.eos_token_ids),
    )
    if greedy:
        gen_kw.update(do_sample=False, num_return_sequences=1)
    else:
        # explicit neutral values: a None would be filled from a generation config
        gen_kw.update(
            do_sample=True,
            temperature=temperature,
            top_k=0,
            top_p=1.0,
            min_p=None,
            typical_p=1.0,
            repetition_penalty=1.0,
            num_return_sequences=n,
        )
    # a completion never contains vision placeholders (they would need image features)
    vision = [
        student.tokenizer.convert_tokens_to_ids(t)
        for t in ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")
    ]
    unk = student.tokenizer.unk_token_id
    gen_kw["suppress_tokens"] = sorted({int(i) for i in vision if i is not None and i != unk})
    per = 1 if greedy else n

    def run_chunk(k: int, start: int, end: int) -> list[list[tuple[int, ...]]]:
        chunk = prompts[start:end]
        torch.manual_seed(int(np.random.SeedSequence([seed, k]).generate_state(1)[0]))
        if shareable(student, model, chunk) and len(set(map(id, chunk))) == len(chunk):
            with autocast(student):
                new = sample_shared(
                    student,
                    model,
                    chunk,
                    per,
                    greedy=greedy,
                    temperature=temperature,
                    max_new_tokens=max_new_tokens,
                    suppress=gen_kw["suppress_tokens"],
                )
        else:
            new = _generate(student, model, chunk, gen_kw)
        res = []
        for i in range(len(chunk)):
            rows = new[i * per : (i + 1) * per]
            res.append([_cut(r, student.eos_token_ids, student.pad_token_id) for r in rows])
        return res

    with torch.no_grad(), neutral_generation_config(model):
        parts = parallel.map_chunks(run_chunk, len(prompts), batch_size)
    model.train(was_training)
    return [comps for part in parts for comps in part]


def _generate(student: Any, model: Any, chunk: Sequence[Prompt], gen_kw: dict) -> list:
    """transformers' ``generate`` on the chunk (the plain path): the new tokens of each row."""
    feats = None
    if student.vision_cache and any(p.pixel_values is not None for p in chunk):
        feats = image_features(student, model, chunk)
    batch = collate(student, chunk, image_features=feats)
    with autocast(student):
        seqs = model.generate(**batch, **gen_kw)
    return seqs[:, batch["input_ids"].shape[1] :].tolist()


@contextlib.contextmanager
def neutral_generation_config(model: Any) -> Iterator[None]:
    """Sample from the model's own distribution: the checkpoint's generation config (which may
    carry repetition_penalty, top_k, top_p, min_length...) is replaced by a fresh one for the
    call, so only the arguments ``sample_answers`` passes shape the samples."""
    from transformers import GenerationConfig

    m = generating_model(model)
    saved = m.generation_config
    m.generation_config = GenerationConfig(
        eos_token_id=saved.eos_token_id, pad_token_id=saved.pad_token_id
    )
    try:
        yield
    finally:
        m.generation_config = saved


def _cut(row: Sequence[int], eos: Sequence[int], pad: int) -> tuple[int, ...]:
    """Completion up to and including the first EOS (padding after it dropped)."""
    res = []
    for t in row:
        res.append(int(t))
        if t in eos:
            break
    else:
        while res and res[-1] == pad and pad not in eos:
            res.pop()
    return tuple(res)
