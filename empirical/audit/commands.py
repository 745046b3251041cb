"""``selfdpo audit``: the pre-flight check of a verifier (numpy/scipy only, fast start)."""

from __future__ import annotations

import argparse
import math
import sys

from empirical.audit.report import MAX_N, PLOT_SUFFIXES, audit_json, audit_table
from empirical.audit.scores import SCORE_MAX, load_scores
from empirical.audit.table import format_legend, format_measures, format_table
from sim.files import check_output_file, to_json
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
            "number of labelled candidates needed to decide; and the rubric accuracy in three "
            "measures (verdict, pair, selection) with intervals and theory's threshold in each. "
            "Rows are ranked by predicted gain."
        ),
    )
    p.add_argument(
        "scores",
        metavar="SCORES.jsonl",
        help="one JSON object per line: question_id, candidate_id, score, label (0/1), "
        "optional verifier, task; gzip-compressed files (.jsonl.gz) are read directly",
    )
    p.add_argument(
        "--n",
        type=_count,
        default=2,
        help=f"candidates per question in the planned loop, 2 to {MAX_N} (default 2)",
    )
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


def _count(text: str) -> int:
    """``--n``: an integer, also written as 1e3; range checked against MAX_N in the handler."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}")
    return int(value)


def _check_args(args: argparse.Namespace) -> int:
    """All options checked before any file is read; returns n."""
    n = check_int("--n", args.n, 2, MAX_N)
    try:
        check_gate(args.gate)
    except ValueError as exc:
        raise UsageError(f"--gate: {exc}") from None
    check_range("--level", args.level, 0.0, 1.0, lo_open=True, hi_open=True)
    if args.p_correct is not None:
        check_range("--p-correct", args.p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
    if args.scale is not None:
        check_range("--scale", args.scale, 0.0, SCORE_MAX, lo_open=True)
    if args.loc is not None:
        check_range("--loc", args.loc, -SCORE_MAX, SCORE_MAX)
    if args.plot is not None:
        if not args.plot.lower().endswith(PLOT_SUFFIXES):
            raise UsageError(f"--plot file must end in .png or .pdf, got {args.plot!r}")
        check_output_file(args.plot, "--plot file")
    return n


def _run(args: argparse.Namespace) -> int:
    n = _check_args(args)
    loaded = load_scores(args.scores, skip_bad=args.skip_bad)
    if loaded.n_bad:
        sys.stderr.write(f"selfdpo audit: skipped {loaded.n_bad} bad line(s) in {args.scores}\n")
    if loaded.n_duplicates:
        sys.stderr.write(
            f"selfdpo audit: warning: {args.scores}: {loaded.n_duplicates} exact duplicate "
            f"line(s) counted once ({loaded.first_duplicate})\n"
        )
    rows = audit_table(
        loaded,
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
        "compression": loaded.compression,
        "n": n,
        "gate": args.gate,
        "level": args.level,
        "method": args.method,
        "p_correct": args.p_correct,
        "loc": args.loc,
        "scale": args.scale,
        "skipped_lines": loaded.n_bad,
        "duplicate_lines": loaded.n_duplicates,
        "ranked_by": "drift_rate (theory's predicted gain, descending)",
    }
    if args.plot is not None:
        # matplotlib, like jax and torch, is loaded only when asked for (fast --help)
        from empirical.audit.plot import plot_phase

        plot_phase(rows, args.plot, n=n, gate=args.gate)
    if args.json:
        sys.stdout.write(to_json(audit_json(rows, settings)) + "\n")
        return 0
    out = [format_table(rows), ""]
    measures = format_measures(rows)
    if measures:
        out += ["rubric accuracy in three measures:", measures, ""]
    out.append(format_legend(rows, level=args.level, n=n, gate=args.gate))
    for r in rows:
        for note in r.notes:
            if "no closed-form amplification" not in note:
                out.append(f"note: {r.verifier}/{r.task}: {note}")
    if args.plot is not None:
        out.append(f"plot: {args.plot}")
    sys.stdout.write("\n".join(out) + "\n")
    return 0
