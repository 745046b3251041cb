"""Data-parallel loop (issue item 9): two CPU processes (torchrun, gloo) give the same run as one
process: same samples (chunk-seeded), same pairs, held-out accuracy equal up to float summation
order of the all-reduced gradients."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one(tiny_path, tmp_path):
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    if not os.path.exists(torchrun):
        pytest.skip("torchrun not installed")
    args = [
        "empirical",
        "run",
        "--student",
        str(tiny_path),
        "--task",
        "synthetic",
        "--verifier",
        "synthetic:0.3:2",
        "--rounds",
        "2",
        # (--n is left at its default: torchrun would read "--n" as an abbreviation of its own)
        "--batch",
        "12",
        "--limit",
        "24",
        "--max-new-tokens",
        "2",
        "--gen-batch",
        "4",
        "--train-batch",
        "2",
        "--lr",
        "1e-3",
        "--beta",
        "0.5",
        "--device",
        "cpu",
        "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run(
        [sys.executable, "-m", "empirical.commands", *args, "--out", str(tmp_path / "one")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run(
        [
            torchrun,
            "--nproc_per_node",
            "2",
            "--master_port",
            str(_free_port()),
            "-m",
            "empirical.commands",
            *args,
            "--out",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert two.returncode == 0, two.stderr[-2000:]
    read = lambda d: [
        json.loads(x) for x in (tmp_path / d / "log.jsonl").read_text().split("\n") if x.strip()
    ]
    a, b = read("one"), read("two")
    assert [r["round"] for r in b] == [0, 1, 2]
    for ra, rb in zip(a, b):
        assert ra.get("pairs") == rb.get("pairs")
        assert rb["heldout_p_correct"] == pytest.approx(ra["heldout_p_correct"], abs=1e-4)
        if ra["round"]:
            assert rb["dpo_loss_fresh"] == pytest.approx(ra["dpo_loss_fresh"], abs=1e-4)
    # the training moved the model (so the comparison is not vacuous)
    assert a[-1]["heldout_p_correct"] != a[0]["heldout_p_correct"]
