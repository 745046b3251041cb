"""``selfdpo audit`` on hostile or careless input (issue 14): one line and exit 2, or the answer.

Every refusal must come within seconds, name the line or the argument, leave no file changed,
and behave the same with ``--skip-bad`` (the bad line is then counted and skipped).
"""

from __future__ import annotations

import bz2
import gzip
import json
import math
import os
import time

import pytest

from empirical import audit
from sim.files import to_json
from tests.empirical.audit.synthetic import records, run_audit, strict_json, write_jsonl

FAST = 30.0  # seconds; generous for 2 shared cores, the point is "not a hang"


@pytest.fixture
def recs():
    return records("v", 0.8, 2.0, 200, 5)


def _one_line_error(rc, out, err, *expected):
    assert rc == 2 and out == "", err
    assert err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


BAD_SCORES = [
    pytest.param("9" * 400, "score 99999", id="400-digit-int"),
    pytest.param("-" + "9" * 400, "score -9999", id="400-digit-negative-int"),
    pytest.param("1.7e300", "score 1.7e+300 is outside +-1e+100", id="near-1e300"),
    pytest.param("1e400", "score must be finite, got inf", id="overflows-to-inf"),
]


@pytest.mark.parametrize("score,expected", BAD_SCORES)
def test_huge_scores_name_their_line(tmp_path, capsys, recs, score, expected):
    line = f'{{"question_id": "x", "candidate_id": 1, "score": {score}, "label": 1}}'
    path = write_jsonl(tmp_path / "s.jsonl", recs, extra_lines=[(5, line)])
    t0 = time.monotonic()
    rc, out, err = run_audit(capsys, path)
    _one_line_error(rc, out, err, f"{path} line 6: ", expected)
    rc, out, err = run_audit(capsys, path, "--skip-bad", "--json")
    assert rc == 0 and err == f"selfdpo audit: skipped 1 bad line(s) in {path}\n"
    assert strict_json(out)["verifiers"][0]["n_candidates"] == 200
    assert time.monotonic() - t0 < FAST


def test_all_scores_near_1e300_refused_also_with_skip_bad(tmp_path, capsys, recs):
    path = write_jsonl(tmp_path / "s.jsonl", [dict(r, score=r["score"] * 1e300) for r in recs])
    rc, out, err = run_audit(capsys, path)
    _one_line_error(rc, out, err, "line 1: score", "rescale the scores")
    rc, out, err = run_audit(capsys, path, "--skip-bad")
    _one_line_error(rc, out, err, "no valid records left after skipping 200 bad line(s)")


def test_scores_at_1e90_scale_give_the_same_verdict(tmp_path, capsys, recs):
    """Scale invariance: scores times 1e90 (inside the bound) give the same alpha and kappa."""
    plain = write_jsonl(tmp_path / "a.jsonl", recs)
    big = write_jsonl(tmp_path / "b.jsonl", [dict(r, score=r["score"] * 1e90) for r in recs])
    a = strict_json(run_audit(capsys, plain, "--json")[1])["verifiers"][0]
    b = strict_json(run_audit(capsys, big, "--json")[1])["verifiers"][0]
    assert b["alpha"] == pytest.approx(a["alpha"], abs=1e-6)
    assert b["kappa"] == pytest.approx(a["kappa"], rel=1e-5)
    assert b["scale"] == pytest.approx(a["scale"] * 1e90, rel=1e-5)


def test_deeply_nested_json_names_its_line(tmp_path, capsys, recs):
    path = write_jsonl(tmp_path / "s.jsonl", recs, extra_lines=[(2, "[" * 100_000 + "]" * 100_000)])
    t0 = time.monotonic()
    rc, out, err = run_audit(capsys, path)
    _one_line_error(rc, out, err, f"{path} line 3: malformed JSON (nested too deeply)")
    rc, out, err = run_audit(capsys, path, "--skip-bad")
    assert rc == 0 and "skipped 1 bad line(s)" in err
    assert time.monotonic() - t0 < FAST


