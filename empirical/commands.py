"""``selfdpo empirical tiny|run|data``: the real self-DPO loop (no torch import at module level).

Bad input ends with one line on stderr and exit 2 before any work (the root dispatcher prints
a ``ValueError``/``UsageError`` as one line); ``main`` runs these commands alone
(``python -m empirical.commands empirical ...``), as ``torchrun``/``accelerate launch`` need.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from empirical import parallel
from empirical.benchmarks import BENCHMARKS, choose_split, discover, summarise
from empirical.compare import compare_seeds, run_report, write_reports
from empirical.config import LoopConfig
from empirical.data import TASKS, load_task
from empirical.loop import run_loop
from empirical.student import DTYPES, load_student
from empirical.tiny import TinySettings, format_report, run_tiny
from empirical.train import OPTIMIZERS, SCHEDULES, STEP_NORMS
from empirical.verifiers import load_plugin, make_verifier, parse_verifier_spec
from sim.files import atomic_write_json, to_json
from theory.gates import GATE_DEFAULTS, GATES, PROGRESS
from theory.util import UsageError, check_int, check_range, usable_cores

__all__ = ["main", "register"]

# full fine-tuning and LoRA learning rates that move a 2-3B student in a 10-round run
# (AdamW, fp32 master weights; see the README's GPU section)
DEFAULT_LR = {"full": 1e-5, "lora": 1e-4}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``empirical`` with its ``tiny``, ``run`` and ``data`` sub-subcommands."""
    p = subparsers.add_parser(
        "empirical", help="the self-DPO loop on a real (Qwen-VL) student: tiny CPU demo or run"
    )
    sub = p.add_subparsers(
        dest="empirical_command", metavar="{tiny,run,data}", parser_class=type(p)
    )
    sub.required = True
    _tiny_parser(sub)
    _run_parser(sub)
    d = sub.add_parser("data", help="what a local benchmark copy would load (no model)")
    d.add_argument("--data", required=True, help="local benchmark folder or file")
    d.add_argument("--split", default=None, help="split to read (required if several)")
    d.add_argument("--task", default=None, help="mathvista | mmmu | blink (default: detect)")
    d.add_argument("--json", action="store_true", help="print a JSON object")
    d.set_defaults(func=_data)


def _tiny_parser(sub) -> None:
    t = sub.add_parser("tiny", help="end to end on CPU with a tiny Qwen-VL student (minutes)")
    t.add_argument("--json", action="store_true", help="print the comparison as JSON")
    t.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    t.add_argument("--out", default=None, help="keep the work folder here (default: temporary)")
    t.add_argument("--rounds", type=int, default=None, help="self-DPO rounds per verifier")
    t.add_argument("--gate", default="uniform", help=" | ".join(GATES))
    t.add_argument("--dtype", default="float32", help="float32 | bfloat16 (mixed precision)")
    t.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    t.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for the seeds' warm-ups and (seed, verifier) runs; same results "
        "(default: the usable CPU cores)",
    )
    t.set_defaults(func=_tiny)


