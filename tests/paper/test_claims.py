"""The claims report: the row builder and the Markdown/JSON/TeX writers."""

import json

import numpy as np
import pytest

from paper import claims
from paper.claims import Claim, row
from paper.experiments import EXPERIMENTS
from paper.reproduce import evaluate


def _rows():
    meta = {"sweep": "s", "seeds": [0, 1], "config_hash": "h", "config_file": "f"}
    return [
        row(
            "T1",
            "a_b 5%",
            theory=np.float64(0.5),
            theory_text="t",
            sim=np.array(0.51),
            ci=(0.4, 0.6),
            holds=np.True_,
            decision="d",
            meta=meta,
        ),
        row(
            "T5-kappa0",
            "s",
            theory=None,
            theory_text="sign",
            sim=0.1,
            ci=None,
            holds=False,
            decision="d2",
            meta=meta,
            kind="boundary",
        ),
    ]


def test_row_converts_numbers_and_keeps_provenance():
    r = _rows()[0]
    assert type(r.theory) is float and type(r.sim) is float and type(r.holds) is bool
    assert r.sim_ci == (0.4, 0.6) and r.seeds == [0, 1] and r.kind == "claim"
    assert json.loads(json.dumps(r.to_dict()))["sim_ci"] == [0.4, 0.6]


def test_writers_list_every_row(tmp_path):
    rows = _rows()
    j, m = claims.write_claims(tmp_path, rows)
    assert [r["id"] for r in json.loads(j.read_text())] == ["T1", "T5-kappa0"]
    text = m.read_text()
    assert "| T1 | claim |" in text and "| T5-kappa0 | boundary |" in text
    assert "1 of 1 claims hold" in text and "0 of 1 boundary rows hold" in text
    table, macros = claims.write_paper_tables(tmp_path / "gen", rows)
    assert table.read_text().count(r"\\") == len(rows) + 1  # header + one row per claim
    mac = macros.read_text()
    assert r"\newcommand{\claimTfivekappazeroHolds}{fails}" in mac
    assert r"\newcommand{\claimsHeld}{1}" in mac


def test_tex_escape():
    assert claims.tex_escape("a_b 5% & #1 {x}") == r"a\_b 5\% \& \#1 \{x\}"


def test_every_experiment_is_decided_on_synthetic_results(synth, tmp_path):
    import shutil

    from figures._common import write_manifest

    root = tmp_path / "r"
    shutil.copytree(synth, root)
    write_manifest(root, {e.SWEEP: {"file": f"{e.SWEEP}.nc"} for e in EXPERIMENTS})
    rows = evaluate(root)
    assert [r.id for r in rows] == [cid for e in EXPERIMENTS for cid in e.ROWS]
    assert all(isinstance(r, Claim) and r.decision for r in rows)


def test_a_missing_sweep_makes_its_rows_unavailable(tmp_path):
    from figures._common import write_manifest

    write_manifest(tmp_path, {"phase": {"file": None, "error": "boom"}})
    rows = {r.id: r for r in evaluate(tmp_path)}
    assert not rows["T5-kappa0"].holds and "boom" in rows["T5-kappa0"].decision
    assert rows["T5-kappa0"].verdict == "unavailable"


@pytest.mark.parametrize("cid", ["T1", "T3-proportional", "L0-n"])
def test_macro_names_are_letters_only(cid):
    assert claims.macro_name(cid).isalpha()


# pre-registered tests (claims.decide) --------------------------------------------------------


def _normal(mean, sd, shape, seed=0):
    return np.random.default_rng(seed).normal(mean, sd, shape)


def test_decide_greater_holds_fails_and_is_underpowered():
    t = claims.Test("greater", 0.5, 1.0)
    big = claims.decide(t, _normal(1.0, 1.0, (1, 200)), _normal(1.0, 1.0, (1, 16), 1))
    assert big["verdict"] == "holds" and big["power"] > 0.99
    null = claims.decide(t, _normal(0.0, 1.0, (1, 200)), _normal(0.0, 1.0, (1, 16), 1))
    assert null["verdict"] == "fails"
    few = claims.decide(t, _normal(1.0, 1.0, (1, 6), 3), _normal(1.0, 1.0, (1, 16), 1))
    assert few["verdict"] == "underpowered" and few["width"] > 1.0 and not few["holds"]


def test_decide_seeds_for_power_reach_the_target_on_fresh_data():
    """n from the pilot gives about 90% power: repeated confirmations at that n pass ~90%."""
    t = claims.Test("greater", 0.3, 10.0)
    pilot = _normal(0.3, 1.0, (1, 400), 5)
    n = claims.decide(t, pilot, pilot)["seeds_for_power"]
    rng = np.random.default_rng(6)
    passed = np.mean([claims.decide(t, rng.normal(0.3, 1.0, (1, n)))["holds"] for _ in range(400)])
    assert abs(passed - 0.9) < 0.06, (n, passed)


def test_decide_equivalence_and_noninferiority():
    eq = claims.Test("equivalent", 0.2, 0.4)
    assert claims.decide(eq, _normal(0.0, 0.5, (3, 400)))["verdict"] == "holds"
    assert claims.decide(eq, _normal(0.3, 0.5, (3, 400)))["verdict"] == "fails"
    ni = claims.Test("noninferior", 0.2, 0.4)
    assert claims.decide(ni, _normal(-0.05, 0.5, (1, 400)))["verdict"] == "holds"
    assert claims.decide(ni, _normal(-0.4, 0.5, (1, 400)))["verdict"] == "fails"


def test_decide_bonferroni_widens_with_points():
    t = claims.Test("greater", 0.1, 10.0)
    x = _normal(0.5, 1.0, (1, 50))
    one = claims.decide(t, x)
    many = claims.decide(t, np.repeat(x, 20, axis=0))
    assert many["lo"][0] < one["lo"][0]


def test_powered_row_carries_the_test_fields():
    t = claims.Test("greater", 0.5, 1.0, " pp", 100.0)
    d = claims.decide(t, _normal(1.0, 1.0, (1, 200)), _normal(1.0, 1.0, (1, 16), 1))
    meta = {
        "sweep": "s",
        "seeds": list(range(200)),
        "config_hash": "h",
        "config_file": "f",
        "pilot_seeds": list(range(10000, 10016)),
    }
    r = claims.powered_row("X", "s", t, d, theory=None, theory_text="t", detail="why", meta=meta)
    assert r.verdict == "holds" and r.holds and r.pilot_seeds[0] == 10000
    assert r.power == d["power"] and r.seeds_for_power == d["seeds_for_power"]
    assert "pre-registered" in r.decision and "power" in r.decision
    md = claims.claims_markdown([r])
    assert "16 (10000..10015)" in md and "200 (0..199)" in md
