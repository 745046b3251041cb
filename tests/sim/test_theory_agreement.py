"""The simulator against theory's closed forms: L0, T1, T2, T2b (within 3 standard errors)."""

import jax
import numpy as np
import pytest

import sim
import theory
from sim.noise import _normal, _uniform

ALPHAS = np.array([0.1, 0.3, 0.7, 0.9])
KAPPAS = np.array([0.5, 2.0])
SEEDS = 2048
ETA = 0.01  # first-order regime


@pytest.fixture(scope="module")
def first_round():
    """Round 1 (at theta0, uniform replay) over a grid, many seeds, small eta."""
    return sim.sweep(ALPHAS, KAPPAS, seeds=SEEDS, rounds=1, gate="uniform", eta=ETA)


def test_noise_is_finite_at_the_extremes():
    bits = jax.numpy.array([0, 1, 2**31, 2**32 - 1], dtype=jax.numpy.uint32)
    u = np.asarray(_uniform(bits))
    assert np.all((u > 0) & (u < 1))
    assert np.all(np.isfinite(np.asarray(_normal(bits))))


def test_L0_pair_orientation_n2(first_round):
    """Among mixed pairs at theta0, the right-oriented fraction is a_pair(alpha, kappa)."""
    r, w = first_round.pair_right[..., 0], first_round.pair_wrong[..., 0]
    m = r + w
    est = r.sum(-1) / m.sum(-1)
    se = np.sqrt(((r - est[..., None] * m) ** 2).sum(-1)) / m.sum(-1)  # ratio estimator
    a_pair = theory.pair_accuracy(ALPHAS[:, None], KAPPAS[None, :])
    assert np.all(np.abs(est - a_pair) <= 3 * se), (est, a_pair, se)


def test_L0_unconditional_outcome_probabilities_n2(first_round):
    """pair_outcome_probs with the exact per-prompt mixed mass: right = M2 a_pair."""
    r, w = first_round.pair_right[..., 0], first_round.pair_wrong[..., 0]
    mixed = (r + w).mean()  # E_x[2 pi0 (1 - pi0)], the same at every grid point (CRN)
    probs = theory.pair_outcome_probs(ALPHAS[:, None], KAPPAS[None, :], n=2, p_correct=0.5)
    pred_right = mixed * probs["right"] / probs["mixed"]
    se = r.std(-1, ddof=1) / np.sqrt(SEEDS)
    assert np.all(np.abs(r.mean(-1) - pred_right) <= 3 * se + 3 * (r + w).std() / np.sqrt(r.size))


def test_T1_first_round_heldout_and_train_drift(first_round):
    student = sim.STUDENTS["default"].fields()
    N = sim.make_config().N
    d_held = first_round.heldout_acc[..., 1] - first_round.heldout_acc[..., 0]
    d_train = first_round.train_acc[..., 1] - first_round.train_acc[..., 0]
    grid = (ALPHAS[:, None], KAPPAS[None, :])
    pred_held = theory.first_round_heldout_drift(*grid, student, eta=ETA, beta=1.0)
    pred_train = theory.first_round_train_drift(*grid, dict(student, N=N), eta=ETA, beta=1.0)
    for sim_d, pred in ((d_held, pred_held), (d_train, pred_train)):
        se = sim_d.std(-1, ddof=1) / np.sqrt(SEEDS)
        z = (sim_d.mean(-1) - pred) / se
        assert np.all(np.abs(z) <= 3), z
    # T1's threshold: the sign of the drift is the sign of alpha - 1/2
    assert np.all(np.sign(d_held.mean(-1)) == np.sign(ALPHAS - 0.5)[:, None])


@pytest.mark.parametrize("s", [4.0, 0.3])
def test_T2_expected_progress(s):
    """Measured one-step loss progress = eta <mu_x, sum_y w_y mu_y> (self + cross), T2."""
    cfg = sim.make_config(0.8, 2.0, gate="uniform", eta=0.01, s=s)
    w = np.zeros(cfg.N)
    w[:16] = 1 / 16
    m = sim.progress_moments(cfg, jax.random.PRNGKey(0), 3000, weights=w)
    # theory's formula on the full direction: shared block + the prompt's own tabular row
    N, K = m["mu_tabular"].shape
    tab = np.zeros((N, N * K))
    for x in range(N):
        tab[x, x * K : (x + 1) * K] = m["mu_tabular"][x]
    pred = theory.expected_progress(np.hstack([m["mu_shared"], tab]), w, cfg.eta)
    np.testing.assert_allclose(pred["total"], m["predicted"], rtol=1e-6, atol=1e-12)
    z = (m["measured_total"] - pred["total"].sum()) / m["measured_total_se"]
    assert abs(z) <= 3, z
    # self-term = eta w (E||G||^2 - tr Sigma): second moment minus variance
    np.testing.assert_allclose(
        pred["self"], cfg.eta * w * (m["second_moment"] - m["trace_cov"]), rtol=1e-6, atol=1e-12
    )


def test_T2b_shared_update_variance_scales_as_one_over_n_eff():
    cfg = sim.make_config(0.8, 2.0, gate="uniform", eta=0.01)
    variances = []
    for m_ in (4, 32, 128):
        w = np.zeros(cfg.N)
        w[:m_] = 1 / m_
        assert theory.effective_replay_size(w) == pytest.approx(m_)
        m = sim.progress_moments(cfg, jax.random.PRNGKey(1), 3000, weights=w)
        pred = theory.shared_update_variance(w, m["trace_cov_shared"], cfg.eta)
        assert abs(m["update_var"] - pred) <= 3 * m["update_var_se"], (m_, m["update_var"], pred)
        variances.append(m["update_var"])
    assert variances[0] > variances[1] > variances[2]
