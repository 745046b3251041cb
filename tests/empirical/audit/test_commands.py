"""``selfdpo audit`` (audit/commands.py) through the dispatcher: output, bad input, plot."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from empirical import audit
from tests.empirical.audit.synthetic import records as _records
from tests.empirical.audit.synthetic import run_audit as _run
from tests.empirical.audit.synthetic import strict_json as _strict_json
from tests.empirical.audit.synthetic import write_jsonl as _write


@pytest.fixture
def scores_file(tmp_path):
    recs = (
        _records("confident", 0.23, 3.0, 400, 1)
        + _records("near-random", 0.08, 0.1, 400, 2, loc=5.0, scale=0.3)
        + _records("good", 0.85, 1.5, 400, 3, loc=-2.0, scale=4.0)
    )
    return _write(tmp_path / "scores.jsonl", recs)


def test_table_is_ranked_by_predicted_gain(scores_file, capsys):
    rc, out, err = _run(capsys, scores_file, "--gate", "uniform")
    assert rc == 0, err
    assert err == ""
    body = [ln.split()[1] for ln in out.splitlines()[2:5]]
    assert body == ["good", "near-random", "confident"]
    assert "above" in out and "below" in out
    assert "rubric accuracy in three measures:" in out
    assert sum(ln.split()[3:4] == ["selection"] for ln in out.splitlines()) == 3


def test_json_output_default_gate_is_strict_json(scores_file, capsys):
    rc, out, err = _run(capsys, scores_file, "--json")
    assert rc == 0, err
    obj = _strict_json(out)
    assert obj["settings"]["gate"] == "rank"
    assert all(v["gate_amplification"] is None for v in obj["verifiers"])


def test_json_output(scores_file, capsys):
    rc, out, err = _run(capsys, scores_file, "--json", "--n", "4", "--gate", "proportional")
    assert rc == 0, err
    obj = _strict_json(out)
    assert obj["settings"]["n"] == 4 and obj["settings"]["gate"] == "proportional"
    vs = obj["verifiers"]
    assert [v["rank"] for v in vs] == [1, 2, 3]
    rates = [v["drift_rate"] for v in vs]
    assert rates == sorted(rates, reverse=True)
    for v in vs:
        assert v["alpha_ci"][0] <= v["alpha"] <= v["alpha_ci"][1]
        assert v["n_candidates"] == 400 and v["n_questions"] == 100
        assert v["side"] in ("above", "below", "cannot tell: label more")
        assert v["gate_amplification"] >= 1.0
        m = v["measures"]
        assert set(m) == {"verdict", "pair", "selection"}
        assert m["verdict"]["value"] == v["alpha"] and m["verdict"]["threshold"] == 0.5
        for name in ("pair", "selection"):
            lo, hi = m[name]["ci"]
            assert lo <= m[name]["value"] <= hi and 0.0 < m[name]["threshold"] < 1.0
            assert m[name]["count"] > 0 and "bootstrap over questions" in m[name]["method"]


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_plot_is_written(scores_file, tmp_path, capsys, suffix, magic):
    target = tmp_path / "out" / f"phase{suffix}"
    rc, out, err = _run(capsys, scores_file, "--plot", target)
    assert rc == 0, err
    assert target.read_bytes()[:4] == magic
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temp left


GOOD = {"question_id": "q1", "candidate_id": 0, "score": 0.5, "label": 1}


def _bad_case(line: str, expected: str):
    return pytest.param(line, expected, id=expected.split(":")[0][:30])


BAD_LINES = [
    _bad_case('{"question_id": "q9", "candidate_id": 1, "score": 0.1', "malformed JSON"),
    _bad_case('{"candidate_id": 1, "score": 0.1, "label": 0}', "missing field 'question_id'"),
    _bad_case('{"question_id": "q9", "candidate_id": 1, "label": 0}', "missing field 'score'"),
    _bad_case(
        '{"question_id": "q9", "candidate_id": 1, "score": 0.1, "label": 2}',
        "label must be 0 or 1, got 2",
    ),
    _bad_case(
        '{"question_id": "q9", "candidate_id": 1, "score": 0.1, "label": "yes"}',
        'label must be 0 or 1, got "yes"',
    ),
    _bad_case(
        '{"question_id": "q9", "candidate_id": 1, "score": NaN, "label": 1}',
        "score must be finite, got nan",
    ),
    _bad_case(
        '{"question_id": "q9", "candidate_id": 1, "score": -Infinity, "label": 1}',
        "score must be finite, got -inf",
    ),
    _bad_case(
        '{"question_id": "q9", "candidate_id": 1, "score": "high", "label": 1}',
        'score must be a number, got "high"',
    ),
    _bad_case("[1, 2, 3]", "expected a JSON object, got list"),
    _bad_case(
        '{"question_id": "q9", "candidate_id": 1, "score": 0.1, "label": 1, "verifier": 3}',
        "verifier must be a string, got 3",
    ),
]


@pytest.mark.parametrize("line,expected", BAD_LINES)
def test_bad_line_one_message_exit_2(tmp_path, capsys, line, expected):
    recs = _records("v", 0.7, 1.0, 20, 0)
    path = _write(tmp_path / "scores.jsonl", recs, extra_lines=[(6, line)])
    rc, out, err = _run(capsys, path, "--json")
    assert rc == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"selfdpo audit: error: {path} line 7: {expected}")


def test_conflicting_labels_of_one_candidate(tmp_path, capsys):
    recs = _records("v", 0.7, 1.0, 20, 0)
    dup = dict(recs[2], label=1 - recs[2]["label"], score=0.0)
    path = _write(tmp_path / "s.jsonl", recs + [dup])
    rc, out, err = _run(capsys, path)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1
    assert f"{path} line 21: label {dup['label']} conflicts with label" in err
    assert "on line 3" in err


def test_group_with_one_candidate(tmp_path, capsys):
    recs = _records("v", 0.7, 1.0, 20, 0) + [dict(GOOD, verifier="lonely")]
    path = _write(tmp_path / "s.jsonl", recs)
    rc, out, err = _run(capsys, path)
    assert rc == 2 and err.count("\n") == 1
    assert "verifier 'lonely' task 'default' has 1 scored candidate(s) (line 21)" in err
    assert "need at least 2" in err


@pytest.mark.parametrize(
    "setup,expected",
    [
        ("empty", "no records (empty file)"),
        ("blank", "no records (empty file)"),
        ("missing", "no such file"),
        ("dir", "is a directory"),
    ],
)
def test_bad_files(tmp_path, capsys, setup, expected):
    path = tmp_path / "scores.jsonl"
    if setup == "empty":
        path.write_text("")
    elif setup == "blank":
        path.write_text("\n  \n")
    elif setup == "dir":
        path.mkdir()
    rc, out, err = _run(capsys, path)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and expected in err
    assert err.startswith("selfdpo audit: error: ")


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["--n", "1"], "--n must be an integer in [2, 32], got 1"),
        (["--gate", "best"], "--gate: gate must be one of"),
        (["--plot", "x.svg"], "--plot file must end in .png or .pdf"),
        (["--level", "1.5"], "--level must be in (0, 1)"),
        (["--scale", "-1"], "--scale must be in (0, 1e+100]"),
    ],
)
def test_bad_options(scores_file, capsys, argv, expected):
    rc, out, err = _run(capsys, scores_file, *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and expected in err


def test_skip_bad_counts_and_continues(tmp_path, capsys):
    recs = _records("v", 0.8, 2.0, 200, 5)
    bad = [
        (3, "not json"),
        (10, '{"question_id": 1, "candidate_id": 1, "score": 1.0, "label": 7}'),
        (50, '{"question_id": 1, "candidate_id": 1, "score": NaN, "label": 1}'),
    ]
    lonely = dict(GOOD, verifier="lonely")
    path = _write(tmp_path / "s.jsonl", recs + [lonely], extra_lines=bad)
    rc, out, err = _run(capsys, path, "--skip-bad", "--json")
    assert rc == 0
    assert err == f"selfdpo audit: skipped 4 bad line(s) in {path}\n"
    obj = json.loads(out)
    assert obj["settings"]["skipped_lines"] == 4
    assert [v["verifier"] for v in obj["verifiers"]] == ["v"]
    assert obj["verifiers"][0]["n_candidates"] == 200


def test_skip_bad_still_fails_when_nothing_valid_remains(tmp_path, capsys):
    path = tmp_path / "s.jsonl"
    path.write_text('nope\n{"question_id": 1}\n' + json.dumps(GOOD) + "\n")
    rc, out, err = _run(capsys, path, "--skip-bad")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "no valid records left after skipping 3 bad line(s)" in err


def test_load_scores_groups_and_pools_repeats(tmp_path):
    recs = _records("a", 0.7, 1.0, 12, 0, task="t1") + _records("b", 0.3, 1.0, 8, 1, task="t2")
    # Two more calls on candidate ("q0", 0) of verifier a: same label, pooled as one candidate.
    recs += [dict(recs[0], score=recs[0]["score"] + d) for d in (0.5, -0.25)]
    path = _write(tmp_path / "s.jsonl", recs, extra_lines=[(5, ""), (9, "   ")])
    loaded = audit.load_scores(path)
    groups = loaded.groups
    assert loaded.n_bad == 0 and loaded.n_duplicates == 0
    assert list(groups) == [("a", "t1"), ("b", "t2")]
    a = groups[("a", "t1")]
    assert a.n_candidates == 12 and a.n_scores == 14 and a.n_questions == 3
    s0 = recs[0]["score"]
    i = int(np.flatnonzero(a.n_rep == 3)[0])
    assert a.s1[i] == pytest.approx(3 * s0 + 0.25)
    assert a.s2[i] == pytest.approx(s0**2 + (s0 + 0.5) ** 2 + (s0 - 0.25) ** 2)
    assert groups[("b", "t2")].n_candidates == 8


def test_import_is_light():
    """``selfdpo --help`` loads the audit's command module: no jax, torch or matplotlib."""
    code = (
        "import sys, empirical.audit.commands\n"
        "print(sorted(m for m in ('jax', 'torch', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
