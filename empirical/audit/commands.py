"""``selfdpo audit``: the pre-flight check of a verifier (numpy/scipy only, fast start)."""

from __future__ import annotations

import argparse
import sys

from empirical.audit.report import audit_json, audit_table, format_table
from empirical.audit.scores import load_scores
from sim.files import to_json
from theory.gates import GATES, check_gate
from theory.util import UsageError, check_int, check_range

__all__ = ["register"]


def register(subparsers) -> None:
    """Add the ``audit`` subcommand to the ``selfdpo`` dispatcher."""
    p = subparsers.add_parser(
        "audit",
        help="estimate a verifier's rubric accuracy and confidence from scored, labelled "
        "candidates, and predict whether self-DPO with it improves or regresses the student",
        description=(
            "Fit THEORY.md's V(alpha, kappa) (unknown score location and scale) to each "
            "(verifier, task) of SCORES.jsonl by maximum likelihood, with profile-likelihood "
            "intervals; report the pair accuracy a_pair at n, the side of the alpha = 1/2 "
            "threshold, theory's predicted drift with the gate's amplification, and the "
            "number of labelled candidates needed to decide. Rows are ranked by predicted gain."
        ),
    )
    p.add_argument(
        "scores",
        metavar="SCORES.jsonl",
        help="one JSON object per line: question_id, candidate_id, score, label (0/1), "
        "optional verifier, task",
    )
    p.add_argument("--n", type=int, default=2, help="candidates per question (default 2)")
    p.add_argument(
        "--gate",
        default="rank",
        help=f"replay gate: {', '.join(GATES)} (default rank)",
    )
    p.add_argument("--level", type=float, default=0.95, help="interval coverage (default 0.95)")
    p.add_argument(
        "--method",
        default="profile",
        choices=("profile", "bootstrap"),
        help="interval method (default profile likelihood)",
    )
    p.add_argument(
        "--p-correct",
        type=float,
        default=None,
        help="the student's chance of a correct sample, for n > 2 (default: each group's "
        "fraction of candidates labelled correct)",
    )
    p.add_argument("--loc", type=float, default=None, help="fix the score location")
    p.add_argument("--scale", type=float, default=None, help="fix the score scale")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument("--plot", metavar="FILE", default=None, help="phase-diagram plot (.png/.pdf)")
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip bad lines (counted on stderr) instead of stopping at the first",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    n = check_int("--n", args.n, 2)
    try:
        check_gate(args.gate)
    except ValueError as exc:
        raise UsageError(f"--gate: {exc}") from None
    check_range("--level", args.level, 0.0, 1.0, lo_open=True, hi_open=True)
    if args.p_correct is not None:
        check_range("--p-correct", args.p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
    if args.scale is not None:
        check_range("--scale", args.scale, 0.0, lo_open=True)
    if args.loc is not None:
        check_range("--loc", args.loc)
    if args.plot is not None and not args.plot.lower().endswith((".png", ".pdf")):
        raise UsageError(f"--plot file must end in .png or .pdf, got {args.plot!r}")
    groups, n_bad = load_scores(args.scores, skip_bad=args.skip_bad)
    if n_bad:
        sys.stderr.write(f"selfdpo audit: skipped {n_bad} bad line(s) in {args.scores}\n")
    rows = audit_table(
        groups,
        n=n,
        gate=args.gate,
        level=args.level,
        method=args.method,
        p_correct=args.p_correct,
        loc=args.loc,
        scale=args.scale,
    )
    settings = {
        "scores": args.scores,
        "n": n,
        "gate": args.gate,
        "level": args.level,
        "method": args.method,
        "p_correct": args.p_correct,
        "loc": args.loc,
        "scale": args.scale,
        "skipped_lines": n_bad,
        "ranked_by": "drift_rate (theory's predicted gain, descending)",
    }
    if args.plot is not None:
        # matplotlib, like jax and torch, is loaded only when asked for (fast --help)
        from empirical.audit.plot import plot_phase

        plot_phase(rows, args.plot, n=n, gate=args.gate)
    if args.json:
        sys.stdout.write(to_json(audit_json(rows, settings)) + "\n")
    else:
        sys.stdout.write(format_table(rows) + "\n")
        if rows:
            sys.stdout.write(
                f"\nalpha: rubric accuracy; kappa: confidence; intervals {args.level:g} "
                f"({rows[0].fit.method}). a_pair at n={n}; drift = theory's predicted rate "
                f"(T1, units eta*beta*M) with gate {args.gate!r}"
                + (
                    " (no closed-form amplification: uniform replay's rate)"
                    if rows[0].gate_amplification != rows[0].gate_amplification
                    else " amplification"
                )
                + ". side: where alpha sits against the 1/2 threshold.\n"
            )
        for r in rows:
            for note in r.notes:
                if "no closed-form amplification" in note:
                    continue
                sys.stdout.write(f"note: {r.verifier}/{r.task}: {note}\n")
        if args.plot is not None:
            sys.stdout.write(f"plot: {args.plot}\n")
    return 0
