"""What every experiment shares: the model's fields, sim's one sweep engine, results layout bits.

Every experiment runs on ``sim.grid_runs`` (the vmapped engine the README benchmarks): a base
config (student, gate, progress signal, shapes) and a dict of traced per-point values
(``alpha``, ``kappa`` of shape (G,) or (G, N), or any other traced parameter), over seeds; the
Trajectory's fields have leading axes (G, S). Random numbers depend on the seed only, so all
points of one call share them (common random numbers). jax is imported by ``sim``'s engine
only when a sweep really runs, so importing this module stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import sim
import theory
from sim.trajectory import Trajectory

Payload = tuple[dict[str, np.ndarray], dict[str, tuple[tuple[str, ...], np.ndarray]], dict]
Bar = Callable[[str], None]

ROUND_FIELDS = ("train_acc", "heldout_acc")


def seed_range(seeds: int | Sequence[int]) -> list[int]:
    """The seeds of a spec: a list of ints as given, or a count n for 0 .. n - 1."""
    if isinstance(seeds, int | np.integer):
        return list(range(int(seeds)))
    return [int(s) for s in seeds]


def model_fields(student: str, **overrides: Any) -> dict[str, Any]:
    """The model's fields for ``student`` (theory.STUDENTS through ``sim.defaults``, with sim's
    defaults for N, B, eta, beta, ... and ``overrides``): the numbers theory's formulas take."""
    return sim.defaults(student, **overrides)


def student_dict(fields: dict[str, Any]) -> dict[str, Any]:
    """The subset of ``fields`` theory's drift estimates take as a student."""
    return {k: fields[k] for k in ("d_s", "K", "mu", "s", "b", "N")}


def base_config(
    student: str,
    *,
    gate: str = "uniform",
    progress: str = "loss",
    rounds: int,
    n: int = 2,
    alpha: float = 0.5,
    kappa: float = 1.0,
    **overrides: Any,
) -> Any:
    """sim's config of one experiment (a sweep replaces its traced alpha, kappa per point)."""
    return sim.make_config(
        alpha, kappa, gate=gate, progress=progress, student=student, rounds=rounds, n=n, **overrides
    )


def grid(
    config: Any,
    points: dict[str, Any],
    seeds: Sequence[int],
    bar: Bar | None = None,
    label: str = "",
) -> Trajectory:
    """``sim.grid_runs`` on ``points`` (dict of (G,) or (G, N) arrays) x ``seeds``: (G, S, ...)."""
    pts = {k: np.asarray(v, dtype=float) for k, v in points.items()}
    G = len(next(iter(pts.values())))
    done = [0]

    def progress(m: int) -> None:
        done[0] += m
        if bar is not None:
            bar(f"{label} {done[0]}/{G}")

    return sim.grid_runs(config, pts, np.asarray(seeds), progress=progress)


def grid2(
    config: Any,
    alphas: Sequence[float],
    kappas: Sequence[float],
    seeds: Sequence[int],
    bar: Bar | None = None,
    label: str = "",
) -> Trajectory:
    """:func:`grid` on the alpha x kappa product: fields (alpha, kappa, S, ...)."""
    aa, kk = np.meshgrid(np.asarray(alphas, float), np.asarray(kappas, float), indexing="ij")
    traj = grid(config, {"alpha": aa.ravel(), "kappa": kk.ravel()}, seeds, bar, label)
    shape = aa.shape
    return Trajectory(*(np.asarray(x).reshape(shape + np.shape(x)[1:]) for x in traj))


def stack(trajs: Sequence[Trajectory]) -> Trajectory:
    """Stack trajectories along a new leading axis."""
    return Trajectory(*(np.stack(xs) for xs in zip(*trajs)))


def trajectory_data(
    traj: Trajectory, lead: Sequence[str], fields: Sequence[str] | None = None
) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Results-file variables of a Trajectory whose leading axes are named ``lead``.

    Accuracies get the axis ``round`` (0..R); per-round outcomes get ``step`` (1..R).
    """
    out = {}
    for name in traj._fields:
        if fields is not None and name not in fields:
            continue
        arr = np.asarray(getattr(traj, name), dtype=np.float64)
        out[name] = ((*lead, "round" if name in ROUND_FIELDS else "step"), arr)
    return out


def round_coords(rounds: int) -> dict[str, np.ndarray]:
    """``round`` = 0..R and ``step`` = 1..R."""
    return {"round": np.arange(rounds + 1), "step": np.arange(1, rounds + 1)}


def theory_first_round(
    alphas: Any, kappas: Any, fields: dict[str, Any], n: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Theory's first-order held-out change after round 1 (T1) and its Monte Carlo SE."""
    st = student_dict(fields)
    a, k = np.broadcast_arrays(np.asarray(alphas, float), np.asarray(kappas, float))
    val, se = np.empty(a.shape), np.empty(a.shape)
    for idx in np.ndindex(a.shape):
        est = theory.first_round_drift_estimate(
            float(a[idx]), float(k[idx]), st, n=n, eta=fields["eta"], beta=fields["beta"]
        )
        val[idx], se[idx] = est["heldout"], est["heldout_se"]
    return val, se


def enable_compilation_cache() -> None:
    """Persist XLA executables across runs (compilation dominates a quick reproduction)."""
    import jax  # lazy: importing this module stays fast

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "selfdpo" / "jax"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    except (OSError, AttributeError):  # an unwritable home or an older jax: just compile
        pass
