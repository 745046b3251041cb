"""The ``selfdpo`` console script.

Each package contributes its subcommands through ``<package>/commands.py``, which defines
``register(subparsers)``. Handlers import heavy libraries (jax, torch) lazily so that
``selfdpo predict`` or ``selfdpo audit`` start fast. Any bad input ends with one line on stderr
and exit status 2; a missing optional dependency names the extra to install.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from theory.util import UsageError

# module -> the subcommands it registers (used to give a clear error if the module is missing)
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "theory.commands": ("predict",),
    "sim.commands": ("simulate", "sweep", "bench"),
    "sim.reproduce": ("reproduce",),
    "empirical.audit.commands": ("audit",),
    "empirical.commands": ("empirical",),
}


class OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line on stderr (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="selfdpo",
        description="Verifier-driven self-DPO: theory, simulation, measurement and audit.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for module_name, commands in COMMAND_MODULES.items():
        try:
            module = importlib.import_module(module_name)
            module.register(sub)
        except ImportError as exc:
            reason = f"{exc}"
            for name in commands:
                p = sub.add_parser(name, help=f"(unavailable: {reason})", add_help=False)
                p.set_defaults(func=_unavailable(name, reason), stub=True)
    return parser


def _unavailable(name: str, reason: str):
    def run(args: argparse.Namespace) -> int:
        raise UsageError(f"'{name}' is not available in this install: {reason}")

    return run


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "stub", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
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
