"""figures/ladder.py draws from a ladder results file (synthetic numbers, real layout)."""

from __future__ import annotations

import numpy as np
import pytest

from figures import ladder as fig
from sim.results import write_results
from tests.paper.test_ladder import _STUDY_LIKE, synthetic


def test_theory_scale_least_squares():
    th = np.array([1.0, 2.0, -1.0, np.nan])
    sim = np.array([0.5, 1.0, -0.5, 3.0])
    assert fig.theory_scale(th, sim) == pytest.approx(0.5)


def test_ladder_figure_writes_png_and_pdf(tmp_path):
    res = synthetic(_STUDY_LIKE)
    write_results(tmp_path / "ladder.nc", res.coords, res.data, res.attrs)
    paths = fig.main(str(tmp_path), str(tmp_path / "figures"))
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_ladder_figure_missing_results(tmp_path):
    with pytest.raises(FileNotFoundError):
        fig.main(str(tmp_path), str(tmp_path / "figures"))
