"""Tasks: MathVista testmini, MMMU validation, BLINK val (local copies) and a synthetic task.

Every task is a list of ``Question`` records with an exact rubric ``rubric(question, response)``
(THEORY.md's c(x, y)): a multiple-choice letter, a number within a tolerance, or a normalised
free-form string. Benchmarks are read from local copies only: a ``datasets.save_to_disk``
folder (needs ``datasets``), parquet files (needs ``pyarrow``), or JSON/JSONL records with image
paths relative to the file. Nothing is downloaded.

The synthetic task ("which colour appears most?") is generated in code from a seed with exact
labels: the CPU runs and tests use it.
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TASKS = ("mathvista", "mmmu", "blink", "synthetic")
LETTERS = string.ascii_uppercase
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 70, 220),
    "yellow": (230, 210, 40),
}
SYNTH_QUESTION = "Which colour appears most ?"


@dataclass
class Question:
    """One rubric-labelled question.

    Attributes:
        qid: stable id (verifier verdicts are frozen per (qid, answer)).
        prompt: the text shown to the student (choices included).
        images: PIL images.
        answer: the gold answer: a letter for multiple choice, else a number or a string.
        kind: "letter", "number" or "text".
        choices: option texts for multiple choice (letters A, B, ... in order).
        tolerance: absolute tolerance for "number" answers.
    """

    qid: str
    prompt: str
    images: list = field(default_factory=list)
    answer: str = ""
    kind: str = "letter"
    choices: list[str] | None = None
    tolerance: float = 1e-6


# ----------------------------------------------------------------------------- rubric matchers

_LETTER_PATTERNS = (
    r"^\(?([A-Z])\)?(?:[.:)\s]|$)",
    r"answer\s*(?:is)?\s*[:\-]?\s*\(?([A-Z])\)?\b",
    r"\(([A-Z])\)",
)


def extract_letter(response: str, n_choices: int = 26) -> str | None:
    """The option letter a response gives ("B", "(B)", "B. cat", "Answer: B"), or None."""
    text = response.strip()
    for pat in _LETTER_PATTERNS:
        m = re.search(pat, text, flags=re.IGNORECASE if "answer" in pat else 0)
        if m:
            letter = m.group(1).upper()
            if LETTERS.index(letter) < n_choices:
                return letter
    return None


_NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+"


def extract_number(response: str) -> float | None:
    """The last number in a response ("x = 3.5" -> 3.5; "1,200" -> 1200), or None."""
    found = re.findall(_NUM, response)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def normalise_text(text: str) -> str:
    """Lowercase, drop punctuation, articles and extra spaces (SQuAD-style normalisation)."""
    text = text.lower().strip()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def match_letter(response: str, answer: str, choices: Sequence[str] | None = None) -> bool:
    """Multiple-choice rubric: the response's letter (or the exact option text) is the answer."""
    n = len(choices) if choices else 26
    letter = extract_letter(response, n)
    if letter is not None:
        return letter == answer.strip().strip("()").upper()
    if choices:
        k = LETTERS.index(answer.strip().strip("()").upper())
        return k < len(choices) and normalise_text(response) == normalise_text(choices[k])
    return False


def match_number(response: str, answer: str | float, tolerance: float = 1e-6) -> bool:
    """Numeric rubric: the response's last number is within ``tolerance`` of the answer."""
    got = extract_number(response)
    try:
        want = float(str(answer).replace(",", ""))
    except ValueError:
        return False
    return got is not None and math.isfinite(got) and abs(got - want) <= tolerance


def match_text(response: str, answer: str) -> bool:
    """Free-form rubric: equal after normalisation."""
    return normalise_text(response) == normalise_text(answer)


def rubric(question: Question, response: str) -> bool:
    """c(x, y): is ``response`` correct for ``question`` under its benchmark's rubric."""
    if question.kind == "letter":
        return match_letter(response, question.answer, question.choices)
    if question.kind == "number":
        return match_number(response, question.answer, question.tolerance)
    return match_text(response, question.answer)


