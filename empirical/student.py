"""The student: a Qwen-VL checkpoint loaded from a local path, its prompts and answer log-probs.

One code path for every checkpoint: ``load_student(path)`` calls transformers'
``AutoModelForImageTextToText.from_pretrained`` and ``AutoProcessor.from_pretrained`` on a local
directory. The tiny test student (``empirical.tiny``) is saved to a directory and loaded back
through this same function.

transformers 5 builds a Qwen-VL ``AutoProcessor`` only when torchvision is installed (its video
processor needs it). Without torchvision we load the same files with ``AutoTokenizer`` and
``AutoImageProcessor`` and expand the image placeholder exactly as the Qwen-VL processor does
(``<|image_pad|>`` repeated ``prod(image_grid_thw) // merge_size**2`` times); images only.

Answer log-probability (the DPO quantity): per-token log-probs of the completion, summed over
the completion mask, as TRL's DPO trainer does. ``completion_logprobs`` runs every row in full
(the plain path); ``empirical.prefix`` runs each distinct prompt once, ``empirical.sampling``
samples, ``empirical.vision_cache`` keeps the vision features and rope positions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from empirical.torchutil import torch_module
from empirical.vision_cache import pass_features, position_ids

IMAGE_TOKEN = "<|image_pad|>"
DTYPES = ("float32", "bfloat16")
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class Prompt:
    """One encoded prompt: token ids (unpadded) and its images' patches."""

    input_ids: tuple[int, ...]
    pixel_values: Any  # torch.Tensor (patches, patch_dim) or None
    image_grid_thw: Any  # torch.Tensor (images, 3) or None


