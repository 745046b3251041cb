"""sim.limits: the bounds on the simulator's inputs (issue 14) and why each bound is there."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import sim
from sim import limits
from sim.config import defaults
from sim.grid import seed_keys
from sim.noise import draw
from theory.util import UsageError


def test_kappa_bound_is_where_float32_still_resolves_the_score_noise():
    """L0 pairs: kappa 1e4 orders samples as kappa 20 does (noise resolved); 1e8 does not.

    Above |eps| <= 5.3 every kappa ranks by verdict, then by eps among equal verdicts; in float32
    the eps is rounded to steps of spacing(kappa): 2^-10 at 1e4 (a tie in about 3e-4 of
    same-verdict pairs), 8 at 1e8 (every same-verdict pair ties, and a tie is a void pair).
    """
    base = sim.make_config(0.7, 20.0, rounds=20)
    void = {}
    for kappa in (20.0, limits.KAPPA_MAX, 1e8):  # 1e8 bypasses make_config's bound on purpose
        traj = sim.run_seeds(base.replace(kappa=kappa), 2)
        void[kappa] = float(np.mean(traj.void_frac))
    assert abs(void[limits.KAPPA_MAX] - void[20.0]) < 2e-3
    assert void[1e8] - void[20.0] > 0.05
    assert np.spacing(np.float32(limits.KAPPA_MAX)) <= 1e-3


def test_make_config_refuses_kappa_above_the_bound_and_says_why():
    sim.make_config(0.5, limits.KAPPA_MAX)
    for bad in (1.0001e4, 1e8, math.inf, math.nan):
        with pytest.raises(ValueError, match="float32"):
            sim.make_config(0.5, bad)


def test_seeds_beyond_uint32_are_refused_not_wrapped():
    arr, _ = seed_keys([0, limits.SEED_MAX])
    assert arr.tolist() == [0, limits.SEED_MAX]
    for bad in ([limits.SEED_MAX + 1], [-1]):
        with pytest.raises(ValueError, match="uint32"):
            seed_keys(bad)
    limits.check_seeds(limits.SEED_MAX - 1, 2)
    with pytest.raises(UsageError, match="4294967296"):
        limits.check_seeds(limits.SEED_MAX, 2)


def test_grid_parse_is_linspace_bounded_and_finite():
    np.testing.assert_array_equal(limits.parse_grid("--a", "0:1:5"), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(limits.parse_grid("--a", "0.5,1e4"), [0.5, 1e4])
    assert limits.parse_grid("--a", "0:1:1e3").size == 1000
    for bad in ("0:1:1e7", "0:1:0", "0:1:2.5", "0:1:nan", "nan", "0:inf:3", "1,inf", "", "a"):
        with pytest.raises(UsageError, match="--a"):
            limits.parse_grid("--a", bad)


def test_memory_estimate_counts_every_random_number_a_run_draws():
    """run_bytes' per-seed part covers the arrays sim.noise.draw actually makes."""
    shape = defaults(rounds=7, n=3, N=5, N_h=6)
    noise = draw(jax.random.PRNGKey(0), *(shape[k] for k in ("N", "N_h", "K", "d_s", "n", "B")), 7)
    drawn = sum(int(np.asarray(x).size) for x in noise)
    per_seed, _, host = limits.run_bytes(shape)
    assert per_seed >= 2 * 8 * drawn  # uint32 bits and float32 values, x2 for XLA
    assert host == 3 * 12 * (7 + 1) * 8  # 12 float64 outcome rows of rounds + 1


def test_memory_check_refuses_with_the_estimate_in_the_message():
    with pytest.raises(UsageError, match=r"would need about .*TiB.*rounds=1000000000"):
        limits.check_sim_memory("the simulation", G=1, S=8, has_points=False, rounds=10**9)
    need = limits.check_sim_memory("the simulation", G=1, S=2, has_points=False, rounds=3)
    assert need < 1 << 30
