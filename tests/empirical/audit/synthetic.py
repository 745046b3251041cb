"""Scores drawn from THEORY.md's V(alpha, kappa) as the audit's model describes them; CLI helpers.

A candidate with rubric label c gets a frozen verdict v (= c with probability alpha) and each
call scores it loc + scale * (kappa (2v - 1) + eps), eps ~ N(0, 1).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from empirical.audit import commands
from theory.util import UsageError

try:  # the root dispatcher, once the paper layer has it in this tree
    from paper.cli import main
except ImportError:  # until then the same contract around the audit's own register()
    main = None


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _audit_main(argv: list[str]) -> int:
    """paper.cli.main's contract for ``audit`` alone: one line and exit 2 on bad input."""
    parser = _OneLineParser(prog="selfdpo")
    commands.register(parser.add_subparsers(dest="command", parser_class=_OneLineParser))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, ValueError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        sys.stderr.write(f"selfdpo audit: error: {' '.join(str(exc).split())}\n")
        return 2


def generate(alpha, kappa, m, seed, *, loc=0.0, scale=1.0, repeats=1, p_correct=0.5):
    """m candidates of V(alpha, kappa); each scored ``repeats`` times with its frozen verdict."""
    rng = np.random.default_rng(seed)
    c = (rng.random(m) < p_correct).astype(int)
    v = np.where(rng.random(m) < alpha, c, 1 - c)
    cand = np.repeat(np.arange(m), repeats)
    eps = rng.standard_normal(m * repeats)
    s = loc + scale * (kappa * (2 * v[cand] - 1) + eps)
    return s, c[cand], cand


def records(name, alpha, kappa, m, seed, task="mmmu", loc=0.0, scale=1.0):
    """JSONL records of m candidates (4 per question) of V(alpha, kappa)."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 2, m)
    v = np.where(rng.random(m) < alpha, c, 1 - c)
    s = loc + scale * (kappa * (2 * v - 1) + rng.standard_normal(m))
    return [
        {
            "question_id": f"q{i // 4}",
            "candidate_id": i % 4,
            "score": float(s[i]),
            "label": int(c[i]),
            "verifier": name,
            "task": task,
        }
        for i in range(m)
    ]


def run_audit(capsys, *argv):
    """``selfdpo audit ARGV``: (exit code, stdout, stderr); argparse's exit is a code too."""
    try:
        rc = (main or _audit_main)(["audit", *map(str, argv)])
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


def strict_json(text):
    """Parse JSON rejecting NaN / Infinity (not JSON, though Python's json emits them)."""

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def write_jsonl(path, recs, extra_lines=()):
    """Write records as JSONL, with raw ``(position, text)`` lines inserted."""
    lines = [json.dumps(r) for r in recs]
    for pos, text in extra_lines:
        lines.insert(pos, text)
    path.write_text("\n".join(lines) + "\n")
    return path
