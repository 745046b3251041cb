"""T2 (progress gates: amplification, self- and cross-terms)."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import erf, ndtr

import theory


def test_T2_proportional_gate_formula_symbolic():
    derived, closed = theory.gated_pair_accuracy_expr()
    assert sp.simplify(derived - closed) == 0


@given(st.floats(0, 1), st.floats(0.05, 6))
def test_T2_proportional_gate_monte_carlo(alpha, kappa):
    """Weights (2 p_x - 1)^2 from each prompt's frozen verdicts; orientation simulated."""
    rng = np.random.default_rng(3)
    reps = 40_000
    vc = rng.random(reps) < alpha
    vi = rng.random(reps) >= alpha
    delta = kappa * ((2 * vc - 1) - (2 * vi - 1))
    p = ndtr(delta / math.sqrt(2))  # the prompt's orientation probability
    right = (delta + math.sqrt(2) * rng.standard_normal(reps) > 0).astype(float)
    w = (2 * p - 1) ** 2
    if w.sum() == 0:
        return
    r = (w * right).sum() / w.sum()
    se = (w * (right - r)).std(ddof=1) / (w.mean() * math.sqrt(reps)) + 1.0 / reps
    assert abs(r - theory.gated_pair_accuracy(alpha, kappa)) <= 4 * se
    # amplified, same side of 1/2
    a, ag = theory.pair_accuracy(alpha, kappa), theory.gated_pair_accuracy(alpha, kappa)
    assert (ag - 0.5) * (a - 0.5) >= 0 and abs(ag - 0.5) >= abs(a - 0.5) - 1e-15


def test_T2_margin_gate_symbolic_matches_numeric():
    e = theory.margin_amplification_expr()
    syms = {s.name: s for s in e.free_symbols}
    for alpha, kappa in [(0.3, 1.0), (0.8, 0.2), (0.1, 3.0)]:
        val = float(e.subs({syms["alpha"]: alpha, syms["kappa"]: kappa}))
        assert theory.gate_amplification(alpha, kappa, "margin") == pytest.approx(val, rel=1e-10)
    assert theory.gate_amplification(0.3, 1e-9, "margin") == pytest.approx(math.pi / 2, rel=1e-6)


@given(st.floats(0, 1), st.floats(0.05, 6))
def test_T2_margin_gate_monte_carlo(alpha, kappa):
    rng = np.random.default_rng(4)
    reps = 40_000
    vc = rng.random(reps) < alpha
    vi = rng.random(reps) >= alpha
    D = kappa * ((2 * vc - 1) - (2 * vi - 1)) + math.sqrt(2) * rng.standard_normal(reps)
    gap, sgn = np.abs(D), np.sign(D)
    # gated drift E[gap sgn] / E[gap] against uniform E[sgn] = (2 alpha - 1) erf(kappa)
    se = (gap * sgn).std(ddof=1) / math.sqrt(reps)
    assert abs((gap * sgn).mean() - (2 * alpha - 1) * 2 * kappa) <= 4 * se
    if abs(2 * alpha - 1) > 1e-3:
        amp = theory.gate_amplification(alpha, kappa, "margin")
        E_gap = 2 * kappa / (amp * erf(kappa))  # the formula's E|D|
        assert abs(gap.mean() - E_gap) <= 4 * gap.std(ddof=1) / math.sqrt(reps)


def test_T2_gate_amplification_values():
    assert theory.gate_amplification(0.3, 2.0, "uniform") == 1.0
    assert theory.gate_amplification(0.3, 2.0, "proportional") == pytest.approx(1 / 0.58)
    assert theory.gate_amplification(0.3, 2.0, "threshold") == pytest.approx(1 / 0.58)
    # default = the model's loss progress (newest, independent pair); reward has the same value
    for prog in ("loss", "reward"):
        amp = theory.gate_amplification(0.3, 2.0, "proportional", progress=prog)
        assert amp == pytest.approx(1 / 0.58)
    # THEORY.md's literal trained-pair progress is p-blind at theta0
    assert theory.gate_amplification(0.3, 2.0, "proportional", progress="trained") == 1.0
    with pytest.raises(ValueError, match="progress"):
        theory.gate_amplification(0.3, 2.0, "proportional", progress="newest")
    assert math.isnan(theory.gate_amplification(0.3, 2.0, "rank"))
    with pytest.raises(ValueError, match="gate"):
        theory.gate_amplification(0.3, 2.0, "foo")


