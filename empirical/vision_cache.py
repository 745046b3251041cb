"""Caches of a round's fixed inputs: the vision tower's features and the multimodal rope
positions of each prompt (#15).

The vision features of a prompt are cached per (model, prompt) while the tower's weights stay
the same (``tower_versions``), in fixed blocks of prompts (``register_prompts``) so the numbers
never depend on which pass asked first. Rope positions depend on the token ids and image grids
only and are computed once per prompt. ``take_features``/``put_features``/``keep_features``
carry features across a temporary weight swap (``empirical.train.swapped_weights``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from empirical.torchutil import autocast, generating_model, torch_module

__all__ = [
    "compute_block_features",
    "compute_image_features",
    "features_kept_for",
    "image_features",
    "keep_features",
    "pass_features",
    "position_ids",
    "put_features",
    "register_prompts",
    "rope_positions",
    "take_features",
    "tower_output",
    "tower_versions",
    "vision_is_frozen",
    "vision_kwargs",
]


def _vision_tower(model: Any) -> Any:
    base = generating_model(model)
    return getattr(getattr(base, "model", base), "visual", None)


def vision_is_frozen(model: Any) -> bool:
    """True when the model's vision tower has no trainable weight (its outputs are fixed)."""
    tower = _vision_tower(model)
    return tower is not None and not any(p.requires_grad for p in tower.parameters())


def tower_versions(model: Any) -> tuple[int, ...]:
    """The in-place version counters of the vision tower's weights: they change whenever an
    optimiser step, ``load_state_dict`` or any in-place write touches the tower, so features
    cached under one tuple are the tower's output for exactly those weights."""
    tower = _vision_tower(model)
    return () if tower is None else tuple(p._version for p in tower.parameters())


def register_prompts(student: Any, prompts: Sequence[Any], block: int = 64) -> None:
    """Name fixed blocks of ``block`` consecutive prompts (a run's train or held-out list).

    A cache miss on a registered prompt computes its whole block's features in one vision
    call, so the numbers depend only on the block, never on which pass asked first (a
    resumed run computes the same features as an uninterrupted one)."""
    blocks = student.extra.setdefault("blocks", {})
    for s in range(0, len(prompts), block):
        part = [p for p in prompts[s : s + block] if p.pixel_values is not None]
        for p in part:
            blocks[id(p)] = (p, part)


def image_features(student: Any, model: Any, prompts: Sequence[Any]) -> list[Any]:
    """The vision tower's output for every image of ``prompts`` (batch order), cached per
    (model, prompt) while the tower's weights stay the same (``tower_versions``).

    A frozen tower (the reference model, a LoRA student) runs once per prompt for the whole
    run; a trained tower once per prompt per weight version (shared by the round's passes at
    the same weights: pair losses, loss after the step, evaluation, the next round's pairs).
    """
    versions = tower_versions(model)
    caches = student.extra.setdefault("vision_cache", {})
    cache = caches.get(id(model))
    if cache is None or cache["model"] is not model or cache["versions"] != versions:
        cache = caches[id(model)] = {"model": model, "versions": versions, "feats": {}}
    feats = cache["feats"]
    blocks = student.extra.get("blocks", {})
    loose = []  # misses outside any registered block: computed together, in one call
    for p in prompts:
        hit = feats.get(id(p))
        if p.pixel_values is None or (hit is not None and hit[0] is p):
            continue
        entry = blocks.get(id(p))
        if entry is None or entry[0] is not p:
            if all(q is not p for q in loose):
                loose.append(p)
            continue
        for q, f in zip(entry[1], compute_block_features(student, model, entry[1])):
            feats[id(q)] = (q, f)
    if loose:
        for q, f in zip(loose, compute_block_features(student, model, loose)):
            feats[id(q)] = (q, f)
    return [f for p in prompts if p.pixel_values is not None for f in feats[id(p)][1]]


def take_features(student: Any, model: Any) -> dict | None:
    """Remove and return the model's cached vision features (``put_features`` gives them back)."""
    return student.extra.setdefault("vision_cache", {}).pop(id(model), None)


def put_features(student: Any, model: Any, cache: dict | None) -> None:
    """Make ``cache`` (from ``take_features`` or ``keep_features``) the model's cached features,
    valid for the tower's current weights: the caller knows they are the weights the features
    were computed at (weights swapped out and back in, or the snapshot they were kept for)."""
    caches = student.extra.setdefault("vision_cache", {})
    caches.pop(id(model), None)
    if cache is not None:
        cache["versions"] = tower_versions(model)
        caches[id(model)] = cache


def keep_features(student: Any, model: Any, weights: dict) -> None:
    """Remember the features cached at the model's current weights as those of ``weights`` (a
    snapshot of these weights), for a later ``features_kept_for(student, weights)``."""
    cache = student.extra.setdefault("vision_cache", {}).get(id(model))
    if cache is not None and cache["versions"] == tower_versions(model):
        student.extra["kept_features"] = (weights, dict(cache, feats=dict(cache["feats"])))


def features_kept_for(student: Any, weights: dict) -> dict | None:
    """The features ``keep_features`` remembered for the snapshot ``weights`` (the same
    object), or None."""
    kept = student.extra.get("kept_features")
    return kept[1] if kept is not None and kept[0] is weights else None


