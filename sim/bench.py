"""``selfdpo bench``: the JAX simulator against the numpy reference on the same sweep.

The JAX sweep is timed in full (including compilation). The numpy reference is timed on a few
runs of the same sweep (``reference_runs`` configurations, one seed each) and scaled linearly to
the full sweep (runs are independent and equally expensive, so the total is linear in their
number); the output says so. Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import math
import os
import resource
import time
from typing import Any

import numpy as np


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _grid(configs: int) -> tuple[np.ndarray, np.ndarray]:
    side = math.ceil(math.sqrt(configs))
    aa, kk = np.meshgrid(np.linspace(0.0, 1.0, side), np.linspace(0.0, 3.0, side), indexing="ij")
    return aa.ravel()[:configs], kk.ravel()[:configs]


def bench(
    *,
    configs: int = 256,
    seeds: int = 8,
    rounds: int = 200,
    prompts: int = 512,
    gate: str = "rank",
    reference_runs: int = 4,
    phase_diagram: bool = False,
) -> dict[str, Any]:
    """Time the same (alpha, kappa) x seeds sweep with JAX and with sim.reference."""
    import jax

    from sim import reference
    from sim.config import make_config
    from sim.grid import grid_runs

    alphas, kappas = _grid(configs)
    base = make_config(0.5, 1.0, gate=gate, rounds=rounds, N=prompts)
    t0 = time.perf_counter()
    traj = grid_runs(base, {"alpha": alphas, "kappa": kappas}, seeds)
    jax_s = time.perf_counter() - t0
    assert np.all(np.isfinite(traj.heldout_acc))

    n_ref = min(reference_runs, configs)
    pick = np.linspace(0, configs - 1, n_ref).round().astype(int)
    t0 = time.perf_counter()
    for i in pick:
        cfg = make_config(alphas[i], kappas[i], gate=gate, rounds=rounds, N=prompts)
        reference.run(cfg, int(i))
    ref_measured = time.perf_counter() - t0
    runs = configs * seeds
    ref_s = ref_measured / n_ref * runs
    out: dict[str, Any] = {
        "configs": configs,
        "seeds": seeds,
        "rounds": rounds,
        "prompts": prompts,
        "gate": gate,
        "runs": runs,
        "devices": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "jax_seconds": jax_s,
        "jax_configs_per_second": configs / jax_s,
        "jax_runs_per_second": runs / jax_s,
        "reference_runs_timed": int(n_ref),
        "reference_seconds_measured": ref_measured,
        "reference_seconds_scaled": ref_s,
        "reference_configs_per_second": configs / ref_s,
        "speedup": ref_s / jax_s,
    }
    summary = [
        f"sweep: {configs} configs x {seeds} seeds x {rounds} rounds x {prompts} prompts "
        f"(gate {gate}), {jax.device_count()} JAX device(s), {os.cpu_count()} CPUs",
        f"JAX:       {jax_s:9.1f} s (incl. compile)  {configs / jax_s:8.2f} configs/s",
        f"reference: {ref_s:9.1f} s (scaled linearly from {n_ref} timed runs, "
        f"{ref_measured:.1f} s)  {configs / ref_s:8.4f} configs/s",
        f"speedup:   {ref_s / jax_s:9.1f} x",
    ]
    if phase_diagram:
        pd_base = make_config(0.5, 1.0, gate=gate, rounds=rounds)
        a = np.linspace(0.0, 1.0, 64)
        k = np.linspace(0.0, 3.0, 64)
        aa, kk = np.meshgrid(a, k, indexing="ij")
        t0 = time.perf_counter()
        grid_runs(pd_base, {"alpha": aa.ravel(), "kappa": kk.ravel()}, 8)
        pd_s = time.perf_counter() - t0
        out["phase_diagram_seconds"] = pd_s
        out["phase_diagram_prompts"] = pd_base.N
        summary.append(
            f"phase diagram 64 x 64 x 8 seeds ({rounds} rounds, N = {pd_base.N}, gate {gate}): "
            f"{pd_s:.1f} s (incl. compile)"
        )
    out["peak_rss_gib"] = _peak_rss_gib()
    summary.append(f"peak memory (max RSS): {out['peak_rss_gib']:.2f} GiB")
    summary.append("timings are noisy when other processes share the CPU")
    out["summary"] = summary
    return out
