"""Round speed of the tiny loop with and without the caches, measured back to back (#15).

The vision tower's features (per prompt and weight version) and the multimodal rope positions
(per prompt) are cached across a round's passes (``empirical.vision_cache``). ``measure_speed``
runs the same tiny loop (same start, seed and verifier) with both caches off and on,
alternating ``repeats`` times in one process so a shared, noisy machine loads both alike, and
reports each phase's seconds (sample, score, train, evaluate), the ratios and how far the two
logs are apart (they must agree within float tolerance: the caches change no result).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from empirical.config import LoopConfig
from empirical.data import synthetic_task
from empirical.loop import run_loop
from empirical.student import load_student
from empirical.tiny import TinySettings, start_student
from empirical.verifiers import make_verifier

__all__ = ["PHASES", "log_distance", "measure_speed"]

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
    if isinstance(x, list):
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
    """The tiny loop from the student at ``start`` with the caches off and on, alternated.

    Returns per mode (``off``, ``on``) the seconds per round of each phase (mean over the
    repeats and rounds), the ratio off/on of each, and the distance between the two modes'
    logs (``log_distance``)."""
    cfg = LoopConfig(
        rounds=rounds,
        n=4,
        batch=64,
        lr=1e-3,
        beta=0.5,
        max_new_tokens=2,
        gen_batch=64,
        train_batch=32,
        choice_probs=True,
        greedy_eval=False,
        seed=seed,
    )
    pool = synthetic_task(n_pool, seed, split="pool")
    held = synthetic_task(n_heldout, seed, split="heldout")
    work = Path(workdir)
    times: dict[str, list[dict]] = {"off": [], "on": []}
    walls: dict[str, list[float]] = {"off": [], "on": []}
    logs: dict[str, list] = {}
    for r in range(repeats):
        for mode in ("off", "on"):
            st = load_student(start, device="cpu", dtype=dtype)
            st.vision_cache = st.position_cache = mode == "on"
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


def main(argv: list[str] | None = None) -> int:
    """``python -m empirical.speed [ROUNDS [REPEATS]]``: the tiny start (seed 0) built in a
    temporary folder, then ``measure_speed``; prints the JSON."""
    import torch

    args = list(sys.argv[1:] if argv is None else argv)
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
