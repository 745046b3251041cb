"""``selfdpo predict``: theory's verdict for a verifier (alpha, kappa)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from theory.predict import predict

__all__ = ["register"]


def register(subparsers) -> None:
    """Add the ``predict`` subcommand."""
    p = subparsers.add_parser(
        "predict",
        help="theory's verdict: pair accuracy, side of threshold, drift sign/rate, amplification",
        description="First-order prediction (THEORY.md L0, T1, T2, T5) for V(alpha, kappa).",
    )
    p.add_argument("--alpha", type=float, required=True, help="rubric (verdict) accuracy in [0, 1]")
    p.add_argument("--kappa", type=float, required=True, help="confidence (score SNR) >= 0")
    p.add_argument("--n", type=int, default=2, help="samples per prompt, >= 2 (default 2)")
    p.add_argument(
        "--gate",
        default="rank",
        help="replay gate: uniform, threshold, rank, proportional, margin (default rank)",
    )
    p.add_argument(
        "--p-correct",
        type=float,
        default=0.5,
        help="student's chance of a correct sample, in (0, 1); matters for n > 2 (default 0.5)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    out = predict(args.alpha, args.kappa, n=args.n, gate=args.gate, p_correct=args.p_correct)
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
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        sys.stdout.write(f"{k:<{width}}  {v}\n")
    sys.stdout.write(out["verdict"] + "\n")
    return 0


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
