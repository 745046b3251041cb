"""L0, the pair channel: how often a verifier orients a best-vs-worst pair correctly.

Model (paper/model.md): candidate 0 is correct; frozen verdicts v(x, y) equal the rubric with
probability alpha; each sample's score is ``kappa (2 v - 1) + eps``, ``eps ~ N(0, 1)`` fresh per
sample; ``y_w`` / ``y_l`` are the candidates of the highest / lowest of n i.i.d. samples.

Two levels of exactness:

* exact per prompt (:func:`best_worst_class_probs`, :func:`prompt_pair_probs`): given the policy
  and the frozen verdict vector, the law of ``(y_w, y_l)`` is an order-statistics double
  integral, computed by composite Gauss-Legendre quadrature (error < 1e-9 in tests);
* averaged over verdicts (:func:`pair_accuracy`, :func:`pair_outcome_probs`): for n = 2 a closed
  form, ``a_pair = 1/2 + (2 alpha - 1)(Phi(sqrt2 kappa) - 1/2) = 1/2 + (alpha - 1/2) erf(kappa)``;
  for n > 2 under the *mean-field* assumption that every incorrect sample is a distinct candidate
  (its verdict independent per sample, as when the student spreads its incorrect mass over many
  candidates), while the correct candidate's frozen verdict is shared by all its samples.
  :func:`expected_prompt_pair_probs` gives the exact finite-K average instead.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import numpy as np
from scipy.special import erf, ndtr

from theory.util import check_int, check_range

__all__ = [
    "BERNSTEIN_MAX_N",
    "N_MAX",
    "a_pair_expr",
    "best_worst_class_probs",
    "best_worst_marginals",
    "expected_prompt_pair_probs",
    "jax_pair_accuracy",
    "pair_accuracy",
    "pair_accuracy_noiseless",
    "pair_outcome_probs",
    "prompt_pair_probs",
    "two_level_J",
    "void_probability",
]

#: Largest n (samples per prompt) the pair law accepts: the quadrature's windows hold the best
#: and worst of n normals (their tails beyond 9 sd weigh < n 1e-19), tested up to this n.
N_MAX = 10_000
# Quadrature: every class's score density is integrated on its own window m +- _WIN, composite
# Gauss-Legendre with _PANELS panels of _GL nodes each. The grid is the same for every kappa and
# every n: only its centre moves. Beyond _KAPPA_FLAT the two score levels never overlap in
# double precision (Phi(-40 sqrt2) underflows), so the law equals its kappa -> inf limit.
_GL = 8
_WIN = 9.0  # N(0,1) tail beyond 9 sd is < 1e-18
_PANELS = 48
_KAPPA_FLAT = 40.0


def _phi(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


# ---------------------------------------------------------------- symbolic (sympy) -----------


def a_pair_expr(derive: bool = False):
    """L0 (n = 2): sympy expression of ``a_pair(alpha, kappa)``.

    With ``derive=True`` the expression is built from the three verdict cases
    (alpha^2: p = Phi(sqrt2 kappa); 2 alpha (1 - alpha): 1/2; (1 - alpha)^2: 1 - Phi), where
    Phi(sqrt2 kappa) = P(N(2 kappa, 2) > 0) is obtained by integrating the Gaussian density.
    Otherwise it is the closed form ``1/2 + (2 alpha - 1)(Phi(sqrt2 kappa) - 1/2)``.
    """
    import sympy as sp

    alpha, kappa = sp.symbols("alpha kappa", nonnegative=True)
    if derive:
        x = sp.symbols("x", real=True)
        # score difference of correct minus incorrect end when verdicts are (1, 0): N(2 kappa, 2)
        dens = sp.exp(-((x - 2 * kappa) ** 2) / 4) / sp.sqrt(4 * sp.pi)
        p_right = sp.integrate(dens, (x, 0, sp.oo))
        return sp.expand(
            alpha**2 * p_right
            + 2 * alpha * (1 - alpha) * sp.Rational(1, 2)
            + (1 - alpha) ** 2 * (1 - p_right)
        )
    Phi = lambda z: (1 + sp.erf(z / sp.sqrt(2))) / 2
    return sp.Rational(1, 2) + (2 * alpha - 1) * (Phi(sp.sqrt(2) * kappa) - sp.Rational(1, 2))


# ---------------------------------------------------------------- order statistics -----------


@functools.cache
def _gl_nodes(m: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(m)
    return (t + 1.0) / 2.0, w / 2.0  # on [0, 1]


@functools.cache
def _unit_rule() -> tuple[np.ndarray, np.ndarray]:
    """Composite GL nodes/weights on [0, 1]: _PANELS panels of _GL nodes."""
    t, w = _gl_nodes(_GL)
    u = ((np.arange(_PANELS)[:, None] + t[None, :]) / _PANELS).ravel()
    return u, np.tile(w / _PANELS, _PANELS)


def _pair_grid(mi: float, mj: float) -> tuple[np.ndarray, ...]:
    """Nodes for ``int_x int_{y < x}``: x (G,) on [mi - W, mi + W]; for each x, y (G, M) on
    [mj - W, min(x, mj + W)] (empty where x < mj - W). Weights wx (G,), wy (G, M)."""
    u, wu = _unit_rule()
    x = mi - _WIN + 2 * _WIN * u
    wx = 2 * _WIN * wu
    length = np.clip(np.minimum(x, mj + _WIN) - (mj - _WIN), 0.0, None)
    y = mj - _WIN + length[:, None] * u[None, :]
    wy = length[:, None] * wu[None, :]
    return x, wx, y, wy


def _class_gap(x: np.ndarray, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Phi(x - m_c) - Phi(y - m_c) for y <= x, per class on the last axis, accurate in the upper
    tail too (there as a difference of survival functions)."""
    a, b = x[..., None] - m, y[..., None] - m
    return np.where(b > 0, ndtr(-b) - ndtr(-a), ndtr(a) - ndtr(b))


