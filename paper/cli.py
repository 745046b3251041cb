"""The ``selfdpo`` console script: the root dispatcher, at the top layer.

Each package owns its subcommands in a commands module with ``register(subparsers)``, imported
here directly: theory (predict), sim (simulate, sweep, bench), empirical (empirical, audit) and
paper (reproduce). None of them imports jax or torch at import time, so ``selfdpo --help`` is
fast. Any bad input ends with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from empirical import commands as empirical_commands
from empirical.audit import commands as audit_commands
from paper import commands as paper_commands
from sim import commands as sim_commands
from theory import commands as theory_commands
from theory.util import UsageError

COMMAND_MODULES = (
    theory_commands,
    sim_commands,
    paper_commands,
    audit_commands,
    empirical_commands,
)


class OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line on stderr (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The ``selfdpo`` parser with every package's subcommands."""
    parser = OneLineParser(
        prog="selfdpo",
        description="Verifier-driven self-DPO: theory, simulation, measurement and audit.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join((str(exc) or type(exc).__name__).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``selfdpo``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except (UsageError, ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        sys.stderr.write(f"selfdpo {args.command}: error: {_one_line(exc)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"selfdpo {args.command}: interrupted\n")
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
