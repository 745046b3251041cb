"""Speed (#15): the loop with the speed-ups on (vision features per prompt and weight version,
rope positions per prompt, each prompt run once per pass) writes the same log as with them off
(the plain path), same seed, within 1e-5 (log values are rounded to 6 decimals); the speed
report has every phase of the round; the end-to-end comparison of two checkouts' results sees
a changed number."""

from __future__ import annotations

import math

from empirical.speed import PHASES, log_distance, measure_speed, result_distance


def test_caches_change_no_result_of_the_loop(tiny_path, tmp_path):
    res = measure_speed(tiny_path, tmp_path, rounds=3, repeats=1, n_pool=12, n_heldout=10)
    assert res["logs"]["same_fields"] and res["logs"]["same_pairs"]
    assert res["logs"]["max_abs_diff"] < 1e-5
    for mode in ("off", "on"):
        sec = res["seconds_per_round"][mode]
        assert set(sec) == {"total", *PHASES}
        assert math.isclose(sec["total"], sum(sec[k] for k in PHASES), abs_tol=0.01)
    assert res["ratio"]["total"] > 0


def test_log_distance_sees_a_changed_number_and_a_changed_pair_count():
    a = [{"round": 1, "x": 0.5, "pairs": {"right": 3}, "seconds": {"total": 1.0}}]
    b = [{"round": 1, "x": 0.5, "pairs": {"right": 3}, "seconds": {"total": 9.0}}]
    assert log_distance(a, b) == {"max_abs_diff": 0.0, "same_pairs": True, "same_fields": True}
    c = [{"round": 1, "x": 0.75, "pairs": {"right": 2}, "seconds": {"total": 1.0}}]
    d = log_distance(a, c)
    assert d["max_abs_diff"] == 1.0 and not d["same_pairs"]


def test_result_distance_ignores_timings_and_sees_numbers_and_structure():
    a = {"verifiers": [{"x": 0.25, "name": "v"}], "seconds": 3.0, "seconds_per_round": {"t": 1}}
    b = {"verifiers": [{"x": 0.25, "name": "v"}], "seconds": 9.0, "seconds_per_round": {"t": 2}}
    assert result_distance(a, b) == {"max_abs_diff": 0.0, "where": [], "same": True}
    c = {"verifiers": [{"x": 0.5, "name": "v"}], "seconds": 3.0}
    d = result_distance(a, c)
    assert d["max_abs_diff"] == 0.25 and d["where"] == ["/verifiers/0/x"] and d["same"]
    e = {"verifiers": [{"x": 0.25, "name": "v"}, {"x": 0.1}], "seconds": 3.0}
    assert not result_distance(a, e)["same"]
