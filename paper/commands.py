"""``selfdpo reproduce``: the command of the paper layer."""

from __future__ import annotations

import argparse
from typing import Any

from paper.reproduce import reproduce
from theory.util import check_int, usable_cores


def _handler(args: argparse.Namespace) -> int:
    jobs = usable_cores() if args.jobs is None else check_int("--jobs", args.jobs, 1)
    return reproduce(args.out, quick=args.quick, quiet=args.quiet, jobs=jobs)


def register(subparsers: Any) -> None:
    """Add ``selfdpo reproduce`` to the CLI."""
    p = subparsers.add_parser(
        "reproduce",
        help="run every sweep, draw every figure, write the claims report and the paper",
        description="Run the experiments (cached by parameters and code), draw every figure, "
        "write claims.json/claims.md and assemble the paper. Exits 1 naming any failing claim.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer seeds, rounds and grid points (a few minutes on 2 CPU cores)",
    )
    p.add_argument(
        "--out", default="results", metavar="DIR", help="output folder (default: ./results)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="J",
        help="experiments run at once, each in its own process (default: the usable CPU "
        "cores); the results do not depend on it",
    )
    p.set_defaults(func=_handler)