def test_T2_trained_pair_progress_adds_variance_counterexample():
    """THEORY.md's literal definition (progress measured on the trained pair) has self-term
    eta E||G||^2 (orientation-blind), not its own eta ||mu||^2 = eta (E||G||^2 - tr Sigma).

    One tabular prompt, K = 2, B = N = 1 (w = 1), theta0; exact loss change on the trained pair.
    """
    rng = np.random.default_rng(5)
    s, beta, eta, reps = 1.0, 1.0, 1e-3, 20_000
    pi = np.array([0.6, 0.4])
    progress = {}
    for p_label, (vc, vi) in {"right": (1, 0), "undecided": (1, 1), "wrong": (0, 1)}.items():
        kappa = 2.0
        cand = (rng.random((reps, 2)) > pi[0]).astype(int)
        v = np.where(cand == 0, vc, vi)
        score = kappa * (2 * v - 1) + rng.standard_normal((reps, 2))
        w = cand[np.arange(reps), score.argmax(1)]
        lo = cand[np.arange(reps), score.argmin(1)]
        nonvoid = w != lo
        # after theta_t += eta (beta/2) s (e_w - e_l): h1 = beta s (dtheta_w - dtheta_l)
        h1 = np.where(nonvoid, beta * s * (eta * beta * s), 0.0)
        P = math.log(2) - np.log1p(np.exp(-h1))  # l(theta0) - l(theta1) on the same pair
        progress[p_label] = P / eta
        p = ndtr(kappa * ((2 * vc - 1) - (2 * vi - 1)) / math.sqrt(2))
        mom = theory.pair_direction_moments(pi, p, s=s, beta=beta)
        mc, se = progress[p_label].mean(), progress[p_label].std(ddof=1) / math.sqrt(reps)
        assert abs(mc - mom["second_moment"]) <= 4 * se + eta  # first order, O(eta) bias
        if p_label == "undecided":
            assert mom["mean_sq"] == pytest.approx(0.0, abs=1e-15)
            assert mc > 0.1  # THEORY.md's self-term would be 0 here
    # blind to orientation: same progress distribution for right, undecided and wrong
    means = [v.mean() for v in progress.values()]
    assert max(means) - min(means) <= 4 * max(v.std() for v in progress.values()) / math.sqrt(reps)


def test_T2_pair_direction_moments_closed_forms_K2():
    pi, p, s, beta = np.array([0.7, 0.3]), 0.8, 1.5, 0.9
    mom = theory.pair_direction_moments(pi, p, s=s, beta=beta)
    m = 2 * pi[0] * pi[1]
    assert mom["mean_sq"] == pytest.approx(beta**2 * s**2 / 2 * m**2 * (2 * p - 1) ** 2)
    assert mom["second_moment"] == pytest.approx(beta**2 * s**2 / 2 * m)
    assert mom["mean_sq"] == pytest.approx(mom["second_moment"] - mom["trace_cov"])