def _run_parser(sub) -> None:
    r = sub.add_parser("run", help="the loop on a local student checkpoint and local data")
    r.add_argument("--student", required=True, help="local Qwen-VL checkpoint directory")
    r.add_argument("--task", required=True, help="mathvista | mmmu | blink | synthetic")
    r.add_argument("--data", default=None, help="local copy of the benchmark (not for synthetic)")
    r.add_argument("--split", default=None, help="the split to read (required if several)")
    r.add_argument(
        "--verifier",
        required=True,
        help="synthetic:ALPHA:KAPPA | judge:PATH | oracle | module:callable (your own)",
    )
    r.add_argument("--judge-prompt", default=None, help="file with the judge's prompt template")
    r.add_argument("--rounds", type=int, required=True)
    r.add_argument("--out", required=True, help="run folder (re-running resumes)")
    r.add_argument("--seeds", default=None, help="comma-separated seeds: one run each, in out/")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--n", type=int, default=4, help="answers sampled per question (>= 2)")
    r.add_argument("--gate", default="uniform", help=" | ".join(GATES))
    r.add_argument("--progress", default="loss", help=" | ".join(PROGRESS))
    r.add_argument("--lam", type=float, default=GATE_DEFAULTS["lam"], help="progress EMA weight")
    r.add_argument("--tau", type=float, default=GATE_DEFAULTS["tau"], help="threshold gate's tau")
    r.add_argument("--rank-temperature", type=float, default=GATE_DEFAULTS["temperature"])
    r.add_argument("--staleness", type=float, default=GATE_DEFAULTS["staleness"])
    r.add_argument("--batch", type=int, default=64, help="replay batch B per round")
    r.add_argument("--lr", type=float, default=None, help="default 1e-5 (full), 1e-4 (LoRA)")
    r.add_argument("--beta", type=float, default=0.1)
    r.add_argument("--dpo-steps", type=int, default=1, help="optimiser steps per round")
    r.add_argument("--optimizer", default="adamw", help=" | ".join(OPTIMIZERS))
    r.add_argument("--schedule", default="constant", help=" | ".join(SCHEDULES))
    r.add_argument("--warmup-steps", type=int, default=0)
    r.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm (0: none)")
    r.add_argument("--weight-decay", type=float, default=0.0)
    r.add_argument(
        "--step-norm", default="batch", help="batch: count/B as the simulator; pairs: TRL's mean"
    )
    r.add_argument("--dtype", default=None, help="float32 | bfloat16 (default: bf16 on GPU)")
    r.add_argument("--gradient-checkpointing", action="store_true")
    r.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    r.add_argument("--max-new-tokens", type=int, default=64)
    r.add_argument("--heldout-fraction", type=float, default=0.5)
    r.add_argument("--heldout-split", default=None, help="held-out questions from this split")
    r.add_argument("--limit", type=int, default=None, help="use at most this many questions")
    r.add_argument("--gen-batch", type=int, default=16)
    r.add_argument("--train-batch", type=int, default=4)
    r.add_argument("--lora", action="store_true", help="LoRA through peft")
    r.add_argument("--lora-rank", type=int, default=16)
    r.add_argument("--lora-alpha", type=float, default=None, help="default 2 * rank")
    r.add_argument("--lora-targets", default="q_proj,k_proj,v_proj,o_proj")
    r.add_argument("--device", default=None, help="cpu | cuda | cuda:K (default: cuda if any)")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=_run)


# ----- checks ---------------------------------------------------------------------------------


def _finite(name: str, value: float, lo: float | None = None, *, lo_open: bool = False) -> None:
    if not math.isfinite(value):
        raise UsageError(f"{name} must be finite, got {value:g}")
    check_range(name, value, lo, None, lo_open=lo_open)


def _choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise UsageError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' -> [0, 1, 2] (distinct non-negative integers)."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise UsageError(f"--seeds must be comma-separated integers, got {text!r}") from exc
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds must be distinct non-negative integers, got {text!r}")
    return seeds


def check_out_dir(out: str) -> None:
    """--out must be a folder (or not exist yet); an empty path (the current folder) is refused."""
    if not str(out).strip():
        raise UsageError("--out must be a non-empty path")
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out {out} is a file; --out names a run folder")
    parent = p.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UsageError(f"--out {out}: cannot create a folder under {parent}")


def check_device(device: str | None) -> None:
    """--device must exist on this machine (one line and exit 2 otherwise)."""
    if device is None:
        return
    import torch

    try:
        d = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise UsageError(f"--device {device!r} is not a device ({exc})") from exc
    if d.type == "cpu":
        return
    if d.type != "cuda":
        raise UsageError(f"--device must be cpu, cuda or cuda:K, got {device!r}")
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n == 0:
        raise UsageError(f"--device {device}: no CUDA device on this machine")
    if d.index is not None and d.index >= n:
        raise UsageError(f"--device {device}: this machine has cuda:0..cuda:{n - 1}")