@dataclass
class Student:
    """A loaded student: model, processor pieces and the token ids the loop needs."""

    model: Any
    tokenizer: Any
    image_processor: Any
    processor: Any  # the AutoProcessor when available, else None
    device: Any
    dtype: Any
    image_token_id: int
    eos_token_ids: tuple[int, ...]
    pad_token_id: int
    path: str
    lora: bool = False
    compute_dtype: str = "float32"  # "bfloat16": forward passes under bf16 autocast
    storage_dtype: Any = None  # dtype of frozen copies (the reference model)
    vision_cache: bool = True  # reuse the vision tower's outputs while its weights stay
    position_cache: bool = True  # reuse each prompt's multimodal rope positions
    prefix_sharing: bool = True  # run a prompt once per pass, its answers on its cache
    prefix_cache_bytes: int = 1 << 30  # keep prompt caches across passes up to this size
    extra: dict = field(default_factory=dict)

    def chat_text(self, question: str, n_images: int) -> str:
        """The prompt text from the checkpoint's own chat template."""
        content = [{"type": "image"} for _ in range(n_images)]
        content.append({"type": "text", "text": question})
        messages = [{"role": "user", "content": content}]
        owner = self.processor if self.processor is not None else self.tokenizer
        return owner.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def encode(self, question: str, images: Sequence[Any]) -> Prompt:
        """Encode one question with its images (PIL) into a ``Prompt``."""
        return self.encode_all([(question, images)])[0]

    def encode_all(self, items: Sequence[tuple[str, Sequence[Any]]]) -> list[Prompt]:
        """``encode`` of many (question, images) pairs. Without an AutoProcessor all their
        images go through one image-processor call (each image's patches are those it gets
        alone: the processor treats images one by one) and the chat text and token ids are
        worked out once per distinct question and image grids."""
        if self.processor is not None:
            return [self._encode_with_processor(q, ims) for q, ims in items]
        images = [im for _, ims in items for im in ims]
        if images:
            out = self.image_processor(images=images, return_tensors="pt")
            pv_all, grid_all = out["pixel_values"], out["image_grid_thw"]
        res, k, start = [], 0, 0
        memo: dict[tuple, tuple[int, ...]] = {}
        for question, ims in items:
            pv = grid = None
            if ims:
                grid = grid_all[k : k + len(ims)].clone()
                n = int(grid.prod(-1).sum())
                pv = pv_all[start : start + n].clone()
                k, start = k + len(ims), start + n
            key = (question, len(ims), None if grid is None else grid.numpy().tobytes())
            if key not in memo:
                memo[key] = self._token_ids(question, len(ims), grid)
            res.append(Prompt(memo[key], pv, grid))
        return res

    def _encode_with_processor(self, question: str, images: Sequence[Any]) -> Prompt:
        text = self.chat_text(question, len(images))
        out = self.processor(
            text=[text], images=list(images) or None, return_tensors="pt", padding=False
        )
        ids = tuple(int(i) for i in out["input_ids"][0])
        return Prompt(ids, out.get("pixel_values"), out.get("image_grid_thw"))

    def _token_ids(self, question: str, n_images: int, grid: Any) -> tuple[int, ...]:
        """The prompt's token ids, each image placeholder expanded as the Qwen-VL processor
        does (``prod(image_grid_thw) // merge_size**2`` tokens)."""
        text = self.chat_text(question, n_images)
        if n_images:
            merge = int(self.image_processor.merge_size) ** 2
            pieces = text.split(IMAGE_TOKEN)
            if len(pieces) - 1 != n_images:
                raise ValueError(
                    f"chat template produced {len(pieces) - 1} image placeholders "
                    f"for {n_images} images"
                )
            text = pieces[0]
            for k, rest in enumerate(pieces[1:]):
                text += IMAGE_TOKEN * (int(grid[k].prod()) // merge) + rest
        enc = self.tokenizer(text, add_special_tokens=False)
        return tuple(int(i) for i in enc["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        """Completion text without special tokens."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=True).strip()


def _missing(path: str | os.PathLike, what: str) -> FileNotFoundError:
    return FileNotFoundError(f"{what} not found: {path} (expected a local checkpoint directory)")


def load_student(
    path: str | os.PathLike,
    *,
    device: str | None = None,
    dtype: str | None = None,
    lora: bool = False,
    lora_rank: int = 16,
    lora_alpha: float | None = None,
    lora_targets: Sequence[str] = LORA_TARGETS,
    lora_seed: int = 0,
    gradient_checkpointing: bool = False,
    trainable: bool = True,
) -> Student:
    """Load a Qwen-VL student from a local directory.

    Args:
        path: local checkpoint directory (config.json, weights, tokenizer, preprocessor).
        device: "cpu", "cuda", "cuda:1"...; default cuda when available.
        dtype: "float32", or "bfloat16" (mixed precision: trainable weights float32, frozen
            ones stored in bf16, forward passes under bf16 autocast); default bfloat16 on GPU,
            float32 on CPU.
        lora: wrap the model with a peft LoRA adapter (needs the ``lora`` extra).
        lora_rank, lora_alpha, lora_targets: the adapter (alpha defaults to 2 * rank).
        lora_seed: seeds the adapter's initialisation (the run's ``--seed``).
        gradient_checkpointing: recompute activations in the backward pass (less memory).
        trainable: put the model in train mode with gradients on (False: eval, frozen).
    """
    p = Path(path)
    if not p.is_dir():
        raise _missing(path, "student checkpoint directory")
    if not (p / "config.json").is_file():
        raise _missing(p / "config.json", "student config.json")
    torch = torch_module()
    from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoTokenizer
    from transformers.utils import is_torchvision_available

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None:
        dtype = "float32" if str(device).startswith("cpu") else "bfloat16"
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    storage = getattr(torch, dtype)
    # full fine-tuning keeps float32 master weights; frozen weights may stay in bf16
    tdtype = torch.float32 if trainable and not lora else storage
    processor = None
    if is_torchvision_available():
        from transformers import AutoProcessor

        processor = AutoProcessor.from_pretrained(str(p), local_files_only=True)
        tokenizer = processor.tokenizer
        image_processor = processor.image_processor
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(p), local_files_only=True)
        image_processor = AutoImageProcessor.from_pretrained(str(p), local_files_only=True)
        if getattr(tokenizer, "chat_template", None) is None:
            for name in ("chat_template.jinja", "chat_template.json"):
                f = p / name
                if f.is_file():
                    text = f.read_text()
                    if name.endswith(".json"):
                        import json

                        text = json.loads(text)["chat_template"]
                    tokenizer.chat_template = text
                    break
    tokenizer.padding_side = "left"
    model = AutoModelForImageTextToText.from_pretrained(
        str(p), dtype=tdtype, local_files_only=True
    ).to(device)
    if lora:
        try:
            import peft
        except ImportError as exc:
            raise ValueError("--lora needs peft: pip install 'selfdpo[lora]'") from exc
        cfg = peft.LoraConfig(
            r=lora_rank,
            lora_alpha=2 * lora_rank if lora_alpha is None else lora_alpha,
            target_modules=list(lora_targets),
            lora_dropout=0.0,
        )
        torch.manual_seed(lora_seed)  # the adapter's random init is part of the run's seed
        model = peft.get_peft_model(model, cfg)
        for prm in model.parameters():
            if prm.requires_grad:  # adapters train in float32 (master weights)
                prm.data = prm.data.float()
    model.train(trainable)
    for prm in model.parameters():
        if not lora:
            prm.requires_grad_(trainable)
    if gradient_checkpointing and trainable:
        enable = getattr(model, "activation_checkpointing_enable", None)
        if enable is not None:  # transformers >= 5.x name
            enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        if lora:
            model.enable_input_require_grads()
    # no dropout randomness: DPO log-probs are deterministic functions of theta
    for mod in model.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    eos = getattr(model.generation_config, "eos_token_id", None) or tokenizer.eos_token_id
    eos_ids = tuple(eos) if isinstance(eos, (list, tuple)) else (int(eos),)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]
    return Student(
        model=model,
        tokenizer=tokenizer,
        image_processor=image_processor,
        processor=processor,
        device=torch.device(device),
        dtype=tdtype,
        compute_dtype=dtype,
        storage_dtype=storage,
        image_token_id=int(image_token_id),
        eos_token_ids=eos_ids,
        pad_token_id=int(pad),
        path=str(p),
        lora=lora,
    )


def collate(
    student: Student,
    prompts: Sequence[Prompt],
    completions: Sequence[Sequence[int]] | None = None,
    *,
    image_features: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Left-padded batch of prompt (+ completion) rows with the completion mask.

    Returns model inputs plus ``completion_mask`` (1 on completion tokens) when completions
    are given. With ``image_features`` (one tensor per image, in batch order: the vision
    tower's cached output) the images are passed as precomputed features, not pixels.
    """
    torch = torch_module()
    comps = completions if completions is not None else [()] * len(prompts)
    width = max(len(p.input_ids) + len(c) for p, c in zip(prompts, comps))
    ids_np = np.full((len(prompts), width), student.pad_token_id, dtype=np.int64)
    att_np = np.zeros((len(prompts), width), dtype=np.int64)
    cm_np = np.zeros((len(prompts), width), dtype=np.int64)
    for i, (p, c) in enumerate(zip(prompts, comps)):
        a = width - len(p.input_ids) - len(c)
        b = width - len(c)
        ids_np[i, a:b] = p.input_ids
        ids_np[i, b:] = c
        att_np[i, a:] = 1
        cm_np[i, b:] = 1
    ids, att, cm = (torch.from_numpy(x) for x in (ids_np, att_np, cm_np))
    batch: dict[str, Any] = {"input_ids": ids, "attention_mask": att}
    pvs = [pr.pixel_values for pr in prompts if pr.pixel_values is not None]
    if pvs:
        if image_features is None:
            batch["pixel_values"] = torch.cat(pvs, 0).to(student.dtype)
        batch["image_grid_thw"] = torch.cat(
            [pr.image_grid_thw for pr in prompts if pr.image_grid_thw is not None], 0
        )
        batch["mm_token_type_ids"] = (ids == student.image_token_id).long()
    batch = {k: v.to(student.device) for k, v in batch.items()}
    if pvs and image_features is not None:
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        feats = BaseModelOutputWithPooling(pooler_output=tuple(image_features))
        batch["mm_encoder_outputs"] = {"image": feats}
    if completions is not None:
        batch["completion_mask"] = cm.to(student.device)
    return batch


def sequence_logprobs(logits: Any, labels: Any, mask: Any) -> Any:
    """Sum over tokens of log p(label) where mask is 1 (TRL's per-token log-probs summed).

    Args:
        logits: (B, L, V) next-token logits aligned with labels (already shifted).
        labels: (B, L) token ids.
        mask: (B, L) 0/1 completion mask.
    """
    torch = torch_module()
    logp = torch.log_softmax(logits.float(), dim=-1)
    tok = torch.gather(logp, 2, labels.unsqueeze(-1)).squeeze(-1)
    return (tok * mask).sum(-1)


def completion_logprobs(
    student: Student,
    prompts: Sequence[Prompt],
    completions: Sequence[Sequence[int]],
    *,
    model: Any = None,
) -> Any:
    """Summed log-prob of each completion given its prompt, shape (B,), differentiable."""
    model = student.model if model is None else model
    images = any(p.pixel_values is not None for p in prompts)
    feats = pass_features(student, model, prompts)
    batch = collate(student, prompts, completions, image_features=feats)
    cmask = batch.pop("completion_mask")
    keep = max(len(c) for c in completions) + 1
    if student.position_cache and images:
        pos = position_ids(student, model, prompts, completions, batch["input_ids"].shape[1])
        if pos is not None:
            batch["position_ids"] = pos
    # rows are left-padded, so every completion lies in the last `keep` positions
    out = model(**batch, logits_to_keep=keep)
    logits = out.logits[:, -keep:-1]
    labels = batch["input_ids"][:, -keep + 1 :]
    return sequence_logprobs(logits, labels, cmask[:, -keep + 1 :])
