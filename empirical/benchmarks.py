"""Benchmarks read from local copies laid out as they ship, one split at a time.

Layouts (Hugging Face hub copies): MathVista ``data/{testmini,test}-*.parquet``; MMMU
``<Subject>/{dev,validation,test}-*.parquet``; BLINK ``<Subtask>/{val,test}-*.parquet``; a
``datasets.save_to_disk`` folder (a DatasetDict's split folders, or one Dataset); or JSON/JSONL
records with image paths relative to the data folder. A file's split is the prefix of its name
before the first "-" ("testmini-00000-of-00001.parquet" -> testmini), else a parent folder named
like a split, else "all"; its subject is the folder between the data root and the file (not a
split name, not "data"). Records whose answer is hidden ("" or "?", the test splits) are skipped
and counted, never trained or evaluated on. Image paths must stay inside the data folder.
Nothing is downloaded.
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from empirical.rubric import LETTERS, Question, normalise_text

__all__ = [
    "BENCHMARKS",
    "SPLIT_NAMES",
    "BenchmarkData",
    "detect_task",
    "discover",
    "load_benchmark",
    "summarise",
]

BENCHMARKS = ("mathvista", "mmmu", "blink")
SPLIT_NAMES = ("train", "dev", "val", "validation", "test", "testmini")
HIDDEN_ANSWERS = ("", "?")


@dataclass
class BenchmarkData:
    """Questions of one split, and what was skipped."""

    task: str
    split: str
    questions: list[Question]
    hidden: int = 0
    by_subject: Counter = field(default_factory=Counter)
    by_type: Counter = field(default_factory=Counter)


def _split_of(f: Path, root: Path) -> str:
    head = f.name.split("-")[0].split(".")[0]
    if head in SPLIT_NAMES:
        return head
    for part in f.relative_to(root).parts[:-1]:
        if part in SPLIT_NAMES:
            return part
    return "all"


def _subject_of(f: Path, root: Path) -> str:
    parts = [p for p in f.relative_to(root).parts[:-1] if p not in SPLIT_NAMES and p != "data"]
    return "/".join(parts)


def _is_saved_dataset(p: Path) -> bool:
    names = ("dataset_dict.json", "dataset_info.json", "state.json")
    return p.is_dir() and any((p / n).is_file() for n in names)


def discover(data: str | Path) -> dict[str, list[tuple[Path, str]]]:
    """split -> [(record file, subject)] of a local copy (a file, a folder, a saved dataset)."""
    p = Path(data)
    if not p.exists():
        raise FileNotFoundError(f"--data not found: {p}")
    if p.is_file():
        return {_split_of(p, p.parent): [(p, "")]}
    if _is_saved_dataset(p):
        if (p / "dataset_dict.json").is_file():
            splits = json.loads((p / "dataset_dict.json").read_text())["splits"]
            return {s: [(p / s, "")] for s in splits}
        return {_split_of(p, p.parent): [(p, "")]}
    files = sorted(
        f
        for ext in ("*.parquet", "*.jsonl", "*.json")
        for f in p.rglob(ext)
        if f.name not in ("dataset_info.json", "state.json", "dataset_dict.json")
    )
    out: dict[str, list[tuple[Path, str]]] = {}
    for f in files:
        out.setdefault(_split_of(f, p), []).append((f, _subject_of(f, p)))
    if not out:
        raise FileNotFoundError(f"no .parquet, .jsonl, .json or saved dataset under --data {p}")
    return out


def choose_split(found: dict[str, list], split: str | None, data: str | Path) -> str:
    """The split to read: ``split`` if given (and present), the only one otherwise."""
    if split is not None:
        if split not in found:
            raise ValueError(
                f"--split {split} not in --data {data} (it holds: {', '.join(sorted(found))})"
            )
        return split
    if len(found) > 1:
        raise ValueError(
            f"--data {data} holds several splits ({', '.join(sorted(found))}): pass --split"
        )
    return next(iter(found))


def _read_file(f: Path) -> list[dict]:
    """The records of one file, each a JSON object (a dict), or ValueError naming the file."""
    recs = _read_any(f)
    for k, r in enumerate(recs, 1):
        if not isinstance(r, dict):
            raise ValueError(f"{f}: record {k} is not a JSON object (got {type(r).__name__})")
    return recs


def _read_any(f: Path) -> list:
    if f.is_dir():  # a saved Dataset
        try:
            import datasets
        except ImportError as exc:
            raise ValueError(
                f"{f} is a datasets.save_to_disk folder: reading it needs 'datasets'"
            ) from exc
        return [dict(r) for r in datasets.load_from_disk(str(f))]
    if f.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ValueError(f"reading parquet ({f.name}) needs pyarrow") from exc
        try:
            return pq.read_table(f).to_pylist()
        except Exception as exc:  # pyarrow raises its own error types
            raise ValueError(f"{f}: not a readable parquet file ({exc})") from exc
    if f.suffix == ".jsonl":
        out = []
        for k, line in enumerate(f.read_text().splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{f}:{k}: malformed JSON line") from exc
        return out
    try:
        obj = json.loads(f.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{f}: malformed JSON") from exc
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict):
        return list(obj.values())
    raise ValueError(f"{f}: holds a JSON {type(obj).__name__}, not a list of records")


def detect_task(record: dict) -> str:
    """The benchmark a record's fields belong to."""
    if "pid" in record:
        return "mathvista"
    if "sub_task" in record or "idx" in record:
        return "blink"
    if "options" in record:
        return "mmmu"
    raise ValueError(f"cannot tell the benchmark from the record's fields {sorted(record)}")


