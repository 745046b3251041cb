"""Speed of the tiny loop, measured back to back (#15): in process, and against old code.

``measure_speed`` runs the same tiny loop (same start, seed and verifier) with the speed-ups
off (the plain path: vision tower on the pixels, rope positions from the model, every row run
in full) and on (cached vision features and rope positions, ``empirical.vision_cache``; each
prompt run once per pass, ``empirical.prefix``), alternating ``repeats`` times in one process
so a shared, noisy machine loads both alike, and reports each phase's seconds (sample, score,
train, evaluate), the ratios and how far the two logs are apart (they must agree within float
tolerance).

``compare_checkouts`` times ``selfdpo empirical tiny --json`` end to end in two checkouts (an
old commit in a ``git worktree`` and this one), alternating, and compares their results.
``python -m empirical.speed --against REV [--seeds 0,1,2] [--repeats N]`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from empirical.data import synthetic_task
from empirical.loop import run_loop
from empirical.student import load_student
from empirical.tiny import TinySettings, start_student
from empirical.verifiers import make_verifier

__all__ = ["PHASES", "compare_checkouts", "log_distance", "measure_speed", "result_distance"]

PHASES = ("sample", "score", "train", "evaluate")


def _numbers(x: Any, path: str = "") -> dict[str, float]:
    """Every number of a log entry by its path (the round's seconds left out)."""
    if isinstance(x, dict):
        return {
            k2: v2
            for k, v in x.items()
            if k != "seconds"
            for k2, v2 in _numbers(v, f"{path}/{k}").items()
        }
    if isinstance(x, (list, tuple)):
        return {k2: v2 for i, v in enumerate(x) for k2, v2 in _numbers(v, f"{path}/{i}").items()}
    if isinstance(x, str):
        return {}  # names only (the gate's), equal by construction
    return {path: float("nan") if x is None else float(x)}


def log_distance(a: list[dict], b: list[dict]) -> dict[str, Any]:
    """How far two run logs are apart: the largest absolute difference over every number
    (seconds left out), whether the pair counts are equal, and whether the fields match."""
    na = [_numbers(r) for r in a]
    nb = [_numbers(r) for r in b]
    same_fields = len(na) == len(nb) and all(x.keys() == y.keys() for x, y in zip(na, nb))
    diff = 0.0
    if same_fields:
        for x, y in zip(na, nb):
            for k in x:
                if np.isnan(x[k]) and np.isnan(y[k]):
                    continue
                diff = max(diff, abs(x[k] - y[k]))
    pairs = [r.get("pairs") for r in a] == [r.get("pairs") for r in b]
    return {"max_abs_diff": diff, "same_pairs": pairs, "same_fields": same_fields}


def measure_speed(
    start: str | Path,
    workdir: str | Path,
    *,
    seed: int = 0,
    rounds: int = 10,
    repeats: int = 2,
    verifier: str = "synthetic:0.9:2",
    n_pool: int = 128,
    n_heldout: int = 192,
    dtype: str = "float32",
) -> dict[str, Any]:
    """The tiny loop from the student at ``start`` with the speed-ups off and on (caches and
    prefix sharing), alternated.

    Returns per mode (``off``, ``on``) the seconds per round of each phase (mean over the
    repeats and rounds), the ratio off/on of each, and the distance between the two modes'
    logs (``log_distance``)."""
    cfg = replace(TinySettings(), rounds=rounds).loop_config(seed)
    pool = synthetic_task(n_pool, seed, split="pool")
    held = synthetic_task(n_heldout, seed, split="heldout")
    work = Path(workdir)
    times: dict[str, list[dict]] = {"off": [], "on": []}
    walls: dict[str, list[float]] = {"off": [], "on": []}
    logs: dict[str, list] = {}
    for r in range(repeats):
        for mode in ("off", "on"):
            st = load_student(start, device="cpu", dtype=dtype)
            st.vision_cache = st.position_cache = st.prefix_sharing = mode == "on"
            tic = time.perf_counter()
            log = run_loop(
                st, pool, held, make_verifier(verifier, seed=seed), cfg, work / f"{mode}-{r}"
            )
            walls[mode].append(time.perf_counter() - tic)
            times[mode].extend(e["seconds"] for e in log[1:])
            logs.setdefault(mode, log)
    per = {
        m: {k: float(np.mean([t[k] for t in ts])) for k in ("total", *PHASES)}
        for m, ts in times.items()
    }
    return {
        "seconds_per_round": per,
        "ratio": {k: per["off"][k] / per["on"][k] for k in per["off"]},
        "wall_seconds": {m: float(np.mean(w)) for m, w in walls.items()},
        "wall_ratio": float(np.mean(walls["off"]) / np.mean(walls["on"])),
        "logs": log_distance(logs["off"], logs["on"]),
        "rounds": rounds,
        "repeats": repeats,
    }


TIMING_KEYS = ("seconds", "seconds_per_round", "reports", "workers")


def result_distance(a: dict, b: dict) -> dict[str, Any]:
    """How far two ``empirical tiny --json`` results are apart: the largest absolute difference
    over every number outside the timings, the keys where it occurs, and whether the
    structure (every key, list length and string) is the same."""
    na = _numbers({k: v for k, v in a.items() if k not in TIMING_KEYS})
    nb = _numbers({k: v for k, v in b.items() if k not in TIMING_KEYS})
    if na.keys() != nb.keys():
        return {"max_abs_diff": None, "where": sorted(na.keys() ^ nb.keys())[:5], "same": False}
    diffs = {k: abs(na[k] - nb[k]) for k in na if not (np.isnan(na[k]) and np.isnan(nb[k]))}
    top = max(diffs.values(), default=0.0)
    where = sorted((k for k, d in diffs.items() if d == top and top > 0))[:5]
    return {"max_abs_diff": top, "where": where, "same": True}


def _tiny_once(checkout: Path, seeds: str, rounds: int | None) -> tuple[float, dict]:
    """Wall seconds and JSON result of ``empirical tiny`` run in ``checkout`` (own process)."""
    cmd = [sys.executable, "-m", "paper.cli", "empirical", "tiny", "--json", "--quiet"]
    cmd += ["--seeds", seeds] + ([] if rounds is None else ["--rounds", str(rounds)])
    env = dict(os.environ, PYTHONPATH=str(checkout))
    tic = time.perf_counter()
    out = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - tic, json.loads(out.stdout)


def compare_checkouts(
    old: str | Path,
    new: str | Path,
    *,
    seeds: str = "0,1,2",
    repeats: int = 1,
    rounds: int | None = None,
) -> dict[str, Any]:
    """``empirical tiny --json`` end to end in the checkouts ``old`` and ``new``, alternating
    (old, new) ``repeats`` times: the wall seconds of each (process start included), the
    ratio of the means old/new, each one's round split (the last run's ``seconds_per_round``)
    and the distance between their results (``result_distance``, first runs)."""
    walls: dict[str, list[float]] = {"old": [], "new": []}
    res: dict[str, dict] = {}
    for _ in range(repeats):
        for name, path in (("old", Path(old)), ("new", Path(new))):
            wall, out = _tiny_once(path, seeds, rounds)
            walls[name].append(wall)
            res.setdefault(name, out)
            res[name + "_last"] = out
    return {
        "wall_seconds": walls,
        "ratio": float(np.mean(walls["old"]) / np.mean(walls["new"])),
        "seconds_per_round": {k: res[k + "_last"]["seconds_per_round"] for k in walls},
        "results": result_distance(res["old"], res["new"]),
        "heldout_change": {
            k: {v["verifier"]: v["pooled"]["heldout_change"]["values"] for v in res[k]["verifiers"]}
            for k in walls
        },
        "seeds": seeds,
        "repeats": repeats,
    }


def _worktree(rev: str) -> Path:
    """A detached ``git worktree`` of ``rev`` in a temporary folder (or ``rev`` itself when it
    is a folder)."""
    if Path(rev).is_dir():
        return Path(rev)
    path = Path(tempfile.mkdtemp(prefix="selfdpo-old-")) / "tree"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), rev],
        check=True,
        capture_output=True,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m empirical.speed [ROUNDS [REPEATS]]``: the tiny start (seed 0) built in a
    temporary folder, then ``measure_speed``; ``python -m empirical.speed --against REV
    [--seeds S] [--repeats N] [--rounds R]``: ``compare_checkouts`` of REV (a git revision or
    a folder) with this checkout. Prints the JSON."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0].startswith("--"):
        ap = argparse.ArgumentParser(prog="python -m empirical.speed")
        ap.add_argument("--against", required=True, help="old git revision or checkout folder")
        ap.add_argument("--seeds", default="0,1,2")
        ap.add_argument("--repeats", type=int, default=1)
        ap.add_argument("--rounds", type=int, default=None)
        a = ap.parse_args(args)
        here = Path(__file__).resolve().parents[1]
        old = _worktree(a.against)
        try:
            res = compare_checkouts(old, here, seeds=a.seeds, repeats=a.repeats, rounds=a.rounds)
        finally:
            if old != Path(a.against):  # the worktree made for this comparison
                subprocess.run(["git", "worktree", "remove", "--force", str(old)], check=False)
                shutil.rmtree(old.parent, ignore_errors=True)
        print(json.dumps(res, indent=1))
        return 0
    import torch

    rounds = int(args[0]) if args else 10
    repeats = int(args[1]) if len(args) > 1 else 2
    torch.set_num_threads(1)  # as empirical tiny runs
    with tempfile.TemporaryDirectory(prefix="selfdpo-speed-") as d:
        start, _ = start_student(Path(d), 0, TinySettings(), True)
        res = measure_speed(start, Path(d) / "runs", rounds=rounds, repeats=repeats)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