def best_worst_class_probs(class_probs: Any, class_means: Any, n: int) -> np.ndarray:
    """L0 (exact): ``P[i, j] = P(best sample in class i, worst sample in class j)``.

    n i.i.d. samples; a sample is in class c with probability ``class_probs[c]`` and then has
    score ``N(class_means[c], 1)``. With F the mixture cdf and f_c the class densities,

        P[i, j] = n (n - 1) q_i q_j  int_{y < x} f_i(x) f_j(y) (F(x) - F(y))^(n - 2) dy dx,

    a double integral (for n = 2 it is ``2 q_i q_j Phi((m_i - m_j) / sqrt2)``, with
    ``P[i, i] = q_i^2``). The diagonal is the probability that best and worst are distinct
    samples of the same class. Rows sum to the 1-D marginal of the best sample's class.

    Args:
        class_probs: (C,) nonnegative, summing to 1.
        class_means: (C,) finite score means.
        n: samples per prompt, >= 2.

    Returns:
        (C, C) array summing to 1.
    """
    n = check_int("n", n, 2, N_MAX)
    q = np.asarray(class_probs, dtype=float)
    m = np.asarray(class_means, dtype=float)
    if q.ndim != 1 or m.shape != q.shape:
        raise ValueError("class_probs and class_means must be 1-D arrays of the same length")
    check_range("class_probs", q, 0.0, 1.0)
    check_range("class_means", m, -1e6, 1e6)
    if abs(q.sum() - 1.0) > 1e-9:
        raise ValueError(f"class_probs must sum to 1, got {q.sum():.12g}")
    if n == 2:
        P = 2.0 * q[:, None] * q[None, :] * ndtr((m[:, None] - m[None, :]) / math.sqrt(2.0))
        np.fill_diagonal(P, q * q)
        return P
    keep = q > 0
    qk, mk = q[keep], m[keep]
    # classes with one score mean share a kernel: integrate once per pair of distinct means
    mu, level = np.unique(mk, return_inverse=True)
    Q = np.bincount(level, weights=qk, minlength=mu.size)
    L = mu.size
    Kern = np.empty((L, L))
    for a in range(L):
        for b in range(L):
            x, wx, y, wy = _pair_grid(float(mu[a]), float(mu[b]))
            # F(x) - F(y) = 1 - S(x) - F(y): exact to 1e-16 absolute, which is what the power
            # n - 2 needs (near 1 this form keeps the digits that F(x) - F(y) would lose)
            Sx = ndtr(mu[None, :] - x[:, None]) @ Q
            Fy = ndtr(y[..., None] - mu) @ Q
            gap = np.clip(1.0 - Sx[:, None] - Fy, 0.0, 1.0)
            inner = (_phi(y - mu[b]) * wy * gap ** (n - 2)).sum(1)
            Kern[a, b] = n * (n - 1) * (wx * _phi(x - mu[a]) * inner).sum()
    P = np.zeros((q.size, q.size))
    P[np.ix_(keep, keep)] = qk[:, None] * qk[None, :] * Kern[level[:, None], level[None, :]]
    return P