@pytest.mark.parametrize("value", ["1e9", "1e6", "1000000", "33"])
@pytest.mark.parametrize("skip", [(), ("--skip-bad",)], ids=["strict", "skip-bad"])
def test_huge_n_is_refused_before_reading(tmp_path, capsys, value, skip):
    t0 = time.monotonic()
    rc, out, err = run_audit(capsys, tmp_path / "missing.jsonl", "--n", value, *skip)
    _one_line_error(rc, out, err, "--n must be an integer in [2, 32], got")
    assert time.monotonic() - t0 < 5.0


@pytest.mark.parametrize("value", ["2.5", "nan", "inf", "two"])
def test_n_that_is_not_an_integer(tmp_path, capsys, value):
    rc, out, err = run_audit(capsys, tmp_path / "s.jsonl", "--n", value)
    _one_line_error(rc, out, err, "argument --n: must be an integer")


def test_plot_never_replaces_a_device_or_folder(tmp_path, capsys, recs):
    """A .png name that is a link to /dev/null, or a folder, is refused before any work."""
    path = write_jsonl(tmp_path / "s.jsonl", recs)
    link = tmp_path / "p.png"
    os.symlink(os.devnull, link)
    rc, out, err = run_audit(capsys, path, "--plot", link)
    _one_line_error(rc, out, err, "--plot file", "not a regular file")
    assert os.path.islink(link) and os.readlink(link) == os.devnull
    folder = tmp_path / "d.pdf"
    folder.mkdir()
    rc, out, err = run_audit(capsys, path, "--plot", folder)
    _one_line_error(rc, out, err, "--plot file", "is a folder")
    # checked before the scores are read: a missing scores file is not what is reported
    rc, out, err = run_audit(capsys, tmp_path / "missing.jsonl", "--plot", link)
    _one_line_error(rc, out, err, "--plot file")


def test_input_that_is_not_a_regular_file(tmp_path, capsys):
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    rc, out, err = run_audit(capsys, fifo)
    _one_line_error(rc, out, err, "not a regular file")
    rc, out, err = run_audit(capsys, "/dev/zero")
    _one_line_error(rc, out, err, "not a regular file")


def test_bom_and_gzip_read_like_plain_text(tmp_path, capsys, recs):
    text = "\n".join(json.dumps(r) for r in recs) + "\n"
    plain = tmp_path / "s.jsonl"
    plain.write_text(text)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    gz = tmp_path / "s.jsonl.gz"
    gz.write_bytes(gzip.compress(("\ufeff" + text).encode()))
    want = strict_json(run_audit(capsys, plain, "--json")[1])
    for path, compression in ((bom, None), (gz, "gzip")):
        rc, out, err = run_audit(capsys, path, "--json")
        assert rc == 0 and err == ""
        got = strict_json(out)
        assert got["settings"]["compression"] == compression
        assert got["verifiers"] == want["verifiers"]


def test_broken_and_other_compressed_input(tmp_path, capsys, recs):
    text = ("\n".join(json.dumps(r) for r in recs) + "\n").encode()
    trunc = tmp_path / "t.jsonl.gz"
    trunc.write_bytes(gzip.compress(text)[:200])
    rc, out, err = run_audit(capsys, trunc)
    _one_line_error(rc, out, err, f"{trunc}: not a valid gzip file")
    bz = tmp_path / "s.jsonl.bz2"
    bz.write_bytes(bz2.compress(text))
    rc, out, err = run_audit(capsys, bz)
    _one_line_error(rc, out, err, "is bzip2-compressed; decompress it")
    latin = tmp_path / "l.jsonl"
    latin.write_bytes(gzip.compress(b'{"question_id": "\xe9"}\n'))
    rc, out, err = run_audit(capsys, latin)
    _one_line_error(rc, out, err, "gzip content is not UTF-8 text")


