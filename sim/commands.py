"""``selfdpo simulate``, ``sweep``, ``merge`` and ``bench`` (no jax import at module level)."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any

import numpy as np

from sim import limits
from sim.files import check_output_file
from theory.gates import GATES, PROGRESS
from theory.student import STUDENTS
from theory.util import UsageError, check_range, usable_cores


def use_all_cpu_cores() -> None:
    """One XLA CPU device per core, so sweeps shard over all cores (results are identical).

    Sets ``--xla_force_host_platform_device_count`` unless XLA_FLAGS already sets it or jax is
    already imported (then it would not take effect). GPUs, when present, stay the default.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    n = usable_cores()
    if "jax" in sys.modules or "xla_force_host_platform_device_count" in flags or n < 2:
        return
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()


def _add_common(p: argparse.ArgumentParser, seeds: int) -> None:
    p.add_argument("--gate", default="rank", help=f"replay gate: {', '.join(GATES)}")
    p.add_argument("--progress", default="loss", help=f"progress signal: {', '.join(PROGRESS)}")
    p.add_argument("--rounds", type=int, default=200, help="training rounds R (default 200)")
    p.add_argument("--seeds", type=int, default=seeds, help=f"number of seeds (default {seeds})")
    p.add_argument("--seed0", type=int, default=0, help="first seed (seeds are seed0, seed0+1..)")
    p.add_argument("--student", default="default", help=f"student: {', '.join(STUDENTS)}")
    p.add_argument("--n", type=int, default=2, help="samples per prompt per round (>= 2)")


def register(subparsers: Any) -> None:
    """Add the sim subcommands to the ``selfdpo`` parser."""
    p = subparsers.add_parser("simulate", help="simulate one (alpha, kappa) configuration")
    p.add_argument("--alpha", type=float, required=True, help="verifier rubric accuracy [0, 1]")
    p.add_argument("--kappa", type=float, required=True, help="verifier confidence >= 0")
    _add_common(p, seeds=8)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=simulate_command)

    p = subparsers.add_parser("sweep", help="simulate an (alpha, kappa) grid to a results file")
    p.add_argument("--alphas", required=True, help="grid a0:a1:num (inclusive) or a,b,c")
    p.add_argument("--kappas", required=True, help="grid k0:k1:num (inclusive) or a,b,c")
    _add_common(p, seeds=8)
    p.add_argument("--out", required=True, help="results file (.nc), written atomically")
    p.add_argument(
        "--shard",
        default=None,
        metavar="I/K",
        help="run only part I of K (0 <= I < K) of the flattened grid; join with selfdpo merge",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=sweep_command)

    p = subparsers.add_parser("merge", help="assemble the parts of a sharded sweep into one file")
    p.add_argument("parts", nargs="+", help="part files written by selfdpo sweep --shard I/K")
    p.add_argument("--out", required=True, help="the merged sweep file (.nc)")
    p.set_defaults(func=merge_command)

    p = subparsers.add_parser("bench", help="time the JAX simulator against the numpy reference")
    p.add_argument("--configs", type=int, default=256, help="(alpha, kappa) configurations")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--prompts", type=int, default=512, help="train prompts N")
    p.add_argument("--gate", default="rank")
    p.add_argument(
        "--reference-runs",
        type=int,
        default=4,
        help="runs of sim.reference actually timed (scaled linearly to the sweep)",
    )
    p.add_argument(
        "--numpy-runs",
        type=int,
        default=64,
        help="runs of the vectorised numpy model actually timed (scaled linearly to the sweep)",
    )
    p.add_argument(
        "--phase-diagram",
        action="store_true",
        help="also time a 64 x 64 (alpha, kappa) x 8-seed sweep of the default config",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=bench_command)