def test_T2_expected_progress_first_order_monte_carlo():
    """Progress on a fresh pair drawn after the update (paper/model.md's loss progress) has mean
    eta (E[w_x] (E||G_x||^2 - tr Sigma_x) + cross) = THEORY.md's T2; progress on the trained pair
    (THEORY.md's literal definition) has E[w_x] E||G_x||^2 instead (counter-example).

    K = 2, 3 prompts with tabular and shared features, random batch, exact loss change, small eta.
    """
    rng = np.random.default_rng(6)
    N, K, d, B, s, beta, eta, reps = 3, 2, 3, 2, 0.8, 1.0, 1e-3, 20_000
    shared = rng.standard_normal((N, K, d))
    pis = np.array([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
    kappa, verdicts = 1.5, np.array([[1, 0], [0, 1], [1, 1]])
    feats = np.zeros((N, K, N * K + d))
    for x in range(N):
        for y in range(K):
            feats[x, y, x * K + y] = s
            feats[x, y, N * K :] = shared[x, y]

    def draw_pairs():
        G = np.zeros((reps, N, feats.shape[-1]))
        for x in range(N):
            cand = (rng.random((reps, 2)) > pis[x, 0]).astype(int)
            v = verdicts[x][cand]
            score = kappa * (2 * v - 1) + rng.standard_normal((reps, 2))
            w = cand[np.arange(reps), score.argmax(1)]
            lo = cand[np.arange(reps), score.argmin(1)]
            G[:, x] = beta / 2 * (feats[x, w] - feats[x, lo])
        return G

    G = draw_pairs()  # the pairs the update trains on
    G_new = draw_pairs()  # each prompt's newest pair, drawn after the update (independent)
    batch = rng.integers(0, N, (reps, B))
    wts = np.zeros((reps, N))
    np.add.at(wts, (np.arange(reps)[:, None], batch), 1.0 / B)
    dtheta = eta * (wts[..., None] * G).sum(1)
    h1 = (G / (beta / 2) * dtheta[:, None]).sum(-1) * beta  # margin after the step
    P = (math.log(2) - np.log1p(np.exp(-h1))) / eta
    h1_new = (G_new / (beta / 2) * dtheta[:, None]).sum(-1) * beta
    P_new = (math.log(2) - np.log1p(np.exp(-h1_new))) / eta
    mus, traces, seconds = [], [], []
    for x in range(N):
        p = ndtr(kappa * (2 * verdicts[x, 0] - 1 - (2 * verdicts[x, 1] - 1)) / math.sqrt(2))
        both = theory.pair_direction_moments(pis[x], p, s=s, beta=beta, shared=shared[x])
        mu = np.zeros(feats.shape[-1])
        mu[x * K : x * K + K] = both["mean"][:K]
        mu[N * K :] = both["mean"][K:]
        mus.append(mu)
        traces.append(both["trace_cov"])
        seconds.append(both["second_moment"])
    ep = theory.expected_progress(np.array(mus), np.full(N, 1 / N), 1.0, trace_sigma=traces)
    # THEORY.md's self-term: eta w (second moment minus variance)
    np.testing.assert_allclose(ep["self"], (np.array(seconds) - np.array(traces)) / N)
    for x in range(N):
        se = P[:, x].std(ddof=1) / math.sqrt(reps)
        assert abs(P[:, x].mean() - ep["total_trained"][x]) <= 4 * se + 5 * eta
        # on the trained pair THEORY.md's self-term (||mu_x||^2, no variance) is rejected
        assert abs(P[:, x].mean() - ep["total"][x]) > 8 * se
        # on the newest (independent) pair, i.e. model.md's loss progress, it holds
        se_new = P_new[:, x].std(ddof=1) / math.sqrt(reps)
        assert abs(P_new[:, x].mean() - ep["total"][x]) <= 4 * se_new + 5 * eta
        # ... and the trained-pair formula (variance added) is rejected for it
        assert abs(P_new[:, x].mean() - ep["total_trained"][x]) > 8 * se_new
    np.testing.assert_allclose(ep["self"] + ep["cross"], ep["total"])


def test_T2_self_cross_ratio():
    assert theory.self_cross_ratio(3.0, 1.0, 0.5, N=5) == pytest.approx(10 / 2)
    assert math.isinf(theory.self_cross_ratio(1.0, 1.0, 0.0, N=5))
    with pytest.raises(ValueError, match="N"):
        theory.self_cross_ratio(1.0, 1.0, 1.0, N=1)


@pytest.mark.parametrize("verdicts", [(1, 0), (0, 1), (1, 1)])
def test_T2_reward_progress_monte_carlo(verdicts):
    """Reward progress is symmetric in p <-> 1 - p and starves undecided prompts (K = 2)."""
    rng = np.random.default_rng(13)
    kappa, c, s, beta, eta, reps = 1.2, 0.3, 1.1, 0.9, 1e-3, 40_000
    m = kappa * (2 * np.array(verdicts) - 1)
    pi0 = 1 / (1 + math.exp(-c))
    cand = (rng.random((reps, 2)) > pi0).astype(int)
    score = m[cand] + rng.standard_normal((reps, 2))
    w = cand[np.arange(reps), score.argmax(1)]
    lo = cand[np.arange(reps), score.argmin(1)]
    # logit difference l0 - l1 moves by +-eta beta s^2 on a non-void pair
    dd = eta * beta * s**2 * ((w == 0) * 1.0 - (lo == 0))
    pi0_new = 1 / (1 + np.exp(-(c + dd)))
    dR = (m[0] - m[1]) * (pi0_new - pi0) / eta
    theo = theory.reward_progress_tabular(pi0, m[0] - m[1], eta=1.0, beta=beta, s=s)
    se = dR.std(ddof=1) / math.sqrt(reps) + 1e-12
    assert abs(dR.mean() - theo) <= 4 * se + 5 * eta
    if verdicts != (1, 1):
        assert theo > 10 * se
    else:
        assert theo == 0.0


def test_T2_self_cross_terms_of_model_student():
    """Terms of the self/cross ratio for model.md's student, against a direct pair simulation
    (second moment) and against T1's first-round D (cross-term = ||E G^s||^2 along u)."""
    st_ = dict(d_s=4, K=3, mu=1.5, s=2.0, b=0.6, N=64)
    alpha, kappa, beta = 0.3, 2.0, 1.0
    terms = theory.self_cross_ratio_model(alpha, kappa, st_, beta=beta, n_samples=1 << 14)
    rng = np.random.default_rng(14)
    reps, K, d = 60_000, st_["K"], st_["d_s"]
    phi = rng.standard_normal((reps, K, d))
    phi[:, 0, 0] += st_["mu"]
    z = st_["b"] * phi[..., 0]
    pi = np.exp(z - z.max(1, keepdims=True))
    pi /= pi.sum(1, keepdims=True)
    U = rng.random((reps, K))
    v = np.where(np.arange(K) == 0, U < alpha, U >= alpha).astype(float)
    cand = np.minimum((rng.random((reps, 2))[..., None] > np.cumsum(pi, 1)[:, None]).sum(-1), K - 1)
    score = kappa * (2 * np.take_along_axis(v, cand, 1) - 1) + rng.standard_normal((reps, 2))
    w = cand[np.arange(reps), score.argmax(1)]
    lo = cand[np.arange(reps), score.argmin(1)]
    dphi = phi[np.arange(reps), w] - phi[np.arange(reps), lo]
    g2 = (beta / 2) ** 2 * ((dphi**2).sum(1) + 2 * st_["s"] ** 2 * (w != lo))
    se = math.hypot(g2.std(ddof=1) / math.sqrt(reps), terms["second_moment_se"])
    assert abs(g2.mean() - terms["second_moment"]) <= 4 * se
    est = theory.first_round_drift_estimate(alpha, kappa, st_, beta=beta)
    D, D_se = est["D"], est["D_se"]
    se = math.hypot(terms["shared_dot_se"], 2 * (beta / 2) ** 2 * abs(D) * D_se)
    assert abs(terms["shared_dot"] - (beta / 2 * D) ** 2) <= 4 * se
    assert terms["shared_dot"] > 8 * se
    assert terms["ratio_trained"] > terms["ratio_loss"]
    # at alpha = 1/2 there is no consensus: the cross-term vanishes (to Monte Carlo error)
    half = theory.self_cross_ratio_model(0.5, kappa, st_, beta=beta, n_samples=1 << 14)
    assert abs(half["shared_dot"]) <= 4 * half["shared_dot_se"]


@given(st.floats(0.01, 0.99))
def test_T2_trained_pair_progress_factor_blind_at_theta0_favours_undecided_at_fixed_point(p):
    assert theory.loss_progress_factor(p, 0.0) == pytest.approx(0.25)
    h_star = theory.dpo_fixed_point(p)
    assert theory.loss_progress_factor(p, h_star) == pytest.approx(p * (1 - p))
    assert theory.loss_progress_factor(p, h_star) <= theory.loss_progress_factor(0.5, 0.0) + 1e-15


@pytest.mark.parametrize("alpha, kappa", [(0.8, 1.0), (0.2, 0.5), (0.9, 2.0)])
def test_T2_margin_gate_with_void_pairs_monte_carlo(alpha, kappa):
    """T2 margin gate, K = 2, pi = (1/2, 1/2), n = 2: half the pairs are void (weight 0).

    Simulates prompts (frozen verdicts, two samples, scores), gives each prompt the margin
    gate's weight (its pair's score gap, 0 when void) and compares the gated drift
    sum w c / sum w (c = +1 right-, -1 wrong-oriented mixed pair, 0 void) with uniform's mean c.
    """
    rng = np.random.default_rng(7)
    reps, batches = 200_000, 10
    ratios = []
    for _ in range(batches):
        v = np.stack([rng.random(reps) < alpha, rng.random(reps) >= alpha], 1)  # frozen verdicts
        cand = rng.integers(0, 2, (reps, 2))  # two samples, pi = (1/2, 1/2)
        score = kappa * (2 * np.take_along_axis(v, cand, 1) - 1) + rng.standard_normal((reps, 2))
        void = cand[:, 0] == cand[:, 1]
        correct_first = cand[:, 0] == 0
        right = np.where(correct_first, score[:, 0] > score[:, 1], score[:, 1] > score[:, 0])
        c = np.where(void, 0.0, 2.0 * right - 1.0)
        w = np.where(void, 0.0, np.abs(score[:, 0] - score[:, 1]))
        ratios.append(((w * c).sum() / w.sum()) / c.mean())
    ratios = np.array(ratios)
    se = ratios.std(ddof=1) / math.sqrt(batches)
    amp = theory.gate_amplification(alpha, kappa, "margin", mixed=0.5, unmixed=0.0)
    assert abs(ratios.mean() - amp) <= max(4 * se, 0.01 * amp)
