"""Prefix sharing (#15): a prompt's image + question is run once per pass, its answers after it.

The n samples of a prompt, the chosen and rejected ends of its pair, and the reference, policy
and previous-policy passes over them all start with the same prompt. ``prefix_pass`` runs each
distinct prompt of a batch once (left-padded, its key/value cache kept) and ``answer_logprobs``
then runs only the answer tokens of every (prompt, answer) row on a copy of its prompt's cache:
the first answer token's log-prob comes from the prompt's last position, the others from the
answer pass. ``sample_shared`` samples n answers per prompt the same way (the prompt once, the
cache repeated n times), drawing each token exactly as transformers' ``generate`` does (logits
in float32, suppressed tokens at -inf, temperature, softmax, one ``torch.multinomial`` over all
rows per step, finished rows padded), so with the same seed it draws the same tokens whenever
the probabilities agree to float rounding.

The numbers equal the plain full-sequence computation (``student.completion_logprobs``) up to
float rounding (different matrix shapes); ``tests/empirical/test_prefix.py`` compares them.
Prefix sharing needs the multimodal rope positions of every prompt (``vision_cache.
rope_positions``); ``shareable`` says when a batch has them, and the callers fall back to the
plain path when it does not (text-only prompts, ``student.position_cache`` off, a model
without ``get_rope_index``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from empirical.student import collate, completion_logprobs
from empirical.torchutil import torch_module
from empirical.vision_cache import pass_features, rope_positions

__all__ = [
    "Prefix",
    "answer_logprobs",
    "distinct",
    "logprobs",
    "prefix_pass",
    "sample_shared",
    "shareable",
]


@dataclass
class Prefix:
    """The distinct prompts of a batch after one forward pass.

    Attributes:
        kv: per layer, (keys, values) of shape (U, heads, width, head_dim).
        mask: (U, width) attention mask of the left-padded prompts.
        last_pos: (3, U) rope position of each prompt's last token.
        logits: (U, V) next-token logits at each prompt's last position.
    """

    kv: list[tuple[Any, Any]]
    mask: Any
    last_pos: Any
    logits: Any


def _checkpointing(model: Any) -> bool:
    """True when the model trains with activation checkpointing (transformers then keeps no
    key/value cache)."""
    if not model.training:
        return False
    on = getattr(model, "is_activation_checkpointing", None)
    return bool(on if on is not None else getattr(model, "is_gradient_checkpointing", False))


def shareable(student: Any, model: Any, prompts: Sequence[Any]) -> bool:
    """True when every prompt has images and cached rope positions and the model keeps a
    key/value cache (prefix sharing applies)."""
    if not student.prefix_sharing or not student.position_cache or not prompts:
        return False
    if _checkpointing(model):
        return False
    return all(
        p.pixel_values is not None and rope_positions(student, model, p) is not None
        for p in prompts
    )


def distinct(prompts: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """The distinct prompts (by identity, in order of first appearance) and each row's index."""
    first: dict[int, int] = {}
    uniq, idx = [], []
    for p in prompts:
        k = first.get(id(p))
        if k is None or uniq[k] is not p:
            k = first[id(p)] = len(uniq)
            uniq.append(p)
        idx.append(k)
    return uniq, idx


def prefix_pass(student: Any, model: Any, prompts: Sequence[Any]) -> Prefix:
    """One forward pass over ``prompts`` (distinct, with images) keeping their caches.

    Differentiable when gradients are on; the vision features come from the cache where
    ``completion_logprobs`` would take them from it (a frozen tower, or no gradients)."""
    torch = torch_module()
    feats = pass_features(student, model, prompts)
    batch = collate(student, prompts, image_features=feats)
    width = batch["input_ids"].shape[1]
    pos = np.zeros((3, len(prompts), width), dtype=np.int64)
    for i, p in enumerate(prompts):
        r = rope_positions(student, model, p)
        pos[:, i, width - r.shape[1] :] = r
    batch["position_ids"] = torch.from_numpy(pos).to(student.device)
    out = model(**batch, use_cache=True, logits_to_keep=1)
    cache = out.cache
    kv = [(layer.keys, layer.values) for layer in cache.layers]
    return Prefix(kv, batch["attention_mask"], batch["position_ids"][:, :, -1], out.logits[:, -1])


def model_versions(model: Any) -> tuple[int, ...]:
    """The in-place version counters of all the model's weights (as ``tower_versions``): any
    optimiser step or ``load_state_dict`` changes them."""
    return tuple(p._version for p in model.parameters())


