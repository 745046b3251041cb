"""Results files of the engine (sim.results format: NetCDF-3 that xarray and pandas read).

Two layouts, both carrying every parameter the runs used:

- a *sweep* file (``selfdpo sweep``, :func:`save_sweep`): coordinates ``alpha``, ``kappa``,
  ``seed``, ``round`` (0..R for accuracies; per-round outcomes use 1..R on ``step``);
- a *grid* file (:func:`save_grid`, any traced parameters): coordinates ``point``, ``seed``,
  ``round``/``step``, the swept values as variables over ``point`` (and ``prompt`` for
  per-prompt alpha/kappa).

Attributes: ``config`` (JSON of ``sim.config_dict`` without the swept names, so B, N, gate, ...
are all there), ``swept`` (the swept names), ``config_hash``, ``seeds``, ``gate``, ``progress``,
``student``, ``code_version`` (hash of the engine's source and the jax version). A sweep can be
run in K disjoint parts (``shard=(i, K)``: a contiguous block of the flattened alpha x kappa
grid, all seeds) on any scheduler and assembled by :func:`merge_parts` into the same file one
run writes. Importing this module does not import jax.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sim.results import Results, read_results, write_results
from sim.trajectory import Trajectory

_ACC_FIELDS = ("train_acc", "heldout_acc")
# the modules whose code decides a run's numbers (code_version hashes them)
ENGINE_MODULES = (
    "config",
    "dpo",
    "grid",
    "loop",
    "noise",
    "pairs",
    "replay",
    "student",
    "trajectory",
    "verifier",
)


def code_version() -> str:
    """Hash of the engine's source files and the jax/jaxlib versions (16 hex digits)."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in ENGINE_MODULES:
        h.update((here / f"{name}.py").read_bytes())
    for dist in ("jax", "jaxlib"):
        try:
            h.update(f"{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=none".encode())
    return h.hexdigest()[:16]


