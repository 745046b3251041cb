"""``empirical tiny --workers``: the warm-ups and (seed, verifier) runs spread over processes
give the same result, number for number, as one process (only wall times differ)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from empirical.speed import result_distance
from empirical.tiny import TinySettings, run_tiny


@pytest.mark.slow
def test_two_workers_give_the_one_process_result(tmp_path):
    s = replace(TinySettings(), rounds=2, verifiers=("synthetic:0.9:2", "synthetic:0.2:2"))
    one = run_tiny(tmp_path / "one", seeds=(0, 1), settings=s, workers=1)
    two = run_tiny(tmp_path / "two", seeds=(0, 1), settings=s, workers=2)
    assert one["workers"] == 1 and two["workers"] == 2
    d = result_distance(one, two)  # every number outside the timings and the worker count
    assert d["same"] and d["max_abs_diff"] == 0.0, d
    # the comparison is not vacuous: the runs moved the student and the seeds differ
    rows = {r["verifier"]: r for r in one["verifiers"]}
    changes = rows["synthetic:0.9:2"]["pooled"]["heldout_change"]["values"]
    assert len(changes) == 2 and changes[0] != changes[1] and all(c != 0 for c in changes)