def test_exact_duplicates_are_counted_once_and_reported(tmp_path, capsys, recs):
    clean = write_jsonl(tmp_path / "a.jsonl", recs)
    dup = write_jsonl(tmp_path / "b.jsonl", recs + recs[:30] + recs[:5])
    want = strict_json(run_audit(capsys, clean, "--json")[1])
    rc, out, err = run_audit(capsys, dup, "--json")
    assert rc == 0
    assert err == (
        f"selfdpo audit: warning: {dup}: 35 exact duplicate line(s) counted once "
        "(line 201 repeats line 1)\n"
    )
    got = strict_json(out)
    assert got["settings"]["duplicate_lines"] == 35
    assert got["verifiers"] == want["verifiers"]
    # a second call on a candidate with another score is a repeated call, not a duplicate
    loaded = audit.load_scores(write_jsonl(tmp_path / "c.jsonl", recs + [dict(recs[0], score=9)]))
    assert loaded.n_duplicates == 0 and loaded.groups[("v", "mmmu")].n_scores == 201


def test_one_label_class_is_named_with_counts(tmp_path, capsys, recs):
    path = write_jsonl(tmp_path / "s.jsonl", [dict(r, label=0) for r in recs])
    rc, out, err = run_audit(capsys, path)
    assert rc == 0, err
    assert "one label class (200 labelled 0, none 1)" in out
    assert "label both classes" in out
    v = strict_json(run_audit(capsys, path, "--json")[1])["verifiers"][0]
    assert v["n_labelled_correct"] == 0 and v["n_labelled_incorrect"] == 200
    assert v["labels_needed"] is None and v["measures"]["pair"]["value"] is None


def test_labels_needed_is_never_a_wild_extrapolation(tmp_path, capsys):
    """One question of four candidates: no 'billions of labels', at most 10x what is there."""
    recs = records("v", 0.5, 0.3, 4, 11)
    path = write_jsonl(tmp_path / "s.jsonl", recs)
    v = strict_json(run_audit(capsys, path, "--json")[1])["verifiers"][0]
    assert v["labels_needed"] is None or v["labels_needed"] <= 40
    if v["labels_needed"] is None:
        assert v["labels_needed_text"] == "> 40 (cannot be estimated from 4)"
    assert any("one question" in n for n in v["notes"])


def test_unbounded_kappa_interval_is_null_in_strict_json():
    """kappa's interval may be unbounded above: the JSON says null, never Infinity."""
    fit = audit.VerifierFit(
        0.3, (0.1, 0.45), 5.0, (2.0, math.inf), 0.0, 1.0, 50, 50, 10, "x", 0.95, -1.0
    )
    row = audit.audit_row(fit, gate="proportional")
    obj = strict_json(to_json(audit.audit_json([row], {"level": 0.95})))
    assert obj["verifiers"][0]["kappa_ci"] == [2.0, None]
    assert obj["verifiers"][0]["side"] == "below"


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["--loc", "1e308"], "--loc must be in [-1e+100, 1e+100]"),
        (["--scale", "inf"], "--scale must be in (0, 1e+100]"),
        (["--scale", "1e-300"], "--scale 1e-300 is"),
        (["--loc=-3e8"], "spreads from the scores' mean; it must be within 1e+06"),
        (["--level", "nan"], "--level must be in (0, 1)"),
        (["--p-correct", "1"], "--p-correct must be in (0, 1)"),
    ],
)
def test_settings_that_would_overflow_the_fit(tmp_path, capsys, recs, argv, expected):
    path = write_jsonl(tmp_path / "s.jsonl", recs)
    t0 = time.monotonic()
    rc, out, err = run_audit(capsys, path, *argv)
    _one_line_error(rc, out, err, expected)
    assert time.monotonic() - t0 < FAST


def test_too_many_groups_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(audit.scores, "MAX_GROUPS", 2)
    recs = records("a", 0.8, 2.0, 20, 1) + records("b", 0.8, 2.0, 20, 2)
    recs += records("c", 0.8, 2.0, 20, 3)
    rc, out, err = run_audit(capsys, write_jsonl(tmp_path / "s.jsonl", recs))
    _one_line_error(rc, out, err, "3 (verifier, task) groups; the audit fits at most 2 per run")