def format_choices(question: str, choices: Sequence[str]) -> str:
    """Question text with lettered options and the answer instruction."""
    opts = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))
    return f"{question}\n{opts}\nAnswer with the option's letter."


# ----------------------------------------------------------------------------- synthetic task


def synthetic_image(
    answer: str, distractors: Sequence[str], rng: np.random.Generator, size: int = 56
):
    """A noisy grey image with a big square of ``answer``'s colour (a quarter of the image) and
    one small square (1/49 of it) per distractor colour: ``answer`` covers the most area."""
    from PIL import Image

    img = rng.integers(100, 156, size=(size, size, 3)).astype(np.uint8)
    big, small = size // 2, max(2, size // 7)
    y, x = rng.integers(0, size - big + 1, size=2)
    img[y : y + big, x : x + big] = COLOURS[answer]
    for name in distractors:
        y, x = rng.integers(0, size - small + 1, size=2)
        img[y : y + small, x : x + small] = COLOURS[name]
    return Image.fromarray(img)


def synthetic_task(n: int, seed: int, *, split: str = "train", size: int = 56) -> list[Question]:
    """``n`` questions "which colour appears most?" with exact letter labels.

    The answer colour fills a quarter of the image; 1-3 other colours get one small square each
    (drawn after the big one, so they cover at most 3/16 of its area): the answer is the
    colour with the largest area, always. Options are the four colours in a fixed order.
    """
    rng = np.random.default_rng([seed, sum(map(ord, split))])
    names = list(COLOURS)
    prompt = SYNTH_QUESTION + " " + " ".join(f"{LETTERS[k]} {c}" for k, c in enumerate(names))
    out = []
    for i in range(n):
        ans = int(rng.integers(len(names)))
        others = [names[k] for k in range(len(names)) if k != ans]
        dis = list(rng.choice(others, size=int(rng.integers(1, 4)), replace=False))
        img = synthetic_image(names[ans], dis, rng, size)
        out.append(
            Question(f"{split}-{i}", prompt, [img], LETTERS[ans], "letter", list(names), 0.0)
        )
    return out


# ----------------------------------------------------------------------------- benchmarks


def _load_image(value: Any, root: Path):
    from PIL import Image

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "convert"):
        return value.convert("RGB")
    if isinstance(value, dict):
        if value.get("bytes"):
            return Image.open(io.BytesIO(value["bytes"])).convert("RGB")
        value = value.get("path")
        if value is None:
            return None
    if isinstance(value, (bytes, bytearray)):
        return Image.open(io.BytesIO(value)).convert("RGB")
    p = Path(value)
    p = p if p.is_absolute() else root / p
    if not p.is_file():
        raise FileNotFoundError(f"image not found: {p}")
    return Image.open(p).convert("RGB")


