"""Batched runs (``sim.sweep``, ``sim.run_seeds``): vmap over seeds and (alpha, kappa) grids.

Random numbers depend on the seed only (features, frozen-verdict uniforms, sampling uniforms,
score noise, batch draws), so every grid point of a sweep sees the same random numbers: common
random numbers, which couple neighbouring grid points and make differences precise. Inside a
chunk the grid axis is vmapped with the seed's key unbatched, so those random numbers are drawn
once per seed, not once per grid point. With several devices the grid axis of a chunk is sharded
across them (jax.sharding).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from sim.config import Config, make_config
from sim.loop import run
from sim.trajectory import Trajectory, to_numpy

# runs (grid points x seeds) per chunk at N = 128 train prompts; scaled by 128 / N for other N,
# which bounds memory (per-run state and intermediates grow with N). 1024 ran 5-10% faster per
# run-round than 4096 on 2 CPU cores (cache) and gives the progress bar finer steps.
CHUNK_RUNS = 1024


def seed_keys(seeds: Any) -> tuple[np.ndarray, jax.Array]:
    """(seed values, PRNG keys) from an int count (0..S-1) or an array of ints."""
    arr = np.arange(int(seeds)) if np.ndim(seeds) == 0 else np.asarray(seeds).ravel()
    if arr.size == 0:
        raise ValueError("seeds must be a positive count or a non-empty array of ints")
    if np.any(arr != np.round(arr)):
        raise ValueError("seeds must be integers")
    arr = arr.astype(np.int64)
    keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(arr, dtype=jnp.uint32))
    return arr, keys


@partial(jax.jit, static_argnums=())
def _run_seeds(config: Config, keys: jax.Array) -> Trajectory:
    return jax.vmap(run, in_axes=(None, 0))(config, keys)


def run_single(config: Config, key: jax.Array) -> Trajectory:
    """``sim.run``: one seed, jitted; numpy Trajectory."""
    return to_numpy(jax.tree.map(lambda x: x[0], _run_seeds(config, key[None])))


def run_seeds(config: Config, seeds: Any) -> Trajectory:
    """Runs of one config over seeds; fields get a leading seed axis (numpy)."""
    _, keys = seed_keys(seeds)
    return to_numpy(_run_seeds(config, keys))


def _grid_config(base: Config, alpha: jax.Array, kappa: jax.Array) -> Config:
    return dataclasses.replace(base, alpha=alpha, kappa=kappa)


@jax.jit
def _grid_chunk(base: Config, alphas: jax.Array, kappas: jax.Array, keys: jax.Array):
    """(seed, grid) runs: outer vmap over seeds, inner over grid points sharing the seed's key."""

    def per_seed(key):
        return jax.vmap(lambda a, k: run(_grid_config(base, a, k), key))(alphas, kappas)

    return jax.vmap(per_seed)(keys)


def _mesh() -> Mesh | None:
    devices = jax.devices()
    if len(devices) <= 1:
        return None
    return Mesh(np.array(devices), ("grid",))


def grid_runs(
    base: Config,
    alphas: np.ndarray,
    kappas: np.ndarray,
    seeds: Any,
    *,
    chunk_runs: int = CHUNK_RUNS,
    shard: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Trajectory:
    """Runs at paired grid points (alphas[i], kappas[i]) x seeds -> fields (G, S, ...)."""
    alphas = np.asarray(alphas, dtype=np.float32).ravel()
    kappas = np.asarray(kappas, dtype=np.float32).ravel()
    _, keys = seed_keys(seeds)
    n_seeds = keys.shape[0]
    G = alphas.size
    mesh = _mesh() if shard else None
    n_dev = 1 if mesh is None else mesh.devices.size
    chunk = max(1, int(chunk_runs * min(1.0, 128 / base.N)) // n_seeds)
    chunk = min(chunk, G)
    chunk = n_dev * math.ceil(chunk / n_dev)
    out: list[Trajectory] = []
    for start in range(0, G, chunk):
        a = alphas[start : start + chunk]
        k = kappas[start : start + chunk]
        m = a.size
        pad = chunk - m
        a = np.concatenate([a, np.repeat(a[-1:], pad)])
        k = np.concatenate([k, np.repeat(k[-1:], pad)])
        if mesh is not None:
            sharding = NamedSharding(mesh, PartitionSpec("grid"))
            a = jax.device_put(a, sharding)
            k = jax.device_put(k, sharding)
        traj = to_numpy(_grid_chunk(base, a, k, keys))
        out.append(Trajectory(*(np.swapaxes(x, 0, 1)[:m] for x in traj)))
        if progress is not None:
            progress(m)
    return Trajectory(*(np.concatenate(xs, axis=0) for xs in zip(*out)))


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
    # validates every grid value and the other arguments
    make_config(
        alphas.min(),
        kappas.min(),
        gate=gate,
        progress=progress,
        student=student,
        rounds=rounds,
        **overrides,
    )
    base = make_config(
        alphas.max(),
        kappas.max(),
        gate=gate,
        progress=progress,
        student=student,
        rounds=rounds,
        **overrides,
    )
    aa, kk = np.meshgrid(alphas, kappas, indexing="ij")
    traj = grid_runs(
        base,
        aa.ravel(),
        kk.ravel(),
        seeds,
        chunk_runs=chunk_runs,
        shard=shard,
        progress=progress_bar,
    )
    shape = (alphas.size, kappas.size)
    return Trajectory(*(x.reshape(shape + x.shape[1:]) for x in traj))
