"""T2 away from theta0 (mean_ascent_directions) and a_gated of the first gated round."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

import theory

STUDENT = {"d_s": 8, "K": 4, "mu": 2.0, "s": 4.0, "b": 0.45, "N": 128}


def test_T2_mean_ascent_directions_against_monte_carlo_away_from_theta0():
    """Pairs sampled here (two draws from pi, noisy scores, best vs worst), G averaged."""
    rng = np.random.default_rng(1)
    N, K, d, s, beta = 3, 3, 2, 1.7, 0.8
    logits0 = rng.standard_normal((N, K))
    logits = logits0 + rng.standard_normal((N, K))
    m = 1.3 * (2.0 * (rng.random((N, K)) < 0.6) - 1.0)
    phi = rng.standard_normal((N, K, d))
    mu_s, mu_t = theory.mean_ascent_directions(logits, logits0, m, phi, s=s, beta=beta)
    pi = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    draws = 200_000
    dl = logits - logits0
    for x in range(N):
        y = np.stack([rng.choice(K, draws, p=pi[x]) for _ in range(2)], 1)
        score = m[x][y] + rng.standard_normal((draws, 2))
        w = np.where(score[:, 0] >= score[:, 1], y[:, 0], y[:, 1])
        lo = np.where(score[:, 0] >= score[:, 1], y[:, 1], y[:, 0])
        g = beta / (1.0 + np.exp(beta * (dl[x, w] - dl[x, lo])))
        g = np.where(w != lo, g, 0.0)
        G_s = g[:, None] * (phi[x, w] - phi[x, lo])
        G_t = s * g[:, None] * (np.eye(K)[w] - np.eye(K)[lo])
        for est, G in ((mu_s[x], G_s), (mu_t[x], G_t)):
            se = G.std(0, ddof=1) / math.sqrt(draws)
            assert np.all(np.abs(G.mean(0) - est) <= 4.5 * se + 1e-12), (x, G.mean(0), est)


def test_T2_mean_ascent_directions_at_theta0_is_pair_direction_moments_for_K2():
    """At theta0 (sigma(-h) = 1/2) with K = 2 the mixed pair is the only pair: the loop form."""
    rng = np.random.default_rng(2)
    logits0 = rng.standard_normal((5, 2))
    m = np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [0.3, -2.0], [0.0, 0.0]])
    phi = rng.standard_normal((5, 2, 3))
    mu_s, mu_t = theory.mean_ascent_directions(logits0, logits0, m, phi, s=2.0, beta=1.5)
    for x in range(5):
        pi = np.exp(logits0[x]) / np.exp(logits0[x]).sum()
        p = ndtr((m[x, 0] - m[x, 1]) / math.sqrt(2))
        ref = theory.pair_direction_moments(pi, p, s=2.0, beta=1.5, shared=phi[x])["mean"]
        np.testing.assert_allclose(np.concatenate([mu_t[x], mu_s[x]]), ref, atol=1e-12)


def test_T2_mean_ascent_directions_rejects_bad_shapes():
    with pytest.raises(ValueError):
        theory.mean_ascent_directions(
            np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 3, 1)), s=1.0
        )


@pytest.mark.parametrize("gate", ["uniform", "rank", "proportional", "threshold", "margin"])
def test_T2_first_gated_round_is_one_half_without_a_signal(gate):
    """kappa = 0: orientation carries no signal and the step's law is symmetric."""
    est = theory.first_gated_round(0.3, 0.0, STUDENT, gate, replicates=512, seed=3)
    assert abs(est["a_gated"] - 0.5) <= 4 * est["a_gated_se"]


@pytest.mark.parametrize("alpha,kappa", [(0.3, 2.0), (0.7, 1.0)])
def test_T2_first_gated_round_uniform_is_L0_pair_accuracy(alpha, kappa):
    est = theory.first_gated_round(alpha, kappa, STUDENT, "uniform", replicates=512, seed=4)
    assert abs(est["a_gated"] - theory.pair_accuracy(alpha, kappa)) <= 4 * est["a_gated_se"]


@pytest.mark.parametrize("gate", ["rank", "proportional", "threshold"])
def test_T2_first_gated_round_locks_in_the_consensus(gate):
    """The progress gates move a_gated away from 1/2 in the consensus's direction: below a_pair
    for a sub-threshold verifier, above it for a good one (cross-dominated student)."""
    for alpha, kappa, sign in ((0.3, 2.0, -1), (0.7, 1.0, 1)):
        est = theory.first_gated_round(alpha, kappa, STUDENT, gate, replicates=512, seed=5)
        gap = est["a_gated"] - est["a_pair"]
        assert sign * gap > 5 * est["a_gated_se"], (gate, alpha, est)