def best_worst_marginals(class_probs: Any, class_means: Any, n: int) -> tuple[np.ndarray, ...]:
    """1-D integrals for the class of the best and of the worst sample (row/column sums of L0).

    ``best_c = n q_c int f_c F^(n-1)``, ``worst_c = n q_c int f_c (1 - F)^(n-1)``, each on the
    class's own window (F^(n-1) as exp((n-1) log1p(-S)) with S the survival function, so the
    upper tail keeps its precision for large n).
    """
    n = check_int("n", n, 2, N_MAX)
    q = np.asarray(class_probs, dtype=float)
    m = np.asarray(class_means, dtype=float)
    check_range("class_means", m, -1e6, 1e6)
    u, wu = _unit_rule()
    x = m[:, None] - _WIN + 2 * _WIN * u[None, :]  # (C, G): each class's window
    wx = 2 * _WIN * wu
    F = (q * ndtr(x[..., None] - m)).sum(-1)
    S = (q * ndtr(m - x[..., None])).sum(-1)
    f = q[:, None] * _phi(x - m[:, None]) * wx
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf: the power is 0 there
        best = n * (f * np.exp((n - 1) * np.log1p(-np.minimum(S, 1.0)))).sum(1)
        worst = n * (f * np.exp((n - 1) * np.log1p(-np.minimum(F, 1.0)))).sum(1)
    return best, worst


@functools.lru_cache(maxsize=8)
def _two_level_grids(kappa: float) -> dict:
    """Per level pair (a, b) (0: hi = +kappa, 1: lo = -kappa): x/y nodes with the weighted
    densities and the level gaps dA = Phi(x-k) - Phi(y-k), dB = Phi(x+k) - Phi(y+k)."""
    means = np.array([kappa, -kappa])
    out = {}
    for a in range(2):
        for b in range(2):
            x, wx, y, wy = _pair_grid(means[a], means[b])
            d = _class_gap(x[:, None], y, means)
            fx = wx * _phi(x - means[a])
            fy = wy * _phi(y - means[b])
            out[a, b] = (fx, fy, d[..., 0], d[..., 1])
    return out


# small arrays (2 x 2 x (n - 1)), so many are kept: a curve over tens of kappas asked again per
# alpha no longer recomputes each kappa's grids (14 MB and 0.09 s each; that cache keeps 8)
@functools.lru_cache(maxsize=1024)
def _two_level_bernstein(kappa: float, n: int) -> np.ndarray:
    """I[a, b, k] for levels a, b in {0: hi (+kappa), 1: lo (-kappa)}, k = 0..n-2.

    ``J_ab(Q) = sum_k C(n-2, k) Q^k (1-Q)^(n-2-k) I[a, b, k]`` where Q is the total probability
    of the high level; then ``P(best in class i, worst in class j) = q_i q_j J_{l_i l_j}(Q)``.
    """
    grids = _two_level_grids(kappa)
    out = np.empty((2, 2, n - 1))
    for (a, b), (fx, fy, dA, dB) in grids.items():
        for k in range(n - 1):
            out[a, b, k] = n * (n - 1) * (fx * (fy * dA**k * dB ** (n - 2 - k)).sum(1)).sum()
    return out


def _two_level_direct(kappa: float, n: int, Q: np.ndarray) -> np.ndarray:
    """J[..., a, b](Q) by one quadrature per distinct Q (cost independent of n)."""
    grids = _two_level_grids(kappa)
    uq, inv = np.unique(Q, return_inverse=True)
    J = np.empty((uq.size, 2, 2))
    for (a, b), (fx, fy, dA, dB) in grids.items():
        for i, qv in enumerate(uq):
            gap = np.clip(qv * dA + (1.0 - qv) * dB, 0.0, 1.0)
            J[i, a, b] = n * (n - 1) * (fx * (fy * gap ** (n - 2)).sum(1)).sum()
    return J[inv.reshape(Q.shape)]


#: Largest n for which many masses Q share one Bernstein sum (n - 1 integrals); above it every
#: distinct Q costs one quadrature, so functions that need thousands of Q values stop here.
BERNSTEIN_MAX_N = 64


