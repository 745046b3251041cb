"""Small torch helpers shared by the student, its caches and training (torch imported lazily)."""

from __future__ import annotations

from typing import Any

__all__ = ["autocast", "generating_model", "torch_module"]


def torch_module():
    """torch, imported on first use (keeps ``selfdpo --help`` fast)."""
    import torch

    return torch


def generating_model(model: Any) -> Any:
    """The module whose ``generation_config`` ``generate`` reads (the base of a peft model)."""
    get = getattr(model, "get_base_model", None)
    return get() if callable(get) else model


def autocast(student: Any):
    """bf16 autocast on the student's device when it runs in mixed precision (else a no-op)."""
    torch = torch_module()
    return torch.autocast(
        device_type=student.device.type,
        dtype=torch.bfloat16,
        enabled=student.compute_dtype == "bfloat16",
    )