def _check_common(args: argparse.Namespace) -> None:
    if args.gate not in GATES:
        raise UsageError(f"--gate must be one of {', '.join(GATES)}, got {args.gate!r}")
    if args.progress not in PROGRESS:
        msg = f"--progress must be one of {', '.join(PROGRESS)}, got {args.progress!r}"
        raise UsageError(msg)
    if args.student not in STUDENTS:
        msg = f"--student must be one of {', '.join(STUDENTS)}, got {args.student!r}"
        raise UsageError(msg)
    if args.n < 2:
        raise UsageError(f"--n must be an integer >= 2, got {args.n}")
    if args.rounds < 1:
        raise UsageError(f"--rounds must be an integer >= 1, got {args.rounds}")
    if args.seeds < 1:
        raise UsageError(f"--seeds must be an integer >= 1, got {args.seeds}")
    limits.check_seeds(args.seed0, args.seeds)


def _clean(x: Any) -> Any:
    """Lists of floats with NaN -> None (strict JSON)."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        return None if not math.isfinite(arr) else float(arr)
    return [None if not math.isfinite(v) else float(v) for v in arr.tolist()]


def simulate_command(args: argparse.Namespace) -> int:
    _check_common(args)
    check_range("--alpha", args.alpha, 0.0, 1.0)
    limits.check_kappa("--kappa", args.kappa)
    shape = {"student": args.student, "rounds": args.rounds, "n": args.n}
    use_all_cpu_cores()  # first: the memory check imports jax
    limits.check_sim_memory("the simulation", G=1, S=args.seeds, has_points=False, **shape)
    import sim

    cfg = sim.make_config(
        args.alpha,
        args.kappa,
        gate=args.gate,
        progress=args.progress,
        student=args.student,
        rounds=args.rounds,
        n=args.n,
    )
    seeds = np.arange(args.seed0, args.seed0 + args.seeds)
    traj = sim.run_seeds(cfg, seeds)
    S = len(seeds)
    d = sim.delta_heldout(traj)
    md = sim.min_delta_heldout(traj)
    se = lambda x: float(np.std(x, ddof=1) / math.sqrt(S)) if S > 1 else None
    out = {
        "alpha": args.alpha,
        "kappa": args.kappa,
        "gate": args.gate,
        "progress": args.progress,
        "student": args.student,
        "n": args.n,
        "rounds": args.rounds,
        "seeds": seeds.tolist(),
        "train_acc": _clean(traj.train_acc.mean(0)),
        "heldout_acc": _clean(traj.heldout_acc.mean(0)),
        "loss": _clean(_nanmean0(traj.loss_trained)),
        "loss_fresh": _clean(_nanmean0(traj.loss_fresh)),
        "frac_right": _clean(traj.frac_right.mean(0)),
        "frac_wrong": _clean(traj.frac_wrong.mean(0)),
        "n_eff": _clean(traj.n_eff.mean(0)),
        "delta_heldout": float(d.mean()),
        "delta_heldout_se": se(d),
        "min_delta_heldout": float(md.mean()),
        "min_delta_heldout_se": se(md),
        "early_delta_heldout": float(sim.early_delta(traj).mean()),
    }
    if args.json:
        sys.stdout.write(json.dumps(out) + "\n")
        return 0
    R = args.rounds
    print(
        f"selfdpo simulate: alpha={args.alpha:g} kappa={args.kappa:g} gate={args.gate} "
        f"progress={args.progress} student={args.student} n={args.n} "
        f"seeds={seeds[0]}..{seeds[-1]} ({S})"
    )
    print(f"{'round':>6} {'train_acc':>10} {'heldout_acc':>12} {'loss':>8}")
    for t in sorted({0, R // 4, R // 2, 3 * R // 4, R}):
        loss = out["loss"][t - 1] if t > 0 else None
        loss_s = "" if loss is None else f"{loss:8.4f}"
        print(f"{t:6d} {out['train_acc'][t]:10.4f} {out['heldout_acc'][t]:12.4f} {loss_s:>8}")
    sd = out["delta_heldout_se"]
    print(f"delta_heldout = {out['delta_heldout']:+.4f}" + (f" (SE {sd:.4f})" if sd else ""))
    print(f"min_delta_heldout = {out['min_delta_heldout']:+.4f}")
    return 0


def _nanmean0(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    count = ok.sum(0)
    total = np.where(ok, x, 0.0).sum(0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def parse_grid(name: str, text: str) -> np.ndarray:
    """'a0:a1:num' (inclusive linspace) or 'a,b,c' -> array; UsageError naming ``name``."""
    return limits.parse_grid(name, text)


def _out_path(path: str, what: str) -> Any:
    try:
        return check_output_file(path, what)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """'I/K' -> (I, K) with 0 <= I < K; None -> None; UsageError otherwise."""
    if text is None:
        return None
    try:
        i_s, k_s = text.split("/")
        i, k = int(i_s), int(k_s)
        if k < 1 or not 0 <= i < k:
            raise ValueError
    except ValueError:
        raise UsageError(f"--shard must be I/K with 0 <= I < K, got {text!r}") from None
    return i, k


def sweep_command(args: argparse.Namespace) -> int:
    _check_common(args)
    alphas = parse_grid("--alphas", args.alphas)
    kappas = parse_grid("--kappas", args.kappas)
    if np.any((alphas < 0) | (alphas > 1)):
        raise UsageError("--alphas must lie in [0, 1]")
    limits.check_kappa("--kappas", kappas)
    shard = parse_shard(args.shard)
    if shard is not None and shard[1] > alphas.size * kappas.size:
        raise UsageError(
            f"--shard {args.shard}: more parts than the {alphas.size * kappas.size} grid points"
        )
    out = _out_path(args.out, "--out")
    G = alphas.size * kappas.size if shard is None else -(-alphas.size * kappas.size // shard[1])
    shape = {"student": args.student, "rounds": args.rounds, "n": args.n}
    use_all_cpu_cores()  # first: the memory check imports jax
    limits.check_sim_memory("the sweep", G=G, S=args.seeds, has_points=True, **shape)
    from tqdm import tqdm

    from sim.config import defaults
    from sim.grid import part_indices
    from sim.io import save_sweep

    seeds = np.arange(args.seed0, args.seed0 + args.seeds)
    N = defaults(args.student)["N"]
    total = part_indices(alphas.size * kappas.size, seeds.size, N, shard).size
    disable = args.quiet or not sys.stderr.isatty()
    with tqdm(total=total, unit="config", desc="sweep", disable=disable, file=sys.stderr) as bar:
        path = save_sweep(
            out,
            alphas,
            kappas,
            seeds=seeds,
            gate=args.gate,
            student=args.student,
            rounds=args.rounds,
            progress=args.progress,
            progress_bar=bar.update,
            shard=shard,
            n=args.n,
        )
    part = "" if shard is None else f", part {shard[0]}/{shard[1]}: {total} points"
    print(
        f"wrote {path} ({alphas.size} alphas x {kappas.size} kappas x {seeds.size} seeds "
        f"[{seeds[0]}..{seeds[-1]}], {args.rounds} rounds, gate={args.gate}{part})"
    )
    return 0


def merge_command(args: argparse.Namespace) -> int:
    out = _out_path(args.out, "--out")
    for p in args.parts:
        if not os.path.isfile(p):
            raise UsageError(f"no part file at {p}")
    from sim.io import merge_parts

    try:
        path = merge_parts(args.parts, out)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {path} (merged {len(args.parts)} parts)")
    return 0


def bench_command(args: argparse.Namespace) -> int:
    for name in ("configs", "seeds", "rounds", "prompts", "reference_runs", "numpy_runs"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be an integer >= 1")
    if args.gate not in GATES:
        raise UsageError(f"--gate must be one of {', '.join(GATES)}, got {args.gate!r}")
    run = {"rounds": args.rounds, "N": args.prompts}
    use_all_cpu_cores()  # first: the memory check imports jax
    limits.check_sim_memory("the benchmark", G=args.configs, S=args.seeds, has_points=True, **run)
    if args.phase_diagram:
        pd = {"rounds": args.rounds}  # sim.bench's phase diagram runs at the default N
        limits.check_sim_memory("its phase diagram", G=64 * 64, S=8, has_points=True, **pd)
    from sim.bench import bench

    result = bench(
        configs=args.configs,
        seeds=args.seeds,
        rounds=args.rounds,
        prompts=args.prompts,
        gate=args.gate,
        reference_runs=args.reference_runs,
        numpy_runs=args.numpy_runs,
        phase_diagram=args.phase_diagram,
    )
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        for line in result["summary"]:
            print(line)
    return 0
