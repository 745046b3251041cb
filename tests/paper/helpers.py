"""Helpers of the paper tests: deciding an experiment's rows on a results folder, editing files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from paper.claims import meta
from sim.results import read_results, write_results


def reproduce_quick(out: Path) -> subprocess.CompletedProcess:
    """``selfdpo reproduce --quick --quiet --out out`` in its own process (with an empty
    compilation cache it compiles every sweep program: about 3 minutes on 2 cores)."""
    cmd = [sys.executable, "-m", "paper.cli", "reproduce", "--quick", "--quiet", "--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800)


def decide(experiment, root: Path) -> dict:
    """The experiment's rows decided on ``root/<SWEEP>.nc``, by id."""
    path = root / f"{experiment.SWEEP}.nc"
    res = read_results(path)
    rows = experiment.claims(res, meta(res, path.name, experiment.SWEEP))
    assert [r.id for r in rows] == list(experiment.ROWS)
    return {r.id: r for r in rows}


def edit(path: Path, name: str, fn) -> None:
    """Replace variable ``name`` of a results file by ``fn(copy)``."""
    res = read_results(path)
    dims, arr = res.data[name]
    res.data[name] = (dims, fn(arr.copy()))
    write_results(path, res.coords, res.data, res.attrs)
