"""The paper builds from a quick run's output: pdflatex, bibtex, pdflatex, pdflatex (slow).

Issue 16's acceptance: ``selfdpo reproduce --quick`` followed by the four TeX passes in
OUT/paper gives a paper of at least 12 pages with no undefined reference or citation, no
overfull box wider than 10 pt, every figure found, no generated value missing, a bibliography
of the works the related-work section discusses, a proof section for every claim row's theory
(L0, T1-T6) and sections for the ladder and the empirical results.

Set SELFDPO_QUICK_OUT to an existing quick run's folder to reuse it; otherwise the test runs
``reproduce --quick`` into a temporary folder (minutes).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TEX_TOOLS = ("pdflatex", "bibtex")
MISSING = [t for t in TEX_TOOLS if shutil.which(t) is None]
needs_tex = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{', '.join(MISSING)} not installed (CI installs texlive-latex-recommended and "
    "texlive-fonts-recommended)",
)

# Works the related-work section must cite (issue 16's list).
REQUIRED_REFS = (
    "rafailov2023dpo",
    "razin2025unintentional",
    "chowdhury2024provably",
    "mitchell2023cdpo",
    "yuan2024selfrewarding",
    "zelikman2022star",
    "gulcehre2023rest",
    "gao2023scaling",
    "jiang2021plr",
    "wang2024qwen2vl",
    "bai2025qwen25vl",
    "bai2025qwen3vl",
    "lu2024mathvista",
    "yue2024mmmu",
    "fu2024blink",
)
MAX_OVERFULL_PT = 10.0
MIN_PAGES = 12
BUILD_JUNK = ("main.aux", "main.log", "main.out", "main.pdf", "main.bbl", "main.blg")


@pytest.fixture(scope="module")
def quick_out(quick_reproduce) -> Path:
    """The session's ``reproduce --quick`` output (conftest.py; or SELFDPO_QUICK_OUT)."""
    out = quick_reproduce["out"]
    proc = quick_reproduce["proc"]
    assert (out / "paper" / "main.tex").is_file(), "" if proc is None else proc.stderr[-3000:]
    return out


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def build(quick_out, tmp_path_factory) -> dict:
    """A fresh copy of OUT/paper, built with the four passes; the log, aux and bbl read back."""
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed")
    paper = tmp_path_factory.mktemp("tex") / "paper"
    shutil.copytree(quick_out / "paper", paper, ignore=shutil.ignore_patterns(*BUILD_JUNK))
    latex = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main"]
    runs = [_run(latex, paper), _run(["bibtex", "main"], paper), _run(latex, paper)]
    runs.append(_run(latex, paper))

    def read(name: str) -> str:
        path = paper / name
        return path.read_text(errors="replace") if path.is_file() else ""

    return {
        "dir": paper,
        "runs": runs,
        "log": read("main.log"),
        "aux": read("main.aux"),
        "bbl": read("main.bbl"),
        "claims": json.loads((quick_out / "claims.json").read_text()),
    }


@needs_tex
def test_appendices_are_generated_by_the_build(quick_out):
    """The proofs come from paper/theory.md at build time (paper.mdtex.write_appendices)."""
    gen = quick_out / "paper" / "generated"
    for name in ("theory_appendix.tex", "model_appendix.tex"):
        assert (gen / name).is_file(), (
            f"{gen / name} missing: reproduce's paper assembly must call "
            "paper.mdtex.write_appendices(OUT/paper)"
        )


@needs_tex
def test_every_pass_succeeds(build):
    for proc in build["runs"]:
        assert proc.returncode == 0, (proc.args, proc.stdout[-3000:])
    assert (build["dir"] / "main.pdf").is_file()


@needs_tex
def test_no_undefined_references_citations_or_generated_values(build):
    log = build["log"]
    undefined = re.findall(r"LaTeX Warning: (?:Reference|Citation) `([^']+)'.*undefined", log)
    assert not undefined, f"undefined: {sorted(set(undefined))}"
    assert "There were undefined references" not in log
    assert "Paper warning" not in log, re.findall(r"Paper warning[^\n]*", log)
    # every figure and generated input found (a missing graphic also halts the pass)
    assert not re.search(r"File `[^']+' not found", log), re.findall(r"File `[^']+' not found", log)


@needs_tex
def test_no_overfull_box_wider_than_10pt(build):
    """Every table (claims.md's 10 columns, ladder.md's) and display fits the text width."""
    log = build["log"]
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= MAX_OVERFULL_PT for w in widths), sorted(widths)[-5:]
    high = [float(h) for h in re.findall(r"Overfull \\vbox \(([\d.]+)pt too high\)", log)]
    assert all(h <= MAX_OVERFULL_PT for h in high), sorted(high)[-5:]  # nothing off the page
    assert "Float too large" not in log


@needs_tex
def test_page_count(build):
    m = re.search(r"Output written on main\.pdf \((\d+) pages?", build["log"])
    assert m, "no PDF written"
    assert int(m.group(1)) >= MIN_PAGES


@needs_tex
def test_bibliography_holds_the_related_work(build):
    items = set(re.findall(r"\\bibitem\[[^\]]*\]\{([^}]+)\}", build["bbl"], flags=re.S))
    missing = [k for k in REQUIRED_REFS if k not in items]
    assert not missing, missing


@needs_tex
def test_proofs_for_every_claim_rows_theory_and_required_sections(build):
    labels = set(re.findall(r"\\newlabel\{([^}]+)\}", build["aux"]))
    tags = {c["id"].split("-")[0] for c in build["claims"] if re.match(r"[LT]\d", c["id"])}
    assert tags, "no theory rows in claims.json"
    missing = sorted(t for t in tags if f"thy:{t}" not in labels)
    assert not missing, f"no appendix section for {missing}"
    for sec in ("sec:ladder", "sec:empirical", "sec:limits", "sec:repro", "sec:related"):
        assert sec in labels, sec