def _validate_run(args: argparse.Namespace) -> None:

    if not Path(args.student).is_dir():
        raise UsageError(f"--student not found: {args.student}")
    _choice("--task", args.task, TASKS)
    if args.task != "synthetic":
        if args.data is None:
            raise UsageError(f"--data is required for --task {args.task}")
        if not Path(args.data).exists():
            raise UsageError(f"--data not found: {args.data}")
        try:
            found = discover(args.data)
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from exc
        choose_split(found, args.split, args.data)
        if args.heldout_split is not None:
            choose_split(found, args.heldout_split, args.data)
    kind, params = parse_verifier_spec(args.verifier)
    if kind == "judge" and not Path(params["path"]).is_dir():
        raise UsageError(f"--verifier judge checkpoint not found: {params['path']}")
    if kind == "plugin":
        load_plugin(params["module"], params["name"])  # import errors before any work
    if args.judge_prompt is not None and not Path(args.judge_prompt).is_file():
        raise UsageError(f"--judge-prompt file not found: {args.judge_prompt}")
    # upper bounds: far above any real run, low enough that a typo cannot exhaust the machine
    for name, lo, hi in (
        ("rounds", 1, 100_000),
        ("n", 2, 1024),
        ("batch", 1, 1_000_000),
        ("dpo_steps", 1, 10_000),
        ("max_new_tokens", 1, 65_536),
        ("gen_batch", 1, 65_536),
        ("train_batch", 1, 65_536),
        ("warmup_steps", 0, 10**9),
        ("lora_rank", 1, 65_536),
        ("seed", 0, 2**63 - 1),
    ):
        check_int("--" + name.replace("_", "-"), getattr(args, name), lo, hi)
    if args.limit is not None:
        check_int("--limit", args.limit, 2)
    _choice("--gate", args.gate, GATES)
    _choice("--progress", args.progress, PROGRESS)
    _choice("--optimizer", args.optimizer, OPTIMIZERS)
    _choice("--schedule", args.schedule, SCHEDULES)
    _choice("--step-norm", args.step_norm, STEP_NORMS)
    if args.dtype is not None:
        _choice("--dtype", args.dtype, DTYPES)
    if args.lr is not None:
        _finite("--lr", args.lr, 0.0, lo_open=True)
    _finite("--beta", args.beta, 0.0, lo_open=True)
    _finite("--temperature", args.temperature, 0.0, lo_open=True)
    _finite("--grad-clip", args.grad_clip, 0.0)
    _finite("--weight-decay", args.weight_decay, 0.0)
    _finite("--tau", args.tau)
    _finite("--rank-temperature", args.rank_temperature, 0.0, lo_open=True)
    if args.lora_alpha is not None:
        _finite("--lora-alpha", args.lora_alpha, 0.0, lo_open=True)
    check_range("--lam", args.lam, 0.0, 1.0)
    check_range("--staleness", args.staleness, 0.0, 1.0)
    check_range("--heldout-fraction", args.heldout_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
    if args.seeds is not None:
        parse_seeds(args.seeds)
    check_out_dir(args.out)
    if args.lora:
        try:
            import peft  # noqa: F401
        except ImportError as exc:
            raise UsageError("--lora needs peft: pip install 'selfdpo[lora]'") from exc
    check_device(args.device)


# ----- commands -------------------------------------------------------------------------------


def _data(args: argparse.Namespace) -> int:
    if args.task is not None:
        _choice("--task", args.task, BENCHMARKS)
    if not Path(args.data).exists():
        raise UsageError(f"--data not found: {args.data}")
    try:
        info = summarise(args.data, args.split, args.task)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(to_json(info))
    else:
        print(
            f"{info['data']}: task {info['task']}, split {info['split']} "
            f"({', '.join(f'{k} {v}' for k, v in info['splits'].items())} records by split)"
        )
        print(
            f"  {info['usable']} records with answers, {info['hidden_answers']} hidden "
            f"(skipped); images found {info['images']['found']}, missing "
            f"{info['images']['missing']}"
        )
        for key in ("by_subject", "by_question_type"):
            print(f"  {key}: " + ", ".join(f"{k or '-'} {v}" for k, v in info[key].items()))
    return 0


def _tiny(args: argparse.Namespace) -> int:
    seeds = parse_seeds(args.seeds)
    _choice("--gate", args.gate, GATES)
    _choice("--dtype", args.dtype, DTYPES)
    s = replace(TinySettings(), gate=args.gate, dtype=args.dtype)
    if args.rounds is not None:
        s = replace(s, rounds=check_int("--rounds", args.rounds, 1))
    workers = usable_cores() if args.workers is None else args.workers
    workers = check_int("--workers", workers, 1)
    if args.out is not None:
        check_out_dir(args.out)
    quiet = args.quiet or args.json and not sys.stderr.isatty()
    if args.out is not None:
        res = run_tiny(args.out, seeds=seeds, settings=s, quiet=quiet, workers=workers)
        res["reports"] = write_reports(
            args.out, res, res["verifiers"], title="Empirical tiny: measured vs predicted"
        )
    else:
        with tempfile.TemporaryDirectory(prefix="selfdpo-tiny-") as d:
            res = run_tiny(d, seeds=seeds, settings=s, quiet=quiet, workers=workers)
    print(to_json(res) if args.json else format_report(res))
    return 0


def _questions(args: argparse.Namespace, seed: int):
    """(train, held-out) questions: a random split of one benchmark split, or two splits."""
    try:
        questions = load_task(
            args.task, args.data, n=args.limit or 512, seed=seed, split=args.split
        )
        held_from = None
        if args.heldout_split is not None:
            held_from = load_task(
                args.task, args.data, n=args.limit or 512, seed=seed, split=args.heldout_split
            )
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    order = np.random.default_rng(seed).permutation(len(questions))
    if args.limit:
        order = order[: args.limit]
    if held_from is not None:
        return [questions[i] for i in order], held_from
    n_held = max(1, int(round(args.heldout_fraction * len(order))))
    if len(order) - n_held < 1:
        raise UsageError("too few questions for a train/held-out split")
    return [questions[i] for i in order[n_held:]], [questions[i] for i in order[:n_held]]


def _run(args: argparse.Namespace) -> int:
    _validate_run(args)
    parallel.init()
    try:
        code = _run_seeds(args)
    except BaseException:
        parallel.finish(ok=False)
        raise
    parallel.finish()
    return code


def _run_seeds(args: argparse.Namespace) -> int:
    seeds = parse_seeds(args.seeds) if args.seeds is not None else [args.seed]
    device = args.device or parallel.local_device()
    lr = args.lr if args.lr is not None else DEFAULT_LR["lora" if args.lora else "full"]
    prompt = Path(args.judge_prompt).read_text() if args.judge_prompt else None
    reports = []
    for seed in seeds:
        out = Path(args.out) if args.seeds is None else Path(args.out) / f"seed-{seed}"
        train, held = _questions(args, seed)
        student = load_student(
            args.student,
            device=device,
            dtype=args.dtype,
            lora=args.lora,
            lora_rank=args.lora_rank,
            lora_alpha=args.lora_alpha,
            lora_targets=[t for t in args.lora_targets.split(",") if t],
            lora_seed=seed,
            gradient_checkpointing=args.gradient_checkpointing,
        )
        verifier = make_verifier(args.verifier, seed=seed, device=device, judge_prompt=prompt)
        cfg = LoopConfig(
            rounds=args.rounds,
            n=args.n,
            gate=args.gate,
            batch=args.batch,
            lr=lr,
            beta=args.beta,
            dpo_steps=args.dpo_steps,
            progress=args.progress,
            lam=args.lam,
            tau=args.tau,
            rank_temperature=args.rank_temperature,
            staleness_coef=args.staleness,
            temperature=args.temperature,
            max_new_tokens=args.max_new_tokens,
            gen_batch=args.gen_batch,
            train_batch=args.train_batch,
            choice_probs=args.task == "synthetic",
            seed=seed,
            optimizer=args.optimizer,
            schedule=args.schedule,
            warmup_steps=args.warmup_steps,
            grad_clip=args.grad_clip,
            weight_decay=args.weight_decay,
            step_norm=args.step_norm,
        )
        log = run_loop(student, train, held, verifier, cfg, out, quiet=args.quiet)
        if parallel.is_main():
            rep = run_report(out, log, n=args.n, gate=args.gate)
            atomic_write_json(out / "report.json", rep)
            reports.append(rep)
    if not parallel.is_main():
        return 0
    summary = compare_seeds(args.verifier, reports)
    if args.seeds is not None:
        write_reports(args.out, summary, [summary], title="Self-DPO run: measured vs predicted")
    print(to_json(summary))
    return 0


class _OneLine(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """``selfdpo empirical ...`` on its own (what torchrun/accelerate launch run per process)."""
    parser = _OneLine(prog="selfdpo")
    register(parser.add_subparsers(dest="command", parser_class=_OneLine))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        sys.stderr.write(f"selfdpo {args.command}: error: {' '.join(str(exc).split())}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
