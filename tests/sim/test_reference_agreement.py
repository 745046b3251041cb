"""The JAX simulator and sim.reference (numpy) agree in distribution, and both keep invariants.

Not bit-identical (different random streams): per-seed summaries of each statistic must agree
within 4 standard errors of their difference (two independent samples of 32 seeds).
"""

import numpy as np
import pytest

import sim
from sim import reference

SEEDS = 32
SMALL = {"N": 48, "N_h": 64, "B": 16, "rounds": 25}
CASES = {
    "uniform": dict(alpha=0.3, kappa=2.0, gate="uniform"),
    "threshold": dict(alpha=0.3, kappa=2.0, gate="threshold", tau=0.002),
    "rank": dict(alpha=0.3, kappa=2.0, gate="rank"),
    "proportional": dict(alpha=0.3, kappa=2.0, gate="proportional"),
    "margin": dict(alpha=0.3, kappa=2.0, gate="margin"),
    "rank-reward-rho-n3": dict(alpha=0.7, kappa=1.0, gate="rank", progress="reward", rho=0.3, n=3),
}


def _config(case):
    kw = dict(CASES[case])
    alpha, kappa = kw.pop("alpha"), kw.pop("kappa")
    return sim.make_config(alpha, kappa, **SMALL, **kw)


@pytest.fixture(scope="module", params=list(CASES))
def runs(request):
    cfg = _config(request.param)
    jax_traj = sim.run_seeds(cfg, SEEDS)
    ref_traj = reference.run_seeds(cfg, np.arange(10_000, 10_000 + SEEDS))
    return cfg, jax_traj, ref_traj


def _summaries(traj):
    R = traj.loss_fresh.shape[-1]
    return {
        "heldout_final": traj.heldout_acc[:, -1],
        "heldout_mid": traj.heldout_acc[:, R // 2],
        "train_final": traj.train_acc[:, -1],
        "loss_fresh": np.nanmean(traj.loss_fresh, axis=1),
        "loss_trained": np.nanmean(traj.loss_trained, axis=1),
        "frac_wrong": traj.frac_wrong.mean(1),
        "n_eff_dist": traj.n_eff_dist.mean(1),
        "n_eff": traj.n_eff.mean(1),
        "void_frac": traj.void_frac.mean(1),
        "pair_right": traj.pair_right.mean(1),
    }


def test_invariants(runs):
    cfg, *trajs = runs
    for traj in trajs:
        R = cfg.rounds
        assert traj.heldout_acc.shape == (SEEDS, R + 1)
        for name in sim.Trajectory._fields:
            x = getattr(traj, name)
            assert x.shape[0] == SEEDS
            if name not in ("loss_trained", "loss_fresh"):  # NaN only when every pair is void
                assert np.all(np.isfinite(x)), name
        for acc in (traj.train_acc, traj.heldout_acc):
            assert np.all((acc >= 0) & (acc <= 1))
        mass = traj.frac_right + traj.frac_wrong + traj.frac_unoriented
        np.testing.assert_allclose(mass, 1.0, atol=1e-4)
        assert np.all(traj.n_eff <= cfg.B + 1e-3) and np.all(traj.n_eff >= 1 - 1e-3)
        assert np.all(traj.n_eff_dist <= cfg.N + 1e-2)
        assert np.all(traj.pair_right + traj.pair_wrong + traj.void_frac <= 1 + 1e-6)
        # round 1 is uniform for every gate
        np.testing.assert_allclose(traj.n_eff_dist[:, 0], cfg.N, rtol=1e-4)


def test_jax_and_reference_agree_in_distribution(runs):
    _, jax_traj, ref_traj = runs
    sj, sr = _summaries(jax_traj), _summaries(ref_traj)
    bad = {}
    for name in sj:
        a, b = sj[name], sr[name]
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        diff = a.mean() - b.mean()
        if se == 0:
            assert diff == pytest.approx(0.0, abs=1e-5), name
        elif abs(diff) > 4 * se:
            bad[name] = (a.mean(), b.mean(), diff / se)
    assert not bad, f"JAX vs reference differ beyond 4 SE: {bad}"
