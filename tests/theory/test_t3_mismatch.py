"""T3 (direction mismatch, horizon, gate discovery)."""

import math

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.special import expit

import theory


def test_T3_example_signs():
    out = theory.mismatch_signs([0.6, 0.05], [0.85, 0.15])
    assert out["uniform_sign"] == 1 and out["gated_sign"] == -1 and out["mismatch"]
    assert out["uniform"] == pytest.approx(0.85 * 0.2 - 0.15 * 0.9)
    assert out["cubic"] == pytest.approx(0.85 * 0.2**3 - 0.15 * 0.9**3)
    # the model's loss progress (newest pair) has THEORY.md's weights (2p - 1)^2 ("mu2")
    for name in ("loss", "mu2"):
        assert theory.mismatch_signs([0.6, 0.05], [0.85, 0.15], weights=name) == out
    # THEORY.md's literal trained-pair progress is p-blind at theta0: no first-order mismatch
    assert not theory.mismatch_signs([0.6, 0.05], [0.85, 0.15], weights="trained")["mismatch"]


def _gated_drift_by_simulated_progress(p, f, s, rounds=1_000_000, seed=3):
    """T3 by simulation: prompt types x (frequency f_x) with pair direction G_x = o_x (s e_x + c)
    (own tabular axis e_x, shared axis c; o_x = +1 w.p. p_x), uniform replay (every prompt the
    same weight, so a type's own tabular term does not scale with f_x), loss progress of x on a
    fresh pair <G'_x, U>, averaged over rounds; the proportional gate's weights are the positive
    part of the mean progress. Returns the gated and uniform drift along c."""
    rng = np.random.default_rng(seed)
    p, f = np.asarray(p, float), np.asarray(f, float) / np.sum(f)
    o = np.where(rng.random((rounds, p.size)) < p, 1.0, -1.0)
    o_new = np.where(rng.random((rounds, p.size)) < p, 1.0, -1.0)
    shared = o @ f  # <c, U>
    progress = o_new * (s**2 * o + shared[:, None])  # <G'_x, U> up to the common weight
    w = np.maximum(progress.mean(0), 0.0)
    mean_o = o.mean(0)
    return float((f * w * mean_o).sum() / (f * w).sum()), float((f * mean_o).sum())


@pytest.mark.parametrize(
    "p, f",
    [([0.6, 0.05], [0.85, 0.15]), ([0.9, 0.3, 0.5], [0.2, 0.5, 0.3]), ([0.7, 0.02], [0.7, 0.3])],
)
def test_T3_gated_sign_against_simulated_progress(p, f):
    """Self-dominated (large s): the gated drift is mismatch_signs' E[w (2p - 1)] / E[w]."""
    gated, uniform = _gated_drift_by_simulated_progress(p, f, s=30.0)
    out = theory.mismatch_signs(p, f)
    assert out["gated"] == pytest.approx(gated, abs=0.03)
    assert out["uniform"] == pytest.approx(uniform, abs=0.02)
    assert out["gated_sign"] == np.sign(gated)


@pytest.mark.parametrize(
    "p, f", [([0.6, 0.05], [0.85, 0.15]), ([0.2, 0.95], [0.8, 0.2]), ([0.9, 0.1], [0.6, 0.4])]
)
def test_T3_consensus_locks_against_simulated_progress(p, f):
    """Cross-dominated (s = 0): the gate follows the initial consensus, right or wrong."""
    gated, uniform = _gated_drift_by_simulated_progress(p, f, s=0.0)
    g = theory.consensus_gate_drift(p, f)
    assert g == pytest.approx(gated, abs=0.03)
    assert np.sign(g) == np.sign(uniform) == np.sign(theory.mismatch_signs(p, f)["uniform"])


def test_T3_general_condition():
    grad = np.array([1.0, 0.0])
    out = theory.mismatch_condition([-1.0, 0.5], [0.3, 2.0], grad)
    assert out["mismatch"] and out["cos_gated"] < 0 < out["cos_uniform"]
    assert not theory.mismatch_condition([1.0, 0.5], [0.3, 2.0], grad)["mismatch"]


def test_T3_horizon_solution_symbolic():
    T, a, x = theory.horizon_time_expr()
    sig = 1 / (1 + sp.exp(-x))
    assert sp.simplify(sp.diff(T, x) - 1 / (a - sig)) == 0
    assert sp.simplify(T.subs(x, 0)) == 0


