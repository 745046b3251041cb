"""Reading a verifier's scores (JSONL, plain or gzip) into per-(verifier, task) groups.

Bounded and strict: a score is a finite number within +-1e100 (so sums of squares stay finite),
a line nested too deeply or malformed is named with its number, a UTF-8 byte-order mark is
accepted, gzip input is read directly (recognised by its magic bytes), other compressions and
non-regular files (devices, pipes) are refused before reading, and exact duplicate lines are
counted once and reported.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from empirical.audit.containers import ScoreGroup
from theory.util import UsageError

__all__ = ["MAX_GROUPS", "SCORE_MAX", "ScoresFile", "load_scores"]

_REQUIRED = ("question_id", "candidate_id", "score", "label")
_DEFAULT_NAME = "default"
SCORE_MAX = 1e100  # |score| bound: squares and their sums over any file stay finite
MAX_GROUPS = 1000  # (verifier, task) groups per run: each is a fit and 25-49 theory calls
_SHOW = 60  # characters of an offending value quoted in a message

# Leading bytes of compressed formats: gzip is read, the others are named and refused.
_GZIP_MAGIC = b"\x1f\x8b"
_OTHER_MAGIC = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


@dataclass(frozen=True)
class ScoresFile:
    """What :func:`load_scores` read.

    Attributes:
        groups: per-(verifier, task) groups in order of first appearance.
        n_bad: lines skipped as bad (``skip_bad``), including groups of fewer than 2 candidates.
        first_bad: the message of the first skipped line ("" if none).
        n_duplicates: exact duplicate lines (same verifier, task, question, candidate, score
            and label as an earlier line), counted once.
        first_duplicate: "line X repeats line Y" for the first duplicate ("" if none).
        compression: "gzip" or None.
    """

    groups: dict[tuple[str, str], ScoreGroup]
    n_bad: int = 0
    first_bad: str = ""
    n_duplicates: int = 0
    first_duplicate: str = ""
    compression: str | None = None


def _show(v: Any) -> str:
    """A value as JSON, cut to a readable length for a one-line message."""
    try:
        text = json.dumps(v)
    except (ValueError, RecursionError):
        text = repr(type(v).__name__)
    return text if len(text) <= _SHOW else f"{text[: _SHOW - 3]}..."


def _check_record(rec: Any) -> str | None:
    """Why a parsed line is not a valid record (None when it is)."""
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {type(rec).__name__}"
    for k in _REQUIRED:
        if k not in rec:
            return f"missing field {k!r}"
    for k in ("question_id", "candidate_id"):
        v = rec[k]
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            return f"{k} must be a string or an integer, got {_show(v)}"
    for k in ("verifier", "task"):
        v = rec.get(k)
        if v is not None and not isinstance(v, str):
            return f"{k} must be a string, got {_show(v)}"
    s = rec["score"]
    if isinstance(s, bool) or not isinstance(s, (int, float)):
        return f"score must be a number, got {_show(s)}"
    if isinstance(s, float) and not math.isfinite(s):
        return f"score must be finite, got {s}"
    if not -SCORE_MAX <= s <= SCORE_MAX:  # exact for ints of any size (no float conversion)
        return f"score {_show(s)} is outside +-{SCORE_MAX:g}; rescale the scores"
    lab = rec["label"]
    if isinstance(lab, bool) or not isinstance(lab, (int, float)) or lab not in (0, 1):
        return f"label must be 0 or 1, got {_show(lab)}"
    return None


def _records_from_lines(lines: Iterable[str], name: str, skip_bad: bool):
    """Parse lines into columns; the loop stays lean, checks that can be vectorised come later."""
    loads = json.loads
    raw_decode = json.JSONDecoder().raw_decode
    cand: dict[tuple, int] = {}
    grp: dict[tuple[str, str], int] = {}
    ques: dict[tuple, int] = {}
    c_idx: list[int] = []
    scores: list[float] = []
    labels: list[int] = []
    line_no: list[int] = []
    cand_group: list[int] = []
    cand_q: list[int] = []
    cand_get = cand.get
    c_append, s_append, l_append, n_append = (
        c_idx.append,
        scores.append,
        labels.append,
        line_no.append,
    )
    n_bad = 0
    first_bad = ""
    n_lines = 0
    for i, line in enumerate(lines, 1):
        n_lines = i
        # Fast path: the decoder without json.loads' wrapper; anything unusual (leading
        # whitespace, blank line, trailing data, a bad field) goes to the careful path below.
        try:
            rec, end = raw_decode(line)
            q = rec["question_id"]
            c = rec["candidate_id"]
            s = rec["score"]
            lab = rec["label"]
            v = rec.get("verifier", _DEFAULT_NAME)
            tk = rec.get("task", _DEFAULT_NAME)
            ts, tl = type(s), type(lab)
            ok = (
                (ts is float or ts is int)
                and (tl is int or tl is float)
                and (lab == 0 or lab == 1)
                and -SCORE_MAX <= s <= SCORE_MAX
                and (type(q) is str or type(q) is int)
                and (type(c) is str or type(c) is int)
                and type(v) is str
                and type(tk) is str
                and (end == len(line) or line[end:].isspace())
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            ok = False
        if not ok:
            if not line.strip():
                continue
            try:
                rec = loads(line)
                why = _check_record(rec)
            except RecursionError:
                why = "malformed JSON (nested too deeply)"
            except ValueError as exc:
                why = f"malformed JSON ({getattr(exc, 'msg', exc)})"
            if why is None:
                q, c, s, lab = (rec[k] for k in _REQUIRED)
                v = rec.get("verifier")
                tk = rec.get("task")
                v = _DEFAULT_NAME if v is None else v
                tk = _DEFAULT_NAME if tk is None else tk
            else:
                msg = f"{name} line {i}: {why}"
                if not skip_bad:
                    raise UsageError(msg)
                n_bad += 1
                first_bad = first_bad or msg
                continue
        key = (v, tk, q, c)
        ci = cand_get(key)
        if ci is None:
            gk = (v, tk)
            g = grp.get(gk)
            if g is None:
                g = grp[gk] = len(grp)
            ci = cand[key] = len(cand_group)
            cand_group.append(g)
            qk = (g, q)
            qi = ques.get(qk)
            if qi is None:
                qi = ques[qk] = len(ques)
            cand_q.append(qi)
        c_append(ci)
        s_append(s)
        l_append(lab)
        n_append(i)
    return {
        "groups": list(grp),
        "c_idx": np.asarray(c_idx, dtype=np.int64),
        "score": np.asarray(scores, dtype=float),
        "label": np.asarray(labels, dtype=np.int8),
        "line": np.asarray(line_no, dtype=np.int64),
        "cand_group": np.asarray(cand_group, dtype=np.int64),
        "cand_q": np.asarray(cand_q, dtype=np.int64),
        "n_bad": n_bad,
        "first_bad": first_bad,
        "n_lines": n_lines,
    }


def _drop_duplicates(c_idx, score, line):
    """Rows to keep (first of each exact duplicate run), the number dropped, and an example."""
    o = np.lexsort((line, score, c_idx))
    same = (c_idx[o][1:] == c_idx[o][:-1]) & (score[o][1:] == score[o][:-1])
    keep = np.ones(c_idx.shape[0], dtype=bool)
    if not same.any():
        return keep, 0, ""
    keep[o[1:][same]] = False
    run_first = o[np.maximum.accumulate(np.where(np.r_[True, ~same], np.arange(o.shape[0]), 0))]
    dup = np.flatnonzero(np.r_[False, same])  # positions in o
    j = dup[np.argmin(line[o[dup]])]
    example = f"line {int(line[o[j]])} repeats line {int(line[run_first[j]])}"
    return keep, int(same.sum()), example


def _groups_from_columns(cols: dict, name: str, skip_bad: bool) -> ScoresFile:
    """Pool scores per candidate, check labels, duplicates and group sizes (vectorised)."""
    n_bad = cols["n_bad"]
    c_idx, score, label, line = cols["c_idx"], cols["score"], cols["label"], cols["line"]
    cand_group, cand_q = cols["cand_group"], cols["cand_q"]
    k = cand_group.shape[0]
    n_dup, first_dup = 0, ""
    if k:
        # First label given for each candidate; later scores must agree (frozen rubric label).
        first = np.full(k, -1, dtype=np.int64)
        first[c_idx[::-1]] = np.arange(c_idx.shape[0])[::-1]
        conflict = label != label[first][c_idx]
        if conflict.any():
            bad_rows = np.flatnonzero(conflict)
            if not skip_bad:
                j = int(bad_rows[0])
                raise UsageError(
                    f"{name} line {int(line[j])}: label {int(label[j])} conflicts with label "
                    f"{int(label[first[c_idx[j]]])} of the same candidate on line "
                    f"{int(line[first[c_idx[j]]])}"
                )
            n_bad += bad_rows.shape[0]
            keep = ~conflict
            c_idx, score, label, line = c_idx[keep], score[keep], label[keep], line[keep]
        # An exact duplicate is a copy, not a second call: a fresh call would add fresh noise.
        keep, n_dup, first_dup = _drop_duplicates(c_idx, score, line)
        if n_dup:
            c_idx, score, label, line = c_idx[keep], score[keep], label[keep], line[keep]
    n_rep = np.bincount(c_idx, minlength=k).astype(float)
    s1 = np.bincount(c_idx, weights=score, minlength=k)
    s2 = np.bincount(c_idx, weights=score**2, minlength=k)
    clab = np.zeros(k, dtype=np.int8)
    clab[c_idx] = label
    cline = np.zeros(k, dtype=np.int64)
    cline[c_idx[::-1]] = line[::-1]
    groups: list[ScoreGroup] = []
    order = np.argsort(cand_group, kind="stable")
    bounds = np.searchsorted(cand_group[order], np.arange(len(cols["groups"]) + 1))
    for g, (v, tk) in enumerate(cols["groups"]):
        idx = order[bounds[g] : bounds[g + 1]]
        idx = idx[n_rep[idx] > 0]
        if idx.shape[0] < 2:
            where = f" (line {int(cline[idx[0]])})" if idx.shape[0] else ""
            msg = (
                f"{name}: verifier {v!r} task {tk!r} has {idx.shape[0]} scored candidate(s)"
                f"{where}; need at least 2"
            )
            if not skip_bad:
                raise UsageError(msg)
            n_bad += int(n_rep[idx].sum())
            continue
        _, question = np.unique(cand_q[idx], return_inverse=True)
        groups.append(
            ScoreGroup(
                verifier=v,
                task=tk,
                label=clab[idx],
                n_rep=n_rep[idx],
                s1=s1[idx],
                s2=s2[idx],
                n_questions=int(question.max()) + 1,
                first_line=int(cline[idx].min()),
                question=question.astype(np.int64),
            )
        )
    if len(groups) > MAX_GROUPS:
        raise UsageError(
            f"{name}: {len(groups)} (verifier, task) groups; the audit fits at most "
            f"{MAX_GROUPS} per run (split the file)"
        )
    return ScoresFile(
        groups={(g.verifier, g.task): g for g in groups},
        n_bad=n_bad,
        first_bad=cols["first_bad"],
        n_duplicates=n_dup,
        first_duplicate=first_dup,
    )


def _open_text(p: Path, name: str) -> tuple[IO[str], str | None]:
    """Open a scores file as text (gzip by its magic bytes, a UTF-8 BOM accepted)."""
    if not p.exists():
        raise FileNotFoundError(f"{name}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{name}: is a directory, expected a JSONL file")
    if not p.is_file():
        raise UsageError(f"{name}: not a regular file (a device, pipe or socket); give a file")
    with open(p, "rb") as fh:
        head = fh.read(6)
    if head.startswith(_GZIP_MAGIC):
        raw: IO[bytes] = gzip.open(p, "rb")
        return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict"), "gzip"
    for magic, kind in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise UsageError(
                f"{name}: is {kind}-compressed; decompress it (gzip .jsonl.gz is read directly)"
            )
    return open(p, encoding="utf-8-sig", errors="strict"), None


def load_scores(path: str | os.PathLike, *, skip_bad: bool = False) -> ScoresFile:
    """Read a scores JSONL file (plain or gzip) into per-(verifier, task) groups.

    One record per scored candidate: ``question_id``, ``candidate_id``, ``score`` (finite
    number within +-1e100), ``label`` (0/1), optional ``verifier`` and ``task`` (default
    "default"). Repeated (question_id, candidate_id) records are repeated calls on one candidate
    and must share its label; an exact duplicate line (same score too) is a copy and is counted
    once. Blank lines and a UTF-8 byte-order mark are ignored.

    Args:
        path: the JSONL file (gzip-compressed files are recognised by their first bytes).
        skip_bad: continue past bad lines (and groups with fewer than 2 candidates) and count
            them, instead of raising on the first.

    Returns:
        The groups, with counts of skipped and duplicate lines (:class:`ScoresFile`).

    Raises:
        UsageError: a bad line (one line naming the line number and problem), an empty file, no
            valid record left, a refused file type, or too many groups; FileNotFoundError /
            IsADirectoryError for a bad path.
    """
    name = str(path)
    fh, compression = _open_text(Path(path), name)
    with fh:
        try:
            cols = _records_from_lines(fh, name, skip_bad)
        except UnicodeDecodeError as exc:
            what = "gzip content is" if compression else "is"
            raise UsageError(f"{name}: {what} not UTF-8 text ({exc.reason})") from None
        except (OSError, EOFError, zlib.error) as exc:
            raise UsageError(f"{name}: not a valid gzip file ({exc})") from None
    if cols["score"].shape[0] == 0 and cols["n_bad"] == 0:
        raise UsageError(f"{name}: no records (empty file)")
    out = _groups_from_columns(cols, name, skip_bad)
    if not out.groups:
        raise UsageError(
            f"{name}: no valid records left after skipping {out.n_bad} bad line(s); first: "
            f"{cols['first_bad'] or 'groups with fewer than 2 candidates'}"
        )
    return ScoresFile(
        groups=out.groups,
        n_bad=out.n_bad,
        first_bad=out.first_bad,
        n_duplicates=out.n_duplicates,
        first_duplicate=out.first_duplicate,
        compression=compression,
    )