def cached_prefix(student: Any, model: Any, prompts: Sequence[Any]) -> Prefix:
    """``prefix_pass`` of the distinct ``prompts``; for a frozen model (the reference), each
    prompt's part is kept for the whole run (while its weights stay: ``model_versions``), in
    the fixed blocks of ``register_prompts`` (a miss runs its prompt's whole block, so a
    prompt's numbers never depend on which pass asked first). Not for a model that trains
    (kept parts of the policy were measured to save less than they cost: #15 notes), a LoRA
    student (its reference is the same model with the adapter off), nor past
    ``student.prefix_cache_bytes``."""
    torch = torch_module()
    if (
        torch.is_grad_enabled()
        or student.lora
        or student.prefix_cache_bytes <= 0
        or any(p.requires_grad for p in model.parameters())
    ):
        return prefix_pass(student, model, prompts)
    versions = model_versions(model)
    caches = student.extra.setdefault("prefix_cache", {})
    cache = caches.get(id(model))
    if cache is None or cache["model"] is not model or cache["versions"] != versions:
        cache = caches[id(model)] = {"model": model, "versions": versions, "rows": {}, "bytes": 0}
    rows = cache["rows"]
    blocks = student.extra.get("blocks", {})
    loose = []
    for p in prompts:
        hit = rows.get(id(p))
        if hit is not None and hit[0] is p:
            continue
        entry = blocks.get(id(p))
        if entry is None or entry[0] is not p:
            loose.append(p)  # distinct already
            continue
        _keep_rows(student, cache, entry[1], prefix_pass(student, model, entry[1]))
    if loose:
        pre = prefix_pass(student, model, loose)
        if not _keep_rows(student, cache, loose, pre) and len(loose) == len(prompts):
            return pre
    missing = [p for p in prompts if rows.get(id(p)) is None or rows[id(p)][0] is not p]
    if missing:  # over the memory budget: this pass alone
        return prefix_pass(student, model, prompts)
    return _assemble([rows[id(p)][1] for p in prompts])


def _keep_rows(student: Any, cache: dict, prompts: Sequence[Any], pre: Prefix) -> bool:
    """Store each prompt's unpadded part of ``pre`` in the model's cache (False, storing
    nothing, when the caches of all models would pass ``student.prefix_cache_bytes``)."""
    used = sum(c["bytes"] for c in student.extra["prefix_cache"].values())
    size = sum(k.nbytes + v.nbytes for k, v in pre.kv) + pre.logits.nbytes
    if used + size > student.prefix_cache_bytes:
        return False
    cache["bytes"] += size
    rows = cache["rows"]
    width = pre.mask.shape[1]
    for i, p in enumerate(prompts):
        s = width - len(p.input_ids)
        kv = [(k[i, :, s:], v[i, :, s:]) for k, v in pre.kv]
        rows[id(p)] = (p, (kv, pre.last_pos[:, i], pre.logits[i]))
    return True


def _assemble(parts: Sequence[tuple]) -> Prefix:
    """A left-padded ``Prefix`` from per-prompt parts (keys and values zero on padding)."""
    torch = torch_module()
    width = max(kv[0][0].shape[1] for kv, _, _ in parts)
    first = parts[0][0]
    dev = first[0][0].device
    mask = torch.zeros((len(parts), width), dtype=torch.long, device=dev)
    kv = []
    for layer, (k0, v0) in enumerate(first):
        k = k0.new_zeros((len(parts), k0.shape[0], width, k0.shape[2]))
        v = v0.new_zeros((len(parts), v0.shape[0], width, v0.shape[2]))
        for i, (rows, _, _) in enumerate(parts):
            n = rows[layer][0].shape[1]
            k[i, :, width - n :] = rows[layer][0]
            v[i, :, width - n :] = rows[layer][1]
        kv.append((k, v))
    for i, (rows, _, _) in enumerate(parts):
        mask[i, width - rows[0][0].shape[1] :] = 1
    last = torch.stack([p[1] for p in parts], 1)
    logits = torch.stack([p[2] for p in parts], 0)
    return Prefix(kv, mask, last, logits)


def _continue(
    student: Any, model: Any, pre: Prefix, rows: Any, tokens: Any, valid: Any, step0: int = 0
) -> tuple[Any, Any]:
    """Run ``tokens`` (R, W), right-padded where ``valid`` is 0, after the prompts ``rows`` of
    ``pre`` (token j at position last + 1 + step0 + j); returns the logits (R, W, V) and the
    cache after them."""
    torch = torch_module()
    cache = _cache_class()(ddp_cache_data=[(k[rows], v[rows]) for k, v in pre.kv])
    W = tokens.shape[1]
    steps = torch.arange(1 + step0, 1 + step0 + W, device=student.device)
    pos = pre.last_pos[:, rows, None] + steps
    mask = torch.cat([pre.mask[rows], valid.long()], 1)
    out = model(
        input_ids=tokens, attention_mask=mask, position_ids=pos, cache=cache, use_cache=True
    )
    return out.logits, out.cache


def _cache_class():
    from transformers import DynamicCache  # lazy, as torch (a fast ``selfdpo --help``)

    return DynamicCache