@pytest.mark.parametrize("a", [0.05, 0.3, 0.8, 0.97])
def test_T3_horizon_against_ode(a):
    kt = np.array([0.5, 2.0, 10.0, 40.0])
    sol = solve_ivp(
        lambda t, x: a - expit(x), (0, kt[-1]), [0.0], t_eval=kt, rtol=1e-11, atol=1e-13
    )
    np.testing.assert_allclose(theory.margin_after(a, kt), sol.y[0], atol=1e-7)


def test_T3_horizon_against_stochastic_dpo_recursion():
    """Always-mixed pair of orientation accuracy p, trained every round: the mean margin after
    the predicted horizon equals x_f = logit(p - f (p - 1/2)) (O(eta) discretisation)."""
    rng = np.random.default_rng(9)
    p, eta, beta, s, f, reps = 0.05, 0.01, 1.0, 1.0, 0.5, 4000
    rounds = theory.mismatch_horizon(p, eta=eta, beta=beta, s=s, w=1.0, mixed=1.0, fraction=f)
    T = int(round(rounds))
    h = np.zeros(reps)
    step = 2 * eta * beta**2 * s**2
    for _ in range(T):
        right = rng.random(reps) < p
        h = h + np.where(right, step * expit(-h), -step * expit(h))
    xf = math.log((p - f * (p - 0.5)) / (1 - p + f * (p - 0.5)))
    se = h.std(ddof=1) / math.sqrt(reps)
    assert abs(h.mean() - xf) <= 4 * se + 2 * step
    assert abs(xf) > 20 * (se + step)


def test_T3_gate_discovery_against_monte_carlo():
    """Self-observations (x trained at t-1 with a valid pair, valid pair at t) arrive at q m^2."""
    N, B, m, lam, rounds, runs = 64, 16, 0.4, 0.3, 400, 200
    out = theory.gate_discovery(N=N, B=B, mixed=m, lam=lam)
    rng = np.random.default_rng(7)
    counts = np.zeros((runs, rounds, N), int)
    for t in range(rounds):  # B draws with replacement from the uniform replay distribution
        idx = rng.integers(0, N, size=(runs, B))
        np.put_along_axis(counts[:, t], idx, 1, axis=1)
    valid = rng.random((runs, rounds, N)) < m
    obs = (counts[:, :-1] > 0) & valid[:, :-1] & valid[:, 1:]
    rate = obs.mean()
    se = obs.mean(axis=(1, 2)).std(ddof=1) / math.sqrt(runs)
    assert abs(rate - out["observations_per_round"]) < 4 * se
    # rounds up to and including the first observing one (obs[:, j] observes in round j + 2);
    # censoring at 400 rounds is negligible ((1 - r)^400 < 1e-5). Not geometric: observations
    # cluster, and 1 / r would be off by about 1.5 rounds here (5 SE)
    first = np.argmax(obs, axis=1).astype(float) + 2
    first = first[obs.any(axis=1)]
    assert abs(first.mean() - out["discovery_rounds"]) < 4 * first.std(ddof=1) / math.sqrt(
        first.size
    )
    assert out["memory_observations"] == pytest.approx(
        out["observations_per_round"] * out["memory_rounds"]
    )


def test_T3_gate_discovery_sign_enrichment_and_errors():
    out = theory.gate_discovery(N=128, B=32, mixed=0.39, lam=0.3, p=[0.6, 0.05], freq=[0.85, 0.15])
    plus = np.array([0.85 * (0.6**2 + 0.4**2), 0.15 * (0.05**2 + 0.95**2)])
    assert out["sign_enrichment"] == pytest.approx(list(plus / plus.sum()))
    # one remembered sign cannot reach THEORY.md's (2p - 1)^2 weights on the wrong type (0.78)
    assert out["sign_enrichment"][1] < 0.25
    for kwargs in ({"N": 0}, {"B": 1.5}, {"mixed": 0.0}, {"lam": 1.5}):
        with pytest.raises(ValueError):
            theory.gate_discovery(**{"N": 8, "B": 2, "mixed": 0.5, "lam": 0.3, **kwargs})


def test_T3_reward_gate_mismatch_example():
    out = theory.mismatch_signs([0.6, 0.05], [0.85, 0.15], weights="reward")
    assert out["mismatch"] and out["gated_sign"] == -1
