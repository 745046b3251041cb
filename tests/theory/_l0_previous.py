"""The previous L0 quadrature (before the kappa-independent windows), kept as a reference.

One grid over the whole score range [min mean - 9, max mean + 9] with unit panels (its size
grows with kappa) and the Bernstein sum over k = 0..n-2. Tests compare the current quadrature
with it at moderate (kappa, n), where it is accurate (error < 1e-9 in its own tests).
"""

import math

import numpy as np
from scipy.special import ndtr

_GL, _PAD = 8, 9.0


def _phi(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _gl_nodes(m):
    t, w = np.polynomial.legendre.leggauss(m)
    return (t + 1.0) / 2.0, w / 2.0


def _grid(lo, hi):
    panels = max(1, math.ceil(hi - lo))
    t, w = _gl_nodes(_GL)
    h = (hi - lo) / panels
    starts = lo + h * np.arange(panels)
    return (starts[:, None] + h * t[None, :]).ravel(), np.tile(w * h, panels)


def _inner_grid(lo, xs, panels):
    t, w = _gl_nodes(_GL)
    h = (xs - lo) / panels
    u = (np.arange(panels)[:, None] + t[None, :]).ravel()
    return lo + h[:, None] * u[None, :], h[:, None] * np.tile(w, panels)[None, :]


def best_worst_class_probs(q, m, n):
    """P[i, j] = P(best in class i, worst in class j), n > 2."""
    q, m = np.asarray(q, float), np.asarray(m, float)
    lo, hi = float(m.min()) - _PAD, float(m.max()) + _PAD
    x, wx = _grid(lo, hi)
    y, wy = _inner_grid(lo, x, max(1, math.ceil(hi - lo)))
    Fx = (q[:, None] * ndtr(x[None, :] - m[:, None])).sum(0)
    Fy = (q[:, None, None] * ndtr(y[None] - m[:, None, None])).sum(0)
    kern = np.clip(Fx[:, None] - Fy, 0.0, None) ** (n - 2) * wy
    fx = _phi(x[None, :] - m[:, None]) * wx[None, :]
    inner = np.einsum("cgm,gm->cg", _phi(y[None] - m[:, None, None]), kern)
    return n * (n - 1) * (q[:, None] * q[None, :]) * (fx @ inner.T)


def two_level_J(kappa, n, Q):
    """J[..., a, b](Q), levels 0: +kappa, 1: -kappa, through the Bernstein sum."""
    lo, hi = -kappa - _PAD, kappa + _PAD
    x, wx = _grid(lo, hi)
    y, wy = _inner_grid(lo, x, max(1, math.ceil(hi - lo)))
    means = np.array([kappa, -kappa])
    dA = np.clip(ndtr(x - kappa)[:, None] - ndtr(y - kappa), 0.0, None)
    dB = np.clip(ndtr(x + kappa)[:, None] - ndtr(y + kappa), 0.0, None)
    fx = _phi(x[None, :] - means[:, None]) * wx
    fy = _phi(y[None] - means[:, None, None]) * wy[None]
    Ib = np.empty((2, 2, n - 1))
    for k in range(n - 1):
        inner = np.einsum("bgm,gm->bg", fy, dA**k * dB ** (n - 2 - k))
        Ib[:, :, k] = n * (n - 1) * (fx @ inner.T)
    Q = np.asarray(Q, float)
    k = np.arange(n - 1)
    binom = np.array([math.comb(n - 2, int(i)) for i in k], dtype=float)
    basis = binom * Q[..., None] ** k * (1.0 - Q[..., None]) ** (n - 2 - k)
    return np.einsum("...k,abk->...ab", basis, Ib)
