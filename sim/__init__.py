"""JAX simulator of verifier-driven self-DPO with progress-gated replay (paper/model.md).

Public API (jax is imported lazily, so ``import sim`` and the CLI start fast):

- configuration: ``make_config``, ``Config`` (= ``Params``, traced, + ``Shape``, static),
  ``defaults`` (a student's fields without a verifier), ``config_dict``, ``config_hash``,
  ``heterogeneous_verifier``, ``STUDENTS`` (theory's);
- the one engine: ``grid_runs`` (any traced parameters x seeds), and on it ``sweep``
  (alpha x kappa), ``run_seeds`` (one point) and ``run`` (one key);
- outcomes: ``Trajectory``, ``delta_heldout``, ``min_delta_heldout``, ``early_delta``;
- files: ``save_sweep``, ``load_sweep``, ``sweep_to_results``, ``save_grid``, ``load_grid``;
- T2: ``progress_moments``. The numpy reference model and gate code is ``sim.reference``.
"""

from __future__ import annotations

import importlib
from typing import Any

from sim.trajectory import Trajectory, delta_heldout, early_delta, min_delta_heldout
from theory.student import STUDENTS

_LAZY = {
    "Config": "sim.config",
    "Params": "sim.config",
    "Shape": "sim.config",
    "make_config": "sim.config",
    "defaults": "sim.config",
    "heterogeneous_verifier": "sim.config",
    "config_dict": "sim.config",
    "config_hash": "sim.config",
    "run_seeds": "sim.grid",
    "sweep": "sim.grid",
    "grid_runs": "sim.grid",
    "sweep_to_results": "sim.io",
    "save_sweep": "sim.io",
    "load_sweep": "sim.io",
    "save_grid": "sim.io",
    "load_grid": "sim.io",
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
