"""Atomic file writes and strict JSON: no results file is ever left half-written.

Every package above theory writes through these (sim's results files, the empirical loop's
logs and checkpoints, the paper build). Importing this module does not import jax.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path`` atomically.

    ``write`` receives a temporary path in the same directory (so the final rename is atomic)
    that keeps the target's suffix (libraries that pick a format from the suffix still work).
    On any exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        # mkstemp makes the file 0600; give it the permissions an ordinary open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write(path, lambda p: p.write_text(text))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented strict JSON to ``path`` atomically."""
    return atomic_write_text(path, to_json(obj) + "\n")


def _plain(o: Any) -> Any:
    """``o`` with numpy values made Python ones and non-finite floats made None (strict JSON)."""
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_plain(v) for v in o]
    if isinstance(o, np.ndarray):
        return _plain(o.tolist())
    if isinstance(o, np.generic):
        return _plain(o.item())
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def to_json(obj: Any) -> str:
    """Strict JSON text of ``obj`` (numpy converted; NaN and infinities written as null)."""
    return json.dumps(_plain(obj), indent=2, allow_nan=False)