def two_level_J(kappa: float, n: int, Q: Any) -> np.ndarray:
    """L0 two-level kernel ``J[..., a, b](Q)`` for an array Q of high-level masses.

    Levels a, b in {0: hi (score mean +kappa), 1: lo (-kappa)};
    ``P(best in class i, worst in class j) = q_i q_j J_{l_i l_j}(Q)``. n = 2 is closed form;
    otherwise a quadrature on kappa-independent windows, through the Bernstein sum (one set of
    n - 1 integrals reused for every Q) when n is small and Q has many values, else directly
    per distinct Q. kappa > 40 is computed at 40, where the law already equals its limit.
    """
    Q = np.asarray(Q, dtype=float)
    check_range("kappa", kappa, 0.0)
    n = check_int("n", n, 2, N_MAX)
    if n == 2:
        Ph = ndtr(math.sqrt(2.0) * kappa)
        J = np.array([[1.0, 2.0 * Ph], [2.0 * (1.0 - Ph), 1.0]])
        return np.broadcast_to(J, Q.shape + (2, 2))
    kappa = min(float(kappa), _KAPPA_FLAT)
    if n > BERNSTEIN_MAX_N or np.unique(Q).size < n - 1:
        return _two_level_direct(kappa, n, Q)
    Ib = _two_level_bernstein(kappa, n)
    k = np.arange(n - 1)
    binom = np.array([math.comb(n - 2, int(i)) for i in k], dtype=float)
    basis = binom * Q[..., None] ** k * (1.0 - Q[..., None]) ** (n - 2 - k)  # (..., n-1)
    return np.einsum("...k,abk->...ab", basis, Ib)


# ---------------------------------------------------------------- per-prompt (exact) ---------


def prompt_pair_probs(pi: Any, verdicts: Any, kappa: float, n: int = 2) -> dict[str, Any]:
    """L0 exact per prompt: pair law for policy ``pi`` (K,) and frozen ``verdicts`` (K,) in {0,1}.

    Candidate 0 is the correct one. Returns ``matrix`` (K, K) with
    ``P(y_w = i, y_l = j)`` (diagonal: void), and the probabilities ``right`` (y_w = 0),
    ``wrong`` (y_l = 0), ``void`` and ``unmixed`` (= 1 - right - wrong, void included).
    """
    pi = np.asarray(pi, dtype=float)
    v = np.asarray(verdicts, dtype=float)
    check_range("kappa", kappa, 0.0)
    if pi.ndim != 1 or v.shape != pi.shape or pi.size < 2:
        raise ValueError("pi and verdicts must be 1-D arrays of the same length K >= 2")
    if not np.all((v == 0) | (v == 1)):
        raise ValueError("verdicts must be 0 or 1")
    P = best_worst_class_probs(pi, kappa * (2.0 * v - 1.0), n)
    right = float(P[0, 1:].sum())
    wrong = float(P[1:, 0].sum())
    return {
        "matrix": P,
        "right": right,
        "wrong": wrong,
        "void": float(np.trace(P)),
        "unmixed": 1.0 - right - wrong,
    }


def void_probability(pi: Any, verdicts: Any | None = None, kappa: float = 0.0, n: int = 2) -> float:
    """L0: probability that best and worst are the same candidate (no update).

    For n = 2 it is ``sum_y pi_y^2`` whatever the verdicts; for n > 2 it needs the verdicts
    (default: all equal, in which case scores carry no candidate information and it is
    ``sum_y [pi_y^n + ...]`` computed by the same quadrature).
    """
    pi = np.asarray(pi, dtype=float)
    if verdicts is None:
        verdicts = np.ones_like(pi)
    return prompt_pair_probs(pi, verdicts, kappa, n)["void"]


