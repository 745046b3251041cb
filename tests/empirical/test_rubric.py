"""Benchmark rubrics c(x, y) (letters, numbers with tolerance, normalised text), the synthetic
task's exact labels and the local-copy loaders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from empirical.data import (
    COLOURS,
    Question,
    extract_letter,
    extract_number,
    load_task,
    match_letter,
    match_number,
    match_text,
    normalise_text,
    rubric,
    synthetic_task,
)


@pytest.mark.parametrize(
    "resp, want",
    [
        ("B", "B"),
        ("(C)", "C"),
        ("D. a cat", "D"),
        ("The answer is A", "A"),
        ("answer: (b)", "B"),
        ("A <|im_end|>", "A"),
        ("cat", None),
        ("", None),
    ],
)
def test_extract_letter(resp, want):
    assert extract_letter(resp, 4) == want


def test_letter_out_of_range_and_option_text():
    assert extract_letter("E", 4) is None
    assert match_letter("B", "B", ["x", "y"])
    assert match_letter("(B)", "(B)", ["x", "y"])
    assert not match_letter("A", "B", ["x", "y"])
    assert match_letter("Z", "B", ["x", "y"]) is False  # a letter that is not an option
    assert match_letter("the y", "B", ["x", "y"])  # exact option text, normalised


@pytest.mark.parametrize(
    "resp, ans, tol, ok",
    [
        ("3.5", "3.5", 1e-6, True),
        ("x = 3.49", "3.5", 0.05, True),
        ("3.4", "3.5", 0.05, False),
        ("1,200 apples", "1200", 1e-6, True),
        ("no number", "2", 1.0, False),
        ("-2", "2", 0.1, False),
        ("2e3", "2000", 1e-6, True),
    ],
)
def test_match_number(resp, ans, tol, ok):
    assert match_number(resp, ans, tol) is ok


def test_extract_number_takes_last():
    assert extract_number("from 2 to 7.25") == 7.25
    assert extract_number("none") is None


def test_normalise_text():
    assert normalise_text("  The Red, Square! ") == "red square"
    assert match_text("a triangle.", "Triangle")
    assert not match_text("triangles", "triangle")


def test_rubric_dispatch():
    q = Question("q", "p", [], "2.5", "number", None, 0.01)
    assert rubric(q, "2.505") and not rubric(q, "2.6")
    assert rubric(Question("q", "p", [], "Paris", "text"), "paris.")


def test_synthetic_labels_exact_and_reproducible():
    qs = synthetic_task(200, 3)
    again = synthetic_task(200, 3)
    other = synthetic_task(200, 3, split="heldout")
    assert [q.answer for q in qs] == [q.answer for q in again]
    assert [q.qid for q in qs] != [q.qid for q in other]
    assert np.array_equal(np.asarray(qs[0].images[0]), np.asarray(again[0].images[0]))
    names = list(COLOURS)
    agree = 0
    for q in qs:
        assert q.kind == "letter" and q.choices == names
        assert rubric(q, q.answer) and sum(rubric(q, L) for L in "ABCD") == 1
        img = np.asarray(q.images[0]).reshape(-1, 3)
        area = [np.all(img == COLOURS[c], axis=1).sum() for c in names]
        assert area[names.index(q.choices["ABCD".index(q.answer)])] > 0
        agree += int(np.argmax(area) == "ABCD".index(q.answer))
    # the label counts squares; overlaps can hide area, so pixel majority agrees on most images
    assert agree / len(qs) > 0.75
    counts = np.bincount(["ABCD".index(q.answer) for q in qs], minlength=4)
    assert counts.min() > 25  # every colour is an answer


def _png(path, rgb):
    from PIL import Image

    Image.fromarray(np.full((8, 8, 3), rgb, np.uint8)).save(path)


def test_benchmark_loaders_from_local_jsonl(tmp_path):
    _png(tmp_path / "a.png", (255, 0, 0))
    mv = [
        {
            "pid": "1",
            "question": "Which?",
            "image": "a.png",
            "choices": ["cat", "dog"],
            "answer": "dog",
            "question_type": "multi_choice",
            "answer_type": "text",
        },
        {
            "pid": "2",
            "question": "How long?",
            "image": "a.png",
            "choices": None,
            "answer": "1.5",
            "question_type": "free_form",
            "answer_type": "float",
            "precision": 1,
        },
    ]
    (tmp_path / "mv.jsonl").write_text("".join(json.dumps(r) + "\n" for r in mv))
    q = load_task("mathvista", tmp_path / "mv.jsonl")
    assert q[0].answer == "B" and rubric(q[0], "B") and rubric(q[0], "dog")
    assert rubric(q[1], "1.54") and not rubric(q[1], "1.6")
    assert q[0].images[0].size == (8, 8)
    mm = [
        {
            "id": "v1",
            "question": "<image 1> Pick",
            "options": "['x', 'y', 'z']",
            "answer": "C",
            "question_type": "multiple-choice",
            "image_1": "a.png",
        }
    ]
    (tmp_path / "mm.jsonl").write_text(json.dumps(mm[0]) + "\n")
    q = load_task("mmmu", tmp_path / "mm.jsonl")
    assert q[0].choices == ["x", "y", "z"] and rubric(q[0], "(C)") and len(q[0].images) == 1
    bl = {
        "idx": "b1",
        "question": "Same?",
        "choices": ["yes", "no"],
        "answer": "(B)",
        "image_1": "a.png",
        "image_2": "a.png",
    }
    (tmp_path / "bl.jsonl").write_text(json.dumps(bl) + "\n")
    q = load_task("blink", tmp_path / "bl.jsonl")
    assert q[0].answer == "B" and len(q[0].images) == 2 and rubric(q[0], "B")


def test_loader_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="--data not found"):
        load_task("mmmu", tmp_path / "missing")
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pyarrow"):
            load_task("mmmu", tmp_path)
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(ValueError, match="malformed"):
        load_task("blink", tmp_path / "bad.jsonl")
    with pytest.raises(ValueError, match="--task"):
        load_task("imagenet", tmp_path)
