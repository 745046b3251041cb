"""The bench's numpy baseline (sim.vectorised) is the reference model: gates equal row by row,
runs equal in distribution (per-seed summaries within 4 standard errors, 48 seeds each)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim import reference, vectorised
from theory.gates import GATES

SEEDS = 48
SMALL = {"N": 40, "N_h": 48, "B": 12, "rounds": 20}


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.integers(1, 30), gate=st.sampled_from(GATES))
def test_batched_gates_equal_reference_row_by_row(seed, t, gate):
    rng = np.random.default_rng(seed)
    M, N = 5, 17
    scores = np.round(rng.normal(size=(M, N)), 1) * (rng.random((M, N)) < 0.8)  # ties, zeros
    stale = t - rng.integers(0, t, size=(M, N))
    margins = np.where(rng.random((M, N)) < 0.3, 0.0, np.abs(rng.normal(size=(M, N))))
    hyper = {"tau": 0.1, "temperature": 0.7, "staleness_coef": 0.2}
    got = vectorised.replay_distributions(gate, scores, stale, margins, t, **hyper)
    for r in range(M):
        want = reference.replay_distribution(gate, scores[r], stale[r], margins[r], t, **hyper)
        np.testing.assert_allclose(got[r], want, rtol=1e-12, atol=1e-15)


def _summaries(traj):
    return {
        "heldout_final": traj.heldout_acc[:, -1],
        "train_final": traj.train_acc[:, -1],
        "loss_fresh": np.nanmean(traj.loss_fresh, axis=1),
        "loss_trained": np.nanmean(traj.loss_trained, axis=1),
        "frac_wrong": traj.frac_wrong.mean(1),
        "n_eff_dist": traj.n_eff_dist.mean(1),
        "n_eff": traj.n_eff.mean(1),
        "void_frac": traj.void_frac.mean(1),
        "pair_right": traj.pair_right.mean(1),
    }


@pytest.mark.parametrize(
    "kw",
    [
        dict(alpha=0.3, kappa=2.0, gate="rank"),
        dict(alpha=0.7, kappa=1.0, gate="threshold", tau=0.002, progress="reward", rho=0.3, n=3),
        dict(alpha=0.5, kappa=3.0, gate="proportional", student="second"),
    ],
    ids=["rank", "threshold-reward-rho-n3", "proportional-second"],
)
def test_vectorised_equals_reference_in_distribution(kw):
    kw = dict(kw)
    cfg = sim.make_config(kw.pop("alpha"), kw.pop("kappa"), **SMALL, **kw)
    vec = vectorised.run_batch(cfg, None, SEEDS, rng_seed=1)
    vec = sim.Trajectory(*(x[0] for x in vec))
    ref = reference.run_seeds(cfg, np.arange(20_000, 20_000 + SEEDS))
    assert vec.heldout_acc.shape == ref.heldout_acc.shape
    sv, sr = _summaries(vec), _summaries(ref)
    bad = {}
    for name in sv:
        a, b = sv[name], sr[name]
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        if se == 0:
            assert a.mean() == pytest.approx(b.mean(), abs=1e-5), name
        elif abs(a.mean() - b.mean()) > 4 * se:
            bad[name] = (a.mean(), b.mean(), (a.mean() - b.mean()) / se)
    assert not bad, f"vectorised vs reference differ beyond 4 SE: {bad}"
    np.testing.assert_allclose(vec.frac_right + vec.frac_wrong + vec.frac_unoriented, 1, atol=1e-4)


def test_vectorised_grid_points_take_their_parameters():
    cfg = sim.make_config(0.5, 1.0, **SMALL)
    traj = vectorised.run_batch(cfg, {"eta": [0.0, 0.3]}, 4)
    assert traj.heldout_acc.shape == (2, 4, SMALL["rounds"] + 1)
    # eta = 0: nothing moves
    h = traj.heldout_acc
    np.testing.assert_allclose(h[0], np.broadcast_to(h[0][:, :1], h[0].shape), atol=1e-6)
    assert not np.allclose(h[1], np.broadcast_to(h[1][:, :1], h[1].shape))
