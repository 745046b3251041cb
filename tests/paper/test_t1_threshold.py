"""T1's full-run threshold at theory.longrun's alpha* (T1-long)."""

import numpy as np

from paper.experiments import t1_threshold
from tests.paper.helpers import decide, edit


def test_threshold_rows_hold_on_synthetic_truth(synth):
    rows = decide(t1_threshold, synth)
    assert rows["T1-threshold-full-run"].holds, rows["T1-threshold-full-run"].decision


def test_full_run_row_fails_when_the_zero_is_at_one_half(own):
    # the synthetic final change crosses 0 at 0.52; with theory claiming 0.5 the row must fail
    edit(own / "threshold.nc", "theory_full_run_threshold", lambda a: a * 0 + 0.5)
    assert not decide(t1_threshold, own)["T1-threshold-full-run"].holds


def test_full_run_statistic_interpolates_between_grid_alphas(synth):
    from sim.results import read_results

    res = read_results(synth / "threshold.nc")
    stat = t1_threshold._full_run_stat(res)
    # synthetic truth: final change 0.5 (alpha - 0.52), so 0 at theory's alpha* = 0.52
    assert np.abs(stat.mean(1)).max() < 1e-3
