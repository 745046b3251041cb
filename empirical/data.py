"""Tasks: MathVista, MMMU, BLINK (local copies, one split at a time) and a synthetic task.

Every task is a list of ``Question`` records with an exact rubric ``rubric(question, response)``
(THEORY.md's c(x, y), ``empirical.rubric``). Benchmarks are read by ``empirical.benchmarks`` from
local copies laid out as they ship. Nothing is downloaded.

The synthetic task ("which colour appears most?") is generated in code from a seed with exact
labels: the CPU runs and tests use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from empirical.benchmarks import format_choices, load_benchmark
from empirical.rubric import (
    LETTERS,
    Question,
    extract_letter,
    extract_number,
    match_letter,
    match_number,
    match_text,
    normalise_text,
    rubric,
)

__all__ = [
    "COLOURS",
    "LETTERS",
    "SYNTH_QUESTION",
    "TASKS",
    "Question",
    "extract_letter",
    "extract_number",
    "format_choices",
    "load_task",
    "match_letter",
    "match_number",
    "match_text",
    "normalise_text",
    "rubric",
    "synthetic_image",
    "synthetic_task",
]

TASKS = ("mathvista", "mmmu", "blink", "synthetic")
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 70, 220),
    "yellow": (230, 210, 40),
}
SYNTH_QUESTION = "Which colour appears most ?"


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


def load_task(
    task: str,
    data: str | Path | None,
    *,
    n: int = 256,
    seed: int = 0,
    split: str | None = None,
) -> list[Question]:
    """The questions of ``task``: one split of a local benchmark copy, or the synthetic task.

    For a benchmark, ``split`` names the split to read (required when ``data`` holds several);
    records whose answer is hidden are skipped (``empirical.benchmarks``).
    """
    if task not in TASKS:
        raise ValueError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    if task == "synthetic":
        return synthetic_task(n, seed, split=split or "train")
    if data is None:
        raise ValueError(f"--data is required for --task {task}")
    return load_benchmark(task, data, split).questions
