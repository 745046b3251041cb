"""Data parallelism for the loop: one process per device under ``accelerate launch``/``torchrun``.

Work is cut into fixed chunks (of the generation or training micro-batch size) whatever the
number of processes; chunk k runs on rank k mod W and the results are gathered to every rank, so
each chunk computes exactly what it computes in a single process (same batch, same seed).
Gradients of a DPO step are summed over ranks before the (identical) optimizer step on every
rank, which keeps the replicas in sync. Only rank 0 writes files. With one process every
function here is a no-op.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any


def world() -> tuple[int, int]:
    """(rank, world size) from the launcher's environment (1 process if none)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def local_device() -> str | None:
    """cuda:LOCAL_RANK when launched on GPUs, else None (the default device)."""
    import torch

    if world()[1] > 1 and torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return None


def init() -> None:
    """Join the process group when there is more than one process, through accelerate's
    ``PartialState`` (nccl on GPUs, gloo on CPUs; ``accelerate launch`` and ``torchrun`` set the
    environment it reads)."""
    import torch.distributed as dist

    if world()[1] > 1 and not dist.is_initialized():
        from accelerate import PartialState

        PartialState()


def active() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_main() -> bool:
    return not active() or world()[0] == 0


def barrier() -> None:
    if active():
        import torch.distributed as dist

        dist.barrier()


def finish(ok: bool = True) -> None:
    """Leave the process group: after a run that ended normally every rank waits for the others
    (a barrier), then the group is destroyed; after an error it is destroyed without waiting (a
    barrier could pair with another rank's pending collective and hang).

    A rank that exits while its gloo threads still run can abort with "terminate called without
    an active exception" (seen in CI when rank 1 returned while rank 0 wrote the reports).
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if ok and dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


def map_chunks(fn: Callable[[int, int, int], Any], n: int, size: int) -> list[Any]:
    """[fn(k, start, end) for each chunk k of range(n) in steps of ``size``], chunks spread
    over ranks and gathered in order on every rank."""
    chunks = [(k, s, min(s + size, n)) for k, s in enumerate(range(0, n, size))]
    if not active():
        return [fn(k, s, e) for k, s, e in chunks]
    import torch.distributed as dist

    rank, w = dist.get_rank(), dist.get_world_size()
    mine = {k: fn(k, s, e) for k, s, e in chunks[rank::w]}
    parts: list[Any] = [None] * w
    dist.all_gather_object(parts, mine)
    merged: dict[int, Any] = {}
    for p in parts:
        merged.update(p)
    return [merged[k] for k, _, _ in chunks]


def my_chunks(n: int, size: int) -> Sequence[tuple[int, int, int]]:
    """The chunks of range(n) this rank trains on (all of them in one process)."""
    chunks = [(k, s, min(s + size, n)) for k, s in enumerate(range(0, n, size))]
    if not active():
        return chunks
    import torch.distributed as dist

    return chunks[dist.get_rank() :: dist.get_world_size()]


def all_reduce_grads(params: Sequence[Any], bucket_mb: float = 25.0) -> None:
    """Sum gradients over ranks (each rank's loss already carries its global weights), one
    all-reduce per bucket of about ``bucket_mb`` MB of flattened gradients."""
    if not active():
        return
    import torch
    import torch.distributed as dist

    grads = []
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        grads.append(p.grad)
    cap = int(bucket_mb * 2**20)
    bucket: list[Any] = []
    size = 0
    for g in [*grads, None]:
        if g is not None and (
            not bucket
            or (size + g.numel() * g.element_size() <= cap and g.dtype == bucket[0].dtype)
        ):
            bucket.append(g)
            size += g.numel() * g.element_size()
            continue
        if bucket:
            flat = torch.cat([b.reshape(-1) for b in bucket])
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            offset = 0
            for b in bucket:
                b.copy_(flat[offset : offset + b.numel()].view_as(b))
                offset += b.numel()
        bucket = [] if g is None else [g]
        size = 0 if g is None else g.numel() * g.element_size()
