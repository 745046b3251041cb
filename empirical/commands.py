"""``selfdpo empirical tiny|run``: the real self-DPO loop (no torch import at module level)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from sim.files import to_json
from theory.gates import GATES, PROGRESS
from theory.util import UsageError, check_int, check_range


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``empirical`` with its ``tiny`` and ``run`` sub-subcommands."""
    p = subparsers.add_parser(
        "empirical", help="the self-DPO loop on a real (Qwen-VL) student: tiny CPU demo or run"
    )
    sub = p.add_subparsers(dest="empirical_command", metavar="{tiny,run}", parser_class=type(p))
    sub.required = True
    t = sub.add_parser("tiny", help="end to end on CPU with a tiny Qwen-VL student (minutes)")
    t.add_argument("--json", action="store_true", help="print a JSON object with a runs list")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default=None, help="keep the work folder here (default: temporary)")
    t.add_argument("--rounds", type=int, default=None, help="self-DPO rounds per verifier")
    t.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    t.set_defaults(func=_tiny)

    r = sub.add_parser("run", help="the loop on a local student checkpoint and local data")
    r.add_argument("--student", required=True, help="local Qwen-VL checkpoint directory")
    r.add_argument("--task", required=True, help="mathvista | mmmu | blink | synthetic")
    r.add_argument("--data", default=None, help="local copy of the benchmark (not for synthetic)")
    r.add_argument("--verifier", required=True, help="synthetic:ALPHA:KAPPA | judge:PATH | oracle")
    r.add_argument("--rounds", type=int, required=True)
    r.add_argument("--out", required=True, help="run folder (re-running resumes)")
    r.add_argument("--n", type=int, default=4, help="answers sampled per question (>= 2)")
    r.add_argument(
        "--gate", default="uniform", help="uniform | threshold | rank | proportional | margin"
    )
    r.add_argument("--progress", default="loss", help="loss | reward")
    r.add_argument("--batch", type=int, default=64, help="replay batch B per round")
    r.add_argument("--lr", type=float, default=1e-6)
    r.add_argument("--beta", type=float, default=0.1)
    r.add_argument("--dpo-steps", type=int, default=1)
    r.add_argument("--temperature", type=float, default=1.0)
    r.add_argument("--max-new-tokens", type=int, default=64)
    r.add_argument(
        "--heldout-fraction",
        type=float,
        default=0.5,
        help="share of the questions held out (never trained on)",
    )
    r.add_argument("--limit", type=int, default=None, help="use at most this many questions")
    r.add_argument("--gen-batch", type=int, default=16)
    r.add_argument("--train-batch", type=int, default=4)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--lora", action="store_true", help="LoRA through peft (the 'lora' extra)")
    r.add_argument("--device", default=None, help="cpu | cuda | cuda:K (default: cuda if any)")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=_run)


def _tiny(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from empirical.compare import format_table
    from empirical.tiny import TinySettings, run_tiny

    s = TinySettings()
    if args.rounds is not None:
        s = replace(s, rounds=check_int("--rounds", args.rounds, 1))
    quiet = args.quiet or args.json and not sys.stderr.isatty()
    if args.out:
        res = run_tiny(args.out, seed=args.seed, settings=s, quiet=quiet)
    else:
        with tempfile.TemporaryDirectory(prefix="selfdpo-tiny-") as d:
            res = run_tiny(d, seed=args.seed, settings=s, quiet=quiet)
    if args.json:
        print(to_json(res))
    else:
        st = res["start"]
        print(
            f"tiny Qwen2.5-VL student: {st['sft_steps']} supervised steps, held-out "
            f"p_correct {st['heldout_p_correct']:.3f} at the start of self-DPO"
        )
        print(format_table(res["runs"]))
        print(
            f"({res['seconds']:.0f} s; predicted sign from theory's a_pair at the audited "
            "(alpha_hat, kappa_hat): '0?' when the CI straddles the threshold)"
        )
    return 0


def _validate_run(args: argparse.Namespace) -> None:
    from empirical.data import TASKS
    from empirical.verifiers import parse_verifier_spec

    if not Path(args.student).is_dir():
        raise FileNotFoundError(f"--student not found: {args.student}")
    if args.task not in TASKS:
        raise UsageError(f"--task must be one of {', '.join(TASKS)}, got {args.task!r}")
    if args.task != "synthetic":
        if args.data is None:
            raise UsageError(f"--data is required for --task {args.task}")
        if not Path(args.data).exists():
            raise FileNotFoundError(f"--data not found: {args.data}")
    kind, params = parse_verifier_spec(args.verifier)
    if kind == "judge" and not Path(params["path"]).is_dir():
        raise FileNotFoundError(f"--verifier judge checkpoint not found: {params['path']}")
    check_int("--rounds", args.rounds, 1)
    check_int("--n", args.n, 2)
    check_int("--batch", args.batch, 1)
    check_int("--dpo-steps", args.dpo_steps, 1)
    check_int("--max-new-tokens", args.max_new_tokens, 1)
    check_int("--gen-batch", args.gen_batch, 1)
    check_int("--train-batch", args.train_batch, 1)
    if args.gate not in GATES:
        raise UsageError(f"--gate must be one of {', '.join(GATES)}, got {args.gate!r}")
    if args.progress not in PROGRESS:
        raise UsageError(f"--progress must be one of {', '.join(PROGRESS)}, got {args.progress!r}")
    check_range("--lr", args.lr, 0.0, None, lo_open=True)
    check_range("--beta", args.beta, 0.0, None, lo_open=True)
    check_range("--temperature", args.temperature, 0.0, None, lo_open=True)
    check_range("--heldout-fraction", args.heldout_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
    if args.lora:
        try:
            import peft  # noqa: F401
        except ImportError as exc:
            raise UsageError("--lora needs peft: pip install 'selfdpo[lora]'") from exc


def _run(args: argparse.Namespace) -> int:
    _validate_run(args)
    import numpy as np

    from empirical.data import load_task
    from empirical.loop import LoopConfig, run_loop
    from empirical.student import load_student
    from empirical.verifiers import make_verifier

    questions = load_task(args.task, args.data, n=args.limit or 512, seed=args.seed)
    order = np.random.default_rng(args.seed).permutation(len(questions))
    if args.limit:
        order = order[: args.limit]
    n_held = max(1, int(round(args.heldout_fraction * len(order))))
    if len(order) - n_held < 1:
        raise UsageError("too few questions for a train/held-out split")
    held = [questions[i] for i in order[:n_held]]
    train = [questions[i] for i in order[n_held:]]
    from empirical import parallel

    parallel.init()
    device = args.device or parallel.local_device()
    student = load_student(args.student, device=device, lora=args.lora)
    verifier = make_verifier(args.verifier, seed=args.seed, device=device)
    cfg = LoopConfig(
        rounds=args.rounds,
        n=args.n,
        gate=args.gate,
        batch=args.batch,
        lr=args.lr,
        beta=args.beta,
        dpo_steps=args.dpo_steps,
        progress=args.progress,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        gen_batch=args.gen_batch,
        train_batch=args.train_batch,
        choice_probs=args.task == "synthetic",
        seed=args.seed,
    )
    log = run_loop(student, train, held, verifier, cfg, args.out, quiet=args.quiet)
    if not parallel.is_main():
        return 0
    last = log[-1]
    summary = {
        "out": os.fspath(args.out),
        "rounds": last["round"],
        "heldout_start": log[0]["heldout_acc"],
        "heldout_end": last["heldout_acc"],
    }
    print(json.dumps(summary))
    return 0
