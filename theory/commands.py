"""``selfdpo predict``: theory's verdict for a verifier (alpha, kappa), or for a rubric accuracy
measured the way a team measures it (verdict, pair or selection accuracy; theory.measures)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from theory.l0_pairs import N_MAX
from theory.longrun import long_run_prediction
from theory.measures import MEASURES, read_rubric_accuracy
from theory.predict import check_predict_inputs, predict
from theory.util import UsageError, check_range

__all__ = ["register"]


def register(subparsers) -> None:
    """Add the ``predict`` subcommand."""
    p = subparsers.add_parser(
        "predict",
        help="theory's verdict: pair accuracy, side of threshold, drift sign/rate, amplification",
        description=(
            "First-order prediction (THEORY.md L0, T1, T2, T5) for V(alpha, kappa); or, with "
            "--rubric-accuracy and --measure, the side of the threshold, the threshold in that "
            "measure and the equivalent verdict accuracy alpha (a range when kappa is unknown). "
            "Bad input (a value out of range, not finite, n not an integer in [2, "
            f"{N_MAX}], a combination the measure does not take) ends with one line on stderr "
            "and exit status 2."
        ),
    )
    p.add_argument("--alpha", type=float, help="rubric (verdict) accuracy in [0, 1]")
    p.add_argument(
        "--kappa",
        type=float,
        help="confidence (score SNR), finite >= 0; required with --alpha, optional with "
        "--rubric-accuracy",
    )
    p.add_argument(
        "--rubric-accuracy",
        type=float,
        help="a measured rubric accuracy in [0, 1], in the measure named by --measure",
    )
    p.add_argument(
        "--measure",
        choices=MEASURES,
        help="verdict (alpha), pair (a correct vs an incorrect answer ordered right) or "
        "selection (the verifier's top choice is correct)",
    )
    p.add_argument(
        "--K",
        type=int,
        help="selection: options per question (alone: K options each scored once; with --n: "
        "incorrect samples spread over K - 1 options; omit --K with --n for free-form answers)",
    )
    p.add_argument(
        "--n",
        type=float,
        help=f"samples per prompt, 2 to {N_MAX} (default 2 with --alpha; selection: samples "
        "per question)",
    )
    p.add_argument(
        "--gate",
        default="rank",
        help="replay gate: uniform, threshold, rank, proportional, margin (default rank)",
    )
    p.add_argument(
        "--p-correct",
        type=float,
        help="student's chance of a correct sample, in (0, 1); with --alpha it matters for "
        "n > 2 (default 0.5); selection with --n needs it",
    )
    p.add_argument(
        "--rounds",
        type=int,
        help="also predict a full run of R rounds under uniform replay (T1-long, n = 2): the "
        "full-run threshold alpha* and the final held-out change with its error term",
    )
    p.add_argument(
        "--student",
        default=None,
        help="named student of the full-run prediction: default or second (default: default)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.rubric_accuracy is not None or args.measure is not None:
        return _run_rubric(args)
    if args.K is not None:
        raise UsageError("--K goes with --rubric-accuracy and --measure selection")
    if args.alpha is None or args.kappa is None:
        raise UsageError("give --alpha and --kappa, or --rubric-accuracy and --measure")
    n = 2 if args.n is None else args.n
    p_correct = 0.5 if args.p_correct is None else args.p_correct
    # all checks before any work: one line and exit 2 from the dispatcher on a ValueError
    check_predict_inputs(args.alpha, args.kappa, n, args.gate, p_correct=p_correct)
    long_run = args.rounds is not None or args.student is not None
    if long_run:
        rounds = 200 if args.rounds is None else args.rounds
        if n != 2:
            raise UsageError("--rounds/--student: the long-run theory (T1-long) covers n = 2")
    if long_run:  # validates rounds and student before predict's work
        lr = long_run_prediction(
            args.alpha, args.kappa, rounds=rounds, student=args.student or "default"
        )
    out = predict(args.alpha, args.kappa, n=n, gate=args.gate, p_correct=p_correct)
    if long_run:
        out.update(
            rounds=rounds,
            student=args.student or "default",
            long_run_gate="uniform",
            threshold_first_round=lr["threshold_first_round"],
            threshold_full_run=lr["threshold_full_run"],
            threshold_full_run_error=lr["threshold_full_run_error"],
            delta_heldout=lr["delta_heldout"],
            delta_heldout_error=lr["error"],
        )
    if args.json:
        sys.stdout.write(json.dumps(_strict(out), indent=2, allow_nan=False) + "\n")
        return 0
    amp = out["gate_amplification"]
    rows = [
        ("alpha", f"{out['alpha']:g}"),
        ("kappa", f"{out['kappa']:g}"),
        ("n", str(out["n"])),
        ("gate", out["gate"]),
        ("a_pair (L0)", f"{out['a_pair']:.6f}"),
        ("threshold side (T1)", out["side"]),
        ("drift sign", f"{out['drift_sign']:+d}"),
        ("drift rate (T1, eta*beta*M units)", f"{out['drift_rate']:+.6f}"),
        ("gate amplification (T2, loss progress)", _fmt_amp(amp)),
        (
            "  same, trained-pair progress (counter-ex.)",
            _fmt_amp(out["gate_amplification_trained_pair"]),
        ),
        ("damage rate (T5)", f"{out['damage_rate']:+.6f}"),
    ]
    if long_run:
        rows += [
            ("threshold, first round (T1, exact)", f"{out['threshold_first_round']:g}"),
            (
                f"threshold, {rounds}-round run (T1-long)",
                f"{_fmt(out['threshold_full_run'])} +- {_fmt(out['threshold_full_run_error'])}",
            ),
            (
                "final held-out change (T1-long)",
                f"{out['delta_heldout']:+.4f} +- {out['delta_heldout_error']:.4f}",
            ),
        ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        sys.stdout.write(f"{k:<{width}}  {v}\n")
    sys.stdout.write(out["verdict"] + "\n")
    return 0


def _run_rubric(args: argparse.Namespace) -> int:
    """T1 in the measure a team computed: side, threshold, equivalent alpha (theory.measures)."""
    if args.rubric_accuracy is None or args.measure is None:
        raise UsageError("--rubric-accuracy and --measure go together")
    if args.alpha is not None:
        raise UsageError("give --alpha or --rubric-accuracy, not both")
    check_range("rubric accuracy", args.rubric_accuracy, 0.0, 1.0, finite=True)
    if args.kappa is not None:
        check_range("kappa", args.kappa, 0.0, finite=True)
    if args.n is not None:
        check_range("n", args.n, 2, N_MAX, finite=True)
    out = read_rubric_accuracy(
        args.rubric_accuracy,
        args.measure,
        n=args.n,
        K=args.K,
        p_correct=args.p_correct,
        kappa=args.kappa,
    )
    if args.json:
        sys.stdout.write(json.dumps(_strict(out), indent=2, allow_nan=False) + "\n")
        return 0
    rows = [(k, out[k]) for k in ("measure", "value", "n", "K", "p_correct", "kappa")]
    rows += [
        ("threshold (T1 in this measure)", out["threshold"]),
        ("random scorer (kappa = 0)", out["random_scorer"]),
        ("values the measure can take", out["range"]),
        ("equivalent verdict accuracy alpha", out["equivalent_alpha"]),
        ("side", out["side"]),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        sys.stdout.write(f"{k:<{width}}  {_fmt(v)}\n")
    sys.stdout.write(out["reading"] + "\n")
    return 0


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(f"{x:.4g}" for x in v) + "]"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _fmt_amp(amp: float | None) -> str:
    return "n/a (no closed form)" if amp is None else f"{amp:.4f}"


def _strict(obj: Any) -> Any:
    """``obj`` with non-finite floats as None (strict JSON has no NaN or Infinity)."""
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
