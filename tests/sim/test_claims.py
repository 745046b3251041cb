"""THEORY.md "what the simulator must show", on the named students with fixed seeds.

Every comparison is a mean over seeds (paired by seed where two settings share the seeds: common
random numbers) against 3 standard errors computed from the seeds. Parameters are the students'
defaults (sim.STUDENTS, sim.config.DEFAULTS) unless a claim names another regime.
"""

import numpy as np
import pytest
from scipy.stats import f as f_dist
from scipy.stats import norm

import sim

pytestmark = pytest.mark.slow
SEEDS = 32


def _mean_se(x):
    x = np.asarray(x, dtype=float)
    return x.mean(), x.std(ddof=1) / np.sqrt(x.size)


def _below(x, z=3.0):
    m, se = _mean_se(x)
    return m + z * se < 0


def _above(x, z=3.0):
    m, se = _mean_se(x)
    return m - z * se > 0


def _loss_windows(traj, windows=4):
    """Per-seed mean DPO loss on trained pairs in consecutive windows of rounds."""
    R = traj.loss_trained.shape[-1]
    edges = np.linspace(0, R, windows + 1).astype(int)
    return np.stack(
        [np.nanmean(traj.loss_trained[:, a:b], axis=1) for a, b in zip(edges, edges[1:])], 1
    )


def test_T1_full_run_sign_flips_between_0_4_and_0_6():
    """Phase-diagram cut at kappa = 2 (uniform replay, 200 rounds): below 0.4 the student loses,
    above 0.6 it gains. Over a full run the zero is NOT at 1/2 (T1-long: about 0.52 for the
    default student), so no assertion is made at alpha = 1/2; paper/experiments/t1_drift.py tests
    the first round's exact threshold and t1_threshold.py the full run's alpha*."""
    alphas = np.array([0.3, 0.4, 0.6, 0.7])
    d = sim.delta_heldout(sim.sweep(alphas, [2.0], seeds=SEEDS, gate="uniform"))[:, 0]
    assert _below(d[0]) and _below(d[1])
    assert _above(d[2]) and _above(d[3])


@pytest.mark.parametrize("student", ["default", "second"])
def test_T4_silent_regression_uniform(student):
    """alpha < 1/2, kappa large: trained-pair DPO loss falls in every window, A_held falls."""
    traj = sim.run_seeds(sim.make_config(0.23, 3.0, gate="uniform", student=student), SEEDS)
    w = _loss_windows(traj)
    for i in range(1, w.shape[1]):
        assert _below(w[:, i] - w[:, i - 1], z=2.0), (i, w.mean(0))
    assert _below(sim.delta_heldout(traj))
    assert _below(traj.train_acc[:, -1] - traj.train_acc[:, 0])


def test_T4_silent_regression_default_rank_gate():
    """The same under the default progress gate (rank) on the default student."""
    traj = sim.run_seeds(sim.make_config(0.23, 3.0), SEEDS)
    w = _loss_windows(traj)
    assert np.all(np.diff(w.mean(0)) < 0), w.mean(0)
    assert _below(w[:, -1] - w[:, 0])
    assert _below(sim.delta_heldout(traj))


@pytest.mark.parametrize("student", ["default", "second"])
def test_T5_confidence_inversion_uniform(student):
    """alpha 0.23 / kappa 3 regresses more than alpha 0.08 / kappa 0.1 under uniform replay."""
    confident = sim.run_seeds(sim.make_config(0.23, 3.0, gate="uniform", student=student), SEEDS)
    random_ = sim.run_seeds(sim.make_config(0.08, 0.1, gate="uniform", student=student), SEEDS)
    assert _below(sim.delta_heldout(confident) - sim.delta_heldout(random_))
    assert _below(sim.min_delta_heldout(confident) - sim.min_delta_heldout(random_))


@pytest.mark.parametrize("student", ["default", "second"])
def test_T2_amplification_rank_vs_uniform(student):
    """The confident sub-threshold verifier's worst drop is larger under the rank gate."""
    rank = sim.run_seeds(sim.make_config(0.23, 3.0, gate="rank", student=student), SEEDS)
    uniform = sim.run_seeds(sim.make_config(0.23, 3.0, gate="uniform", student=student), SEEDS)
    assert _below(sim.min_delta_heldout(rank) - sim.min_delta_heldout(uniform))


def test_replication_second_student_threshold_signs():
    """T1: the sign of dA depends on alpha - 1/2, not on the student."""
    d = sim.delta_heldout(
        sim.sweep([0.3, 0.7], [2.0], seeds=SEEDS, gate="uniform", student="second")
    )[:, 0]
    assert _below(d[0]) and _above(d[1])


def _t3_verifier(N):
    """THEORY.md T3: 85% of prompts with p = 0.6 (right), 15% with p = 0.05 (confidently wrong)."""
    k_right = norm.ppf(0.6) / np.sqrt(2)  # Phi(sqrt2 kappa) = 0.6 with alpha_x = 1
    k_wrong = norm.ppf(0.95) / np.sqrt(2)  # Phi(sqrt2 kappa) = 0.95 with alpha_x = 0
    return sim.heterogeneous_verifier([0.85, 0.15], [1.0, 0.0], [k_right, k_wrong], N)


def test_T3_consensus_lock_in_small_s():
    """s -> 0 (cross-term dominates): the gate amplifies whatever consensus forms, right or
    wrong, so final held-out changes spread far more across seeds than under uniform replay."""
    seeds = 64
    alpha_x, kappa_x = _t3_verifier(sim.make_config().N)
    uniform = sim.run_seeds(sim.make_config(alpha_x, kappa_x, gate="uniform", s=0.05), seeds)
    rank = sim.run_seeds(sim.make_config(alpha_x, kappa_x, gate="rank", s=0.05), seeds)
    d_u, d_r = sim.delta_heldout(uniform), sim.delta_heldout(rank)
    ratio = d_r.var(ddof=1) / d_u.var(ddof=1)
    assert ratio > f_dist.ppf(0.999, seeds - 1, seeds - 1), ratio
    # under uniform replay the drift has the sign of E[2p - 1] > 0
    assert _above(d_u)
