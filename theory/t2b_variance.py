"""T2b, the effective replay size: what a gate's focus costs in variance.

A gate with weights w has effective batch size ``N_eff = (sum w)^2 / sum w^2 <= B``; the variance
of the shared update grows as 1/N_eff, so gating buys focus (T2's amplification) with a random
walk whose size is :func:`random_walk_sd`. The proportional gate feeds back on itself; the
linear stability of its mean map is :func:`proportional_gate_stability`, and the
signal-to-noise of the loss progress it reads is :func:`progress_snr_model`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from theory.student import check_student
from theory.util import check_int, check_range

__all__ = [
    "effective_replay_size",
    "progress_snr_model",
    "proportional_gate_stability",
    "random_walk_sd",
    "shared_update_variance",
]


def _f(x: Any) -> Any:
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def effective_replay_size(w: Any) -> Any:
    """T2b: ``N_eff = (sum w)^2 / sum w^2`` over the last axis (<= number of nonzero weights)."""
    w = np.asarray(w, float)
    check_range("w", w, 0.0)
    top = w.max(-1, keepdims=True) if w.size else np.zeros(w.shape[:-1] + (1,))
    if np.any(top == 0):
        raise ValueError("w must have at least one positive weight")
    w = w / top  # scale-free; avoids underflow of w^2 for tiny weights
    return _f(w.sum(-1) ** 2 / (w * w).sum(-1))


def shared_update_variance(w: Any, sigma2: Any, eta: float = 1.0, *, B: int | None = None) -> Any:
    """T2b: variance (trace) of the shared-block update ``eta sum_x w_x G_x``.

    For fixed normalised weights w (sum 1) and independent pairs with per-prompt
    ``tr Sigma_x = sigma2``: ``eta^2 sum_x w_x^2 sigma2_x``, which equals
    ``eta^2 sigma2 / N_eff`` for equal sigma2. With ``B`` (batch drawn i.i.d. from P = w), the
    realised-weight sampling adds the between-prompt spread: the update is the mean of B i.i.d.
    draws of G_X, so its variance is ``eta^2 (E_P[tr Sigma_X + ||mu_X||^2] - ||E_P mu||^2) / B``
    (pass sigma2 as that total per-prompt second moment minus the mean's square).
    """
    w = np.asarray(w, float)
    check_range("w", w, 0.0)
    check_range("eta", eta, 0.0)
    tot = w.sum(-1, keepdims=True)
    if np.any(tot == 0):
        raise ValueError("w must have at least one positive weight")
    wn = w / tot
    sig = np.broadcast_to(np.asarray(sigma2, float), w.shape)
    if B is not None:
        B = check_int("B", B, 1)
        return _f(eta**2 * (wn * sig).sum(-1) / B)
    return _f(eta**2 * (wn * wn * sig).sum(-1))


def random_walk_sd(eta: float, var_proj: Any, n_eff: Any, rounds: Any) -> Any:
    """T2b: standard deviation of the accumulated noise of a projected update after ``rounds``.

    ``var_proj = g^T Sigma_G g`` is one prompt's pair-noise variance along the direction g
    (e.g. grad A_held); independent rounds and weights with effective size n_eff give
    ``eta sqrt(rounds var_proj / n_eff)`` (first order, noise independent across rounds).
    """
    check_range("eta", eta, 0.0)
    check_range("var_proj", var_proj, 0.0)
    check_range("n_eff", n_eff, 1.0)
    check_range("rounds", rounds, 0.0)
    return _f(eta * np.sqrt(np.asarray(rounds, float) * np.asarray(var_proj, float) / n_eff))


def proportional_gate_stability(lam: float, g2: float, c: float, N: int) -> dict[str, Any]:
    """T2b: linear stability of the proportional gate's mean progress map (homogeneous prompts).

    Mean map (first order, every pair non-void):
    ``S_x <- (1 - lam) S_x + lam eta [P_x (g2 - c) + c]`` with ``P = S / sum S``, where
    ``c = <mu_x, mu_y>`` (cross-term, y != x) and ``g2`` is the self coefficient: for the
    model's loss progress (newest, independent pair) ``g2 = ||mu_x||^2``; for THEORY.md's literal
    trained-pair progress ``g2 = E||G_x||^2 = ||mu_x||^2 + tr Sigma_x``. The map is the same
    in both readings (the newest-pair progress of round t scores the step of round t - 1, whose
    weights came from S(t - 1)); only g2 differs.
    At the uniform fixed point ``S* = eta ((g2 - c)/N + c)`` the Jacobian has eigenvalue
    ``1 - lam`` on the total and

        ``1 - lam N c / (g2 - c + N c)``

    on every imbalance direction (sum zero). For c > 0 (a consensus) imbalances decay; for
    c = 0 (tabular, self-dominated) they are *neutral*, so replay weights drift by sampling noise
    (like neutral genetic drift) and N_eff decays; for c < 0 they grow. The eigenvalue lies in
    [1 - lam, 1] for 0 <= c, so the mean map cannot oscillate: oscillation, if seen, comes from
    noise, the max(., 0) clipping or void pairs (which scale lam by P(non-void)).
    """
    check_range("lam", lam, 0.0, 1.0)
    check_range("g2", g2, 0.0, lo_open=True)
    N = check_int("N", N, 2)
    den = g2 - c + N * c
    if den <= 0:
        raise ValueError("g2 - c + N c must be > 0 (a positive fixed point)")
    eig = 1.0 - lam * N * c / den
    regime = "neutral" if c == 0 else ("stable" if eig < 1 else "unstable")
    return {"eigen_total": 1.0 - lam, "eigen_imbalance": float(eig), "regime": regime}


def progress_snr_model(
    alpha: float,
    kappa: float,
    student: Any,
    *,
    B: int = 32,
    lam: float = 0.3,
    beta: float = 1.0,
    rounds: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """T2/T2b: signal-to-noise of the model's loss progress and of its EMA S_x, at theta0.

    One draw of model.md's student (N train prompts, features, frozen verdicts; n = 2,
    homogeneous V(alpha, kappa), uniform replay with a batch of B drawn with replacement).
    Each of ``rounds`` independent rounds draws every prompt's pair, the batch, the update
    ``U = sum_y w_y G_y`` and every prompt's newest pair G'_x (independent of U), and records
    the first-order progress ``P_x / eta = <G'_x, U>`` (tabular block: only x's own pair
    enters, with weight w_x; shared block: every prompt's pair). Held at theta0, so rounds are
    independent and the EMA ``S_x = lam sum_k (1 - lam)^k P_x(t - k)`` has standard deviation
    ``sd(P_x) sqrt(lam / (2 - lam))``.

    Returns the drawn shared features ``phi`` (N, K, d_s) and frozen ``verdicts`` (N, K),
    per-prompt ``mean`` and ``sd`` of P_x / eta (arrays, with ``mean_se``), ``mu2_tab``
    (||mu_x^tab||^2, pairs averaged exactly) and summaries:
    ``snr_single`` = median |mean| / sd (one round's progress), ``snr_ema`` = the same for S_x,
    ``separation_ema`` = (between-prompt sd of the means) / (median sd of S_x): how well the
    smoothed signal can rank prompts by their expected progress (>> 1 needed for a gate to
    separate prompt types), and ``corr_mu2`` = correlation across prompts of the mean progress
    with the prompt's own ||mu_x^tab||^2 (the self-term's orientation signal).
    """
    st = check_student(student, need_n=True)
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    check_range("lam", lam, 0.0, 1.0, lo_open=True)
    B = check_int("B", B, 1)
    R = check_int("rounds", rounds, 2)
    N, K, d = st["N"], st["K"], st["d_s"]
    mu, s, b = float(st["mu"]), float(st["s"]), float(st["b"])
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((N, K, d))
    phi[:, 0, 0] += mu
    logits = b * phi[..., 0]
    pi = np.exp(logits - logits.max(1, keepdims=True))
    pi /= pi.sum(1, keepdims=True)
    U0 = rng.random((N, K))
    v = np.where(np.arange(K) == 0, U0 < alpha, U0 >= alpha).astype(float)
    m = kappa * (2 * v - 1)
    cdf = np.cumsum(pi, 1)
    half = beta / 2

    def draw():
        """One pair per prompt: winner / loser candidate indices, (N,) each."""
        u = rng.random((N, 2))
        cand = np.minimum((u[..., None] > cdf[:, None, :]).sum(-1), K - 1)
        score = np.take_along_axis(m, cand, 1) + rng.standard_normal((N, 2))
        i = np.arange(N)
        return cand[i, score.argmax(1)], cand[i, score.argmin(1)]

    P = np.empty((R, N))
    i = np.arange(N)
    for r in range(R):
        w_c, l_c = draw()
        wts = np.bincount(rng.integers(0, N, B), minlength=N) / B
        sh = half * (phi[i, w_c] - phi[i, l_c])  # (N, d)
        U_sh = wts @ sh
        nw_c, nl_c = draw()
        sh_new = half * (phi[i, nw_c] - phi[i, nl_c])
        # tabular: <s(e_nw - e_nl), s(e_w - e_l)> (beta/2)^2 w_x
        tab = ((nw_c == w_c) * 1.0 - (nw_c == l_c) - (nl_c == w_c) + (nl_c == l_c)) * (w_c != l_c)
        tab = tab * (nw_c != nl_c) * (half * s) ** 2 * wts
        P[r] = tab + sh_new @ U_sh
    mean, sd = P.mean(0), P.std(0, ddof=1)
    # each prompt's own tabular mean direction, exact over pairs (n = 2)
    Pw = 2 * pi[:, :, None] * pi[:, None, :] * ndtr((m[:, :, None] - m[:, None, :]) / math.sqrt(2))
    Pw[:, np.arange(K), np.arange(K)] = 0.0
    net = Pw.sum(2) - Pw.sum(1)
    mu2_tab = half**2 * s**2 * (net**2).sum(1)
    sd_ema = sd * math.sqrt(lam / (2 - lam))
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.abs(mean) / sd
    corr = float(np.corrcoef(mean, mu2_tab)[0, 1]) if mean.std() > 0 and mu2_tab.std() > 0 else 0.0
    return {
        "phi": phi,
        "verdicts": v,
        "mean": mean,
        "sd": sd,
        "mean_se": sd / math.sqrt(R),
        "mu2_tab": mu2_tab,
        "snr_single": float(np.median(snr)),
        "snr_ema": float(np.median(np.abs(mean) / sd_ema)),
        "separation_ema": float(mean.std(ddof=1) / np.median(sd_ema)),
        "corr_mu2": corr,
    }
