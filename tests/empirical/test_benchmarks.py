"""Benchmarks read as they ship (issue 13): MathVista data/{testmini,test}-*.parquet, MMMU
<Subject>/{dev,validation,test}-*.parquet, BLINK <Subtask>/{val,test}-*.parquet. Only the asked
split is read; hidden answers ("" or "?") are skipped and counted; several splits without
--split stop with one line and exit 2; image paths cannot leave the data folder; verbose
answers are read by the checkers."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from empirical.benchmarks import load_benchmark, summarise
from empirical.commands import main
from empirical.rubric import extract_letter, match_number

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _png(rgb=(255, 0, 0)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), rgb, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _img():
    return {"bytes": _png(), "path": "x.png"}


def mathvista(root):
    def row(i, answer):
        return {
            "pid": str(i),
            "question": "How many?" if i % 2 else "Which shape?",
            "decoded_image": _img(),
            "choices": None if i % 2 else ["circle", "square"],
            "answer": answer if answer is not None else ("3" if i % 2 else "square"),
            "question_type": "free_form" if i % 2 else "multi_choice",
            "answer_type": "integer" if i % 2 else "text",
            "precision": None,
            "unit": None,
        }

    _write(root / "data" / "testmini-00000-of-00001.parquet", [row(i, None) for i in range(6)])
    _write(root / "data" / "test-00000-of-00002.parquet", [row(i, "") for i in range(6, 10)])
    _write(root / "data" / "test-00001-of-00002.parquet", [row(i, "") for i in range(10, 12)])
    return root


def mmmu(root):
    def row(subj, split, i, answer):
        return {
            "id": f"{split}_{subj}_{i}",
            "question": "<image 1> Which?",
            "options": "['a', 'b', 'c']",
            "answer": answer,
            "question_type": "multiple-choice" if i else "open",
            "image_1": _img(),
            **{f"image_{k}": None for k in range(2, 8)},
        }

    for subj in ("Art", "Math"):
        _write(root / subj / "dev-00000-of-00001.parquet", [row(subj, "dev", 1, "B")])
        _write(
            root / subj / "validation-00000-of-00001.parquet",
            [row(subj, "validation", 0, "12"), row(subj, "validation", 1, "C")],
        )
        _write(
            root / subj / "test-00000-of-00001.parquet",
            [row(subj, "test", i, "?") for i in range(1, 4)],
        )
    return root


def blink(root):
    def row(task, split, i, answer):
        return {
            "idx": f"{task}_{split}_{i}",
            "question": "How many?",
            "sub_task": task,
            "choices": ["1", "2", "3"],
            "answer": answer,
            "image_1": _img(),
            "image_2": None,
            "image_3": None,
            "image_4": None,
        }

    for task in ("Counting", "Jigsaw"):
        _write(
            root / task / "val-00000-of-00001.parquet",
            [row(task, "val", i, "(B)") for i in range(2)],
        )
        _write(
            root / task / "test-00000-of-00001.parquet",
            [row(task, "test", i, "") for i in range(3)],
        )
    return root


def test_mathvista_testmini_only(tmp_path):
    root = mathvista(tmp_path / "MathVista")
    d = load_benchmark("mathvista", root, "testmini")
    assert len(d.questions) == 6 and d.hidden == 0 and d.split == "testmini"
    assert {q.qid for q in d.questions} == {str(i) for i in range(6)}
    mc = [q for q in d.questions if q.kind == "letter"]
    assert mc and all(q.answer == "B" for q in mc)
    assert all(len(q.images) == 1 for q in d.questions)
    with pytest.raises(ValueError, match="holds no record with an answer"):
        load_benchmark("mathvista", root, "test")  # every test answer is hidden
    with pytest.raises(ValueError, match="several splits"):
        load_benchmark("mathvista", root, None)


def test_mmmu_subjects_and_hidden_test_answers(tmp_path):
    root = mmmu(tmp_path / "MMMU")
    d = load_benchmark("mmmu", root, "validation")
    assert len(d.questions) == 4 and dict(d.by_subject) == {"Art": 2, "Math": 2}
    assert all(q.qid.startswith("validation_") for q in d.questions)
    assert sorted(q.kind for q in d.questions) == ["letter", "letter", "number", "number"]
    info = summarise(root, "test")
    assert info["task"] == "mmmu" and info["splits"] == {"dev": 2, "test": 6, "validation": 4}
    assert info["records"] == 6 and info["hidden_answers"] == 6 and info["usable"] == 0


def test_blink_subtasks_val(tmp_path):
    root = blink(tmp_path / "BLINK")
    d = load_benchmark(None, root, "val")
    assert d.task == "blink" and len(d.questions) == 4
    assert dict(d.by_subject) == {"Counting": 2, "Jigsaw": 2}
    assert all(q.answer == "B" for q in d.questions)


def test_data_command_json_and_split_required(tmp_path, capsys):
    root = mmmu(tmp_path / "MMMU")
    assert main(["empirical", "data", "--data", str(root), "--split", "validation", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["split"] == "validation" and info["usable"] == 4 and info["hidden_answers"] == 0
    assert info["by_subject"] == {"Art": 2, "Math": 2}
    assert info["by_question_type"] == {"multiple-choice": 2, "open": 2}
    assert info["images"] == {"found": 4, "missing": 0}
    assert main(["empirical", "data", "--data", str(root), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "several splits" in err and "--split" in err
    assert main(["empirical", "data", "--data", str(root), "--split", "train"]) == 2
    assert "not in --data" in capsys.readouterr().err


def test_image_paths_stay_inside_the_data_folder(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "outside.png")
    root = tmp_path / "data"
    root.mkdir()
    rec = {
        "idx": "1",
        "question": "q",
        "choices": ["a", "b"],
        "answer": "A",
        "image_1": "../outside.png",
    }
    (root / "val.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(ValueError, match="leaves the data folder"):
        load_benchmark("blink", root, None)


@pytest.mark.parametrize(
    "resp, want",
    [
        ("A triangle has three sides, so the answer is C", "C"),
        ("The answer is (B). A is wrong.", "B"),
        ("Answer: D", "D"),
        ("A cat is on the mat", None),
    ],
)
def test_letters_from_verbose_answers(resp, want):
    assert extract_letter(resp, 4) == want


@pytest.mark.parametrize(
    "resp, ans, tol, ok",
    [
        ("The answer is 7 (from 3+4=7 and 2 sides)", 7, 1e-6, True),
        ("It is 12 cm long, so the answer is 12 cm", 12, 1e-6, True),
        ("The answer is 3.14159", 3.14, 0.005, True),  # MathVista precision 2
        ("The answer is 3.2", 3.14, 0.005, False),
        ("The final answer is $\\boxed{25}$%", 25, 1e-6, True),
        ("3 and 4, so the answer is 1/2", 0.5, 1e-6, True),
        ("1,250 people", 1250, 1e-6, True),
    ],
)
def test_numbers_from_verbose_answers(resp, ans, tol, ok):
    assert match_number(resp, ans, tol) is ok


def test_run_on_a_benchmark_shaped_folder(tmp_path, tiny_path, capsys):
    """`empirical run --split validation` on an MMMU-shaped copy: only validation questions
    are trained on or held out (test records, whose answers are hidden, never appear)."""
    root = mmmu(tmp_path / "MMMU")
    out = tmp_path / "run"
    argv = ["empirical", "run", "--student", str(tiny_path), "--task", "mmmu", "--data"]
    argv += [str(root), "--split", "validation", "--verifier", "synthetic:0.7:1", "--rounds"]
    argv += ["1", "--n", "2", "--batch", "2", "--max-new-tokens", "2", "--out", str(out)]
    argv += ["--device", "cpu", "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    qids = {json.loads(x)["question_id"] for x in (out / "samples" / "round-0001.jsonl").open()}
    assert qids and all(q.startswith("validation_") for q in qids)
    assert main([*argv[:8], *argv[10:]]) == 2  # the same without --split: several splits
    assert "several splits" in capsys.readouterr().err


def test_bad_records_and_images_are_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "val.json").write_text("42")
    with pytest.raises(ValueError, match="not a list of records"):
        load_benchmark("blink", tmp_path / "a", None)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "val.jsonl").write_text("42\n")
    with pytest.raises(ValueError, match="not a JSON object"):
        load_benchmark("blink", tmp_path / "b", None)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "bad.png").write_bytes(b"not a png")
    rec = {"idx": "1", "question": "q", "choices": ["a", "b"], "answer": "A", "image_1": "bad.png"}
    (tmp_path / "c" / "val.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(ValueError, match="unreadable image"):
        load_benchmark("blink", tmp_path / "c", None)