def expected_prompt_pair_probs(
    pi: Any, alpha: float, kappa: float, n: int = 2, *, max_k: int = 14
) -> dict[str, Any]:
    """L0 exact finite-K average over the frozen verdicts (v_0 = 1 w.p. alpha, v_j = 0 w.p. alpha).

    Enumerates all 2^K verdict vectors (K <= ``max_k``; n <= 64, where one Bernstein sum serves
    all 2^K masses Q). Returns the averaged ``matrix`` and ``right``/``wrong``/``void``/``unmixed``
    as :func:`prompt_pair_probs`. ``pi`` is one policy (K,) or M policies (M, K), computed
    together (one kernel call for all M x 2^K masses): then every entry has a leading M axis.
    """
    pi = np.asarray(pi, dtype=float)
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    n = check_int("n", n, 2, BERNSTEIN_MAX_N)
    if pi.ndim not in (1, 2) or pi.shape[-1] < 2:
        raise ValueError(f"pi must be (K,) or (M, K) with K >= 2, got shape {pi.shape}")
    K = pi.shape[-1]
    if K > max_k:
        raise ValueError(f"K must be <= {max_k} for exact enumeration, got {K}")
    check_range("pi", pi, 0.0, 1.0)
    sums = np.atleast_1d(pi.sum(-1))
    if np.any(np.abs(sums - 1.0) > 1e-9):
        worst = sums[np.argmax(np.abs(sums - 1.0))]
        raise ValueError(f"pi must sum to 1, got {worst:.12g}")
    pis = np.atleast_2d(pi)
    V = np.array(list(itertools.product([0.0, 1.0], repeat=K)))  # (2^K, K)
    correct_verdict = np.where(np.arange(K) == 0, V, 1.0 - V)  # 1 where v = c
    prob = np.prod(np.where(correct_verdict == 1.0, alpha, 1.0 - alpha), axis=1)
    lev = (1 - V).astype(int)  # 0 for v=1 (hi), 1 for v=0 (lo)
    rows = np.arange(V.shape[0])[:, None, None]
    P = np.empty((pis.shape[0], K, K))
    step = max(1, _EXPECTED_CHUNK // (V.shape[0] * K * K))  # bounded memory
    for m in range(0, pis.shape[0], step):
        part = pis[m : m + step]
        Q = part @ V.T  # (M, 2^K): high-level mass of each verdict vector
        J = two_level_J(float(kappa), n, Q)  # (M, 2^K, 2, 2); level index 0 = hi (v = 1)
        Jij = J[:, rows, lev[:, :, None], lev[:, None, :]]  # (M, 2^K, K, K)
        P[m : m + step] = np.einsum("s,msij->mij", prob, Jij) * (
            part[:, :, None] * part[:, None, :]
        )
    right = P[:, 0, 1:].sum(-1)
    wrong = P[:, 1:, 0].sum(-1)
    void, unmixed = np.trace(P, axis1=1, axis2=2), 1.0 - right - wrong
    out = {"matrix": P, "right": right, "wrong": wrong, "void": void, "unmixed": unmixed}
    if pi.ndim == 1:
        return {k: v[0] if k == "matrix" else float(v[0]) for k, v in out.items()}
    return out


_EXPECTED_CHUNK = 1 << 22  # elements of the (M, 2^K, K, K) kernel array per block of policies


# ---------------------------------------------------------------- verdict-averaged L0 --------


def _check_alpha_kappa(alpha: Any, kappa: Any) -> None:
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)


def _mean_field_outcomes(alpha: Any, kappa: float, n: int, p: Any) -> dict[str, np.ndarray]:
    """Mean-field L0 for one kappa and arrays alpha, p_correct: see module docstring."""
    alpha = np.asarray(alpha, float)
    p = np.asarray(p, float)
    q_c, q_i1, q_i0 = p, (1.0 - p) * (1.0 - alpha), (1.0 - p) * alpha
    out = {key: np.zeros(np.broadcast(alpha, p).shape) for key in ("right", "wrong", "void")}
    for v0, weight in ((1, alpha), (0, 1.0 - alpha)):
        J = two_level_J(kappa, n, q_c * v0 + q_i1)  # (..., 2, 2)
        lc = 0 if v0 == 1 else 1  # level index of the correct class
        right = q_c * (q_i1 * J[..., lc, 0] + q_i0 * J[..., lc, 1])
        wrong = q_c * (q_i1 * J[..., 0, lc] + q_i0 * J[..., 1, lc])
        out["right"] += weight * right
        out["wrong"] += weight * wrong
        out["void"] += weight * q_c * q_c * J[..., lc, lc]
    return out


