"""The ``selfdpo`` console script: the root dispatcher, at the top layer.

Each package owns its subcommands in a commands module with ``register(subparsers)``, imported
here directly: theory (predict), sim (simulate, sweep, bench), empirical (empirical, audit) and
paper (reproduce). None of them imports jax or torch at import time, so ``selfdpo --help`` is
fast. Any bad input ends with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from empirical import commands as empirical_commands
from empirical.audit import commands as audit_commands
from paper import commands as paper_commands
from sim import commands as sim_commands
from theory import commands as theory_commands

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


def _one_line(exc: BaseException | str) -> str:
    text = exc if isinstance(exc, str) else str(exc) or type(exc).__name__
    return " ".join(text.split())


# What bad input raises, reported as one line and exit 2. ValueError covers UsageError, JSON
# and Unicode decoding; OverflowError: numbers too large for a float (a 400-digit score);
# RecursionError: input nested too deeply (JSON 100k levels); MemoryError: sizes beyond the
# machine that slipped past the up-front estimates; OSError: paths and files (missing,
# unreadable, a folder, disk full, name too long). Anything else (KeyError, TypeError,
# IndexError, AssertionError, ...) is a bug and keeps its traceback; SELFDPO_TRACEBACK=1 shows
# the traceback of the errors below too.
BAD_INPUT = (ValueError, OverflowError, RecursionError, MemoryError, OSError)


def _is_bad_input(exc: BaseException) -> bool:
    # XLA reports an allocation it cannot make as a RuntimeError (XlaRuntimeError) whose text
    # starts RESOURCE_EXHAUSTED: sizes too large, not a bug
    return isinstance(exc, BAD_INPUT) or (
        isinstance(exc, RuntimeError) and "RESOURCE_EXHAUSTED" in str(exc)
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read (recursion limit)"
    if isinstance(exc, MemoryError):
        return "out of memory: reduce the sizes asked for"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return _one_line(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``selfdpo``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        rc = args.func(args)
    except Exception as exc:
        if not _is_bad_input(exc) or os.environ.get("SELFDPO_TRACEBACK"):
            raise
        sys.stderr.write(f"selfdpo {args.command}: error: {_one_line(_describe(exc))}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"selfdpo {args.command}: interrupted\n")
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    raise SystemExit(main())
