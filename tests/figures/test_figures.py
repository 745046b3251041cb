"""Figure scripts on small synthetic results files (tests/figures/synthetic.py).

None of these runs the simulator. The claims decisions and the reproduce build are tested in
tests/paper/.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from figures import FIGURES
from tests.figures import synthetic


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return synthetic.write_all(tmp_path_factory.mktemp("synth"))


# the ladder figure has its own synthetic results and test (tests/figures/test_ladder_figure.py)
@pytest.mark.parametrize("name", [f for f in FIGURES if f != "ladder"])
def test_figure_script_writes_png_and_pdf(synth, tmp_path, name):
    module = importlib.import_module(f"figures.{name}")
    paths = module.main(str(synth), str(tmp_path))
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
    assert paths[1].read_bytes()[:4] == b"%PDF"


def test_figure_cli_reports_missing_results_in_one_line(tmp_path, capsys):
    from figures import phase_diagram
    from figures._common import cli

    assert cli(phase_diagram.main, [str(tmp_path / "nothing-here")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "phase" in err


def test_results_path_prefers_manifest_and_explains_unrun_sweeps(tmp_path):
    from figures._common import results_path

    synthetic.write_all(tmp_path)
    (tmp_path / "sweeps").mkdir()
    moved = tmp_path / "sweeps" / "phase-abc.nc"
    (tmp_path / "phase.nc").rename(moved)
    manifest = {
        "phase": {"file": "sweeps/phase-abc.nc"},
        "variance": {"file": None, "error": "no T2 yet"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert results_path(tmp_path, "phase") == moved
    with pytest.raises(FileNotFoundError, match="no T2 yet"):
        results_path(tmp_path, "variance")


def test_figure_modules_import_neither_jax_nor_matplotlib():
    figs = ", ".join(f"figures.{name}" for name in FIGURES)
    code = f"import sys, {figs}; print('jax' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_figures_take_statistics_from_sim_stats_not_from_claims():
    from figures import _common
    from sim import stats

    assert _common.mean_ci is stats.mean_ci
