"""T2: the gated pair accuracy a_gated in the first gated round (round 2), at theta0.

a_gated is the replay-weighted orientation accuracy of the pairs a gate trains on,
``sum_x P_x 1[right_x] / sum_x P_x 1[right_x or wrong_x]`` (paper/model.md: frac_right /
(frac_right + frac_wrong)). Round 1 is uniform for every gate, so a_gated(1) = a_pair (L0).
Round 2 is the first round a gate sees progress, and there the law is first order in nothing
but the draw of round 2's pairs:

* theta_1 - theta_0 = U = eta sum_y w_y G_y(1) exactly (one SGD step at theta0, where
  sigma(-h) = 1/2), with w the uniform batch weights of round 1;
* the progress of x's round-2 pair (w, l) is exactly ``P_x(2) = log 2 - softplus(-h)``,
  ``h = beta (U . phi_w - U . phi_l)`` (its margin at theta_{t-2} = theta0 is 0), so
  ``S_x = lam P_x(2)`` (void pairs 0) and the gate's P follows from S (and, for ``rank``, from
  which prompts round 1 visited);
* the round-2 pair is drawn from pi_theta1 = pi_theta0 + O(eta): here from pi_theta0.

The sign of P_x(2) is the sign of <phi_w - phi_l, U>: a gate prefers the round-2 pairs that
agree with round 1's update. The shared part of U is the batch's consensus, so in a
cross-dominated student the gate locks in that consensus pair by pair: a_gated moves away from
1/2 in the consensus's direction (below a_pair for a sub-threshold verifier, above it for a
good one), which THEORY.md's self-dominated form (:func:`theory.gated_pair_accuracy`) does not
see. The expectation over features, verdicts, both rounds' pairs and the batch has no closed
form; :func:`first_gated_round` evaluates it by Monte Carlo (numpy, its own random numbers),
averaging the per-run ratio as the simulator's a_gated does. Special cases (tests): kappa = 0
gives 1/2 for every gate (orientation carries no signal and U's law is symmetric); the uniform
gate gives L0's a_pair.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import log_expit

from theory.gates import GATE_DEFAULTS, check_gate
from theory.student import check_student, theta0_sample
from theory.util import check_int, check_range

__all__ = ["first_gated_round"]


def _pairs(pi: np.ndarray, m: np.ndarray, rng: np.random.Generator):
    """One n = 2 pair per prompt: (winner, loser, valid, score gap); pi, m of shape (..., K)."""
    cdf = np.cumsum(pi, -1)
    u = rng.random(pi.shape[:-1] + (2,))
    y = np.minimum((u[..., None] >= cdf[..., None, :-1]).sum(-1), pi.shape[-1] - 1)
    sc = np.take_along_axis(m, y, -1) + rng.standard_normal(y.shape)
    first = sc[..., 0] >= sc[..., 1]
    w = np.where(first, y[..., 0], y[..., 1])
    lo = np.where(first, y[..., 1], y[..., 0])
    return w, lo, w != lo, np.where(w != lo, np.abs(sc[..., 0] - sc[..., 1]), 0.0)


def _normalise(w: np.ndarray) -> np.ndarray:
    tot = w.sum(-1, keepdims=True)
    return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 1.0 / w.shape[-1])


def _ranks(score: np.ndarray) -> np.ndarray:
    """1 = the largest score, ties by index (the simulator's rule)."""
    order = np.argsort(-score, axis=-1, kind="stable")
    out = np.empty(score.shape)
    np.put_along_axis(
        out, order, np.broadcast_to(np.arange(1, score.shape[-1] + 1), score.shape), -1
    )
    return out


def first_gated_round(
    alpha: float,
    kappa: float,
    student: Any,
    gate: str,
    *,
    B: int = 32,
    eta: float = 0.1,
    beta: float = 1.0,
    lam: float = GATE_DEFAULTS["lam"],
    tau: float = GATE_DEFAULTS["tau"],
    temperature: float = GATE_DEFAULTS["temperature"],
    staleness: float = GATE_DEFAULTS["staleness"],
    replicates: int = 2048,
    seed: int = 0,
) -> dict[str, float]:
    """T2: expected a_gated of round 2 at theta0 for ``gate`` (module docstring), n = 2.

    Args:
        alpha, kappa: the homogeneous verifier V(alpha, kappa).
        student: a student's fields with ``N`` (d_s, K, mu, s, b, N).
        gate: one of theory.GATES.
        B, eta, beta, lam, tau, temperature, staleness: the model's batch size, step, DPO beta
            and the gate's hyper-parameters.
        replicates: independent runs (student draws) of rounds 1-2.
        seed: seed of the Monte Carlo.

    Returns:
        ``a_gated`` (mean over replicates of the per-run ratio) with ``a_gated_se``, and
        ``a_pair`` (the same ratio under uniform replay on the same draws, i.e. L0's a_pair
        estimated on them) with ``a_pair_se``; runs without an oriented pair are skipped.
    """
    st = check_student(student, need_n=True)
    gate = check_gate(gate)
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    check_range("eta", eta, 0.0)
    check_range("beta", beta, 0.0)
    check_range("lam", lam, 0.0, 1.0, lo_open=True)
    check_range("temperature", temperature, 1e-6)
    check_range("staleness", staleness, 0.0, 1.0)
    B = check_int("B", B, 1)
    reps = check_int("replicates", replicates, 2)
    N, K, d = st["N"], st["K"], st["d_s"]
    mu, s, b = float(st["mu"]), float(st["s"]), float(st["b"])
    rng = np.random.default_rng(check_int("seed", seed, 0))
    gated, unif = [], []
    for r0 in range(0, reps, 64):
        R = min(64, reps - r0)
        _, phi0, pi = theta0_sample(K, mu, b, R * N, rng)
        phi = np.concatenate([phi0[..., None], rng.standard_normal((R * N, K, d - 1))], -1)
        phi, pi = phi.reshape(R, N, K, d), pi.reshape(R, N, K)
        U = rng.random((R, N, K))  # frozen verdicts: right w.p. alpha (candidate 0 correct)
        v = np.where(np.arange(K) == 0, U < alpha, U >= alpha)
        m = kappa * (2.0 * v - 1.0)
        # round 1: uniform batch, one exact SGD step at theta0 (sigma(-h) = 1/2)
        w1, l1, ok1, _ = _pairs(pi, m, rng)
        counts = np.stack([np.bincount(rng.integers(0, N, B), minlength=N) for _ in range(R)])
        cw = eta * (beta / 2) * ok1 * counts / B  # (R, N)
        ii = np.arange(N)[None, :]
        rr = np.arange(R)[:, None]
        dphi1 = phi[rr, ii, w1] - phi[rr, ii, l1]  # (R, N, d)
        U_s = np.einsum("rn,rnd->rd", cw, dphi1)
        U_t = np.zeros((R, N, K))
        U_t[rr, ii, w1] += s * cw
        U_t[rr, ii, l1] -= s * cw
        dlogit = np.einsum("rnkd,rd->rnk", phi, U_s) + s * U_t
        # round 2: pairs at theta0 (first order), progress on them, the gate's P
        w2, l2, ok2, gap = _pairs(pi, m, rng)
        h = beta * (dlogit[rr, ii, w2] - dlogit[rr, ii, l2])
        S = np.where(ok2, lam * (math.log(2.0) + log_expit(h)), 0.0)
        if gate == "uniform":
            P = np.full((R, N), 1.0 / N)
        elif gate == "proportional":
            P = _normalise(np.maximum(S, 0.0))
        elif gate == "threshold":
            P = _normalise((S > tau).astype(float))
        elif gate == "margin":
            P = _normalise(gap)
        else:  # rank: PLR weights mixed with staleness t - last visit (t = 2)
            hw = _ranks(S) ** (-1.0 / temperature)
            stale = np.where(counts > 0, 1.0, 2.0)
            P = (1 - staleness) * hw / hw.sum(-1, keepdims=True) + staleness * _normalise(stale)
        right = ok2 & (w2 == 0)
        wrong = ok2 & (l2 == 0)
        oriented = right | wrong
        has = oriented.any(-1)
        gated.append(((P * right).sum(-1) / np.where(has, (P * oriented).sum(-1), 1.0))[has])
        unif.append((right.sum(-1) / np.maximum(oriented.sum(-1), 1))[has])
    g, u = np.concatenate(gated), np.concatenate(unif)
    return {
        "a_gated": float(g.mean()),
        "a_gated_se": float(g.std(ddof=1) / math.sqrt(g.size)),
        "a_pair": float(u.mean()),
        "a_pair_se": float(u.std(ddof=1) / math.sqrt(u.size)),
    }
