"""Atomic file writes and strict JSON: no results file is ever left half-written.

Every package above theory writes through these (sim's results files, the empirical loop's
logs and checkpoints, the paper build). Importing this module does not import jax.
"""

from __future__ import annotations

import glob
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _temp_prefix(path: Path, pid: int) -> str:
    return f".{path.name}.{pid}."


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete temporary files that a killed writer of ``path`` left behind; return them.

    A temporary file's name carries its writer's process id; only files whose writer is no
    longer alive are removed, so a concurrent writer of the same target is never disturbed.
    """
    path = Path(path)
    removed: list[Path] = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*"):
        rest = tmp.name[len(path.name) + 2 :]
        pid_text = rest.split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)) or not tmp.is_file():
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_output_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Validate an output file path before any work; return it as a Path.

    Refused: an empty path, an existing path that is not a regular file (a folder, a device
    such as /dev/null, a pipe), a parent that exists but is not a folder, and a folder that
    cannot be written. A missing parent folder is fine (it is created on write).

    Raises:
        ValueError: one line naming ``what`` and the reason.
    """
    text = os.fspath(path)
    if not text.strip():
        raise ValueError(f"{what} must be a non-empty path")
    p = Path(text)
    if p.exists() and not p.is_file():
        kind = "a folder" if p.is_dir() else "not a regular file (a device, pipe or socket)"
        raise ValueError(f"{what} {text!r} is {kind}; give a regular file path")
    parent = _existing_ancestor(p.parent)
    if not parent.is_dir():
        raise ValueError(f"{what} {text!r}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {text!r}: folder {parent} is not writable")
    return p


def check_output_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Validate an output folder path before any work (empty, a file, unwritable: refused)."""
    text = os.fspath(path)
    if not text.strip():
        raise ValueError(f"{what} must be a non-empty path")
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{what} {text!r} exists and is not a folder")
    base = _existing_ancestor(p)
    if not base.is_dir():
        raise ValueError(f"{what} {text!r}: {base} is not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {text!r}: {base} is not writable")
    return p


def _existing_ancestor(p: Path) -> Path:
    p = Path(os.path.abspath(p))
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path`` atomically.

    ``write`` receives a temporary path in the same directory (so the final rename is atomic)
    that keeps the target's suffix (libraries that pick a format from the suffix still work).
    On any exception the temporary file is removed and ``path`` is untouched; temporary files
    of earlier writers that were killed are removed first. A path that exists and is not a
    regular file (a device such as /dev/null) is refused, never replaced.
    """
    path = check_output_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    prefix = _temp_prefix(path, os.getpid())
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=path.suffix)
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
