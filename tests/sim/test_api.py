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
from theory.util import usable_cores

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


def test_sharded_sweep_equals_one_device_run(tmp_path):
    """With two XLA host devices each chunk is split over them; results must not change.

    The same sweeps and run_seeds in a one-device and a two-device process: bitwise equal at
    N = 32; at N = 300 (host ranks) equal up to float32 rounding (XLA may pick other kernels for
    the half-size batch of each device).
    """
    code = textwrap.dedent(
        """
        import sys, numpy as np, jax, sim
        base = sim.make_config(0.5, 1.0, gate="rank", N=32, N_h=32, B=8, rounds=10)
        a, k = np.array([0.1, 0.4, 0.6, 0.9, 0.7]), np.array([0.5, 1.0, 2.0, 3.0, 0.0])
        s = sim.grid_runs(base, {"alpha": a, "kappa": k}, 3)
        s1 = sim.run_seeds(base, 5)
        big = sim.make_config(0.5, 1.0, gate="rank", N=300, N_h=16, B=8, rounds=4)
        s2 = sim.grid_runs(big, {"alpha": a[:3], "kappa": k[:3]}, 2)
        out = {f"{i}_{n}": x for i, t in enumerate((s, s1, s2)) for n, x in zip(t._fields, t)}
        np.savez(sys.argv[1], devices=jax.device_count(), **out)
        """
    )
    res = []
    for n in (1, 2):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
        path = tmp_path / f"d{n}.npz"
        run = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        res.append(dict(np.load(path)))
    assert [int(r["devices"]) for r in res] == [1, 2]
    for key in set(res[0]) - {"devices"}:
        if key.startswith(("0_", "1_")):
            np.testing.assert_array_equal(res[0][key], res[1][key], err_msg=key)
        else:
            np.testing.assert_allclose(res[0][key], res[1][key], atol=1e-6, err_msg=key)


def test_pilot_and_confirmation_share_one_compiled_program():
    """The chunk's shape is free of the seed count past SEED_CHUNK: a 16-seed pilot and a
    37-seed confirmation of the same sweep compile one program, and a seed's runs do not
    depend on the chunk it was run in."""
    from sim import grid

    base = sim.make_config(0.5, 1.0, gate="uniform", N=16, N_h=16, B=4, rounds=3, eta=0.3)
    pts = {"alpha": np.array([0.2, 0.7, 0.9]), "kappa": np.array([1.0, 2.0, 0.5])}
    assert grid.chunk_plan(3, 16, 16, 2, grid.CHUNK_RUNS, True) == grid.chunk_plan(
        3, 37, 16, 2, grid.CHUNK_RUNS, True
    )
    before = grid._chunk_cpu._cache_size()
    pilot = sim.grid_runs(base, pts, np.arange(10_000, 10_016))
    compiled = grid._chunk_cpu._cache_size()
    confirmation = sim.grid_runs(base, pts, 37)
    assert grid._chunk_cpu._cache_size() == compiled <= before + 1
    assert confirmation.heldout_acc.shape[:2] == (3, 37)
    alone = sim.grid_runs(base, pts, [36])
    np.testing.assert_allclose(confirmation.heldout_acc[:, 36], alone.heldout_acc[:, 0], atol=1e-6)
    assert not np.allclose(pilot.heldout_acc[:, 0], confirmation.heldout_acc[:, 0])


def test_progress_moments_compiles_once_per_shape():
    """T2's moment draws are one program per (shape, draws): other seeds, run keys and weights
    reuse it (a closure jitted per call compiled 45 times in one quick reproduction)."""
    from sim import moments

    cfg = sim.make_config(0.7, 1.0, N=16, N_h=16, B=4, rounds=1, eta=0.01)
    first = sim.progress_moments(cfg, jax.random.PRNGKey(1), 64)
    compiled = moments._draws._cache_size()
    other = sim.progress_moments(
        cfg, jax.random.PRNGKey(2), 64, weights=np.full(16, 1 / 16), run_key=jax.random.PRNGKey(3)
    )
    assert moments._draws._cache_size() == compiled
    assert not np.allclose(first["measured"], other["measured"])


@pytest.mark.skipif(usable_cores() < 2, reason="one core: one XLA device either way")
@pytest.mark.parametrize("restrict", [False, True])
def test_cli_simulate_gives_xla_one_device_per_usable_core(restrict):
    """The CLI sets the CPU device count before anything imports jax (the memory check does):
    one device per core this process may use, so a job pinned to one core (SLURM
    cpus-per-task, taskset) gets one device, not the machine's count."""
    code = textwrap.dedent(
        """
        import contextlib, io
        from paper.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            rc = main(["simulate", "--alpha", "0.5", "--kappa", "1", "--rounds", "2",
                       "--seeds", "1", "--json"])
        import jax
        print(rc, jax.device_count())
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = os.getcwd() + os.pathsep + env.get("PYTHONPATH", "")
    cores = sorted(os.sched_getaffinity(0))
    pin = (lambda: os.sched_setaffinity(0, cores[:1])) if restrict else None
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=pin,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["0", str(1 if restrict else usable_cores())]
