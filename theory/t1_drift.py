"""T1, the threshold: first-order drift of rubric accuracy from one DPO step on a fresh pair.

For one step ``theta <- theta + eta G`` on prompt x's pair at theta0 (h = 0, sigmoid(-h) = 1/2),
n = 2 and verdicts averaged:

    E[dA] = (eta beta / 2) (2 a_pair - 1) M,   M = sum_j 2 pi_0 pi_j <grad A, phi_0 - phi_j> >= 0

(pairs between two incorrect candidates cancel: their two orientations are equally likely when
n = 2). M is the *mixed-pair mass*. For n > 2 the orientation probability of the pair {0, j}
depends on pi, and incorrect-incorrect pairs no longer cancel exactly; the first-round
functions below then compute the exact first-order drift from the L0 pair law instead of the
factorised form.

Away from theta0 the pair {0, j} has margin ``h = beta (theta - theta0) . (phi_0 - phi_j)``
when right-oriented and ``-h`` when wrong-oriented, so its expected ascent is proportional to
``a sigmoid(-h) - (1 - a) sigmoid(h) = a - sigmoid(h)``: right pairs are damped, wrong pairs
boosted, and the drift along the pair stops at DPO's fixed point ``h* = logit(a)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import expit, logit

from theory.l0_pairs import BERNSTEIN_MAX_N, a_pair_expr, pair_accuracy, two_level_J
from theory.student import check_student, theta0_sample
from theory.t2_progress import gate_amplification
from theory.util import check_int, check_range

__all__ = [
    "drift_expr",
    "drift_rate",
    "drift_rate_at_margin",
    "dpo_fixed_point",
    "first_round_drift_estimate",
    "first_round_heldout_drift",
    "first_round_train_drift",
    "heldout_accuracy0",
    "heterogeneous_heldout_drift",
    "heldout_gradient_b",
    "mixed_mass_heldout",
    "mixed_mass_shared",
    "mixed_mass_tabular",
    "mixed_mass_tabular_expr",
    "pair_drift_factor",
    "sigmoid_factor_expr",
]

_ZMAX, _DU, _UPAD = 12.0, 0.1, 45.0  # quadrature of heldout_accuracy0 (see there)


# ---------------------------------------------------------------- symbolic ------------------


def drift_expr():
    """T1: sympy ``E[dA] = (eta beta / 2)(2 a_pair - 1) M`` with a_pair from L0 (n = 2)."""
    import sympy as sp

    eta, beta, M = sp.symbols("eta beta M", positive=True)
    return eta * beta / 2 * (2 * a_pair_expr() - 1) * M


def sigmoid_factor_expr():
    """T1 away from theta0: ``(a sigmoid(-h) - (1 - a) sigmoid(h), a - sigmoid(h))``.

    The two expressions are equal (sympy simplifies their difference to 0).
    """
    import sympy as sp

    a, h = sp.symbols("a h", real=True)
    sig = lambda z: 1 / (1 + sp.exp(-z))
    return a * sig(-h) - (1 - a) * sig(h), a - sig(h)


def mixed_mass_tabular_expr(K: int = 3):
    """T1 tabular block, derived: ``M = sum_j 2 pi_0 pi_j <grad pi_0, phi_0 - phi_j>``.

    Builds the softmax over K symbolic logits, differentiates pi_0 along the tabular pair
    direction ``s (e_0 - e_j)`` (scaled by s for the feature, s again for the logit), and
    returns ``(derived, closed_form)`` with closed form
    ``2 s^2 pi_0^2 [(1 - pi_0)^2 + sum_{j>0} pi_j^2]``.
    """
    import sympy as sp

    s = sp.symbols("s", positive=True)
    logits = sp.symbols(f"l0:{K}", real=True)
    Z = sum(sp.exp(v) for v in logits)
    pi = [sp.exp(v) / Z for v in logits]
    derived = 0
    for j in range(1, K):
        directional = s * s * (sp.diff(pi[0], logits[0]) - sp.diff(pi[0], logits[j]))
        derived += 2 * pi[0] * pi[j] * directional
    closed = 2 * s**2 * pi[0] ** 2 * ((1 - pi[0]) ** 2 + sum(p**2 for p in pi[1:]))
    return derived, closed


# ---------------------------------------------------------------- closed forms --------------


def mixed_mass_tabular(pi: Any, s: Any = 1.0) -> Any:
    """T1: mixed-pair mass M of the tabular block for policy ``pi`` (..., K), n = 2.

    ``M = 2 s^2 pi_0^2 [(1 - pi_0)^2 + sum_{j>0} pi_j^2]`` (candidate 0 correct), so that one
    step on the prompt's fresh pair changes pi_0 by ``(eta beta/2)(2 a_pair - 1) M`` on average.
    """
    pi = np.asarray(pi, dtype=float)
    check_range("pi", pi, 0.0, 1.0)
    check_range("s", s, 0.0)
    if pi.shape[-1] < 2:
        raise ValueError("pi must have K >= 2 candidates on its last axis")
    if np.any(np.abs(pi.sum(-1) - 1.0) > 1e-9):
        raise ValueError("pi must sum to 1 over its last axis")
    p0 = pi[..., 0]
    out = 2.0 * np.asarray(s, float) ** 2 * p0**2 * ((1 - p0) ** 2 + (pi[..., 1:] ** 2).sum(-1))
    return float(out) if np.ndim(out) == 0 else out


def pair_drift_factor(a: Any, h: Any) -> Any:
    """T1 away from theta0: ``a sigmoid(-h) - (1 - a) sigmoid(h) = a - sigmoid(h)``.

    ``h`` is the right-oriented pair's DPO margin; equals ``a - 1/2`` at theta0.
    """
    check_range("a", a, 0.0, 1.0)
    out = np.asarray(a, float) - expit(np.asarray(h, float))
    return float(out) if out.ndim == 0 else out


def dpo_fixed_point(a: Any) -> Any:
    """T1: margin h* = logit(a) at which a pair of orientation accuracy a stops drifting."""
    check_range("a", a, 0.0, 1.0, lo_open=True, hi_open=True)
    out = logit(np.asarray(a, float))
    return float(out) if out.ndim == 0 else out


def drift_rate(
    alpha: Any,
    kappa: Any,
    *,
    n: int = 2,
    eta: float = 1.0,
    beta: float = 1.0,
    M: Any = 1.0,
    gate: str = "uniform",
    p_correct: Any = 0.5,
) -> Any:
    """T1: first-order ``E[dA] = (eta beta / 2)(2 a_pair - 1) M`` times the gate's amplification.

    ``gate`` amplification is :func:`theory.t2_progress.gate_amplification` for the model's
    loss progress (newest, independent pair = THEORY.md's T2 reading; 1 for uniform). For
    n > 2, a_pair is the mean-field L0 value.
    """
    check_range("eta", eta, 0.0)
    check_range("beta", beta, 0.0, lo_open=True)
    check_range("M", M, 0.0)
    ap = pair_accuracy(alpha, kappa, n, p_correct)
    amp = gate_amplification(alpha, kappa, gate, n=n)
    out = 0.5 * eta * beta * (2.0 * np.asarray(ap) - 1.0) * np.asarray(M, float) * amp
    return float(out) if np.ndim(out) == 0 else out


def drift_rate_at_margin(
    alpha: Any, kappa: Any, h: Any, *, eta: float = 1.0, beta: float = 1.0, M: Any = 1.0
) -> Any:
    """T1 away from theta0 (n = 2): ``eta beta (a_pair - sigmoid(h)) M``.

    Right-oriented pairs carry weight sigmoid(-h), wrong-oriented ones sigmoid(h); with M
    evaluated at the current policy this is the first-order drift along one pair direction.
    """
    check_range("eta", eta, 0.0)
    check_range("beta", beta, 0.0, lo_open=True)
    ap = pair_accuracy(alpha, kappa)
    out = eta * beta * pair_drift_factor(ap, h) * np.asarray(M, float)
    return float(out) if np.ndim(out) == 0 else out


# ---------------------------------------------------------------- shared block (model.md) ---


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


@functools.cache
def _laplace_nodes(mu: float, b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z nodes/weights (standard normal, composite Gauss-Legendre on [-12, 12] with panels of
    width min(1, 1/|b|)) and log-t nodes (step 0.1) covering every candidate's e^X range."""
    width = min(1.0, 1.0 / max(abs(b), 1e-12))
    panels = math.ceil(2 * _ZMAX / width)
    t, w = np.polynomial.legendre.leggauss(8)
    h = 2 * _ZMAX / panels
    starts = -_ZMAX + h * np.arange(panels)
    z = (starts[:, None] + h * (t + 1) / 2).ravel()
    wz = np.tile(w * h / 2, panels) * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    xs = np.array([b * (mu - _ZMAX), b * (mu + _ZMAX), -abs(b) * _ZMAX, abs(b) * _ZMAX])
    lo, hi = -xs.max() - _UPAD, -xs.min() + _UPAD
    u = np.arange(lo, hi + _DU, _DU)
    return z, wz, u


def _heldout_accuracy0_and_grad(K: int, mu: float, b: float) -> tuple[float, float]:
    """(E[pi_0], d E[pi_0] / d b) at theta0 = b u by a deterministic 2-D quadrature.

    ``1 / Z = int_0^inf exp(-t Z) dt`` factorises the softmax denominator over the K
    independent candidates: ``E[pi_0] = int f_0(t) L(t)^(K-1) dt`` with
    ``f_0(t) = E[e^{X_0} exp(-t e^{X_0})]``, ``L(t) = E[exp(-t e^{b z})]``,
    ``X_0 = b (mu + z)``; the z-expectations use composite Gauss-Legendre against the normal
    density (panels resolving the 1/|b| scale), the t-integral a trapezoid in log t (step 0.1)
    over the whole range where the integrand is not negligible. Error < 1e-9 against the exact
    K = 2 form (tests).
    """
    if abs(b) * (abs(mu) + _ZMAX) > 300:
        raise ValueError(f"|b| (|mu| + 12) must be <= 300 for the quadrature, got b={b}, mu={mu}")
    z, wz, u = _laplace_nodes(round(mu, 12), round(b, 12))
    t = np.exp(u)[:, None]
    x0 = b * (mu + z)[None, :]
    xj = b * z[None, :]
    e0 = np.exp(x0 - t * np.exp(x0))
    ej = np.exp(-t * np.exp(xj))
    f0 = (wz * e0).sum(1)
    L = (wz * ej).sum(1)
    df0 = (wz * (mu + z) * (1.0 - t * np.exp(x0)) * e0).sum(1)
    dL = (wz * (-t * z * np.exp(xj)) * ej).sum(1)
    tt = t[:, 0]
    acc = np.trapezoid(f0 * L ** (K - 1) * tt, u)
    grad = np.trapezoid((df0 * L ** (K - 1) + f0 * (K - 1) * L ** (K - 2) * dL) * tt, u)
    return float(acc), float(grad)


def heldout_accuracy0(K: int, mu: float, b: float) -> float:
    """Initial held-out accuracy A_held(theta0) = E[pi_0] of model.md's student (deterministic)."""
    K = check_int("K", K, 2)
    check_range("b", b, -1e6, 1e6)
    check_range("mu", mu, -1e6, 1e6)
    return _heldout_accuracy0_and_grad(K, float(mu), float(b))[0]


def heldout_gradient_b(K: int, mu: float, b: float) -> float:
    """T1: g_h = d A_held(theta0) / d b, the held-out accuracy gradient along u (deterministic).

    Since ``d pi_0 / d theta_s = pi_0 (phi_0 - sum_y pi_y phi_y)`` and theta0 = b u, the
    u-component of E[grad pi_0] is exactly d E[pi_0] / d b.
    """
    K = check_int("K", K, 2)
    check_range("b", b, -1e6, 1e6)
    check_range("mu", mu, -1e6, 1e6)
    return _heldout_accuracy0_and_grad(K, float(mu), float(b))[1]


def mixed_mass_heldout(K: int, mu: float, b: float) -> float:
    """T1, shared block, held-out target, n = 2: ``M_held = 2 g_h^2 >= 0`` (deterministic).

    Identity: ``sum_j 2 pi_0 pi_j (phi_0 - phi_j) = 2 pi_0 (phi_0 - sum_y pi_y phi_y)`` (because
    sum_y pi_y = 1), whose expectation along u is 2 g_h; the held-out gradient is g_h u. So
    ``E[dA_held] = eta beta (2 a_pair - 1) g_h^2`` after one uniform round: the sign is
    (2 alpha - 1) for every student, which only sets the size through g_h = dA_held/db.
    """
    return 2.0 * heldout_gradient_b(K, mu, b) ** 2


def mixed_mass_shared(
    K: int,
    mu: float,
    b: float,
    d_s: int = 1,
    *,
    target: str = "self",
    n_samples: int = 1 << 17,
    seed: int = 0,
) -> dict[str, float]:
    """T1 shared block: mixed-pair mass M at theta0 = b u, averaged over the isotropic noise.

    Fixed-sample Monte Carlo over the noise's first coordinates z ~ N(0, I_K) (the other d_s - 1
    coordinates are integrated analytically); returns ``value`` and its standard error ``se``
    (the estimator is unbiased; |error| < 4 se with probability > 0.9999).

    ``target="self"``: the step's effect on the same prompt,
    ``E_z[sum_j 2 pi_0^2 pi_j ((d_s - 1)(1 - pi_0 + pi_j) + c_0 (mu + z_0 - z_j))]`` with
    ``c_0 = mu (1 - pi_0) + z_0 - sum_y pi_y z_y``.
    ``target="heldout"``: its effect on an independent (held-out) prompt,
    ``E_z[sum_j 2 pi_0 pi_j (mu + z_0 - z_j)] * E_z'[pi_0 c_0] = 2 g_h^2``, computed
    deterministically by :func:`mixed_mass_heldout` (se 0).
    """
    K = check_int("K", K, 2)
    d_s = check_int("d_s", d_s, 1)
    n_samples = check_int("n_samples", n_samples, 2)
    if target not in ("self", "heldout"):
        raise ValueError(f"target must be 'self' or 'heldout', got {target!r}")
    rng = np.random.default_rng(seed)
    z, phi0, pi = theta0_sample(K, mu, b, n_samples, rng)
    p0 = pi[:, :1]
    c0 = mu * (1 - pi[:, 0]) + z[:, 0] - (pi * z).sum(1)
    diff = phi0[:, :1] - phi0[:, 1:]  # mu + z_0 - z_j
    if target == "self":
        tab = (d_s - 1) * (1 - p0 + pi[:, 1:])
        val = (2 * p0**2 * pi[:, 1:] * (tab + c0[:, None] * diff)).sum(1)
        m, se = _mean_se(val)
        return {"value": m, "se": se}
    return {"value": mixed_mass_heldout(K, mu, b), "se": 0.0}


def first_round_drift_estimate(
    alpha: float,
    kappa: float,
    student: dict,
    *,
    n: int = 2,
    eta: float = 1.0,
    beta: float = 1.0,
    n_samples: int = 1 << 16,
    seed: int = 0,
) -> dict[str, float]:
    """T1 in paper/model.md: expected first-order change after round 1 (uniform replay).

    Round 1 is uniform for every gate, so this holds for all gates. Conditional on the features,
    pairs and batch are independent and E[w_x] = 1/N, so

        E[dA_held]  = eta E[G_x^s]_0 g_h,
        E[dA_train] = eta [(1 - 1/N) E[G_x^s]_0 g_h + (1/N) E[<grad pi_0(x), G_x>]],

    where g_h = E[d pi_0 / d theta_s]_0 on an independent prompt. The pair law given (pi, v) is
    exact (L0: ``q_i q_j J(Q)``); z (and, for n > 2, the verdicts) are averaged by fixed-sample
    Monte Carlo. For n = 2 the verdict average is analytic and the held-out part is
    deterministic, ``eta beta (2 a_pair - 1) g_h^2`` (:func:`mixed_mass_heldout`); only the
    train self-term (weight 1/N) is then a Monte Carlo estimate; g_h is always deterministic
    (:func:`heldout_gradient_b`). n <= 64 (one Bernstein sum serves every sampled mass Q).
    Returns ``heldout``, ``heldout_se``, ``train``, ``train_se``
    (``train`` only when ``student`` has ``N``), ``D`` = E[phi_w - phi_l] along u (without the
    factor beta/2) and ``g_heldout`` = g_h, with their standard errors.
    """
    st = check_student(student)
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    n = check_int("n", n, 2, BERNSTEIN_MAX_N)  # one Bernstein sum for all sampled Q
    check_range("eta", eta, 0.0)
    check_range("beta", beta, 0.0, lo_open=True)
    K, mu, b, s, d_s = st["K"], float(st["mu"]), float(st["b"]), float(st["s"]), st["d_s"]
    rng = np.random.default_rng(seed)
    z, phi0, pi = theta0_sample(K, mu, b, n_samples, rng)
    c0 = mu * (1 - pi[:, 0]) + z[:, 0] - (pi * z).sum(1)  # first coord of phi_0 - sum pi phi
    if n == 2:
        two_a = 2.0 * pair_accuracy(alpha, kappa) - 1.0
        mixed = 2 * pi[:, :1] * pi[:, 1:]
        D = two_a * (mixed * (phi0[:, :1] - phi0[:, 1:])).sum(1)
        tab = (s * s + d_s - 1) * (1 - pi[:, :1] + pi[:, 1:])
        selfv = two_a * (mixed * pi[:, :1] * (tab + c0[:, None] * (phi0[:, :1] - phi0[:, 1:])))
        selfv = selfv.sum(1)
    else:
        # verdicts: v_0 = 1 w.p. alpha; v_j = 1 w.p. 1 - alpha (common random numbers in U)
        U = rng.random((n_samples, K))
        v = np.where(np.arange(K) == 0, U < alpha, U >= alpha).astype(float)
        Q = (pi * v).sum(1)
        J = two_level_J(float(kappa), n, Q)  # (S, 2, 2)
        lev = (1 - v).astype(int)
        rows = np.arange(n_samples)[:, None, None]
        P = pi[:, :, None] * pi[:, None, :] * J[rows, lev[:, :, None], lev[:, None, :]]
        dphi = phi0[:, :, None] - phi0[:, None, :]  # phi_i - phi_j (first coordinate)
        D = (P * dphi).sum((1, 2))
        e0 = (np.arange(K) == 0).astype(float)
        dgrad = (e0[:, None] - e0[None, :]) - (pi[:, :, None] - pi[:, None, :])
        inner = (s * s + d_s - 1) * dgrad + c0[:, None, None] * dphi
        selfv = (P * pi[:, :1, None] * inner).sum((1, 2))
    gh, seg = heldout_gradient_b(K, mu, b), 0.0  # deterministic quadrature
    mD, seD = _mean_se(D)
    if n == 2:  # deterministic: D = (2 a - 1) 2 g_h (see mixed_mass_heldout)
        mD, seD = two_a * 2.0 * gh, 0.0
    scale = eta * beta / 2.0
    out = {
        "heldout": scale * mD * gh,
        "heldout_se": scale * math.hypot(mD * seg, gh * seD),
        "D": mD,
        "D_se": seD,
        "g_heldout": gh,
        "g_heldout_se": seg,
    }
    if "N" in st:
        N = check_int("student['N']", st["N"], 1)
        ms, ses = _mean_se(selfv)
        out["train"] = scale * ((1 - 1 / N) * mD * gh + ms / N)
        out["train_se"] = scale * math.hypot((1 - 1 / N) * out["heldout_se"] / scale, ses / N)
    return out


def first_round_heldout_drift(
    alpha: Any,
    kappa: Any,
    student: dict,
    *,
    n: int = 2,
    eta: float = 1.0,
    beta: float = 1.0,
    n_samples: int = 1 << 16,
    seed: int = 0,
) -> Any:
    """T1: expected first-order change of held-out accuracy after round 1 (see estimate above).

    Broadcasts over alpha, kappa (common random numbers across the grid). The Monte Carlo
    error is :func:`first_round_drift_estimate`'s ``heldout_se``.
    """
    check_student(student)
    return _broadcast_drift("heldout", alpha, kappa, student, n, eta, beta, n_samples, seed)


def first_round_train_drift(
    alpha: Any,
    kappa: Any,
    student: dict,
    *,
    n: int = 2,
    eta: float = 1.0,
    beta: float = 1.0,
    n_samples: int = 1 << 16,
    seed: int = 0,
) -> Any:
    """T1: expected first-order change of train accuracy after round 1; ``student`` needs N."""
    check_student(student, need_n=True)
    return _broadcast_drift("train", alpha, kappa, student, n, eta, beta, n_samples, seed)


def heterogeneous_heldout_drift(
    alpha_x: Any,
    kappa_x: Any,
    student: Mapping,
    *,
    weights: Any = None,
    n: int = 2,
    eta: float = 1.0,
    beta: float = 1.0,
    n_samples: int = 1 << 16,
    seed: int = 0,
) -> float:
    """T1/T3: first-round held-out drift for a heterogeneous verifier under uniform replay.

    The first-order update is a sum over prompts, so with per-prompt (alpha_x, kappa_x) (or
    prompt types with frequencies ``weights``) the drift is the weighted mean of the
    homogeneous drifts; for n = 2 it is ``eta beta g_h^2 mean_x (2 a_pair(alpha_x, kappa_x) - 1)``.
    """
    a, k = np.broadcast_arrays(np.asarray(alpha_x, float), np.asarray(kappa_x, float))
    w = (
        np.ones(a.shape)
        if weights is None
        else np.broadcast_to(np.asarray(weights, float), a.shape)
    )
    check_range("weights", w, 0.0)
    if w.sum() <= 0:
        raise ValueError("weights must have a positive entry")
    d = first_round_heldout_drift(
        a, k, student, n=n, eta=eta, beta=beta, n_samples=n_samples, seed=seed
    )
    return float((w * np.asarray(d)).sum() / w.sum())


def _broadcast_drift(key, alpha, kappa, student, n, eta, beta, n_samples, seed):
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    a, k = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(kappa, float))
    if key == "heldout" and n == 2:  # deterministic closed form: eta beta (2a - 1) g_h^2
        check_range("eta", eta, 0.0)
        check_range("beta", beta, 0.0, lo_open=True)
        st = check_student(student)
        M = mixed_mass_heldout(st["K"], float(st["mu"]), float(st["b"]))
        out = eta * beta / 2 * (2 * np.asarray(pair_accuracy(a, k)) - 1) * M
        return float(out) if out.ndim == 0 else out
    out = np.empty(a.shape)
    for idx in np.ndindex(a.shape):
        est = first_round_drift_estimate(
            float(a[idx]),
            float(k[idx]),
            student,
            n=n,
            eta=eta,
            beta=beta,
            n_samples=n_samples,
            seed=seed,
        )
        out[idx] = est[key]
    return float(out) if out.ndim == 0 else out