def read_records(path: str | Path) -> tuple[list[dict], Path]:
    """Records of a local benchmark copy and the folder image paths are relative to."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"--data not found: {p}")
    if p.is_file():
        files = [p]
    elif (p / "dataset_info.json").is_file() or (p / "state.json").is_file():
        try:
            import datasets
        except ImportError as exc:
            raise ValueError(
                f"{p} is a datasets.save_to_disk folder: reading it needs the 'datasets' "
                "package (pip install datasets)"
            ) from exc
        return [dict(r) for r in datasets.load_from_disk(str(p))], p
    else:
        files = sorted(
            [*p.rglob("*.parquet"), *p.rglob("*.jsonl"), *p.rglob("*.json")],
        )
        files = [f for f in files if f.name not in ("dataset_info.json", "state.json")]
        if not files:
            raise FileNotFoundError(f"no .parquet, .jsonl or .json records under --data {p}")
    records: list[dict] = []
    for f in files:
        if f.suffix == ".parquet":
            try:
                import pandas as pd

                frame = pd.read_parquet(f)
            except ImportError as exc:
                raise ValueError(
                    f"reading parquet ({f.name}) needs pandas with pyarrow: pip install pyarrow"
                ) from exc
            records.extend(frame.to_dict("records"))
        elif f.suffix == ".jsonl":
            for k, line in enumerate(f.read_text().splitlines(), 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{f}:{k}: malformed JSON line") from exc
        else:
            obj = json.loads(f.read_text())
            records.extend(obj if isinstance(obj, list) else list(obj.values()))
    root = p if p.is_dir() else p.parent
    return records, root


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


def _mathvista(r: dict, root: Path) -> Question:
    choices = _as_list(r.get("choices"))
    img = _load_image(r.get("decoded_image") or r.get("image"), root)
    q = str(r.get("question", ""))
    if r.get("question_type") == "multi_choice" and choices:
        ans = str(r["answer"])
        k = [normalise_text(c) for c in choices].index(normalise_text(ans))
        return Question(
            str(r["pid"]), format_choices(q, choices), [img], LETTERS[k], "letter", choices
        )
    atype = r.get("answer_type", "text")
    if atype in ("integer", "float"):
        prec = r.get("precision")
        prec = 0 if prec is None or (isinstance(prec, float) and math.isnan(prec)) else int(prec)
        tol = 0.5 * 10.0 ** (-prec) if atype == "float" else 1e-6
        return Question(
            str(r["pid"]),
            q + "\nAnswer with a number.",
            [img],
            str(r["answer"]),
            "number",
            None,
            tol,
        )
    return Question(
        str(r["pid"]), q + "\nAnswer with a short phrase.", [img], str(r["answer"]), "text"
    )


def _images_numbered(r: dict, root: Path, upto: int) -> list:
    imgs = [_load_image(r.get(f"image_{k}"), root) for k in range(1, upto + 1)]
    return [i for i in imgs if i is not None]


def _mmmu(r: dict, root: Path) -> Question:
    imgs = _images_numbered(r, root, 7)
    q = re.sub(r"<image \d+>", "<image>", str(r.get("question", "")))
    choices = _as_list(r.get("options"))
    ans = str(r.get("answer", "")).strip()
    if r.get("question_type", "multiple-choice") == "multiple-choice" and choices:
        return Question(str(r["id"]), format_choices(q, choices), imgs, ans, "letter", choices)
    try:
        float(ans.replace(",", ""))
        return Question(
            str(r["id"]),
            q + "\nAnswer with a number.",
            imgs,
            ans,
            "number",
            None,
            1e-2 * max(1.0, abs(float(ans.replace(",", "")))),
        )
    except ValueError:
        return Question(str(r["id"]), q + "\nAnswer with a short phrase.", imgs, ans, "text")


def _blink(r: dict, root: Path) -> Question:
    imgs = _images_numbered(r, root, 4)
    choices = _as_list(r.get("choices")) or []
    ans = str(r.get("answer", "")).strip().strip("()")
    return Question(
        str(r.get("idx", r.get("id"))),
        format_choices(str(r.get("question", "")), choices),
        imgs,
        ans,
        "letter",
        choices,
    )


_PARSERS = {"mathvista": _mathvista, "mmmu": _mmmu, "blink": _blink}


def load_task(
    task: str, data: str | Path | None, *, n: int = 256, seed: int = 0, split: str = "train"
) -> list[Question]:
    """The questions of ``task``: a benchmark read from ``data`` or the synthetic task."""
    if task not in TASKS:
        raise ValueError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    if task == "synthetic":
        return synthetic_task(n, seed, split=split)
    if data is None:
        raise ValueError(f"--data is required for --task {task}")
    records, root = read_records(data)
    out = []
    for k, r in enumerate(records):
        try:
            out.append(_PARSERS[task](r, root))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"--data record {k} is not a {task} record: {exc}") from exc
    if not out:
        raise ValueError(f"--data {data} holds no records")
    return out
