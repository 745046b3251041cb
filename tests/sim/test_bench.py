"""``selfdpo bench --json``: one run times the engine, the reference and vectorised numpy."""

import json
import math

from paper.cli import main


def test_bench_json_reports_speedups_and_roofline(capsys):
    argv = ["bench", "--configs", "4", "--seeds", "2", "--rounds", "5", "--prompts", "16"]
    argv += ["--reference-runs", "1", "--numpy-runs", "4", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "speedup_vs_reference",
        "speedup_vs_numpy_vectorised",
        "roofline_seconds",
        "fraction_of_roofline",
        "memory_bandwidth_gb_s",
        "peak_gflops",
    ):
        assert math.isfinite(out[key]) and out[key] > 0, key
    assert out["speedup_vs_reference"] == out["reference_seconds_scaled"] / out["jax_seconds"]
    assert out["roofline_seconds"] <= out["jax_seconds_warm"]  # nothing beats the roofline
    runs_rounds = out["runs"] * out["rounds"]
    per = max(
        out["bytes_per_run_round"] / (out["memory_bandwidth_gb_s"] * 1e9),
        out["flops_per_run_round"] / (out["peak_gflops"] * 1e9),
    )
    assert math.isclose(out["roofline_seconds"], per * runs_rounds, rel_tol=1e-9)


def test_bench_rejects_bad_counts(capsys):
    assert main(["bench", "--numpy-runs", "0"]) == 2
    assert "numpy-runs" in capsys.readouterr().err
