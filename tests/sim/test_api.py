"""Public API consistency: run vs run_seeds vs sweep (common random numbers), files, CLI."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import sim
from paper.cli import main

SMALL = {"N": 48, "N_h": 64, "B": 16, "rounds": 25}


def test_run_equals_run_seeds_and_sweep_point():
    cfg = sim.make_config(0.3, 2.0, gate="rank", **SMALL)
    one = sim.run(cfg, jax.random.PRNGKey(5))
    many = sim.run_seeds(cfg, [4, 5])
    grid = sim.sweep([0.3, 0.9], [0.5, 2.0], seeds=[4, 5], gate="rank", **SMALL)
    assert grid.heldout_acc.shape == (2, 2, 2, SMALL["rounds"] + 1)
    # equal up to float32 rounding (batched layouts sum in another order)
    for name in sim.Trajectory._fields:
        np.testing.assert_allclose(
            getattr(one, name), getattr(many, name)[1], rtol=1e-3, atol=1e-3, err_msg=name
        )
        np.testing.assert_allclose(
            getattr(grid, name)[0, 1], getattr(many, name), rtol=1e-3, atol=1e-3, err_msg=name
        )


def test_sweep_uses_common_random_numbers():
    # kappa = 0: the verdicts are never seen, so every alpha gives the same run (same numbers)
    grid = sim.sweep([0.1, 0.9], [0.0], seeds=2, gate="uniform", **SMALL)
    np.testing.assert_allclose(grid.heldout_acc[0], grid.heldout_acc[1], atol=1e-6)
    assert not np.allclose(grid.heldout_acc[0, 0, 0], grid.heldout_acc[0, 0, 1])


def test_save_and_load_sweep(tmp_path):
    path = tmp_path / "s.nc"
    sim.save_sweep(path, [0.3, 0.9], [2.0], seeds=[7, 8], gate="uniform", **SMALL)
    traj, res = sim.load_sweep(path)
    assert traj.heldout_acc.shape == (2, 1, 2, SMALL["rounds"] + 1)
    assert list(res.coords["seed"]) == [7, 8]
    assert res.attrs["gate"] == "uniform" and json.loads(res.attrs["config"])["N"] == 48
    xr = pytest.importorskip("xarray")
    ds = xr.open_dataset(path)
    assert ds["heldout_acc"].dims == ("alpha", "kappa", "seed", "round")
    ds.close()


def test_cli_simulate_json(capsys):
    rc = main(
        [
            "simulate",
            "--alpha",
            "0.8",
            "--kappa",
            "2",
            "--gate",
            "uniform",
            "--rounds",
            "20",
            "--seeds",
            "2",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["train_acc"]) == len(out["heldout_acc"]) == 21 and len(out["loss"]) == 20
    for key in ("delta_heldout", "min_delta_heldout", "gate", "progress", "seeds"):
        assert key in out
    assert out["seeds"] == [0, 1] and out["gate"] == "uniform"


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--alpha", "1.5", "--kappa", "1"],
        ["simulate", "--alpha", "0.5", "--kappa", "-1"],
        ["simulate", "--alpha", "0.5", "--kappa", "1", "--gate", "nope"],
        ["simulate", "--alpha", "0.5", "--kappa", "1", "--n", "1"],
        ["sweep", "--alphas", "0:1", "--kappas", "0:1:2", "--out", "x.nc"],
    ],
)
def test_cli_bad_input_is_one_line_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "error" in err


def test_cli_sweep_writes_file(tmp_path, capsys):
    out = tmp_path / "grid.nc"
    rc = main(
        [
            "sweep",
            "--alphas",
            "0.2:0.8:2",
            "--kappas",
            "1",
            "--seeds",
            "2",
            "--rounds",
            "5",
            "--gate",
            "uniform",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0 and out.is_file()
    traj, res = sim.load_sweep(out)
    assert traj.heldout_acc.shape == (2, 1, 2, 6)


def test_sharded_sweep_equals_unsharded():
    """With two XLA host devices the grid axis is sharded; results must not change."""
    code = textwrap.dedent(
        """
        import json, sys, numpy as np, jax, sim
        from sim.grid import grid_runs
        assert jax.device_count() == 2
        base = sim.make_config(0.5, 1.0, gate="rank", N=32, N_h=32, B=8, rounds=10)
        a, k = np.array([0.1, 0.4, 0.6, 0.9, 0.7]), np.array([0.5, 1.0, 2.0, 3.0, 0.0])
        s = grid_runs(base, {"alpha": a, "kappa": k}, 3, shard=True)
        u = grid_runs(base, {"alpha": a, "kappa": k}, 3, shard=False)
        err = max(float(np.nanmax(np.abs(x - y))) for x, y in zip(s, u))
        s1 = sim.run_seeds(base, 5)
        u1 = sim.run_seeds(base, 5, shard=False)
        err = max([err] + [float(np.nanmax(np.abs(x - y))) for x, y in zip(s1, u1)])
        print(json.dumps({"err": err}))
        """
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout.strip().splitlines()[-1])["err"] < 1e-4


def test_grid_runs_over_any_traced_parameter_equals_separate_configs():
    """A grid over (eta, lam, per-prompt alpha) gives the runs of the configs built one by one."""
    base = sim.make_config(0.3, 2.0, gate="rank", **SMALL)
    N = SMALL["N"]
    alpha_x = np.stack([np.full(N, 0.3), np.linspace(0.1, 0.9, N)])
    pts = {"eta": [0.05, 0.2], "lam": [0.1, 0.5], "alpha": alpha_x}
    grid = sim.grid_runs(base, pts, [3, 4], chunk_runs=2)
    assert grid.heldout_acc.shape == (2, 2, SMALL["rounds"] + 1)
    for g in range(2):
        cfg = sim.make_config(
            alpha_x[g], 2.0, gate="rank", eta=pts["eta"][g], lam=pts["lam"][g], **SMALL
        )
        one = sim.run_seeds(cfg, [3, 4])
        for name in sim.Trajectory._fields:
            np.testing.assert_allclose(
                getattr(grid, name)[g], getattr(one, name), rtol=1e-3, atol=1e-3, err_msg=name
            )
    assert not np.allclose(grid.heldout_acc[0], grid.heldout_acc[1])


@pytest.mark.parametrize(
    ("points", "match"),
    [
        ({"N": [10]}, "static"),
        ({"bogus": [1.0]}, "not a parameter"),
        ({"alpha": [1.5]}, "alpha"),
        ({"eta": [0.1, 0.2], "lam": [0.1]}, "same length"),
        ({"eta": np.ones((2, 3))}, "shape"),
    ],
)
def test_grid_runs_rejects_bad_points(points, match):
    base = sim.make_config(0.3, 2.0, **SMALL)
    with pytest.raises(ValueError, match=match):
        sim.grid_runs(base, points, 2)