def logprobs(
    student: Any,
    prompts: Sequence[Any],
    completions: Sequence[Sequence[int]],
    *,
    model: Any = None,
) -> Any:
    """Summed log-prob of each completion given its prompt, shape (B,): with prefix sharing
    when the batch allows it (``shareable``), else ``student.completion_logprobs``."""
    model = student.model if model is None else model
    if shareable(student, model, prompts) and all(len(c) for c in completions):
        return answer_logprobs(student, model, prompts, completions)
    return completion_logprobs(student, prompts, completions, model=model)


def answer_logprobs(
    student: Any, model: Any, prompts: Sequence[Any], completions: Sequence[Sequence[int]]
) -> Any:
    """Summed log-prob of each completion given its prompt, shape (B,), with each distinct
    prompt run once (differentiable when gradients are on). Every completion has >= 1 token."""
    torch = torch_module()
    uniq, idx = distinct(prompts)
    pre = cached_prefix(student, model, uniq)
    rows = torch.tensor(idx, dtype=torch.long, device=student.device)
    first = torch.tensor([c[0] for c in completions], dtype=torch.long, device=student.device)
    lp0 = torch.log_softmax(pre.logits.float(), -1)[rows, first]
    W = max(len(c) for c in completions) - 1
    if W == 0:
        return lp0
    toks_np = np.full((len(completions), W + 1), student.pad_token_id, dtype=np.int64)
    valid_np = np.zeros((len(completions), W + 1), dtype=np.int64)
    for i, c in enumerate(completions):
        toks_np[i, : len(c)] = c
        valid_np[i, : len(c)] = 1
    toks = torch.from_numpy(toks_np).to(student.device)
    valid = torch.from_numpy(valid_np).to(student.device)
    # feed tokens 0..W-1, read the log-probs of tokens 1..W
    logits, _ = _continue(student, model, pre, rows, toks[:, :W], valid[:, :W])
    logp = torch.log_softmax(logits.float(), -1)
    rest = torch.gather(logp, 2, toks[:, 1:].unsqueeze(-1)).squeeze(-1)
    return lp0 + (rest * valid[:, 1:]).sum(-1)


def sample_shared(
    student: Any,
    model: Any,
    prompts: Sequence[Any],
    per: int,
    *,
    greedy: bool,
    temperature: float,
    max_new_tokens: int,
    suppress: Sequence[int],
) -> list[list[int]]:
    """``per`` answers for each of ``prompts`` (rows prompt-major, as ``generate`` with
    ``num_return_sequences=per`` orders them), up to ``max_new_tokens`` tokens each, finished
    rows padded; the caller seeds torch's RNG and cuts at EOS."""
    torch = torch_module()
    pre = cached_prefix(student, model, list(prompts))
    dev = student.device
    rows = torch.arange(len(prompts), device=dev).repeat_interleave(per)
    logits = pre.logits[rows]
    eos = torch.tensor(list(student.eos_token_ids), device=dev)
    pad = student.pad_token_id
    unfinished = torch.ones(rows.numel(), dtype=torch.long, device=dev)
    sup = torch.zeros(logits.shape[-1], dtype=torch.bool, device=dev)
    if len(suppress):
        sup[torch.tensor(list(suppress), device=dev)] = True
    out, cache = [], None
    for step in range(max_new_tokens):
        scores = torch.where(sup, -float("inf"), logits.to(torch.float32))
        if greedy:
            tok = torch.argmax(scores, -1)
        else:
            if temperature != 1.0:
                scores = scores / temperature
            tok = torch.multinomial(torch.softmax(scores, -1), num_samples=1).squeeze(1)
        tok = tok * unfinished + pad * (1 - unfinished)
        out.append(tok)
        unfinished = unfinished & ~torch.isin(tok, eos)
        if step == max_new_tokens - 1 or unfinished.max() == 0:
            break
        if cache is None:
            lg, cache = _continue(
                student, model, pre, rows, tok[:, None], torch.ones_like(tok)[:, None]
            )
        else:
            lg, cache = _step(student, model, pre, rows, cache, tok, step)
        logits = lg[:, -1]
    return torch.stack(out, 1).tolist()


def _step(student: Any, model: Any, pre: Prefix, rows: Any, cache: Any, tok: Any, step: int):
    """One more decoding step on an answer cache (``step`` tokens already after the prompt)."""
    torch = torch_module()
    n = tok.numel()
    pos = pre.last_pos[:, rows, None] + (step + 1)
    mask = torch.cat([pre.mask[rows], torch.ones((n, step + 1), dtype=torch.long)], 1)
    out = model(
        input_ids=tok[:, None],
        attention_mask=mask.to(student.device),
        position_ids=pos,
        cache=cache,
        use_cache=True,
    )
    return out.logits, out.cache