# ----- images ---------------------------------------------------------------------------------


def _image_path(value: Any, root: Path) -> Path:
    p = Path(value)
    full = (p if p.is_absolute() else root / p).resolve()
    if not full.is_relative_to(root.resolve()):
        raise ValueError(f"image path {value!r} leaves the data folder {root}")
    return full


def image_status(value: Any, root: Path) -> str | None:
    """'found', 'missing' or None (no image) without decoding it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dict):
        if value.get("bytes"):
            return "found"
        value = value.get("path")
        if not value:
            return None
    if isinstance(value, (bytes, bytearray)) or hasattr(value, "convert"):
        return "found"
    return "found" if _image_path(value, root).is_file() else "missing"


def load_image(value: Any, root: Path):
    """A PIL RGB image from a record's image field (bytes, {bytes, path}, path, PIL), or None."""
    from PIL import Image

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "convert"):
        return value.convert("RGB")
    if isinstance(value, dict):
        if value.get("bytes"):
            return Image.open(io.BytesIO(value["bytes"])).convert("RGB")
        value = value.get("path")
        if not value:
            return None
    if isinstance(value, (bytes, bytearray)):
        return Image.open(io.BytesIO(value)).convert("RGB")
    p = _image_path(value, root)
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    return Image.open(p).convert("RGB")


def _image_fields(task: str, r: dict) -> list[Any]:
    if task == "mathvista":
        return [r.get("decoded_image") or r.get("image")]
    return [r.get(f"image_{k}") for k in range(1, 8 if task == "mmmu" else 5)]


# ----- records -> questions -------------------------------------------------------------------


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return [value]
    try:
        out = [str(v) for v in list(value)]
    except TypeError:
        return None
    return out or None


def format_choices(question: str, choices: list[str]) -> str:
    """Question text with lettered options and the answer instruction."""
    opts = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))
    return f"{question}\nOptions:\n{opts}\nAnswer with the option's letter."


def _mathvista(r: dict, imgs: list, subject: str) -> Question:
    choices = _as_list(r.get("choices"))
    q = str(r.get("question", ""))
    pid = str(r["pid"])
    if r.get("question_type") == "multi_choice" and choices:
        norm = [normalise_text(c) for c in choices]
        ans = normalise_text(str(r["answer"]))
        if ans not in norm:
            raise ValueError(f"answer {r['answer']!r} is not one of the choices")
        k = norm.index(ans)
        return Question(pid, format_choices(q, choices), imgs, LETTERS[k], "letter", choices)
    atype = r.get("answer_type", "text")
    if atype in ("integer", "float"):
        prec = r.get("precision")
        prec = 0 if prec is None or (isinstance(prec, float) and math.isnan(prec)) else int(prec)
        tol = 0.5 * 10.0 ** (-prec) if atype == "float" else 1e-6
        unit = f" (unit: {r['unit']})" if r.get("unit") else ""
        text = q + unit + "\nAnswer with a number."
        return Question(pid, text, imgs, str(r["answer"]), "number", None, tol, subject)
    text = q + "\nAnswer with a short phrase."
    return Question(pid, text, imgs, str(r["answer"]), "text", subject=subject)


