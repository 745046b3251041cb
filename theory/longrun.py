"""T1-long: the long-run (full-run) threshold of self-DPO under uniform replay (mean field).

T1 is exact for the first step at theta0: the held-out drift has the sign of 2 alpha - 1. Over a
run the verdicts are frozen, so DPO drives every trained prompt toward its own verdict pattern
(the per-prompt fixed point h* = logit(Phi(sqrt2 kappa)) between candidates with different
verdicts, 0 between equal verdicts). Fitting that pattern moves the shared block in two ways
that T1 does not see: (i) a mean drift of the competence c = theta_s[0] that survives at
alpha = 1/2, because the pair mass 2 pi(V1) pi(V0) between the verdict-1 and verdict-0
candidates shrinks faster when the verdict-1 set already holds most of the mass, which (the
correct candidate starting with the largest logit) happens more often when the correct
candidate has verdict 1, so wrong pairs stay active longer than right ones; (ii) the
perpendicular shared coordinates absorb part of the random verdict pattern (and the sampling
noise), which adds logit noise r = |theta_s,perp|^2 to every held-out prompt. Held-out accuracy
depends on theta_s only through (c, r): A_held = E softmax_0(c mu e_0 + sqrt(c^2 + r) g),
g ~ N(0, I_K) (isotropy of the held-out features), computed here by deterministic quadrature.

The prediction is a deterministic-equivalent (mean-field) recursion of model.md's uniform-replay
dynamics, numpy only:

- the realised pair of each prompt and the realised batch are replaced by their expectations
  (exact n = 2 pair law of L0: ordered outcome (w, l) has probability
  2 pi_w pi_l Phi(sqrt2 kappa (v_w - v_l)), every prompt has expected weight 1/N), with the
  DPO factor sigmoid(-h) at each prompt's current margins (saturation per prompt and verdict
  type) and the tabular block's per-prompt fitting;
- features and frozen verdicts (the quenched disorder) are drawn: ``draws`` antithetic pairs
  of N-prompt problems (U and 1 - U: at alpha = 1/2 the complement verdict pattern, so the
  first-order pattern terms cancel within a pair), fixed seed, common to every alpha;
- the sampling noise enters through its second moments: the shared update's covariance per
  round (exact multinomial-batch formula below) feeds an Ornstein-Uhlenbeck recursion for the
  noise part of r and of c, whose restoring rate is the trace of the mean update's Jacobian
  (closed form below); the noise part of c enters the held-out mean through 1/2 A_cc Var(c).

- the leading effect of the sampling noise on the *mean* trajectory: each train prompt's
  logits carry a frozen Gaussian offset (antithetic signs) of the variance v_perp(t) that the
  recursion predicts for the noise in the shared block.

Error term (``error``, ``threshold_full_run_error``; paper/theory.md, T1-long): the disorder
Monte Carlo (standard error over the antithetic pairs; jackknife for the crossing) and the
noise closure (the size of the noise-offset term itself, i.e. the change when it is switched
off, as the size of the noise effects the mean field does not contain), in quadrature; derived
from the recursion, never from simulation output. Valid for n = 2 and uniform replay only.
Cost: about 1.5 s (``default``) and 2.5 s (``second``) per call at 200 rounds on one core.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import expit, ndtr

from theory.student import get_student
from theory.util import check_int, check_range

__all__ = ["expected_ascent", "heldout_accuracy_cr", "long_run_prediction", "mean_field_run"]

_Z, _WZ = np.polynomial.hermite_e.hermegauss(64)
_WZ = _WZ / math.sqrt(2.0 * math.pi)
_ALPHA_GRID = (0.46, 0.5, 0.54)  # where the full-run threshold is located (then refined)
_MAX_ROUNDS = 1000


def heldout_accuracy_cr(c: Any, r: Any, K: int, mu: float, du: float = 0.2) -> np.ndarray:
    """Held-out accuracy E[pi_0] when theta_s = c u + (perpendicular part of squared norm r).

    A held-out prompt's logits are c (mu 1[y=0] + z_y) + theta_perp . xi_perp, i.e.
    c mu 1[y=0] + sqrt(c^2 + r) g_y with g ~ N(0, I_K). Computed as in
    ``theory.t1_drift.heldout_accuracy0`` (1/Z = int exp(-tZ) dt factorises over candidates), with
    probabilists' Gauss-Hermite nodes (64) in z and a trapezoid in log t; vectorised over (c, r).
    """
    c = np.asarray(c, dtype=float)
    r = np.asarray(r, dtype=float)
    c, r = np.broadcast_arrays(c, r)
    m = (c * mu).ravel()
    sig = np.sqrt(c**2 + np.maximum(r, 0.0)).ravel()
    span = float((np.abs(m) + 9.0 * sig).max())
    u = np.arange(-span - 28.0, span + 6.0 + du, du)
    t = np.exp(u)[None, :, None]
    x0 = (m[:, None] + sig[:, None] * _Z[None, :])[:, None, :]
    xj = (sig[:, None] * _Z[None, :])[:, None, :]
    f0 = (_WZ * np.exp(x0 - t * np.exp(x0))).sum(-1)
    L = (_WZ * np.exp(-t * np.exp(xj))).sum(-1)
    acc = np.trapezoid(f0 * L ** (K - 1) * t[..., 0], u, axis=-1)
    return acc.reshape(c.shape)


def _ascent(delta, pi, Pu, iu, beta):
    """Expected DPO ascent in logit space (n = 2, L0 pair law).

    The ordered outcome (w, l), w != l, has probability 2 pi_w pi_l P_wl (two i.i.d. samples,
    the higher score wins: P_wl = Phi(sqrt2 kappa (v_w - v_l))) and ascent
    beta sigmoid(-h_wl) (e_w - e_l), h_wl = beta (delta_w - delta_l). With
    W_wl = 2 beta pi_w pi_l P_wl sigmoid(-h_wl), g_y = sum_j W_yj - W_jy, and since
    P_yj sigmoid(-h) - P_jy sigmoid(h) = P_yj - sigmoid(h_yj) (T1, "away from theta0"),
    g_y = 2 beta pi_y sum_j pi_j a_yj with a_yj = P_yj - sigmoid(h_yj) antisymmetric (so only
    the pairs i < j in ``iu`` are computed; ``Pu`` = P on them).
    """
    i, j = iu
    a = Pu - expit(beta * (delta[..., i] - delta[..., j]))
    K = delta.shape[-1]
    E = np.eye(K)
    inner = np.matmul(a * pi[..., j], E[i]) - np.matmul(a * pi[..., i], E[j])
    return 2.0 * beta * pi * inner


def expected_ascent(delta: Any, logits: Any, v: Any, kappa: float, beta: float = 1.0) -> np.ndarray:
    """Expected DPO ascent E[beta sigmoid(-h)(e_w - e_l)] of one prompt in logit space (n = 2).

    ``delta`` = logits - reference logits, ``logits`` the current logits, ``v`` the frozen
    verdicts (0/1) of the K candidates; leading batch axes allowed. A void pair (w = l) gives 0.
    """
    delta, logits, v = (np.asarray(x, dtype=float) for x in (delta, logits, v))
    pi = np.exp(logits - logits.max(-1, keepdims=True))
    pi /= pi.sum(-1, keepdims=True)
    iu = np.triu_indices(v.shape[-1], 1)
    Pu = ndtr(math.sqrt(2.0) * kappa * (v[..., iu[0]] - v[..., iu[1]]))
    return _ascent(delta, pi, Pu, iu, beta)


def _noise_terms(g, X, sm, C_diag, C_pi, dist2, beta):
    """(E||G||^2 in the feature direction, trace of the mean update's Jacobian there) per prompt.

    ``X_ij = pi_i pi_j P_ij sigmoid(-h_ij)`` (i != j), ``sm = sigmoid(-h)``, C the Gram matrix of
    the prompt's features in the direction considered (``C_diag``, ``C_pi`` = C pi,
    ``dist2_ij`` = C_ii + C_jj - 2 C_ij). E||G||^2 = sum_ij 2 pi_i pi_j P_ij beta^2
    sigmoid(-h_ij)^2 dist2_ij. Jacobian: for the ascent g(Delta) of ``expected_ascent``,
    sum_{y,k} (dg_y/dDelta_k) C_ky = sum_ij W_ij (x_i - x_j) - 2 beta^2 sum_ij X_ij
    (1 - sigmoid(-h_ij)) dist2_ij with x = diag C - 2 C pi; the first sum is g . x.
    """
    E2 = 2.0 * beta**2 * (X * sm * dist2).sum((-1, -2))
    curv = 2.0 * beta**2 * (X * (1.0 - sm) * dist2).sum((-1, -2))
    return E2, (g * (C_diag - 2.0 * C_pi)).sum(-1) - curv


def mean_field_run(
    alphas: Any,
    kappa: float,
    *,
    student: str = "default",
    rounds: int = 200,
    N: int = 128,
    B: int = 32,
    eta: float = 0.1,
    beta: float = 1.0,
    draws: int = 8,
    seed: int = 0,
    noise_feedback: bool = True,
    noise_every: int = 4,
) -> dict[str, np.ndarray]:
    """The mean-field recursion; per (alpha, disorder draw) final c, r_mf, noise variances.

    Returns arrays of shape (len(alphas), 2 * draws) (antithetic pairs adjacent:
    columns 2i and 2i + 1): ``c`` (competence theta_s[0]), ``r_mf`` (|theta_s,perp|^2 of the
    mean-field trajectory), ``v_perp`` and ``v_c`` (noise variance of theta_s,perp summed over
    coordinates and of c), ``A0`` (initial held-out accuracy) and ``A`` (final, with the noise
    parts), and ``delta`` = A - A0. With ``noise_feedback`` the train logits of each prompt carry
    a frozen Gaussian offset of variance v_perp(t) per candidate (the noise the recursion
    predicts), the leading effect of the noise on the mean trajectory.
    """
    spec = get_student(student)
    K, d, mu, s, b = spec.K, spec.d_s, float(spec.mu), float(spec.s), float(spec.b)
    alphas = np.atleast_1d(np.asarray(alphas, dtype=float))
    A = alphas.size
    rng = np.random.default_rng(seed)
    xi = rng.standard_normal((draws, N, K, d))
    U = rng.random((draws, N, K))
    zeta = rng.standard_normal((draws, N, K))
    # antithetic pairs: same features, verdict uniforms U and 1 - U, offsets zeta and -zeta
    xi = np.repeat(xi, 2, axis=0)
    U = np.stack([U, 1.0 - U], axis=1).reshape(2 * draws, N, K)
    zeta = np.stack([zeta, -zeta], axis=1).reshape(2 * draws, N, K)
    D = 2 * draws
    correct = (np.arange(K) == 0).astype(float)
    v = np.where(U[None] < alphas[:, None, None, None], correct, 1.0 - correct)  # (A, D, N, K)
    Pw = ndtr(math.sqrt(2.0) * kappa * (v[..., :, None] - v[..., None, :]))
    iu = np.triu_indices(K, 1)
    Pu = Pw[..., iu[0], iu[1]]
    off = 1.0 - np.eye(K)
    phi = xi.copy()
    phi[:, :, 0, 0] += mu
    f = phi[..., 0]  # u-coordinate of the features (D, N, K)
    Cp = np.einsum("xnid,xnjd->xnij", xi[..., 1:], xi[..., 1:])
    du2 = (f[..., :, None] - f[..., None, :]) ** 2
    dg = np.diagonal(Cp, 0, -2, -1)
    dp2 = dg[..., :, None] + dg[..., None, :] - 2.0 * Cp
    phi_flat = phi.reshape(D, N * K, d)
    l0 = b * f
    theta = np.zeros((A, D, d))
    theta[..., 0] = b
    tab = np.zeros((A, D, N, K))
    v_perp = np.zeros((A, D))
    v_c = np.zeros((A, D))
    kp = ku = np.zeros((A, D))
    noise_p = noise_u = np.zeros((A, D))
    for t in range(rounds):
        shared = np.matmul(phi_flat[None], theta[..., None])[..., 0].reshape(A, D, N, K)
        lg = shared + s * tab
        if noise_feedback:
            lg = lg + np.sqrt(v_perp)[..., None, None] * zeta
        delta = lg - l0
        pi = np.exp(lg - lg.max(-1, keepdims=True))
        pi /= pi.sum(-1, keepdims=True)
        g = _ascent(delta, pi, Pu, iu, beta)
        mean_g = np.matmul(g.reshape(A, D, 1, N * K), phi_flat[None])[..., 0, :] / N
        if t % noise_every == 0:
            # second moments of one pair's ascent G and restoring rates of the mean update
            sm = expit(-beta * (delta[..., :, None] - delta[..., None, :]))
            X = pi[..., :, None] * pi[..., None, :] * off * Pw * sm
            Cp_pi = np.einsum("dnij,adnj->adni", Cp, pi)
            Cu_pi = f * (f * pi).sum(-1, keepdims=True)
            E2p, trp = _noise_terms(g, X, sm, dg, Cp_pi, dp2, beta)
            E2u, tru = _noise_terms(g, X, sm, f * f, Cu_pi, du2, beta)
            E2p, E2u = E2p.mean(-1), E2u.mean(-1)
            gu = (g * f).sum(-1)
            mu2p = np.einsum("adni,dnij,adnj->adn", g, Cp, g).mean(-1)
            mu2u = (gu**2).mean(-1)
            bar_p = (mean_g[..., 1:] ** 2).sum(-1)
            bar_u = mean_g[..., 0] ** 2
            # multinomial batch of B prompts, one pair per prompt per round
            dup = 1.0 + (B - 1.0) / N
            noise_p = eta**2 * (dup * (E2p - mu2p) + (mu2p - bar_p)) / B
            noise_u = eta**2 * (dup * (E2u - mu2u) + (mu2u - bar_u)) / B
            kp = eta * trp.mean(-1) / (d - 1)
            ku = eta * tru.mean(-1)
        v_perp = (1.0 + kp) ** 2 * v_perp + noise_p
        v_c = (1.0 + ku) ** 2 * v_c + noise_u
        theta = theta + eta * mean_g
        tab = tab + (eta / N) * s * g
    c = theta[..., 0]
    r_mf = (theta[..., 1:] ** 2).sum(-1)
    A0 = float(heldout_accuracy_cr(b, 0.0, K, mu))
    hc = 1e-3
    acc = heldout_accuracy_cr(np.stack([c - hc, c, c + hc]), r_mf + v_perp, K, mu)
    A_cc = (acc[0] - 2.0 * acc[1] + acc[2]) / hc**2
    A_fin = acc[1] + 0.5 * A_cc * v_c
    return {
        "c": c,
        "r_mf": r_mf,
        "v_perp": v_perp,
        "v_c": v_c,
        "A0": np.full_like(c, A0),
        "A": A_fin,
        "delta": A_fin - A0,
    }


def _crossing(alphas: np.ndarray, delta: np.ndarray) -> float:
    """Zero of the held-out change on the alpha grid (linear between bracketing grid points;
    the quadratic through the grid when no grid interval brackets it; NaN when none exists)."""
    order = np.argsort(alphas)
    a, y = alphas[order], delta[order]
    for i in range(a.size - 1):
        if y[i] == 0.0:
            return float(a[i])
        if y[i] * y[i + 1] < 0.0:
            return float(a[i] - y[i] * (a[i + 1] - a[i]) / (y[i + 1] - y[i]))
    coef = np.polyfit(a, y, 2)
    roots = [z.real for z in np.roots(coef) if abs(z.imag) < 1e-12 and 0.0 <= z.real <= 1.0]
    if not roots:
        return float("nan")
    return float(min(roots, key=lambda z: abs(z - 0.5)))


def _check_inputs(alpha, kappa, rounds, student, N, B, eta, beta, n, gate, draws):
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0, 10.0)
    rounds = check_int("rounds", rounds, 1, _MAX_ROUNDS)
    get_student(student)
    N = check_int("N", N, 8, 1024)
    B = check_int("B", B, 1, 4096)
    check_range("eta", eta, 0.0, 1.0, lo_open=True)
    check_range("beta", beta, 0.0, 10.0, lo_open=True)
    n = check_int("n", n, 2)
    if n != 2:
        raise ValueError(f"n must be 2 for the long-run theory (exact n = 2 pair law), got {n}")
    if gate != "uniform":
        raise ValueError(f"gate must be 'uniform' for the long-run theory, got {gate!r}")
    draws = check_int("draws", draws, 2, 256)
    return float(alpha), float(kappa), rounds, N, B, draws


def long_run_prediction(
    alpha: float,
    kappa: float,
    *,
    rounds: int = 200,
    student: str = "default",
    N: int = 128,
    B: int = 32,
    eta: float = 0.1,
    beta: float = 1.0,
    n: int = 2,
    gate: str = "uniform",
    draws: int = 8,
    seed: int = 0,
) -> dict[str, Any]:
    """T1-long: predicted final held-out change and full-run threshold alpha*(kappa, N, rounds).

    Mean-field recursion of model.md's uniform-replay run (module docstring). Returns a
    JSON-ready dict: ``threshold_first_round`` (1/2, exact, T1), ``threshold_full_run`` (the
    alpha where the predicted mean final held-out change crosses 0) and
    ``threshold_full_run_error``; ``delta_heldout`` (predicted mean A_held(R) - A_held(0) at
    ``alpha``) and its ``error``; ``delta_heldout_at_half`` (alpha = 1/2: the cost of fitting a
    pure-noise verdict pattern); ``slope`` (d delta / d alpha near 1/2); the parts of the error
    (``error_parts``: disorder Monte Carlo and the noise-on-mean closure) and of the
    prediction (``components``: final competence c, r from the mean field and from noise).

    Raises:
        ValueError: an input is out of range (one line naming it), n != 2 or gate != uniform.
    """
    alpha, kappa, rounds, N, B, draws = _check_inputs(
        alpha, kappa, rounds, student, N, B, eta, beta, n, gate, draws
    )
    grid = np.array(sorted(set(_ALPHA_GRID) | {alpha}))
    kw = dict(student=student, rounds=rounds, N=N, B=B, eta=eta, beta=beta, draws=draws, seed=seed)
    run = mean_field_run(grid, kappa, noise_feedback=True, **kw)
    bare = mean_field_run([0.5], kappa, noise_feedback=False, **kw)
    delta = run["delta"]  # (G, 2 draws)
    units = delta.reshape(grid.size, draws, 2).mean(-1)  # antithetic pairs are the MC units
    mean = units.mean(-1)
    se = units.std(-1, ddof=1) / math.sqrt(draws)
    i_half = int(np.flatnonzero(grid == 0.5)[0])
    i_a = int(np.flatnonzero(grid == alpha)[0])
    closure = abs(float(mean[i_half]) - float(bare["delta"].mean()))
    cross = _crossing(grid, mean)
    # jackknife over antithetic pairs for the Monte Carlo error of the crossing
    jk = np.array([_crossing(grid, np.delete(units, j, axis=1).mean(-1)) for j in range(draws)])
    se_cross = float(math.sqrt((draws - 1) / draws * np.sum((jk - jk.mean()) ** 2)))
    lo, hi = (0.46, 0.54)
    i_lo, i_hi = int(np.flatnonzero(grid == lo)[0]), int(np.flatnonzero(grid == hi)[0])
    slope = float((mean[i_hi] - mean[i_lo]) / (hi - lo))
    closure_cross = closure / abs(slope) if slope != 0 else float("inf")
    err = float(math.hypot(se[i_a], closure))
    err_cross = float(math.hypot(se_cross, closure_cross))
    comp = {k: float(run[k][i_a].mean()) for k in ("c", "r_mf", "v_perp", "v_c", "A0", "A")}
    return {
        "alpha": alpha,
        "kappa": kappa,
        "rounds": rounds,
        "student": student,
        "N": N,
        "B": B,
        "eta": float(eta),
        "beta": float(beta),
        "n": 2,
        "gate": "uniform",
        "threshold_first_round": 0.5,
        "threshold_full_run": cross,
        "threshold_full_run_error": err_cross,
        "delta_heldout": float(mean[i_a]),
        "error": err,
        "delta_heldout_at_half": float(mean[i_half]),
        "slope": slope,
        "error_parts": {
            "monte_carlo": float(se[i_a]),
            "noise_closure": closure,
            "threshold_monte_carlo": se_cross,
            "threshold_noise_closure": closure_cross,
        },
        "components": comp,
        "draws": draws,
        "seed": seed,
        "order": (
            "threshold_first_round exact (T1, first step at theta0); threshold_full_run and "
            "delta_heldout from the mean-field recursion (T1-long), error = disorder Monte "
            "Carlo + noise-on-mean closure"
        ),
    }
