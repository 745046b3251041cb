"""``selfdpo bench``: the JAX engine, the plain reference and vectorised numpy on one sweep,
and the engine's distance from this machine's roofline.

Timed in one process, one after the other, on the same (alpha, kappa) x seeds sweep:

- the JAX engine (``sim.grid_runs``) on the whole sweep; the first chunk includes compilation,
  so the warm time is the later chunks' time scaled to the sweep;
- ``sim.reference`` (plain numpy, vectorised over prompts only, one run at a time) on a few
  runs, scaled linearly (runs are independent and equally expensive);
- ``sim.vectorised`` (numpy vectorised over runs and prompts, float32; tested equal in
  distribution to the reference) on a block of runs, scaled linearly to the sweep.

Roofline: the bytes and flops one run-round needs at least (counted from the shapes, see
:func:`run_round_cost`) at this machine's memory bandwidth and peak flops, both measured here
with numpy (a streaming ``a + b -> c`` on every core; a float32 matrix product).
"""

from __future__ import annotations

import math
import os
import resource
import threading
import time
from typing import Any

import numpy as np


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _grid(configs: int) -> tuple[np.ndarray, np.ndarray]:
    side = math.ceil(math.sqrt(configs))
    aa, kk = np.meshgrid(np.linspace(0.0, 1.0, side), np.linspace(0.0, 3.0, side), indexing="ij")
    return aa.ravel()[:configs], kk.ravel()[:configs]


def memory_bandwidth(mib: int = 256, repeats: int = 5, threads: int | None = None) -> float:
    """Bytes per second of ``c = a + b`` over float32 arrays of ``mib`` MiB, one per core.

    Counts 3 arrays moved (2 read, 1 written; write-allocate traffic not counted); best of
    ``repeats``. ufuncs release the GIL, so the threads run on all cores.
    """
    threads = threads or os.cpu_count() or 1
    n = mib * 2**20 // 4 // threads
    bufs = [[np.ones(n, np.float32) for _ in range(3)] for _ in range(threads)]

    def work(a, b, c):
        np.add(a, b, out=c)

    best = math.inf
    for _ in range(repeats):
        ts = [threading.Thread(target=work, args=tuple(b)) for b in bufs]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        best = min(best, time.perf_counter() - t0)
    return 3 * 4 * n * threads / best