def _mmmu(r: dict, imgs: list, subject: str) -> Question:
    q = re.sub(r"<image \d+>", "<image>", str(r.get("question", "")))
    choices = _as_list(r.get("options"))
    ans = str(r.get("answer", "")).strip()
    qid = str(r["id"])
    if r.get("question_type", "multiple-choice") == "multiple-choice" and choices:
        ans = ans.strip("()").upper()
        if len(ans) != 1 or ans not in LETTERS[: len(choices)]:
            raise ValueError(f"answer {r.get('answer')!r} is not an option letter")
        return Question(qid, format_choices(q, choices), imgs, ans, "letter", choices, 0, subject)
    try:
        val = float(ans.replace(",", ""))
    except ValueError:
        text = q + "\nAnswer with a short phrase."
        return Question(qid, text, imgs, ans, "text", subject=subject)
    tol = 1e-2 * max(1.0, abs(val))
    text = q + "\nAnswer with a number."
    return Question(qid, text, imgs, ans, "number", None, tol, subject)


def _blink(r: dict, imgs: list, subject: str) -> Question:
    choices = _as_list(r.get("choices")) or []
    ans = str(r.get("answer", "")).strip().strip("()").upper()
    if len(ans) != 1 or ans not in LETTERS[: len(choices)]:
        raise ValueError(f"answer {r.get('answer')!r} is not an option letter")
    qid = str(r.get("idx", r.get("id")))
    subject = subject or str(r.get("sub_task", ""))
    text = format_choices(str(r.get("question", "")), choices)
    return Question(qid, text, imgs, ans, "letter", choices, 0, subject)


_PARSERS = {"mathvista": _mathvista, "mmmu": _mmmu, "blink": _blink}


def _question_type(task: str, r: dict) -> str:
    if task == "blink":
        return "multiple-choice"
    return str(r.get("question_type") or "unknown")


def _hidden(r: dict) -> bool:
    a = r.get("answer")
    return a is None or (isinstance(a, float) and math.isnan(a)) or str(a).strip() in HIDDEN_ANSWERS


def _records(found: dict, split: str) -> Iterable[tuple[dict, str, Path]]:
    for f, subject in found[split]:
        for r in _read_file(f):
            yield r, subject, f


def _root(data: Path) -> Path:
    return data if data.is_dir() else data.parent


def summarise(data: str | Path, split: str | None = None, task: str | None = None) -> dict:
    """What ``load_benchmark`` would load, without decoding images or loading a model."""
    data = Path(data)
    found = discover(data)
    chosen = choose_split(found, split, data)
    root = _root(data)
    per_split = {s: sum(1 for f, _ in v for _ in _read_file(f)) for s, v in sorted(found.items())}
    subj, qtype, images = Counter(), Counter(), Counter()
    hidden = total = 0
    for r, subject, _ in _records(found, chosen):
        task = task or detect_task(r)
        total += 1
        if _hidden(r):
            hidden += 1
            continue
        subj[subject or str(r.get("sub_task") or r.get("subject") or "")] += 1
        qtype[_question_type(task, r)] += 1
        for v in _image_fields(task, r):
            st = image_status(v, root)
            if st is not None:
                images[st] += 1
    return {
        "data": str(data),
        "task": task,
        "splits": per_split,
        "split": chosen,
        "records": total,
        "hidden_answers": hidden,
        "usable": total - hidden,
        "by_subject": dict(sorted(subj.items())),
        "by_question_type": dict(sorted(qtype.items())),
        "images": {"found": images["found"], "missing": images["missing"]},
    }


def load_benchmark(
    task: str | None, data: str | Path, split: str | None = None, *, limit: int | None = None
) -> BenchmarkData:
    """The questions of one split of a local benchmark copy (hidden answers skipped)."""
    data = Path(data)
    found = discover(data)
    chosen = choose_split(found, split, data)
    root = _root(data)
    out = BenchmarkData(task or "", chosen, [])
    for k, (r, subject, f) in enumerate(_records(found, chosen)):
        if limit is not None and len(out.questions) >= limit:
            break
        t = task or detect_task(r)
        if task is not None and t not in _PARSERS:
            raise ValueError(f"--task must be one of {', '.join(BENCHMARKS)}, got {t!r}")
        out.task = t
        if _hidden(r):
            out.hidden += 1
            continue
        try:
            imgs = [load_image(v, root) for v in _image_fields(t, r)]
        except OSError as exc:  # missing or undecodable image (PIL raises OSError subclasses)
            raise ValueError(f"{f.name} record {k}: unreadable image ({exc})") from exc
        try:
            q = _PARSERS[t](r, [i for i in imgs if i is not None], subject)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{f.name} record {k} is not a {t} record: {exc}") from exc
        out.questions.append(q)
        out.by_subject[q.subject] += 1
        out.by_type[_question_type(t, r)] += 1
    if not out.questions:
        raise ValueError(
            f"--data {data} split {chosen} holds no record with an answer "
            f"({out.hidden} hidden-answer records)"
        )
    return out
