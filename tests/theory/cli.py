"""theory's commands run as the root dispatcher (paper.cli) runs them, for the theory tests."""

import argparse
import sys

from theory import commands


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, as the root dispatcher prints
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def main(argv: list[str]) -> int:
    """What the root dispatcher (paper.cli) does with theory's commands: run, or one line + 2."""
    parser = _Parser(prog="selfdpo")
    commands.register(parser.add_subparsers(dest="command", parser_class=_Parser))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # UsageError is a ValueError
        sys.stderr.write(f"selfdpo {args.command}: error: {' '.join(str(exc).split())}\n")
        return 2