def pair_outcome_probs(alpha: Any, kappa: Any, n: int = 2, p_correct: Any = 0.5) -> dict:
    """L0: unconditional probabilities of a pair's orientation (verdicts averaged).

    ``right``: y_w correct and y_l incorrect; ``wrong``: the reverse; ``mixed`` = right + wrong;
    ``unmixed`` = 1 - mixed; ``void``: both ends the correct candidate (in the mean-field model
    incorrect samples are distinct candidates, so this is the whole void probability).
    ``p_correct`` is the student's probability of a correct sample. n = 2 is exact for any K;
    n > 2 is mean-field (module docstring).
    """
    n = check_int("n", n, 2, N_MAX)
    _check_alpha_kappa(alpha, kappa)
    check_range("p_correct", p_correct, 0.0, 1.0)
    a, k, p = np.broadcast_arrays(*(np.asarray(z, dtype=float) for z in (alpha, kappa, p_correct)))
    if n == 2:
        mixed = 2.0 * p * (1.0 - p)
        ap = pair_accuracy(a, k)
        res = {"right": mixed * ap, "wrong": mixed * (1.0 - ap), "void": p * p}
    else:
        res = {key: np.empty(a.shape) for key in ("right", "wrong", "void")}
        for kv in np.unique(k):  # one quadrature per distinct kappa, vectorised over the rest
            sel = k == kv
            o = _mean_field_outcomes(a[sel], float(kv), n, p[sel])
            for key in res:
                res[key][sel] = o[key]
    res["mixed"] = res["right"] + res["wrong"]
    res["unmixed"] = 1.0 - res["mixed"]
    if a.ndim == 0:
        res = {key: float(val) for key, val in res.items()}
    return res


def pair_accuracy(alpha: Any, kappa: Any, n: int = 2, p_correct: Any = 0.5) -> Any:
    """L0: P(a best-vs-worst pair with one correct and one incorrect end is oriented right).

    n = 2: ``a_pair = 1/2 + (2 alpha - 1)(Phi(sqrt2 kappa) - 1/2)`` (exact, no p_correct
    dependence; :func:`a_pair_expr`, as ``1/2 + (alpha - 1/2) erf(kappa)``). n > 2: mean-field
    order-statistics integral (module docstring), which depends on ``p_correct`` in (0, 1).

    Broadcasts over alpha, kappa (and p_correct); returns a float for scalar input.
    """
    n = check_int("n", n, 2, N_MAX)
    _check_alpha_kappa(alpha, kappa)
    check_range("p_correct", p_correct, 0.0, 1.0)
    if n == 2:  # a_pair_expr's closed form (tests: equal to its sympy derivation)
        out = 0.5 + (np.asarray(alpha, float) - 0.5) * erf(np.asarray(kappa, float))
        return float(out) if out.ndim == 0 else out
    check_range("p_correct", p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
    o = pair_outcome_probs(alpha, kappa, n, p_correct)
    return o["right"] / o["mixed"]


def pair_accuracy_noiseless(alpha: float, n: int, p_correct: float) -> float:
    """L0, kappa -> infinity, mean field: scores are +-kappa, ties broken uniformly at random.

    Enumerates the multinomial counts of (correct, incorrect-with-verdict-1,
    incorrect-with-verdict-0) samples; best is uniform among the top level, worst among the
    bottom level (two distinct uniform samples when all share one level).
    """
    n = check_int("n", n, 2, 500)
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("p_correct", p_correct, 0.0, 1.0, lo_open=True, hi_open=True)
    p = p_correct
    q = np.array([p, (1 - p) * (1 - alpha), (1 - p) * alpha])
    right = wrong = 0.0
    for v0, weight in ((1, alpha), (0, 1 - alpha)):
        level = np.array([v0, 1, 0])
        for c in itertools.product(range(n + 1), repeat=3):
            if sum(c) != n:
                continue
            c = np.array(c)
            pr = math.factorial(n) / np.prod([math.factorial(int(i)) for i in c])
            pr *= np.prod(q**c)
            if pr == 0.0:
                continue
            present = level[c > 0]
            top, bot = present.max(), present.min()
            if top == bot:
                tot = c.sum()
                pb = c[0] * (tot - c[0]) / (tot * (tot - 1))  # best correct, worst incorrect
                r, w = pb, pb
            else:
                best = np.where(level == top, c, 0) / np.where(level == top, c, 0).sum()
                worst = np.where(level == bot, c, 0) / np.where(level == bot, c, 0).sum()
                r = best[0] * (1 - worst[0])
                w = worst[0] * (1 - best[0])
            right += weight * pr * r
            wrong += weight * pr * w
    return right / (right + wrong)


def jax_pair_accuracy(alpha: Any, kappa: Any) -> Any:
    """L0 (n = 2) in JAX, traceable: ``1/2 + (2 alpha - 1)(Phi(sqrt2 kappa) - 1/2)``."""
    import jax.numpy as jnp
    from jax.scipy.stats import norm

    return 0.5 + (2.0 * alpha - 1.0) * (norm.cdf(jnp.sqrt(2.0) * kappa) - 0.5)