def shard_indices(G: int, shard: tuple[int, int] | None, block: int = 1) -> np.ndarray:
    """Flat grid indices of part ``shard = (i, K)`` of G points, or all of them.

    Parts are contiguous and, when there are at least K blocks of ``block`` points (the
    engine's chunk), made of whole blocks, so a part computes exactly the chunks a single run
    would (no padding beyond the last).

    Raises:
        ValueError: not 0 <= i < K, or K < 1.
    """
    if shard is None:
        return np.arange(G)
    i, k = shard
    if k < 1 or not 0 <= i < k:
        raise ValueError(f"shard must be I/K with 0 <= I < K, got {i}/{k}")
    n_blocks = -(-G // max(1, block))
    if n_blocks < k:
        return np.array_split(np.arange(G), k)[i]
    mine = np.array_split(np.arange(n_blocks), k)[i]
    return np.arange(mine[0] * block, min(G, (mine[-1] + 1) * block))


def _attrs(cfg: dict[str, Any], swept: Sequence[str], seeds: np.ndarray) -> dict[str, Any]:
    from sim.config import config_hash

    d = {k: v for k, v in cfg.items() if k not in swept}
    return {
        "config": json.dumps(d, sort_keys=True),
        "swept": json.dumps(list(swept)),
        "config_hash": config_hash(d),
        "seeds": json.dumps([int(s) for s in seeds]),
        "gate": d["gate"],
        "progress": d["progress"],
        "student": d.get("student", ""),
        "code_version": code_version(),
        "model": "paper/model.md",
    }


def _traj_data(traj: Trajectory, lead: tuple[str, ...]) -> dict:
    data = {}
    for name, arr in zip(Trajectory._fields, traj):
        axis = "round" if name in _ACC_FIELDS else "step"
        data[name] = ((*lead, axis), np.asarray(arr, dtype=float))
    return data


def _round_coords(traj: Trajectory) -> dict[str, np.ndarray]:
    R = np.asarray(traj.loss_trained).shape[-1]
    return {"round": np.arange(R + 1), "step": np.arange(1, R + 1)}


def sweep_to_results(
    traj: Trajectory, alphas: Any, kappas: Any, seeds: Any, config: dict[str, Any]
) -> tuple[dict, dict, dict]:
    """(coords, data, attrs) of a sweep Trajectory with axes (alpha, kappa, seed, round).

    ``config`` is the full ``config_dict`` (plus ``student``) of the runs; alpha and kappa are
    the coordinates.
    """
    seeds = np.asarray(seeds, dtype=np.int64).ravel()
    coords = {
        "alpha": np.asarray(alphas, dtype=float),
        "kappa": np.asarray(kappas, dtype=float),
        "seed": seeds,
        **_round_coords(traj),
    }
    data = _traj_data(traj, ("alpha", "kappa", "seed"))
    return coords, data, _attrs(config, ("alpha", "kappa"), seeds)


def _sweep_config(gate, progress, student, rounds, overrides) -> dict[str, Any]:
    from sim.config import defaults

    d = defaults(student, gate=gate, progress=progress, rounds=rounds, **overrides)
    return {**d, "student": student}


def save_sweep(
    path: str | os.PathLike,
    alphas: Any,
    kappas: Any,
    *,
    seeds: Any,
    traj: Trajectory | None = None,
    gate: str = "rank",
    student: str = "default",
    rounds: int = 200,
    progress: str = "loss",
    progress_bar: Callable[[int], None] | None = None,
    shard: tuple[int, int] | None = None,
    **overrides: Any,
) -> Path:
    """Run (unless ``traj`` is given) an alpha x kappa sweep and write it to ``path`` atomically.

    With ``shard = (i, K)`` only part i of K of the flattened grid runs and ``path`` gets a part
    file for :func:`merge_parts`.
    """
    from sim.config import make_config
    from sim.grid import grid_runs, part_indices, seed_keys

    alphas = np.atleast_1d(np.asarray(alphas, dtype=float))
    kappas = np.atleast_1d(np.asarray(kappas, dtype=float))
    seed_values, _ = seed_keys(seeds)
    cfg = _sweep_config(gate, progress, student, rounds, overrides)
    shape = (alphas.size, kappas.size)
    G = alphas.size * kappas.size
    idx = part_indices(G, seed_values.size, cfg["N"], shard)
    if traj is None:
        aa, kk = np.meshgrid(alphas, kappas, indexing="ij")
        base = make_config(alphas[0], kappas[0], **_config_args(cfg))
        pts = {"alpha": aa.ravel()[idx], "kappa": kk.ravel()[idx]}
        # parts compile the whole sweep's chunk shape, so their numbers equal the whole's
        traj = grid_runs(base, pts, seed_values, progress=progress_bar, plan_points=G)
        if shard is None:
            traj = Trajectory(*(x.reshape(shape + x.shape[1:]) for x in traj))
    if shard is None:
        coords, data, attrs = sweep_to_results(traj, alphas, kappas, seed_values, cfg)
        return write_results(path, coords, data, attrs)
    coords = {"point": idx, "seed": seed_values, **_round_coords(traj)}
    data = _traj_data(traj, ("point", "seed"))
    attrs = _attrs(cfg, ("alpha", "kappa"), seed_values)
    attrs.update(
        shard=f"{shard[0]}/{shard[1]}",
        sweep_alphas=json.dumps(alphas.tolist()),
        sweep_kappas=json.dumps(kappas.tolist()),
    )
    return write_results(path, coords, data, attrs)


def _config_args(cfg: dict[str, Any]) -> dict[str, Any]:
    """make_config keyword arguments from a sweep's config dict."""
    return {k: v for k, v in cfg.items() if k not in ("alpha", "kappa")}


# attributes every part of one sweep must share (code_version: same engine and jax)
_SAME = ("config", "config_hash", "swept", "seeds", "code_version", "sweep_alphas", "sweep_kappas")


def merge_parts(paths: Sequence[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Assemble the part files of one sharded sweep into the file a single run writes.

    Raises:
        ValueError: a file is not a part file, parts differ in configuration, seeds, grid or
            code version, or the parts do not cover the shards 0..K-1 exactly once.
    """
    if not paths:
        raise ValueError("merge needs at least one part file")
    parts = [read_results(p) for p in paths]
    for p, res in zip(paths, parts):
        if "shard" not in res.attrs:
            raise ValueError(f"{p} is not a part file of a sharded sweep (no shard attribute)")
    first = parts[0].attrs
    for p, res in zip(paths[1:], parts[1:]):
        for key in _SAME:
            if res.attrs.get(key) != first.get(key):
                what = "code versions" if key == "code_version" else f"{key}s"
                raise ValueError(
                    f"{p} and {paths[0]} are parts of different sweeps ({what} differ)"
                )
    shards = sorted(int(r.attrs["shard"].split("/")[0]) for r in parts)
    K = {int(r.attrs["shard"].split("/")[1]) for r in parts}
    if len(K) != 1 or shards != list(range(K.pop())):
        got = ", ".join(r.attrs["shard"] for r in parts)
        raise ValueError(f"the parts must be shards 0..K-1 of K, each once; got {got}")
    alphas = np.array(json.loads(first["sweep_alphas"]), dtype=float)
    kappas = np.array(json.loads(first["sweep_kappas"]), dtype=float)
    G = alphas.size * kappas.size
    order = np.concatenate([r.coords["point"] for r in parts])
    if not np.array_equal(np.sort(order), np.arange(G)):
        raise ValueError("the parts do not cover the grid exactly once")
    inv = np.argsort(order)
    fields = []
    for name in Trajectory._fields:
        x = np.concatenate([r[name] for r in parts])[inv]
        fields.append(x.reshape((alphas.size, kappas.size) + x.shape[1:]))
    traj = Trajectory(*fields)
    cfg = json.loads(first["config"])
    seeds = np.asarray(parts[0].coords["seed"], dtype=np.int64)
    coords, data, attrs = sweep_to_results(traj, alphas, kappas, seeds, cfg)
    attrs["code_version"] = first["code_version"]
    return write_results(out, coords, data, attrs)


def load_sweep(path: str | os.PathLike) -> tuple[Trajectory, Results]:
    """Read a sweep file: (Trajectory with axes (alpha, kappa, seed, round), the Results)."""
    res = read_results(path)
    missing = [f for f in Trajectory._fields if f not in res.data]
    if missing or "shard" in res.attrs:
        why = "a part file (merge it first)" if not missing else f"missing {', '.join(missing)}"
        raise ValueError(f"{path} is not a sweep file ({why})")
    return Trajectory(*(res[f] for f in Trajectory._fields)), res


def save_grid(
    path: str | os.PathLike,
    config: Any,
    points: Mapping[str, Any],
    seeds: Any,
    *,
    traj: Trajectory | None = None,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Run (unless ``traj`` is given) ``sim.grid_runs(config, points, seeds)`` and write it.

    The file has axes (point, seed, round); each swept parameter is a variable over ``point``
    (``point``, ``prompt`` when per-prompt); ``config`` holds every other parameter.
    """
    from sim.config import check_points, config_dict
    from sim.grid import grid_runs, seed_keys

    pts = check_points(config, points)
    seed_values, _ = seed_keys(seeds)
    if traj is None:
        traj = grid_runs(config, pts, seed_values, progress=progress)
    G = np.asarray(traj.loss_trained).shape[0]
    coords = {"point": np.arange(G), "seed": seed_values, **_round_coords(traj)}
    data = _traj_data(traj, ("point", "seed"))
    for name, values in points.items():
        v = np.asarray(values, dtype=float)
        if v.ndim == 2:
            coords.setdefault("prompt", np.arange(v.shape[1]))
        data[name] = (("point",) if v.ndim == 1 else ("point", "prompt"), v)
    return write_results(path, coords, data, _attrs(config_dict(config), tuple(pts), seed_values))


def load_grid(path: str | os.PathLike) -> tuple[Trajectory, Results]:
    """Read a grid file: (Trajectory with axes (point, seed, round), the Results)."""
    res = read_results(path)
    missing = [f for f in Trajectory._fields if f not in res.data]
    if missing or "point" not in res.coords:
        raise ValueError(f"{path} is not a grid file")
    return Trajectory(*(res[f] for f in Trajectory._fields)), res
