"""T5-gated / T2b-oscillation: why a progress gate lowers mean damage, and why it oscillates.

THEORY.md's T5 says a gate multiplies the sub-threshold damage rate by its amplification (T2,
first order at theta0). Over a run the simulator shows the opposite for the mean (paper/theory.md,
T5-gated): amplified first rounds, then a turn and a lower mean damage. Two models, both
``theory.longrun``'s machinery (features and frozen verdicts drawn, held-out accuracy through
(c, r), n = 2 exact pair law) with a gate's replay distribution in place of 1/N:

* ``pairs="expected"`` (v1, the deterministic-equivalent mean field): each prompt's pair is its
  expectation; the gate's smoothed progress is the EMA ``S_x <- S_x + lam (P_x - q_x S_x)`` of
  the first-order expected loss progress ``P_x = eta [s^2 w_x(t-1) <g_x(t), g_x(t-1)> +
  <mu^sh_x(t), dtheta_sh(t-1) / eta>]`` (q_x = P(non-void pair)). The gate can only prefer
  *prompts*. It shows the turn (fitted wrong pairs have sigmoid(-h) < 1/2, violated right pairs
  > 1/2), but late, and misses most of the effect (row T5-gated-expected-pairs fails).
* ``pairs="sampled"`` with ``batch=B`` (v2, a reduced stochastic model): each prompt's pair is
  drawn from the exact n = 2 law, its progress is read by the gate and the *same* pair is
  trained on (model.md's order), the batch is drawn. The gate now picks *pairs*: at the moment
  it occurs, the right-oriented pair the fitted student violates has the largest progress
  (its own DPO factor sigmoid(-h) is large), so the gate turns to it early. This carries the
  effect (row T5-gated, pre-registered on the second student) and the oscillation.

Gate weights from S (model.md): ``proportional`` ``max(S, 0)``, ``rank`` ``(1 - rho) h / sum h +
rho / N`` with ``h = (1/rank)^(1/T)`` (the staleness part replaced by its uniform mean). Round 1 is
uniform, as in the model. Error term (``gated_damage_prediction``): the Monte Carlo standard error
over draws (disorder and, for v2, sampling). Not modelled: score sampling (replaced by the exact
pair law), the noise of the shared block's effect on held-out accuracy beyond (c, r).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from theory.gates import GATE_DEFAULTS, check_gate
from theory.longrun import _ascent, heldout_accuracy_cr
from theory.student import get_student
from theory.util import check_int, check_range

__all__ = ["gate_weights_from_progress", "gated_damage_prediction", "gated_mean_field_run"]

_GATED = ("uniform", "proportional", "rank")


def gate_weights_from_progress(
    S: Any,
    gate: str,
    *,
    temperature: float = GATE_DEFAULTS["temperature"],
    staleness: float = GATE_DEFAULTS["staleness"],
) -> np.ndarray:
    """Replay distribution of ``gate`` from smoothed progress ``S`` (last axis = prompts).

    ``uniform``: 1/N. ``proportional``: max(S, 0) normalised (uniform if all are <= 0).
    ``rank``: ``(1 - staleness) h / sum h + staleness / N``, h = (1/rank)^(1/T), rank 1 the
    largest S (ties by index); the model's staleness distribution is replaced by uniform.
    """
    S = np.asarray(S, dtype=float)
    N = S.shape[-1]
    if gate == "uniform":
        return np.full(S.shape, 1.0 / N)
    if gate == "proportional":
        w = np.maximum(S, 0.0)
        tot = w.sum(-1, keepdims=True)
        return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 1.0 / N)
    if gate == "rank":
        order = np.argsort(-S, axis=-1, kind="stable")
        hr = (1.0 / np.arange(1, N + 1)) ** (1.0 / temperature)
        h = np.empty_like(S)
        np.put_along_axis(h, order, np.broadcast_to(hr, S.shape), axis=-1)
        return (1.0 - staleness) * h / hr.sum() + staleness / N
    raise ValueError(f"gate must be one of {', '.join(_GATED)}, got {gate!r}")


def gated_mean_field_run(
    alpha: float,
    kappa: float,
    gate: str,
    *,
    student: str = "default",
    rounds: int = 200,
    N: int = 128,
    eta: float = 0.1,
    beta: float = 1.0,
    lam: float = GATE_DEFAULTS["lam"],
    draws: int = 8,
    seed: int = 0,
    pairs: str = "expected",
    batch: int | None = None,
) -> dict[str, np.ndarray]:
    """The gated mean-field recursion (module docstring); per disorder draw and round.

    Returns arrays of shape (draws, rounds + 1) for ``delta`` (held-out change A(t) - A(0),
    A from (c, r) of the shared block) and (draws, rounds) for ``frac_right`` / ``frac_wrong``
    (replay mass on right- / wrong-oriented pairs, exact n = 2 pair law) and ``n_eff_dist``
    ((sum P)^2 / sum P^2 of the replay distribution). Homogeneous V(alpha, kappa), n = 2.
    """
    check_gate(gate)
    if gate not in _GATED:
        raise ValueError(f"gate must be one of {', '.join(_GATED)}, got {gate!r}")
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0, 10.0)
    check_range("lam", lam, 0.0, 1.0, lo_open=True)
    rounds = check_int("rounds", rounds, 1, 1000)
    N = check_int("N", N, 8, 1024)
    draws = check_int("draws", draws, 1, 256)
    if pairs not in ("expected", "sampled"):
        raise ValueError(f"pairs must be 'expected' or 'sampled', got {pairs!r}")
    if batch is not None:
        batch = check_int("batch", batch, 1, 4096)
    spec = get_student(student)
    K, d, mu, s, b = spec.K, spec.d_s, float(spec.mu), float(spec.s), float(spec.b)
    rng = np.random.default_rng(seed)
    brng = np.random.default_rng([seed, 1])
    xi = rng.standard_normal((draws, N, K, d))
    U = rng.random((draws, N, K))
    correct = (np.arange(K) == 0).astype(float)
    v = np.where(U < alpha, correct, 1.0 - correct)
    Pw = ndtr(math.sqrt(2.0) * kappa * (v[..., :, None] - v[..., None, :]))
    iu = np.triu_indices(K, 1)
    Pu = Pw[..., iu[0], iu[1]]
    phi = xi.copy()
    phi[:, :, 0, 0] += mu
    l0 = b * phi[..., 0]
    theta = np.zeros((draws, d))
    theta[:, 0] = b
    tab = np.zeros((draws, N, K))
    S = np.zeros((draws, N))
    w = np.full((draws, N), 1.0 / N)
    prev = None  # (g, shared step / eta, weights) of the previous round
    c_t, r_t = [theta[:, 0].copy()], [np.zeros(draws)]
    fr, fw, ne = [], [], []
    for _ in range(rounds):
        lg = np.einsum("xnkd,xd->xnk", phi, theta) + s * tab
        pi = np.exp(lg - lg.max(-1, keepdims=True))
        pi /= pi.sum(-1, keepdims=True)
        g = _ascent(lg - l0, pi, Pu, iu, beta)  # (draws, N, K) expected ascent, logit space
        if pairs == "sampled":  # one pair per prompt from the exact n = 2 law
            gs, valid = _sample_pairs(brng, lg - l0, pi, Pw, beta)
        else:
            gs, valid = g, None
        if prev is not None:
            g0, step0, w0 = prev
            sh = np.einsum("xnk,xnkd->xnd", gs, phi)
            prog = eta * (s**2 * w0 * (gs * g0).sum(-1) + np.einsum("xnd,xd->xn", sh, step0))
            if valid is None:
                S = S + lam * (prog - (1.0 - (pi**2).sum(-1)) * S)
            else:
                S = S + lam * valid * (prog - S)
            w = gate_weights_from_progress(S, gate)
        right = (2.0 * pi[..., :1] * pi[..., 1:] * Pw[..., 0, 1:]).sum(-1)
        wrong = (2.0 * pi[..., :1] * pi[..., 1:] * Pw[..., 1:, 0]).sum(-1)
        fr.append((w * right).sum(-1))
        fw.append((w * wrong).sum(-1))
        ne.append(1.0 / (w * w).sum(-1))
        wr = w if batch is None else _batch_weights(brng, w, batch)
        gt = gs if pairs == "sampled" else g
        step = (wr[..., None] * np.einsum("xnk,xnkd->xnd", gt, phi)).sum(1)
        theta = theta + eta * step
        tab = tab + eta * wr[..., None] * s * gt
        prev = (gs, step, wr)
        c_t.append(theta[:, 0].copy())
        r_t.append((theta[:, 1:] ** 2).sum(-1))
    c_t, r_t = np.stack(c_t, 1), np.stack(r_t, 1)
    A = heldout_accuracy_cr(c_t, r_t, K, mu)
    A0 = float(heldout_accuracy_cr(b, 0.0, K, mu))
    return {
        "delta": A - A0,
        "c": c_t,
        "frac_right": np.stack(fr, 1),
        "frac_wrong": np.stack(fw, 1),
        "n_eff_dist": np.stack(ne, 1),
    }


def _sample_pairs(rng, delta, pi, Pw, beta):
    """One pair per prompt: logit-space ascent beta sigmoid(-h)(e_w - e_l) and non-void mask.

    Ordered outcome (w, l), w != l, with probability 2 pi_w pi_l P_wl; void (w = l) pi_w^2.
    """
    K = pi.shape[-1]
    prob = 2.0 * pi[..., :, None] * pi[..., None, :] * Pw
    idx = np.arange(K)
    prob[..., idx, idx] = pi**2
    cdf = np.cumsum(prob.reshape(*pi.shape[:-1], K * K), -1)
    u = rng.random(pi.shape[:-1])[..., None] * cdf[..., -1:]
    k = np.minimum((u > cdf).sum(-1), K * K - 1)
    wi, li = k // K, k % K
    dw = np.take_along_axis(delta, wi[..., None], -1)[..., 0]
    dl = np.take_along_axis(delta, li[..., None], -1)[..., 0]
    amp = beta / (1.0 + np.exp(beta * (dw - dl)))
    valid = (wi != li).astype(float)
    e = np.eye(K)
    return (amp * valid)[..., None] * (e[wi] - e[li]), valid


def _batch_weights(rng: np.random.Generator, w: np.ndarray, B: int) -> np.ndarray:
    """Realised batch weights count / B of a batch of B drawn i.i.d. from each row of ``w``."""
    out = np.empty_like(w)
    for i in range(w.shape[0]):
        out[i] = rng.multinomial(B, w[i] / w[i].sum()) / B
    return out


def _first_trough(path: np.ndarray) -> tuple[int, float]:
    """(round, depth) of the first local minimum of a mean path after which it recovers by
    more than 10% of the depth; (len - 1, last value) when there is none (no overshoot)."""
    for t in range(1, path.size - 1):
        if path[t] <= path[t - 1] and path[t] < path[t + 1]:
            if path[t + 1 :].max() - path[t] > 0.1 * abs(path[t]):
                return t, float(path[t])
    return path.size - 1, float(path[-1])


def gated_damage_prediction(
    alpha: float,
    kappa: float,
    gate: str = "rank",
    *,
    student: str = "default",
    rounds: int = 200,
    draws: int = 8,
    seed: int = 0,
    **kw: Any,
) -> dict[str, Any]:
    """T5-gated: predicted mean damage of ``gate`` against uniform replay, with its error.

    Both runs share the disorder draws (paired). Returns ``auc_gate``, ``auc_uniform`` (mean
    held-out change over rounds 1..R, the area under the damage curve per round), ``final_*``,
    ``auc_diff`` = gate minus uniform (positive: the gate does *less* mean damage) with
    ``auc_diff_error`` (disorder Monte Carlo SE over draws), ``auc_ratio`` (gate / uniform) with
    its delta-method error, ``trough_round`` and ``trough_depth`` (first overshoot of the gated
    mean path: the oscillation) and ``n_eff_dist`` (gate's mean over rounds 2..R).
    """
    runs = {
        g: gated_mean_field_run(
            alpha, kappa, g, student=student, rounds=rounds, draws=draws, seed=seed, **kw
        )
        for g in (gate, "uniform")
    }
    auc = {g: r["delta"][:, 1:].mean(1) for g, r in runs.items()}
    diff = auc[gate] - auc["uniform"]
    m_g, m_u = float(auc[gate].mean()), float(auc["uniform"].mean())
    sq = math.sqrt(draws)
    se_diff = float(diff.std(ddof=1) / sq) if draws > 1 else math.nan
    # delta method for the ratio of paired means
    cov = np.cov(auc[gate], auc["uniform"]) if draws > 1 else np.full((2, 2), np.nan)
    ratio = m_g / m_u
    var_r = (cov[0, 0] - 2 * ratio * cov[0, 1] + ratio**2 * cov[1, 1]) / (draws * m_u**2)
    trough = _first_trough(runs[gate]["delta"].mean(0))
    return {
        "alpha": float(alpha),
        "kappa": float(kappa),
        "gate": gate,
        "rounds": int(rounds),
        "auc_gate": m_g,
        "auc_uniform": m_u,
        "final_gate": float(runs[gate]["delta"][:, -1].mean()),
        "final_uniform": float(runs["uniform"]["delta"][:, -1].mean()),
        "auc_diff": float(diff.mean()),
        "auc_diff_error": se_diff,
        "auc_ratio": ratio,
        "auc_ratio_error": float(math.sqrt(max(var_r, 0.0))),
        "trough_round": int(trough[0]),
        "trough_depth": trough[1],
        "n_eff_dist": float(runs[gate]["n_eff_dist"][:, 1:].mean()),
        "path_gate": runs[gate]["delta"].mean(0),
        "path_uniform": runs["uniform"]["delta"].mean(0),
    }
