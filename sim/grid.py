"""The one sweep engine: runs at grid points of any traced parameters x seeds.

``grid_runs(config, points, seeds)`` runs ``config`` with the traced parameters named in
``points`` replaced at each of G grid points, for every seed; ``sweep`` (the alpha x kappa grid)
and ``run_seeds`` (one point) are built on it. Random numbers depend on the seed only (features,
frozen-verdict uniforms, sampling uniforms, score noise, batch draws), so every grid point sees
the same random numbers: common random numbers, which couple neighbouring grid points and make
differences precise. Inside a chunk the grid axis is vmapped with the seed's key unbatched, so
those random numbers are drawn once per seed, not once per grid point. Runs are chunked (memory)
and each chunk is split over the local devices (grid axis; with fewer points than devices,
the seed axis), each device running the one-device program on its part, so results do not
depend on the device count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sim.config import Config, check_points, make_config
from sim.io import shard_indices
from sim.limits import SEED_MAX
from sim.loop import run
from sim.trajectory import Trajectory, to_numpy

# runs (grid points x seeds) per chunk at N = 128 train prompts; scaled by 128 / N for other N,
# which bounds memory (per-run state and intermediates grow with N). 1024 ran 5-10% faster per
# run-round than 4096 on 2 CPU cores (cache) and gives the progress bar finer steps.
CHUNK_RUNS = 1024
# seeds per chunk, at most: a sweep's compiled program depends on its chunk's shape, and a chunk
# shape free of the seed count lets a pilot (16 or 32 seeds) and its confirmation (any count)
# share one program; a quick reproduction compiled 61 sweep programs with seed-count-sized chunks.
# Small chunks cost no speed on the CPU: 8 to 256 runs of a round per chunk ran at 24 to 41 us
# CPU per run-round, fastest at 8 (one device, rank gate, N = 128, same process).
SEED_CHUNK = 16


def seed_keys(seeds: Any) -> tuple[np.ndarray, jax.Array]:
    """(seed values, PRNG keys) from an int count (0..S-1) or an array of ints."""
    arr = np.arange(int(seeds)) if np.ndim(seeds) == 0 else np.asarray(seeds).ravel()
    if arr.size == 0:
        raise ValueError("seeds must be a positive count or a non-empty array of ints")
    if np.any(arr != np.round(arr)):
        raise ValueError("seeds must be integers")
    if np.any((arr < 0) | (arr > SEED_MAX)):  # uint32 would wrap silently
        got = f"{arr.min()}..{arr.max()}"
        raise ValueError(f"seeds must be integers in [0, {SEED_MAX}] (uint32), got {got}")
    arr = arr.astype(np.int64)
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(arr, dtype=jnp.uint32))
    return arr, keys


# XLA CPU compiler options of the sweep program: no YNNPACK fusions. XLA hands reductions over
# the short candidate axis (K = 4) to YNNPACK, which ran the vmapped round 1.2-1.5x slower than
# XLA's own loops (A/B in one process, N = 128, 1,024 runs: 11.5 -> 9.3 us CPU per run-round).
# Other backends ignore CPU options.
CPU_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


def _chunk_runs(base: Config, points: dict[str, jax.Array], keys: jax.Array) -> Trajectory:
    """Runs (seed, grid): outer vmap over seeds, inner over grid points sharing the seed's key.

    With no points the grid axis has length 1 and is not vmapped.
    """

    def per_seed(key):
        if not points:
            return jax.tree.map(lambda x: x[None], run(base, key))
        return jax.vmap(lambda pt: run(base.replace(**pt), key))(points)

    return jax.vmap(per_seed)(keys)


_chunk_cpu = jax.jit(_chunk_runs, compiler_options=CPU_COMPILER_OPTIONS)
_chunk_other = jax.jit(_chunk_runs)


def _chunk(base: Config, points: dict[str, jax.Array], keys: jax.Array) -> Trajectory:
    """:func:`_chunk_runs` compiled for the device that holds ``keys``."""
    if isinstance(keys, jax.Array):
        on_cpu = all(d.platform == "cpu" for d in keys.devices())
    else:
        on_cpu = jax.default_backend() == "cpu"
    return (_chunk_cpu if on_cpu else _chunk_other)(base, points, keys)


def _devices(shard: bool) -> list[jax.Device]:
    return jax.local_devices() if shard else jax.local_devices()[:1]


def _run_split(
    config: Config, pts: dict[str, np.ndarray], keys: np.ndarray, devices: list, grid_split: bool
) -> Trajectory:
    """One chunk split into equal parts, one per device, dispatched asynchronously.

    Every device runs the same per-device program on its part (no SPMD partitioning), so a
    run's numbers do not depend on the device count; runs are independent, so no device
    waits for another.
    """
    n = len(devices)
    outs = []
    for d, dev in enumerate(devices):
        if grid_split:
            size = next(iter(pts.values())).shape[0] // n
            part_pts = {
                k: jax.device_put(v[d * size : (d + 1) * size], dev) for k, v in pts.items()
            }
            part_keys = jax.device_put(keys, dev)
        else:
            size = keys.shape[0] // n
            part_pts = {k: jax.device_put(v, dev) for k, v in pts.items()}
            part_keys = jax.device_put(keys[d * size : (d + 1) * size], dev)
        outs.append(_chunk(config, part_pts, part_keys))  # async: all devices run at once
    axis = 1 if grid_split else 0  # outputs are (seed, grid, ...)
    return Trajectory(*(np.concatenate(xs, axis=axis) for xs in zip(*map(to_numpy, outs))))


def _pad(x: np.ndarray, size: int) -> np.ndarray:
    """``x`` padded along axis 0 to ``size`` by repeating its last entry."""
    extra = size - x.shape[0]
    return x if extra == 0 else np.concatenate([x, np.repeat(x[-1:], extra, axis=0)])


def chunk_plan(
    G: int, S: int, N: int, n_dev: int, chunk_runs: int, has_points: bool
) -> tuple[int, int, bool]:
    """(grid points per chunk, seeds per chunk, whether the grid axis is sharded).

    A chunk holds at most ``SEED_CHUNK`` seeds (fewer when S is smaller) and as many grid
    points as fit in about ``chunk_runs * min(1, 128 / N)`` runs; the device-sharded axis is
    padded to a multiple of the device count. With fewer points than devices the seed axis is
    split and sharded instead. The chunk's shape does not depend on S beyond ``SEED_CHUNK``, so
    a pilot and its confirmation (any seed count) run one compiled program.
    """
    budget = max(1, int(chunk_runs * min(1.0, 128 / N)))
    s_chunk = min(S, SEED_CHUNK, budget)
    g_chunk = min(G, max(1, budget // s_chunk))
    if has_points and G >= n_dev:
        return n_dev * math.ceil(g_chunk / n_dev), s_chunk, True
    return g_chunk, n_dev * math.ceil(s_chunk / n_dev), False


def part_indices(G: int, S: int, N: int, shard: tuple[int, int] | None) -> np.ndarray:
    """Flat indices of part ``shard = (i, K)`` of a G-point sweep, whole chunks where possible."""
    n_dev = len(jax.devices())
    g_chunk, _, _ = chunk_plan(G, S, N, n_dev, CHUNK_RUNS, True)
    return shard_indices(G, shard, g_chunk)


def grid_runs(
    config: Config,
    points: Mapping[str, Any] | None,
    seeds: Any,
    *,
    progress: Callable[[int], None] | None = None,
    chunk_runs: int = CHUNK_RUNS,
    shard: bool = True,
    plan_points: int | None = None,
) -> Trajectory:
    """Runs of ``config`` at G grid points x seeds -> Trajectory with fields (G, S, ...).

    Args:
        config: the base configuration (``sim.make_config``); its static fields (shapes, gate,
            progress signal) hold at every point.
        points: traced parameter name -> values at the G points, shape (G,), or (G, N) for
            per-prompt ``alpha`` / ``kappa``; every name gets the same G. Empty or None: one
            point, ``config`` itself.
        seeds: an int count (seeds 0..S-1) or an array of int seeds.
        progress: called with the number of grid points finished after each chunk.
        chunk_runs: runs per compiled chunk at N = 128 (scaled by 128 / N).
        shard: shard each chunk over the local devices when there are several.
        plan_points: size chunks as for a grid of this many points (a part of a larger sweep
            then compiles the same chunk shape as the whole, so its numbers are bitwise the
            whole's: XLA may round differently at other batch shapes).

    Raises:
        ValueError: an unknown or static name, values out of range, or mismatched G.
    """
    pts = check_points(config, points or {})
    G = next(iter(pts.values())).shape[0] if pts else 1
    _, keys = seed_keys(seeds)
    S = keys.shape[0]
    devices = _devices(shard)
    n_dev = len(devices)
    g_chunk, s_chunk, grid_sharded = chunk_plan(
        plan_points or G, S, config.N, n_dev, chunk_runs, bool(pts)
    )
    keys = np.asarray(keys)
    out: list[Trajectory] = []
    for g0 in range(0, G, g_chunk):
        m = min(g_chunk, G - g0)
        chunk_pts = {k: _pad(v[g0 : g0 + m], g_chunk) for k, v in pts.items()}
        rows: list[Trajectory] = []
        for s0 in range(0, S, s_chunk):
            ns = min(s_chunk, S - s0)
            chunk_keys = _pad(keys[s0 : s0 + ns], s_chunk)
            traj = _run_split(config, chunk_pts, chunk_keys, devices, grid_sharded)
            rows.append(Trajectory(*(np.swapaxes(x, 0, 1)[:m, :ns] for x in traj)))
        out.append(Trajectory(*(np.concatenate(xs, axis=1) for xs in zip(*rows))))
        if progress is not None:
            progress(m)
    return Trajectory(*(np.concatenate(xs, axis=0) for xs in zip(*out)))


def run_seeds(config: Config, seeds: Any, **kw: Any) -> Trajectory:
    """Runs of one config over seeds; fields get a leading seed axis (numpy)."""
    traj = grid_runs(config, None, seeds, **kw)
    return Trajectory(*(x[0] for x in traj))


def run_single(config: Config, key: jax.Array) -> Trajectory:
    """``sim.run``: one seed from a PRNG key, jitted; numpy Trajectory."""
    traj = to_numpy(_chunk(config, {}, jnp.asarray(key)[None]))
    return Trajectory(*(x[0, 0] for x in traj))


def sweep(
    alphas: Any,
    kappas: Any,
    *,
    seeds: Any,
    gate: str = "rank",
    student: str = "default",
    rounds: int = 200,
    progress: str = "loss",
    chunk_runs: int = CHUNK_RUNS,
    shard: bool = True,
    progress_bar: Callable[[int], None] | None = None,
    **overrides: Any,
) -> Trajectory:
    """Runs on the (alpha x kappa) grid; fields have leading axes (alpha, kappa, seed).

    Common random numbers: every grid point uses the same per-seed random numbers.
    """
    alphas = np.atleast_1d(np.asarray(alphas, dtype=float))
    kappas = np.atleast_1d(np.asarray(kappas, dtype=float))
    if alphas.ndim != 1 or kappas.ndim != 1:
        raise ValueError("alphas and kappas must be 1-d lists of numbers")
    base = make_config(
        alphas[0],
        kappas[0],
        gate=gate,
        progress=progress,
        student=student,
        rounds=rounds,
        **overrides,
    )
    aa, kk = np.meshgrid(alphas, kappas, indexing="ij")
    traj = grid_runs(
        base,
        {"alpha": aa.ravel(), "kappa": kk.ravel()},
        seeds,
        chunk_runs=chunk_runs,
        shard=shard,
        progress=progress_bar,
    )
    shape = (alphas.size, kappas.size)
    return Trajectory(*(x.reshape(shape + x.shape[1:]) for x in traj))
