"""Reading a verifier's scores (JSONL) into per-(verifier, task) groups of candidates."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from empirical.audit.containers import ScoreGroup
from theory.util import UsageError

__all__ = ["load_scores"]

_REQUIRED = ("question_id", "candidate_id", "score", "label")
_DEFAULT_NAME = "default"


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
            return f"{k} must be a string or an integer, got {json.dumps(v)}"
    for k in ("verifier", "task"):
        v = rec.get(k)
        if v is not None and not isinstance(v, str):
            return f"{k} must be a string, got {json.dumps(v)}"
    s = rec["score"]
    if isinstance(s, bool) or not isinstance(s, (int, float)):
        return f"score must be a number, got {json.dumps(s)}"
    if not math.isfinite(s):
        return f"score must be finite, got {s}"
    lab = rec["label"]
    if isinstance(lab, bool) or not isinstance(lab, (int, float)) or lab not in (0, 1):
        return f"label must be 0 or 1, got {json.dumps(lab)}"
    return None


def _records_from_lines(lines: Iterable[str], name: str, skip_bad: bool):
    """Parse lines into columns; the loop stays lean, checks that can be vectorised come later."""
    loads = json.loads
    raw_decode = json.JSONDecoder().raw_decode
    isfinite = math.isfinite
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
                and isfinite(s)
                and (type(q) is str or type(q) is int)
                and (type(c) is str or type(c) is int)
                and type(v) is str
                and type(tk) is str
                and (end == len(line) or line[end:].isspace())
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            if not line.strip():
                continue
            try:
                rec = loads(line)
                why = _check_record(rec)
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


def _groups_from_columns(cols: dict, name: str, skip_bad: bool) -> tuple[list[ScoreGroup], int]:
    """Pool scores per candidate, check label consistency and group sizes (vectorised)."""
    n_bad = cols["n_bad"]
    c_idx, score, label, line = cols["c_idx"], cols["score"], cols["label"], cols["line"]
    cand_group, cand_q = cols["cand_group"], cols["cand_q"]
    k = cand_group.shape[0]
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
        groups.append(
            ScoreGroup(
                verifier=v,
                task=tk,
                label=clab[idx],
                n_rep=n_rep[idx],
                s1=s1[idx],
                s2=s2[idx],
                n_questions=int(np.unique(cand_q[idx]).shape[0]),
                first_line=int(cline[idx].min()),
            )
        )
    return groups, n_bad


def load_scores(
    path: str | os.PathLike, *, skip_bad: bool = False
) -> tuple[dict[tuple[str, str], ScoreGroup], int]:
    """Read a scores JSONL file into per-(verifier, task) groups.

    One record per scored candidate: ``question_id``, ``candidate_id``, ``score`` (finite
    number), ``label`` (0/1), optional ``verifier`` and ``task`` (default "default"). Repeated
    (question_id, candidate_id) records are repeated calls on one candidate and must share its
    label. Blank lines are ignored.

    Args:
        path: the JSONL file.
        skip_bad: continue past bad lines (and groups with fewer than 2 candidates) and count
            them, instead of raising on the first.

    Returns:
        ``(groups, n_bad)``: groups keyed by (verifier, task) in order of first appearance, and
        the number of skipped lines.

    Raises:
        UsageError: a bad line (one line naming the line number and problem), an empty file, or
            no valid record left; FileNotFoundError / IsADirectoryError for a bad path.
    """
    name = str(path)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{name}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{name}: is a directory, expected a JSONL file")
    with open(p, encoding="utf-8", errors="strict") as fh:
        try:
            cols = _records_from_lines(fh, name, skip_bad)
        except UnicodeDecodeError as exc:
            raise UsageError(f"{name}: not UTF-8 text ({exc.reason})") from None
    if cols["score"].shape[0] == 0 and cols["n_bad"] == 0:
        raise UsageError(f"{name}: no records (empty file)")
    groups, n_bad = _groups_from_columns(cols, name, skip_bad)
    if not groups:
        raise UsageError(
            f"{name}: no valid records left after skipping {n_bad} bad line(s); first: "
            f"{cols['first_bad'] or 'groups with fewer than 2 candidates'}"
        )
    return {(g.verifier, g.task): g for g in groups}, n_bad
