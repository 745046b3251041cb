"""Round checkpoints of the loop: trainable weights, optimiser, schedule, RNG and loop state.

``out/ckpt-TTTT`` is written to a temporary folder, marked COMPLETE and renamed, so a run killed
at any point resumes from its last complete round. Tensors are read back with
``torch.load(..., weights_only=True)``: a checkpoint folder cannot run code.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["Checkpointer", "trainable_state"]


def trainable_state(model: Any) -> dict:
    """CPU copies of the model's trainable tensors (by state-dict name)."""
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k in names}


class Checkpointer:
    """Round checkpoints under ``out/ckpt-TTTT`` (only the latest is kept)."""

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)

    def latest(self) -> tuple[int, Path] | None:
        """(round, folder) of the newest complete checkpoint, or None."""
        done = []
        for p in self.out.glob("ckpt-*"):
            if p.is_dir() and (p / "COMPLETE").is_file():
                done.append((int(p.name.split("-")[1]), p))
        return max(done) if done else None

    def save(self, t: int, tensors: dict[str, Any], state: dict) -> None:
        """Write round ``t``: each entry of ``tensors`` to NAME.pt, ``state`` to state.json."""
        import torch

        tmp = self.out / f".tmp-ckpt-{t:04d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, obj in tensors.items():
            torch.save(obj, tmp / f"{name}.pt")
        (tmp / "state.json").write_text(json.dumps(state))
        (tmp / "COMPLETE").write_text("ok\n")
        final = self.out / f"ckpt-{t:04d}"
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for p in self.out.glob("ckpt-*"):
            if p != final:
                shutil.rmtree(p, ignore_errors=True)

    def clean_temp(self) -> int:
        """Remove temporary files a killed run left behind (checkpoint folders being written,
        atomic-write temporaries of the logs); returns how many were removed."""
        n = 0
        for p in self.out.glob(".tmp-ckpt-*"):
            shutil.rmtree(p, ignore_errors=True)
            n += 1
        for folder in (self.out, self.out / "samples"):
            for p in folder.glob(".*.json*.*"):
                if p.is_file():
                    p.unlink(missing_ok=True)
                    n += 1
        return n

    @staticmethod
    def load(path: Path, name: str) -> Any:
        """One saved object (tensors, optimiser state), read with ``weights_only=True``."""
        import pickle

        import torch

        try:
            return torch.load(path / f"{name}.pt", weights_only=True, map_location="cpu")
        except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as exc:
            raise ValueError(
                f"checkpoint file {path / (name + '.pt')} is unreadable ({exc}); delete "
                f"{path} to resume from scratch, or use a new --out"
            ) from exc

    @staticmethod
    def state(path: Path) -> dict:
        """The JSON loop state of a checkpoint."""
        return json.loads((path / "state.json").read_text())
