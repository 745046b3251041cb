"""The comparison report as Markdown (report.md, for the paper) and the measured-vs-predicted
figure (figures.empirical_compare, which reads report.json only): L0's pair orientation and
T1's drift per verifier with run-to-run intervals."""

from __future__ import annotations

import json

import pytest

from empirical.compare import compare_seeds, format_markdown, write_reports


def _run(change, a_meas, a_pred, alpha, drift):
    return {
        "heldout": {
            "change": change,
            "worst_change": min(change, 0.0),
            "drift_per_round": drift,
            "drift_per_factor": drift / (2 * a_pred - 1),
        },
        "predicted": {"a_pair": a_pred, "drift_factor": 2 * a_pred - 1, "sign_firm": 1},
        "measured": {"a_pair_round1": a_meas},
        "fit": {"alpha_hat": alpha, "kappa_hat": 2.0},
        "measures": {"selection": {"value": 0.8, "predicted": 0.7, "threshold": 0.5}},
        "dpo_loss": {"fresh_slope_per_round": -0.01, "step_drop_mean": 0.03},
    }


@pytest.fixture
def rows():
    above = compare_seeds(
        "synthetic:0.9:2",
        [
            _run(0.2, 0.9, 0.95, 0.9, 0.02),
            _run(0.3, 0.92, 0.96, 0.91, 0.03),
            _run(0.25, 0.88, 0.94, 0.89, 0.025),
        ],
    )
    below = compare_seeds(
        "mymodule:score",
        [_run(-0.2, 0.2, 0.6, 0.2, -0.02), _run(0.1, 0.3, 0.55, 0.3, 0.01)],
    )
    return [above, below]


def test_markdown_report_has_a_row_per_verifier_and_converts_for_the_paper(rows, tmp_path):
    md = format_markdown(rows, title="Tiny")
    assert md.startswith("# Tiny\n")
    lines = md.splitlines()
    for name in ("synthetic:0.9:2", "mymodule:score"):
        assert sum(f"`{name}`" in line for line in lines) == 3  # three tables
    first = next(line for line in lines if line.startswith("| `synthetic:0.9:2`"))
    cells = [c.strip() for c in first.strip("|").split("|")]
    assert cells[4] == "+" and cells[6] == "+"  # predicted and measured sign
    assert cells[5].startswith("+0.250 [")  # mean of the three seeds' changes
    below = next(line for line in lines if line.startswith("| `mymodule:score`"))
    assert below.split("|")[7].strip() == "0?"  # interval of -0.2, +0.1 straddles 0
    per_seed = lines[-1]
    assert per_seed.count("|") == 5  # two runs and an empty third cell
    paper = pytest.importorskip("paper.mdtex")
    src = tmp_path / "report.md"
    src.write_text(md)
    tex = paper.write_markdown_input(src, tmp_path / "r.tex", top="subsubsection").read_text()
    assert "\\subsubsection{Tiny}" in tex and tex.count("longtable}") >= 6


def test_reports_and_figure_written_from_the_json_only(rows, tmp_path):
    pytest.importorskip("matplotlib")
    report = {"verifiers": rows}
    paths = write_reports(tmp_path, report, rows, title="Tiny")
    assert json.loads((tmp_path / "report.json").read_text())["verifiers"][0]["verifier"] == (
        "synthetic:0.9:2"
    )
    assert (tmp_path / "report.md").read_text().startswith("# Tiny")
    assert sorted(p.rsplit(".", 1)[1] for p in paths["figure"]) == ["pdf", "png"]
    assert (tmp_path / "figures" / "empirical_compare.png").stat().st_size > 10_000


def test_figure_reads_one_run_report_and_refuses_other_files(rows, tmp_path):
    pytest.importorskip("matplotlib")
    from figures import empirical_compare as fig
    from figures._common import cli

    (tmp_path / "report.json").write_text(json.dumps(rows[0]))  # run --seeds: one row
    assert [r["verifier"] for r in fig.read_rows(tmp_path)] == ["synthetic:0.9:2"]
    assert len(fig.main(str(tmp_path), str(tmp_path / "f"))) == 2
    (tmp_path / "other.json").write_text(json.dumps({"x": 1}))
    with pytest.raises(ValueError):
        fig.read_rows(tmp_path / "other.json")
    assert cli(fig.main, [str(tmp_path / "missing")]) == 2
