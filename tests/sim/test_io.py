"""Results files carry the full parameters; sharded sweeps merge into the unsharded file."""

import json

import numpy as np
import pytest

import sim
from paper.cli import main
from sim.io import merge_parts, save_sweep, shard_indices
from sim.results import read_results

SMALL = {"N": 24, "N_h": 32, "B": 8, "rounds": 6}
GRID = {"alphas": [0.2, 0.5, 0.9], "kappas": [0.5, 2.0]}


def _same_file(a, b):
    ra, rb = read_results(a), read_results(b)
    assert ra.attrs == rb.attrs
    assert ra.coords.keys() == rb.coords.keys() and ra.data.keys() == rb.data.keys()
    for k in ra.coords:
        np.testing.assert_array_equal(ra.coords[k], rb.coords[k])
    for k in ra.data:
        assert ra.dims(k) == rb.dims(k)
        np.testing.assert_array_equal(ra[k], rb[k], err_msg=k)


def test_sweep_file_carries_every_parameter(tmp_path):
    path = save_sweep(tmp_path / "s.nc", **GRID, seeds=[3, 4], gate="rank", **SMALL)
    res = read_results(path)
    cfg = json.loads(res.attrs["config"])
    assert (
        cfg["B"] == 8 and cfg["N"] == 24 and cfg["gate"] == "rank" and cfg["student"] == "default"
    )
    assert json.loads(res.attrs["swept"]) == ["alpha", "kappa"]
    assert res.attrs["code_version"] and res.attrs["config_hash"]


@pytest.mark.parametrize("k", [2, 4])
def test_shards_merged_equal_the_unsharded_sweep(tmp_path, k):
    full = save_sweep(tmp_path / "full.nc", **GRID, seeds=[0, 1], **SMALL)
    parts = [
        save_sweep(tmp_path / f"p{i}.nc", **GRID, seeds=[0, 1], shard=(i, k), **SMALL)
        for i in range(k)
    ]
    merged = merge_parts(parts[::-1], tmp_path / "merged.nc")  # order of parts does not matter
    _same_file(full, merged)


def test_merge_refuses_mismatched_or_incomplete_parts(tmp_path):
    p0 = save_sweep(tmp_path / "p0.nc", **GRID, seeds=2, shard=(0, 2), **SMALL)
    p1 = save_sweep(tmp_path / "p1.nc", **GRID, seeds=2, shard=(1, 2), **SMALL)
    other = save_sweep(tmp_path / "o1.nc", **GRID, seeds=2, shard=(1, 2), eta=0.2, **SMALL)
    with pytest.raises(ValueError, match="different sweeps"):
        merge_parts([p0, other], tmp_path / "m.nc")
    with pytest.raises(ValueError, match="shards 0..K-1"):
        merge_parts([p0], tmp_path / "m.nc")
    with pytest.raises(ValueError, match="shards 0..K-1"):
        merge_parts([p0, p0, p1], tmp_path / "m.nc")
    # a part written by another engine version
    from sim.results import write_results

    res = read_results(p1)
    res.attrs["code_version"] = "0" * 16
    write_results(tmp_path / "old.nc", res.coords, res.data, res.attrs)
    with pytest.raises(ValueError, match="code versions"):
        merge_parts([p0, tmp_path / "old.nc"], tmp_path / "m.nc")
    with pytest.raises(ValueError, match="part file"):
        sim.load_sweep(p0)


def test_shard_indices_partition_the_grid():
    parts = [shard_indices(10, (i, 3)) for i in range(3)]
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(10))
    with pytest.raises(ValueError):
        shard_indices(10, (3, 3))


def test_cli_shard_and_merge(tmp_path, capsys):
    args = ["sweep", "--alphas", "0.2,0.8", "--kappas", "1", "--seeds", "2", "--rounds", "4"]
    args += ["--gate", "uniform", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "full.nc")]) == 0
    for i in range(2):
        assert main([*args, "--shard", f"{i}/2", "--out", str(tmp_path / f"p{i}.nc")]) == 0
    parts = [str(tmp_path / f"p{i}.nc") for i in range(2)]
    assert main(["merge", *parts, "--out", str(tmp_path / "m.nc")]) == 0
    _same_file(tmp_path / "full.nc", tmp_path / "m.nc")
    capsys.readouterr()
    assert main([*args, "--shard", "2/2", "--out", str(tmp_path / "x.nc")]) == 2
    assert main(["merge", parts[0], "--out", str(tmp_path / "y.nc")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("error" in line for line in err)


def test_grid_file_round_trip(tmp_path):
    cfg = sim.make_config(0.5, 1.0, **SMALL)
    pts = {"eta": [0.05, 0.2], "alpha": np.full((2, SMALL["N"]), 0.7)}
    path = sim.save_grid(tmp_path / "g.nc", cfg, pts, [5, 6])
    traj, res = sim.load_grid(path)
    assert traj.heldout_acc.shape == (2, 2, SMALL["rounds"] + 1)
    np.testing.assert_allclose(res["eta"], [0.05, 0.2])
    assert res.dims("alpha") == ("point", "prompt")
    cfg_d = json.loads(res.attrs["config"])
    assert "eta" not in cfg_d and cfg_d["kappa"] == 1.0 and cfg_d["N"] == SMALL["N"]
    direct = sim.grid_runs(cfg, pts, [5, 6])
    np.testing.assert_array_equal(traj.heldout_acc, direct.heldout_acc)