def peak_flops(n: int = 2048, repeats: int = 5) -> float:
    """Flops per second of a float32 n x n matrix product (BLAS, all cores); best of repeats."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def run_round_cost(cfg: Any, grid_per_seed: int) -> dict[str, float]:
    """Least bytes and flops one run-round of ``cfg`` needs (float32, 4 bytes a number).

    Bytes: the state a run must carry, read and written once (tabular theta N K, the
    previous round's train logits N K for ``loss`` progress, gate state 3 N, theta_s d_s),
    plus what is read once and shared by the ``grid_per_seed`` runs of a seed (common random
    numbers), so divided by it: the round's random numbers (4 N n + B), the features (train
    N K d_s, held-out N_h (K - 1) d_s), the reference logits N K and the frozen-verdict
    uniforms N K (a run's verdicts are a comparison of these with its alpha; these last two
    were missing before session 4, a small undercount when few runs share a seed).
    Flops: train logits 2 N K d_s, held-out gaps 2 N_h (K - 1) d_s plus N_h (K - 1) exp,
    the gradient's shared part 2 N d_s, softmax and losses about 12 N K, sampling N n K,
    scores and pairs 10 N n, ranks N log2 N compares, batch draws B log2 N, outputs 10 N.
    A lower bound: every exp counts as one flop and nothing is recomputed.
    """
    N, N_h, K, d, n, B = cfg.N, cfg.N_h, cfg.K, cfg.d_s, cfg.n, cfg.B
    state = 2 * N * K + 3 * N + d
    shared = (4 * N * n + B) + N * K * d + N_h * (K - 1) * d + 2 * N * K
    bytes_ = 4 * (2 * state + shared / grid_per_seed)
    flops = (
        2 * N * K * d
        + 2 * N_h * (K - 1) * d
        + N_h * (K - 1)
        + 2 * N * d
        + 12 * N * K
        + N * n * K
        + 10 * N * n
        + N * math.log2(N)
        + B * math.log2(N)
        + 10 * N
    )
    return {"bytes": float(bytes_), "flops": float(flops)}


def bench(
    *,
    configs: int = 256,
    seeds: int = 8,
    rounds: int = 200,
    prompts: int = 512,
    gate: str = "rank",
    reference_runs: int = 4,
    numpy_runs: int = 64,
    phase_diagram: bool = False,
) -> dict[str, Any]:
    """Time one (alpha, kappa) x seeds sweep three ways and place the engine on the roofline."""
    import jax

    from sim import reference, vectorised
    from sim.config import make_config
    from sim.grid import grid_runs

    alphas, kappas = _grid(configs)
    base = make_config(0.5, 1.0, gate=gate, rounds=rounds, N=prompts)
    runs = configs * seeds
    run_rounds = runs * rounds

    # JAX: the whole sweep; per-chunk times separate compilation (first chunk) from running
    stamps: list[tuple[float, int]] = []
    t0 = time.perf_counter()
    traj = grid_runs(
        base,
        {"alpha": alphas, "kappa": kappas},
        seeds,
        progress=lambda m: stamps.append((time.perf_counter(), m)),
    )
    jax_s = time.perf_counter() - t0
    assert np.all(np.isfinite(traj.heldout_acc))
    if len(stamps) > 2:
        later = stamps[-1][0] - stamps[0][0]
        later_points = sum(m for _, m in stamps[1:])
        jax_warm = later * configs / later_points
    else:  # one or two chunks: time the compiled sweep again
        t0 = time.perf_counter()
        grid_runs(base, {"alpha": alphas, "kappa": kappas}, seeds)
        jax_warm = time.perf_counter() - t0
    first_chunk_points = stamps[0][1]
    grid_per_seed = min(configs, first_chunk_points)

    # plain reference: a few runs, scaled
    n_ref = min(reference_runs, configs)
    pick = np.linspace(0, configs - 1, n_ref).round().astype(int)
    t0 = time.perf_counter()
    for i in pick:
        cfg = make_config(alphas[i], kappas[i], gate=gate, rounds=rounds, N=prompts)
        reference.run(cfg, int(i))
    ref_measured = time.perf_counter() - t0
    ref_s = ref_measured / n_ref * runs

    # numpy vectorised over runs and prompts: a block of grid points x all seeds, scaled
    n_pts = max(1, min(configs, numpy_runs // seeds))
    sel = np.linspace(0, configs - 1, n_pts).round().astype(int)
    t0 = time.perf_counter()
    vectorised.run_batch(base, {"alpha": alphas[sel], "kappa": kappas[sel]}, seeds)
    np_measured = time.perf_counter() - t0
    np_s = np_measured / (n_pts * seeds) * runs

    bw = memory_bandwidth()
    fl = peak_flops()
    cost = run_round_cost(base, grid_per_seed)
    t_bytes, t_flops = cost["bytes"] / bw, cost["flops"] / fl
    roofline_s = max(t_bytes, t_flops) * run_rounds
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
        "jax_seconds_warm": jax_warm,
        "jax_us_per_run_round": jax_warm / run_rounds * 1e6,
        "jax_configs_per_second": configs / jax_s,
        "reference_runs_timed": int(n_ref),
        "reference_seconds_measured": ref_measured,
        "reference_seconds_scaled": ref_s,
        "numpy_vectorised_runs_timed": int(n_pts * seeds),
        "numpy_vectorised_seconds_measured": np_measured,
        "numpy_vectorised_seconds_scaled": np_s,
        "speedup_vs_reference": ref_s / jax_s,
        "speedup_vs_numpy_vectorised": np_s / jax_s,
        "speedup_warm_vs_numpy_vectorised": np_s / jax_warm,
        "memory_bandwidth_gb_s": bw / 1e9,
        "peak_gflops": fl / 1e9,
        "bytes_per_run_round": cost["bytes"],
        "flops_per_run_round": cost["flops"],
        "roofline_bound": "memory" if t_bytes >= t_flops else "compute",
        "roofline_seconds": roofline_s,
        "fraction_of_roofline": roofline_s / jax_warm,
    }
    summary = [
        f"sweep: {configs} configs x {seeds} seeds x {rounds} rounds x {prompts} prompts "
        f"(gate {gate}), {jax.device_count()} JAX device(s), {os.cpu_count()} CPUs",
        f"JAX engine:        {jax_s:9.1f} s incl. compile, {jax_warm:.1f} s warm "
        f"({out['jax_us_per_run_round']:.2f} us per run-round)",
        f"reference (numpy): {ref_s:9.1f} s scaled from {n_ref} runs ({ref_measured:.1f} s)"
        f"   JAX is {ref_s / jax_s:.1f}x faster",
        f"numpy vectorised:  {np_s:9.1f} s scaled from {n_pts * seeds} runs "
        f"({np_measured:.1f} s)   JAX is {np_s / jax_s:.1f}x faster "
        f"({np_s / jax_warm:.1f}x warm)",
        f"roofline: {cost['bytes'] / 1e3:.1f} kB and {cost['flops'] / 1e3:.1f} kflop per "
        f"run-round at {bw / 1e9:.1f} GB/s and {fl / 1e9:.0f} Gflop/s (measured) -> "
        f"{roofline_s:.2f} s ({out['roofline_bound']}-bound); the warm engine is at "
        f"{100 * roofline_s / jax_warm:.1f}% of it",
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