def compute_block_features(student: Any, model: Any, prompts: Sequence[Any]) -> list:
    """Per prompt, the vision tower's output for each of its images (one call for all)."""
    torch = torch_module()
    if len(prompts) == 1:
        return [compute_image_features(student, model, prompts[0])]
    with torch.no_grad(), autocast(student):
        out = tower_output(student, model, prompts)
    flat = [f.detach() for f in out.pooler_output]
    res, k = [], 0
    for p in prompts:
        m = int(p.image_grid_thw.shape[0])
        res.append(flat[k : k + m])
        k += m
    return res


def pass_features(student: Any, model: Any, prompts: Sequence[Any]) -> list | None:
    """The image features of one forward pass over ``prompts`` (batch order): cached when the
    tower's output is fixed during the pass (a frozen tower, or no gradients), computed afresh
    with their graph when the tower trains; None without images or with ``vision_cache`` off
    (the model then runs its tower on the pixels itself: the plain path)."""
    torch = torch_module()
    if not student.vision_cache or not any(p.pixel_values is not None for p in prompts):
        return None
    if vision_is_frozen(model) or not torch.is_grad_enabled():
        return image_features(student, model, prompts)
    with autocast(student):
        out = tower_output(student, model, [p for p in prompts if p.pixel_values is not None])
    return list(out.pooler_output)


def tower_output(student: Any, model: Any, prompts: Sequence[Any]) -> Any:
    """``get_image_features`` of all the images of ``prompts`` in one call, with the tower's
    index tensors (``vision_kwargs``) precomputed."""
    torch = torch_module()
    pv = torch.cat([p.pixel_values for p in prompts], 0)
    grid = torch.cat([p.image_grid_thw for p in prompts], 0)
    return model.get_image_features(
        pv.to(student.device, student.dtype),
        grid.to(student.device),
        return_dict=True,
        **vision_kwargs(student, model, grid),
    )


def vision_kwargs(student: Any, model: Any, grid: Any, keep: int = 64) -> dict:
    """The vision tower's rotary positions, attention and window indices for images of
    ``grid``: functions of the grids alone, which transformers recomputes in Python on every
    call unless given as keyword arguments (the same values: the output is bit for bit the
    same). The last ``keep`` grids are remembered; {} when this transformers has no
    ``vision_utils`` or the tower lacks the attributes."""
    tower = _vision_tower(model)
    try:
        from transformers import vision_utils as vu  # lazy, as torch
    except ImportError:
        return {}
    names = ("spatial_merge_size", "window_size", "patch_size", "config")
    if tower is None or not all(hasattr(tower, n) for n in names):
        return {}
    key = (tower.spatial_merge_size, tower.window_size, tower.patch_size, grid.numpy().tobytes())
    memo = student.extra.setdefault("vision_kwargs", {})
    hit = memo.get(key)
    if hit is None:
        merge = tower.spatial_merge_size
        cu, _ = vu.get_vision_attention_seqlens(grid, tower.config)
        index, cu_window = vu.get_vision_window_index(
            grid,
            spatial_merge_size=merge,
            window_size=tower.window_size,
            patch_size=tower.patch_size,
        )
        hit = {
            "position_ids": vu.get_vision_position_ids(grid, merge),
            "cu_seqlens": cu,
            "window_index": index,
            "cu_window_seqlens": cu_window,
        }
        hit = {k: v.to(student.device) for k, v in hit.items()}
        if len(memo) >= keep:
            memo.pop(next(iter(memo)))
        memo[key] = hit
    return dict(hit)


def rope_positions(student: Any, model: Any, prompt: Any) -> np.ndarray | None:
    """(3, len) multimodal rope positions of ``prompt`` alone, computed once per prompt (they
    depend on the token ids and image grids only), or None for a model without them."""
    cache = student.extra.setdefault("rope_cache", {})
    hit = cache.get(id(prompt))
    if hit is not None and hit[0] is prompt:
        return hit[1]
    base = getattr(generating_model(model), "model", None)
    get = getattr(base, "get_rope_index", None)
    if get is None or prompt.image_grid_thw is None:
        return None
    torch = torch_module()
    ids = torch.tensor([prompt.input_ids], dtype=torch.long)
    pos, _ = get(
        ids,
        mm_token_type_ids=(ids == student.image_token_id).long(),
        image_grid_thw=prompt.image_grid_thw,
        attention_mask=torch.ones_like(ids),
    )
    row = pos[:, 0].cpu().numpy()
    cache[id(prompt)] = (prompt, row)
    return row


def position_ids(student: Any, model: Any, prompts, completions, width: int) -> Any:
    """(3, B, width) rope positions of a left-padded batch, as the model's ``get_rope_index``
    computes them (0 on padding; a completion's text continues after its prompt's last
    position), from the per-prompt cache; None when some prompt has none."""
    torch = torch_module()
    out = np.zeros((3, len(prompts), width), dtype=np.int64)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        pos = rope_positions(student, model, p)
        if pos is None:
            return None
        lp, n = pos.shape[1], len(c)
        s = width - lp - n
        out[:, i, s : s + lp] = pos
        out[:, i, s + lp :] = pos[:, -1:] + np.arange(1, n + 1)
    return torch.from_numpy(out).to(student.device)


def compute_image_features(student: Any, model: Any, prompt: Any) -> list[Any]:
    """The vision tower's output for each of ``prompt``'s images (its images alone)."""
    torch = torch_module()
    with torch.no_grad(), autocast(student):
        out = tower_output(student, model, [prompt])
    return [f.detach() for f in out.pooler_output]
