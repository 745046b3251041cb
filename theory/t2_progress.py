"""T2 and T2b: what a progress gate sees, and what it costs in variance.

T2 for paper/model.md. The model's ``loss`` progress of prompt x is measured on x's *newest*
pair, drawn after the update it scores: ``P_x(t) = l(theta_{t-2}; pair_x(t)) -
l(theta_{t-1}; pair_x(t))``. That pair is independent of the pairs the update used, so to
first order ``P_x = <G_x', dtheta>`` with ``dtheta = eta sum_y w_y G_y`` and G_x' an independent
copy of G_x:

    E[P_x] = eta [ w_x ||mu_x||^2 + sum_{y != x} w_y <mu_x, mu_y> ]
           = eta [ w_x (E||G_x||^2 - tr Sigma_x) + cross ],

which is THEORY.md's T2 as stated (``progress="loss"`` below), for
weights independent of the pairs they weight (exact for uniform replay; in the model the
progress-gate weights of a round see that round's pairs through lam P_y, which adds
Cov(w_y, G_y) to E[w_y] mu_y, see paper/theory.md).

THEORY.md's literal definition measures progress on the very pair x trained on
(``progress="trained"``, a counter-example): then dtheta *contains the same G_x*, the
self-term becomes ``eta w_x E||G_x||^2`` (variance added, not subtracted) and, at theta0 in the
tabular block, ``||G_x||^2 = beta^2 s^2 / 2`` for every non-void pair whatever its orientation,
so that gate's self-term sees only the chance of a non-void pair, not p_x at all.

Under the model's loss progress (weights proportional to ||mu_x||^2 = c (2 p_x - 1)^2 when the
self-term dominates, homogeneous verifier, n = 2): p_x in {Phi(sqrt2 kappa), 1/2, 1 - Phi} w.p.
{alpha^2, 2 alpha (1-alpha), (1-alpha)^2}, hence
``a_gated - 1/2 = (a_pair - 1/2) / (alpha^2 + (1 - alpha)^2)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import erf, ndtr

from theory.gates import PROGRESS, check_gate
from theory.student import check_student
from theory.util import check_int, check_range

__all__ = [
    "READINGS",
    "expected_progress",
    "gate_amplification",
    "gated_pair_accuracy",
    "gated_pair_accuracy_expr",
    "loss_progress_factor",
    "margin_amplification_expr",
    "mean_ascent_directions",
    "pair_direction_moments",
    "reward_progress_tabular",
    "self_cross_ratio",
    "self_cross_ratio_model",
]

#: progress readings of :func:`gate_amplification`: the model's signals (theory.gates.PROGRESS:
#: ``loss`` on the newest, independent pair, and ``reward``) and THEORY.md's literal
#: ``trained``-pair definition (a counter-example, not a gate the model offers).
READINGS = PROGRESS + ("trained",)


def _f(x: Any) -> Any:
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


# ---------------------------------------------------------------- T2: proportional gate ----


def gated_pair_accuracy_expr():
    """T2: sympy ``(derived, closed)`` for the proportional gate, homogeneous verifier, n = 2.

    derived: ``sum_type w p / sum_type w`` with weights prob(type) (2 p - 1)^2;
    closed: ``1/2 + (a_pair - 1/2) / (alpha^2 + (1 - alpha)^2)``.
    """
    import sympy as sp

    alpha = sp.symbols("alpha", nonnegative=True)
    Ph = sp.symbols("Phi", positive=True)  # Phi(sqrt2 kappa)
    types = [
        (alpha**2, Ph),
        (2 * alpha * (1 - alpha), sp.Rational(1, 2)),
        ((1 - alpha) ** 2, 1 - Ph),
    ]
    num = sum(pr * (2 * p - 1) ** 2 * p for pr, p in types)
    den = sum(pr * (2 * p - 1) ** 2 for pr, p in types)
    a_pair = sp.Rational(1, 2) + (2 * alpha - 1) * (Ph - sp.Rational(1, 2))
    closed = sp.Rational(1, 2) + (a_pair - sp.Rational(1, 2)) / (alpha**2 + (1 - alpha) ** 2)
    return num / den, closed


def gated_pair_accuracy(alpha: Any, kappa: Any) -> Any:
    """T2: pair accuracy seen by the proportional gate (weights ~ ||mu_x||^2), n = 2.

    ``a_gated = 1/2 + (a_pair - 1/2) / (alpha^2 + (1 - alpha)^2)``: same side of 1/2 as
    a_pair, amplified by a factor in [1, 2]. This is the model's loss progress (progress on the
    newest, independent pair = THEORY.md's T2) when the self-term dominates; see the module
    docstring for the trained-pair counter-example.
    """
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    a = np.asarray(alpha, float)
    ap = 0.5 + (a - 0.5) * erf(np.asarray(kappa, float))
    return _f(0.5 + (ap - 0.5) / (a**2 + (1 - a) ** 2))


def margin_amplification_expr():
    """T2 margin gate (n = 2, all pairs mixed): sympy ``2 kappa / (E|D| erf(kappa))``.

    D = s_w - s_l before sorting, i.e. the correct minus incorrect score, ~ N(delta, 2) with
    delta in {2 kappa, 0, -2 kappa} w.p. {alpha^2, 2 alpha (1 - alpha), (1 - alpha)^2};
    weight = |D|, signed orientation = sign(D), so the gated drift is E[D] / E|D| against the
    uniform E[sign D] = (2 alpha - 1) erf(kappa).
    """
    import sympy as sp

    alpha, kappa = sp.symbols("alpha kappa", positive=True)
    x = sp.symbols("x", real=True)

    def folded(delta):
        dens = sp.exp(-((x - delta) ** 2) / 4) / sp.sqrt(4 * sp.pi)
        return sp.integrate(sp.Abs(x) * dens, (x, -sp.oo, sp.oo))

    ED = (2 * alpha - 1) * 2 * kappa
    EabsD = (
        alpha**2 * folded(2 * kappa)
        + 2 * alpha * (1 - alpha) * folded(0)
        + (1 - alpha) ** 2 * folded(-2 * kappa)
    )
    return sp.simplify(ED / EabsD / ((2 * alpha - 1) * sp.erf(kappa)))


def gate_amplification(
    alpha: Any,
    kappa: Any,
    gate: str,
    n: int = 2,
    *,
    progress: str = "loss",
    mixed: float = 1.0,
    unmixed: float = 0.0,
) -> Any:
    """T2: ratio of a gate's first-order drift to uniform replay's, homogeneous verifier.

    * ``uniform``: 1.
    * ``proportional`` and ``threshold`` (tau between the two progress levels, noise-free,
      self-dominated): ``progress="loss"`` (paper/model.md's loss progress, measured on the
      newest pair, independent of the update = THEORY.md's T2; weights
      ~ ||mu_x||^2 ~ (2 p_x - 1)^2): ``1 / (alpha^2 + (1 - alpha)^2)``;
      ``progress="trained"`` (THEORY.md's literal definition, progress on the trained pair, at
      theta0; a counter-example): 1, since ``E||G_x||^2`` does not depend on p_x;
      ``progress="reward"`` (model's reward progress, tabular K = 2 at theta0, weights
      ~ delta_x (2 p_x - 1), see :func:`reward_progress_tabular`): the same value as "loss",
      because confidently right and confidently wrong prompts get equal weight.
    * ``margin`` (n = 2): weight = score gap; ``2 kappa / (erf(kappa) E_gap)`` with
      ``E_gap = mixed E|D_mixed| + unmixed E|D_unmixed|`` (fractions of all pairs; void pairs
      have weight 0). Limit kappa -> 0: pi/2 when mixed = 1.
    * ``rank``: nan; PLR weights (1/rank)^(1/T) mixed with staleness depend on T, rho, N and the
      whole progress ranking, not on (alpha, kappa) alone.
    """
    check_gate(gate)
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    n = check_int("n", n, 2)
    if progress not in READINGS:
        raise ValueError(f"progress must be one of {', '.join(READINGS)}; got {progress!r}")
    a, k = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(kappa, float))
    if gate == "uniform":
        return _f(np.ones(a.shape))
    if gate == "rank":
        return _f(np.full(a.shape, np.nan))
    if gate in ("proportional", "threshold"):
        if progress == "trained":  # "loss" and "reward" share the value
            return _f(np.ones(a.shape))
        return _f(1.0 / (a**2 + (1 - a) ** 2))
    # margin
    if n != 2:
        return _f(np.full(a.shape, np.nan))
    check_range("mixed", mixed, 0.0, 1.0)
    check_range("unmixed", unmixed, 0.0, 1.0)
    if mixed + unmixed > 1 + 1e-12 or mixed == 0:
        raise ValueError("mixed must be in (0, 1] and mixed + unmixed <= 1")
    same, differ = a**2 + (1 - a) ** 2, 2 * a * (1 - a)
    # Gated drift mixed E[D | mixed] / E_gap against uniform's mixed E[sign D | mixed]: the
    # fraction of mixed pairs cancels (void pairs only lower E_gap, raising the ratio).
    # E[D | mixed] = (2 alpha - 1) 2 kappa, E[sign D | mixed] = (2 alpha - 1) erf(kappa); with
    # nu(d) = E|N(d, 2)|: nu(2 kappa) / kappa = 2 e^(-kappa^2) / (sqrt(pi) kappa) + 2 erf(kappa)
    # and nu(0) / kappa = 2 / (sqrt(pi) kappa), so everything is divided by kappa (finite for
    # any finite kappa); kappa below 1e-8 takes the kappa -> 0 limit (error O(kappa^2)).
    small = k < 1e-8
    ks = np.where(small, 1.0, k)
    with np.errstate(over="ignore"):
        far = 2 * np.exp(-(np.minimum(ks, 40.0) ** 2)) / (math.sqrt(math.pi) * ks) + 2 * erf(ks)
    near = 2 / (math.sqrt(math.pi) * ks)
    E_mixed = same * far + differ * near  # E|D_mixed| / kappa
    # two incorrect ends: verdict means differ w.p. 2 alpha (1 - alpha)
    E_unmixed = differ * far + same * near
    out = 2 / (erf(ks) * (mixed * E_mixed + unmixed * E_unmixed))
    # kappa -> 0: 2 kappa / erf(kappa) -> sqrt(pi), E|D| -> nu(0) = 2 / sqrt(pi) for every pair
    limit = math.sqrt(math.pi) / ((mixed + unmixed) * 2 / math.sqrt(math.pi))
    return _f(np.where(small, limit, out))


# ---------------------------------------------------------------- T2: progress decomposition --


def expected_progress(
    mu: Any, w: Any, eta: float = 1.0, *, trace_sigma: Any = None
) -> dict[str, np.ndarray]:
    """T2: first-order expected progress of every prompt.

    Args:
        mu: (N, D) mean ascent directions mu_x = E[G_x].
        w: (N,) replay weights (realised or expected batch weights).
        eta: step size.
        trace_sigma: optional (N,) tr Sigma_x; when given, ``self_trained`` adds the variance
            term of THEORY.md's literal (trained-pair) progress.

    Returns:
        ``self`` = eta w_x ||mu_x||^2, ``cross`` = eta sum_{y!=x} w_y <mu_x, mu_y>,
        ``total`` = self + cross (= eta <mu_x, sum_y w_y mu_y>): the model's loss progress
        (newest pair, independent of the update; THEORY.md's T2); and, if trace_sigma is given,
        ``self_trained`` = eta w_x (||mu_x||^2 + tr Sigma_x) and ``total_trained``: progress
        measured on the trained pair (THEORY.md's literal definition, counter-example).
    """
    mu = np.asarray(mu, float)
    w = np.asarray(w, float)
    check_range("eta", eta, 0.0)
    if mu.ndim != 2 or w.shape != (mu.shape[0],):
        raise ValueError("mu must be (N, D) and w must be (N,)")
    check_range("w", w, 0.0)
    sq = (mu * mu).sum(1)
    total = eta * mu @ (w @ mu)
    out = {"self": eta * w * sq, "cross": total - eta * w * sq, "total": total}
    if trace_sigma is not None:
        ts = np.asarray(trace_sigma, float)
        check_range("trace_sigma", ts, 0.0)
        out["self_trained"] = eta * w * (sq + ts)
        out["total_trained"] = out["self_trained"] + out["cross"]
    return out


def pair_direction_moments(
    pi: Any, p: Any, *, s: float = 1.0, beta: float = 1.0, shared: Any = None
) -> dict[str, Any]:
    """T2: mean and covariance of G_x at theta0 (n = 2) for one prompt, tabular (+ shared) block.

    Args:
        pi: (K,) policy at theta0 (candidate 0 correct).
        p: probability that a mixed pair is right-oriented given the prompt's frozen verdicts
            (p in {Phi(sqrt2 kappa), 1/2, 1 - Phi}).
        s: tabular scale.
        beta: DPO beta.
        shared: optional (K, d) shared features of the prompt's candidates; then G includes the
            shared block ``(beta/2)(phi_w - phi_l)``.

    Pairs {i, j} of two incorrect candidates are oriented i > j with probability ``r_ij``;
    with frozen verdicts that is Phi(sqrt2 kappa (v_i - v_j)); here we take the
    verdict-average 1/2, which is what the tabular ``(2 p - 1)^2`` statement assumes.

    Returns ``mean`` (D,), ``cov`` (D, D), ``second_moment`` = E||G||^2, ``trace_cov``, and
    ``mean_sq`` = ||mean||^2 (= second_moment - trace_cov).
    """
    pi = np.asarray(pi, float)
    check_range("p", p, 0.0, 1.0)
    K = pi.size
    feats = s * np.eye(K)
    if shared is not None:
        feats = np.concatenate([feats, np.asarray(shared, float)], axis=1)
    D = feats.shape[1]
    mean = np.zeros(D)
    second = np.zeros((D, D))
    for i in range(K):
        for j in range(K):
            if i == j:
                continue
            if i == 0:
                pr = 2 * pi[0] * pi[j] * p
            elif j == 0:
                pr = 2 * pi[0] * pi[i] * (1 - p)
            else:
                pr = pi[i] * pi[j]  # 2 pi_i pi_j * 1/2
            g = 0.5 * beta * (feats[i] - feats[j])
            mean += pr * g
            second += pr * np.outer(g, g)
    cov = second - np.outer(mean, mean)
    return {
        "mean": mean,
        "cov": cov,
        "second_moment": float(np.trace(second)),
        "trace_cov": float(np.trace(cov)),
        "mean_sq": float(mean @ mean),
    }


def mean_ascent_directions(
    logits: Any,
    logits0: Any,
    score_mean: Any,
    shared: Any,
    *,
    s: float,
    beta: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """T2 at any parameters: every prompt's mean ascent direction mu_x = E[G_x] (n = 2, rho = 0).

    The pair of two samples from pi = softmax(logits) scored ``score_mean + N(0, 1)`` has
    ``P(y_w = i, y_l = j) = 2 pi_i pi_j Phi((m_i - m_j) / sqrt2)`` (i != j; void pairs carry no
    direction) and ascent direction ``G = beta sigmoid(-h_ij) (phi_i - phi_j)`` with the DPO margin
    ``h_ij = beta [(logits - logits0)_i - (logits - logits0)_j]`` (exact for linear softmax), so

        mu_x = sum_i net_i phi_i,  net_i = sum_j (A_ij - A_ji),  A_ij = P_ij beta sigmoid(-h_ij).

    Args:
        logits: (..., N, K) train logits at the current parameters.
        logits0: (..., N, K) train logits of pi_ref = pi_theta0.
        score_mean: (..., N, K) the verifier's score means kappa_x (2 v(x, y) - 1) (frozen).
        shared: (..., N, K, d) shared-block features phi_s(x, y) (competence shift included).
        s: tabular scale (phi_t(x, y) = s e_(x, y)).
        beta: DPO beta.

    Returns:
        ``(mu_shared (..., N, d), mu_tabular (..., N, K))``; the tabular part of prompt x lives in
        x's own row, so prompts' tabular parts are orthogonal.
    """
    lg, lg0, m = (np.asarray(a, float) for a in (logits, logits0, score_mean))
    phi = np.asarray(shared, float)
    if lg.shape != lg0.shape or lg.shape != m.shape or phi.shape[:-1] != lg.shape:
        raise ValueError("logits, logits0, score_mean must be (..., N, K), shared (..., N, K, d)")
    check_range("s", s, 0.0)
    check_range("beta", beta, 0.0)
    pi = np.exp(lg - lg.max(-1, keepdims=True))
    pi /= pi.sum(-1, keepdims=True)
    dl = lg - lg0
    h = beta * (dl[..., :, None] - dl[..., None, :])
    orient = ndtr((m[..., :, None] - m[..., None, :]) / math.sqrt(2))
    A = 2 * pi[..., :, None] * pi[..., None, :] * orient * beta / (1.0 + np.exp(h))
    K = lg.shape[-1]
    A[..., np.arange(K), np.arange(K)] = 0.0  # void pairs
    net = A.sum(-1) - A.sum(-2)
    return np.einsum("...k,...kd->...d", net, phi), s * net


def self_cross_ratio(
    s: Any,
    shared_sq: Any,
    shared_dot: Any,
    N: int,
    B: int | None = None,
    *,
    tab_sq: Any = 1.0,
    trace_sigma: Any = 0.0,
) -> Any:
    """T2: ratio of the self-term to the cross-term of expected progress under uniform replay.

    Mean direction ``mu_x = (tabular part, shared part m_x)`` with ``||tab_x||^2 = s^2 tab_sq``,
    ``||m_x||^2 = shared_sq``, ``<m_x, m_y> = shared_dot`` (y != x), weights 1/N (B drops out of
    the mean; it enters the variance, T2b):

        self / cross = (s^2 tab_sq + shared_sq + trace_sigma) / ((N - 1) shared_dot),

    with ``trace_sigma = 0`` for the model's loss progress (newest, independent pair) and
    ``trace_sigma = tr Sigma_x`` for THEORY.md's literal trained-pair definition.
    Self-dominated when s^2 tab_sq >> N <m_x, m_y>. See
    :func:`self_cross_ratio_model` for the terms of model.md's student at theta0.
    """
    N = check_int("N", N, 2)
    if B is not None:
        check_int("B", B, 1)
    num = (
        np.asarray(s, float) ** 2 * np.asarray(tab_sq, float)
        + np.asarray(shared_sq, float)
        + np.asarray(trace_sigma, float)
    )
    den = (N - 1) * np.asarray(shared_dot, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.inf)
    return _f(out)


def reward_progress_tabular(
    pi0: Any, delta: Any, *, eta: float = 1.0, beta: float = 1.0, s: float = 1.0, w: float = 1.0
) -> Any:
    """T2, ``reward`` progress (tabular, K = 2, n = 2, theta0): expected rise of the verifier's
    mean score after one update with weight w on the prompt's own fresh pair.

    With score means m_0, m_1 (frozen verdicts), ``delta = m_0 - m_1`` and the orientation
    probability ``p = Phi(delta / sqrt2)``:

        E[dR] = eta w beta s^2 2 pi0^2 (1 - pi0)^2 delta (2 p - 1) >= 0,

    symmetric under delta -> -delta (p <-> 1 - p) and zero for undecided prompts (delta = 0):
    THEORY.md's T2 symmetry statement holds for this signal.
    """
    check_range("pi0", pi0, 0.0, 1.0)
    check_range("eta", eta, 0.0)
    check_range("w", w, 0.0)
    d = np.asarray(delta, float)
    p0 = np.asarray(pi0, float)
    out = eta * w * beta * s**2 * 2 * p0**2 * (1 - p0) ** 2 * d * (2 * ndtr(d / math.sqrt(2)) - 1)
    return _f(out)


def self_cross_ratio_model(
    alpha: float,
    kappa: float,
    student: Any,
    *,
    beta: float = 1.0,
    n_samples: int = 1 << 13,
    seed: int = 0,
) -> dict[str, float]:
    """T2 for paper/model.md's student at theta0 (n = 2, homogeneous verifier, uniform replay).

    Fixed-sample Monte Carlo over the features and frozen verdicts of a prompt (pairs and scores
    are averaged exactly: ``P(w=i, l=j) = 2 pi_i pi_j Phi((m_i - m_j)/sqrt2)``). Returns
    ``tab_sq`` = E||mu_x^tab||^2, ``shared_sq`` = E||m_x||^2, ``shared_dot`` = <m_x, m_y>
    for independent prompts (= ||E m_x||^2, unbiased pair estimator), ``second_moment`` =
    E||G_x||^2 (with ``*_se`` Monte Carlo errors) and, when the student has N, the self- to
    cross-term ratio ``ratio_loss`` (the model's loss progress, newest independent pair) and
    ``ratio_trained`` (THEORY.md's
    literal trained-pair definition).
    """
    st = check_student(student)
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    K, d, mu, s, b = st["K"], st["d_s"], float(st["mu"]), float(st["s"]), float(st["b"])
    rng = np.random.default_rng(seed)
    S = check_int("n_samples", n_samples, 2)
    phi = rng.standard_normal((S, K, d))
    phi[:, 0, 0] += mu
    logits = b * phi[..., 0]
    pi = np.exp(logits - logits.max(1, keepdims=True))
    pi /= pi.sum(1, keepdims=True)
    U = rng.random((S, K))
    v = np.where(np.arange(K) == 0, U < alpha, U >= alpha).astype(float)
    m = kappa * (2 * v - 1)
    P = 2 * pi[:, :, None] * pi[:, None, :] * ndtr((m[:, :, None] - m[:, None, :]) / math.sqrt(2))
    P[:, np.arange(K), np.arange(K)] = 0.0  # void pairs carry no direction
    net = P.sum(2) - P.sum(1)  # (S, K): P(best = i) - P(worst = i) over non-void pairs
    tab_sq = (beta / 2) ** 2 * s**2 * (net**2).sum(1)
    mvec = (beta / 2) * np.einsum("sk,skd->sd", net, phi)
    shared_sq = (mvec**2).sum(1)
    tot = mvec.sum(0)
    shared_dot = float((tot @ tot - shared_sq.sum()) / (S * (S - 1)))
    mbar = tot / S
    # U-statistic variance: 4 mbar' C mbar / S + 2 tr(C^2) / S^2 (C the covariance of m_x)
    C = np.atleast_2d(np.cov(mvec.T))
    var = 4 * max(mbar @ C @ mbar, 0.0) / S + 2 * float(np.trace(C @ C)) / S**2
    shared_dot_se = float(math.sqrt(var))
    dist = ((phi[:, :, None, :] - phi[:, None, :, :]) ** 2).sum(-1) + 2 * s**2
    second = (beta / 2) ** 2 * (P * dist).sum((1, 2))
    out = {
        "tab_sq": float(tab_sq.mean()),
        "shared_sq": float(shared_sq.mean()),
        "shared_dot": shared_dot,
        "shared_dot_se": shared_dot_se,
        "second_moment": float(second.mean()),
        "second_moment_se": float(second.std(ddof=1) / math.sqrt(S)),
    }
    if "N" in st:
        N = check_int("student['N']", st["N"], 2)
        den = (N - 1) * shared_dot
        out["ratio_loss"] = (out["tab_sq"] + out["shared_sq"]) / den if den else math.inf
        out["ratio_trained"] = out["second_moment"] / den if den else math.inf
    return out


def loss_progress_factor(p: Any, h: Any) -> Any:
    """T2 away from theta0: ``p sigmoid(-h)^2 + (1 - p) sigmoid(h)^2``, the orientation part of
    E||G_x||^2 for a mixed pair with right-oriented margin h: the self-term of THEORY.md's
    literal (trained-pair) progress, not the model's loss progress.

    1/4 at theta0 for every p (orientation-blind); ``p (1 - p)`` at DPO's fixed point
    h* = logit(p), largest for undecided prompts. The model's loss progress (newest,
    independent pair) has self-term ~ ||mu_x||^2, whose orientation part is
    ``(p sigmoid(-h) - (1 - p) sigmoid(h))^2 = (p - sigmoid(h))^2``: ``(p - 1/2)^2`` at theta0,
    0 at the fixed point.
    """
    check_range("p", p, 0.0, 1.0)
    hh = np.asarray(h, float)
    sig = 1.0 / (1.0 + np.exp(-hh))
    return _f(np.asarray(p, float) * (1 - sig) ** 2 + (1 - np.asarray(p, float)) * sig**2)
