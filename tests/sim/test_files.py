"""sim.files: atomic writes never replace a non-regular file, clean up after killed writers,
and write strict JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from sim.files import (
    atomic_write_json,
    atomic_write_text,
    check_output_dir,
    check_output_file,
    remove_stale_temps,
    to_json,
)


def test_strict_json_has_no_nan_or_infinity_tokens():
    text = to_json({"a": float("nan"), "b": [np.inf, -np.inf, 1.5], "c": np.float32(2.0)})
    assert json.loads(text) == {"a": None, "b": [None, None, 1.5], "c": 2.0}
    assert "NaN" not in text and "Infinity" not in text


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_output_path_is_refused(bad):
    with pytest.raises(ValueError, match="non-empty"):
        check_output_file(bad)
    with pytest.raises(ValueError, match="non-empty"):
        check_output_dir(bad)


def test_device_and_folder_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not a regular file"):
        check_output_file("/dev/null")
    with pytest.raises(ValueError, match="a folder"):
        check_output_file(tmp_path)
    with pytest.raises(ValueError, match="not a regular file"):
        atomic_write_text("/dev/null", "x")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_parent_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        check_output_file(f / "out.json")
    with pytest.raises(ValueError, match="not a folder"):
        check_output_dir(f)


def test_missing_parents_are_created(tmp_path):
    target = tmp_path / "a" / "b" / "out.json"
    atomic_write_json(target, {"x": 1})
    assert json.loads(target.read_text()) == {"x": 1}


def test_temp_of_a_killed_writer_is_removed_but_a_live_one_is_kept(tmp_path):
    target = tmp_path / "res.json"
    # a process that has exited: its pid is free (or reused by an unrelated process: then kept)
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(proc.stdout)
    stale = tmp_path / f".res.json.{dead}.abc123.json"
    stale.write_text("half")
    live = tmp_path / f".res.json.{os.getppid()}.def456.json"
    live.write_text("in progress")
    other = tmp_path / ".other.json.1.x.json"
    other.write_text("not ours")
    removed = remove_stale_temps(target)
    try:
        os.kill(dead, 0)
        reused = True
    except ProcessLookupError:
        reused = False
    assert (stale in removed) != reused
    assert live.exists() and other.exists()
    atomic_write_json(target, [1])
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".res.json"))
    assert leftovers == [live.name]
