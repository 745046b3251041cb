"""T5-gated (theory/gated_longrun.py): checks against a second implementation (T1-long's
recursion, the closed-form expected ascent), closed forms and T2's amplification (never against
itself). The gate weights are checked against the simulator's gate code in tests/sim."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from theory import gate_amplification, gate_weights_from_progress, gated_mean_field_run
from theory.gated_longrun import _sample_pairs
from theory.longrun import expected_ascent, mean_field_run


def test_T5_gated_rank_weights_effective_size_closed_form():
    N, rho = 128, 0.1
    H = sum(1 / r for r in range(1, N + 1))
    want = 1 / sum(((1 - rho) / (r * H) + rho / N) ** 2 for r in range(1, N + 1))
    w = gate_weights_from_progress(np.linspace(1, 0, N), "rank", staleness=rho)
    assert math.isclose(1 / (w**2).sum(), want, rel_tol=1e-12) and 21 < want < 22


def test_T5_gated_uniform_competence_agrees_with_T1_long_recursion():
    """Uniform replay: the gated recursion's final competence equals theory.longrun's (another
    implementation, other disorder draws) within 4 combined standard errors."""
    a, k, R = 0.23, 3.0, 60
    mine = gated_mean_field_run(a, k, "uniform", rounds=R, draws=16, seed=5)["c"][:, -1]
    other = mean_field_run([a], k, rounds=R, draws=8, seed=6, noise_feedback=False)["c"][0]
    other = other.reshape(8, 2).mean(1)  # antithetic pairs are the units
    se = math.hypot(mine.std(ddof=1) / 4, other.std(ddof=1) / math.sqrt(8))
    assert abs(mine.mean() - other.mean()) < 4 * se + 1e-9


def test_T5_gated_first_round_is_uniform_for_every_gate():
    runs = {g: gated_mean_field_run(0.23, 3.0, g, rounds=3, draws=2) for g in ("uniform", "rank")}
    assert np.allclose(runs["rank"]["frac_wrong"][:, 0], runs["uniform"]["frac_wrong"][:, 0])
    assert not np.allclose(runs["rank"]["frac_wrong"][:, 1], runs["uniform"]["frac_wrong"][:, 1])


def test_T2_proportional_amplification_at_theta0_matches_T2_closed_form():
    """Round 2 of the proportional gate (weights from one round of expected progress, near
    theta0): (a_gated - 1/2) / (a_uniform - 1/2) within 5% of T2's 1 / (alpha^2 + (1-alpha)^2)
    (self-dominated closed form; the default student's cross-term is the difference)."""
    a = 0.23
    out = {
        g: gated_mean_field_run(a, 3.0, g, rounds=2, draws=8) for g in ("uniform", "proportional")
    }

    def share(r):
        return r["frac_right"][:, 1].sum() / (r["frac_right"][:, 1] + r["frac_wrong"][:, 1]).sum()

    amp = (share(out["proportional"]) - 0.5) / (share(out["uniform"]) - 0.5)
    assert amp == pytest.approx(float(gate_amplification(a, 3.0, "proportional")), rel=0.05)


def test_T5_gated_bad_gate_is_refused():
    with pytest.raises(ValueError, match="gate must be one of"):
        gated_mean_field_run(0.2, 1.0, "margin", rounds=2, draws=1)


def test_T5_gated_sampled_pairs_average_to_the_exact_expected_ascent():
    """The reduced model's pair sampler (exact n = 2 law) averages to theory.longrun's expected
    ascent (closed form, another implementation) within 4 standard errors per coordinate."""
    rng = np.random.default_rng(2)
    K, M = 4, 200_000
    logits = rng.standard_normal(K)
    delta = 0.7 * rng.standard_normal(K)
    v = np.array([1.0, 0.0, 1.0, 0.0])
    kappa = 0.8
    pi = np.exp(logits) / np.exp(logits).sum()
    Pw = norm.cdf(np.sqrt(2) * kappa * (v[:, None] - v[None, :]))
    g, valid = _sample_pairs(
        rng, np.broadcast_to(delta, (M, K)), np.broadcast_to(pi, (M, K)), Pw, 1.5
    )
    want = expected_ascent(delta, logits, v, kappa, beta=1.5)
    se = g.std(0, ddof=1) / np.sqrt(M)
    assert np.all(np.abs(g.mean(0) - want) < 4 * se)
    assert abs(1 - valid.mean() - (pi**2).sum()) < 4 * np.sqrt((pi**2).sum() / M)
