"""JAX simulator of verifier-driven self-DPO with progress-gated replay (paper/model.md).

Public API (jax is imported lazily, so ``import sim`` and the CLI start fast):
``make_config``, ``Config``, ``STUDENTS``, ``heterogeneous_verifier``, ``run``, ``run_seeds``,
``grid_runs`` (the one sweep engine: any traced parameters x seeds), ``sweep``,
``config_dict``, ``config_hash``, ``sweep_to_results``, ``save_sweep``, ``load_sweep``, ``Trajectory``,
``delta_heldout``, ``min_delta_heldout``, ``early_delta``, ``progress_moments``; the numpy
reference model is ``sim.reference``.
"""

from __future__ import annotations

import importlib
from typing import Any

from sim.students import STUDENTS
from sim.trajectory import Trajectory, delta_heldout, early_delta, min_delta_heldout

_LAZY = {
    "Config": "sim.config",
    "make_config": "sim.config",
    "heterogeneous_verifier": "sim.config",
    "config_dict": "sim.config",
    "config_hash": "sim.config",
    "GATES": "sim.config",
    "run_seeds": "sim.grid",
    "sweep": "sim.grid",
    "grid_runs": "sim.grid",
    "sweep_to_results": "sim.io",
    "save_sweep": "sim.io",
    "load_sweep": "sim.io",
    "progress_moments": "sim.moments",
}

__all__ = [
    "STUDENTS",
    "Trajectory",
    "delta_heldout",
    "early_delta",
    "min_delta_heldout",
    "run",
    *_LAZY,
]


def run(config: Any, key: Any) -> Trajectory:
    """One seed of ``config`` from the PRNG key ``key`` (jitted JAX; numpy Trajectory)."""
    from sim.grid import run_single

    return run_single(config, key)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
