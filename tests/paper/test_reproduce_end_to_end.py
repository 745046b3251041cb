"""End to end: ``selfdpo reproduce --quick`` once into a temporary folder (slow).

Checks what a reader needs: every figure (PNG and PDF), a claims report with every claim id and
its theory/simulation/holds fields, a paper whose includes all resolve to produced files, and a
second run that reuses every cached sweep.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from figures import FIGURES
from paper.experiments import EXPERIMENTS
from tests.paper.helpers import reproduce_quick

CLAIM_IDS = [cid for exp in EXPERIMENTS for cid in exp.ROWS]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(quick_reproduce):
    """The session's quick reproduction (conftest.py), then a second run into the same folder."""
    if quick_reproduce["proc"] is None:
        pytest.skip("SELFDPO_QUICK_OUT given: this module checks a run it starts itself")
    out = quick_reproduce["out"]
    t1 = time.time()
    second = reproduce_quick(out)
    t2 = time.time()
    first, t_first = quick_reproduce["proc"], quick_reproduce["seconds"]
    return {"out": out, "first": first, "second": second, "t_first": t_first, "t_second": t2 - t1}


def test_exit_status_names_failing_claims(run):
    first = run["first"]
    assert first.returncode in (0, 1), first.stderr[-2000:]
    claims = json.loads((run["out"] / "claims.json").read_text())
    # only rows of kind "claim" decide the exit status; "boundary" rows are reported only
    assert {c["kind"] for c in claims} <= {"claim", "boundary"}
    failing = [c["id"] for c in claims if c["kind"] == "claim" and not c["holds"]]
    assert (first.returncode == 1) == bool(failing)
    for cid in failing:
        assert f"  {cid}: " in first.stderr
    for c in claims:
        if c["kind"] == "boundary" and not c["holds"]:
            assert f"  {c['id']}: " not in first.stderr
    assert "claims holding" in first.stdout


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_produced(run, name):
    for ext in ("png", "pdf"):
        path = run["out"] / "figures" / f"{name}.{ext}"
        assert path.is_file() and path.stat().st_size > 1000, run["first"].stderr[-2000:]


def test_every_row_is_a_decided_powered_test(run):
    """Issue 11: every row prints its verdict, power, pilot seeds and confirmation seeds, and the
    pilot's seeds are never among the confirmation's."""
    claims = json.loads((run["out"] / "claims.json").read_text())
    for c in claims:
        assert c["verdict"] in ("holds", "fails", "underpowered"), (c["id"], c["verdict"])
        assert c["holds"] == (c["verdict"] == "holds")
        assert c["seeds"] and c["pilot_seeds"], c["id"]
        assert not set(c["seeds"]) & set(c["pilot_seeds"]), c["id"]
        assert c["power"] is not None and c["tolerance"] is not None, c["id"]


def test_claims_report_has_every_claim_with_its_fields(run):
    rows = {r["id"]: r for r in json.loads((run["out"] / "claims.json").read_text())}
    assert set(CLAIM_IDS) <= set(rows)
    for cid in CLAIM_IDS:
        r = rows[cid]
        for key in (
            "statement",
            "theory",
            "theory_text",
            "sim",
            "sim_ci",
            "holds",
            "decision",
            "seeds",
            "config_hash",
            "kind",
            "verdict",
            "power",
            "pilot_seeds",
            "seeds_for_power",
        ):
            assert key in r, (cid, key)
        assert isinstance(r["holds"], bool)
    md = (run["out"] / "claims.md").read_text()
    for cid in CLAIM_IDS:
        assert f"| {cid} | {rows[cid]['kind']} |" in md


def test_paper_includes_resolve_to_produced_files(run):
    paper = run["out"] / "paper"
    tex = (paper / "main.tex").read_text()
    tex = "\n".join(line.split("%")[0] for line in tex.splitlines())  # drop comments
    optional = set(re.findall(r"\\IfFileExists\{([^}]+)\}", tex))  # guarded by the text itself
    graphics = re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{([^}]+)\}", tex)
    inputs = [i for i in re.findall(r"\\input\{([^}]+)\}", tex) if "#" not in i]
    gpath = re.findall(r"\\graphicspath\{\{([^}]+)\}\}", tex)
    assert graphics and inputs and gpath == ["figures/"]
    for g in graphics:
        assert (paper / gpath[0] / g).is_file() or f"{gpath[0]}{g}" in optional, g
    for i in inputs:
        name = i if i.endswith(".tex") else f"{i}.tex"
        assert (paper / name).is_file() or name in optional, i
    # every claim value the text reads (\gv{claim...} or \claim...) is defined by the build
    defined = set(
        re.findall(
            r"\\newcommand\{\\(\w+)\}", (paper / "generated" / "claims_macros.tex").read_text()
        )
    )
    used = set(re.findall(r"\\gv\{(claims?\w+)\}", tex))
    used |= set(re.findall(r"\\(claims?[A-Z]\w+)", tex))
    assert used and used <= defined, used - defined


def test_second_run_reuses_every_sweep(run):
    second = run["second"]
    assert second.returncode == run["first"].returncode, second.stderr[-2000:]
    manifest = json.loads((run["out"] / "manifest.json").read_text())
    ran = [k for k, m in manifest.items() if m.get("file")]
    assert ran and all(manifest[k]["reused"] for k in ran)
    assert "reused from cache" in second.stdout
    # a warm cache only redraws figures and re-decides claims
    assert run["t_second"] < max(60.0, 0.5 * run["t_first"])
