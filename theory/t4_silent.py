"""T4, silent regression: the DPO loss falls whatever the verifier, so it cannot flag regression.

* Trained pairs: one SGD step on the batch-mean loss L_B changes it by
  ``-eta ||grad L_B||^2 + O(eta^2) <= 0`` for every verifier (:func:`trained_loss_change`).
* Fresh pairs (drawn independently of the update): to first order the mean loss changes by
  ``-eta mean_x <mu_x, sum_y w_y mu_y>`` (T2's progress on an independent pair). At theta0 every
  pair has h = 0, so the change of the pair *distribution* enters only at O(eta^2). Under
  uniform replay this is ``-eta ||mean_x mu_x||^2 <= 0``.
* Tabular block, K = 2, n = 2, homogeneous verifier, uniform replay: mu_x ~ (2 p_x - 1), so the
  fresh-loss rate is
  ``-eta (beta^2 s^2 / 2) (2 pi0 pi1)^2 (alpha^2 + (1 - alpha)^2) erf(kappa)^2 / N``
  (:func:`fresh_loss_rate_tabular`), symmetric under alpha <-> 1 - alpha, while the accuracy
  drift is proportional to 2 alpha - 1: equal loss curves, opposite accuracy drifts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import erf

from theory.t2_progress import expected_progress
from theory.util import check_int, check_range

__all__ = [
    "dpo_grad_sq_norm",
    "fresh_loss_rate_expr",
    "fresh_loss_change",
    "fresh_loss_rate_tabular",
    "trained_loss_change",
]


def trained_loss_change(per_pair_grads: Any, eta: float) -> float:
    """T4: first-order change of the batch-mean DPO loss after the step: ``-eta ||mean grad||^2``.

    Args:
        per_pair_grads: (B, D) gradients of each trained pair's loss (void draws: zero rows).
        eta: step size.
    """
    g = np.asarray(per_pair_grads, float)
    check_range("eta", eta, 0.0)
    if g.ndim != 2:
        raise ValueError("per_pair_grads must be (B, D)")
    m = g.mean(0)
    return float(-eta * m @ m)


def dpo_grad_sq_norm(h: Any, dphi_sq: Any, beta: float = 1.0) -> Any:
    """T4: ``||grad l||^2 = beta^2 sigmoid(-h)^2 ||phi_w - phi_l||^2`` (orientation-blind)."""
    check_range("dphi_sq", dphi_sq, 0.0)
    sig = 1.0 / (1.0 + np.exp(np.asarray(h, float)))
    out = beta**2 * sig**2 * np.asarray(dphi_sq, float)
    return float(out) if out.ndim == 0 else out


def fresh_loss_change(mu: Any, w: Any, eta: float) -> float:
    """T4: first-order mean fresh-pair loss change: ``-eta mean_x <mu_x, sum_y w_y mu_y>``."""
    return float(-np.mean(expected_progress(mu, w, eta)["total"]))


def fresh_loss_rate_tabular(
    alpha: Any,
    kappa: Any,
    pi0: Any,
    *,
    s: float = 1.0,
    beta: float = 1.0,
    eta: float = 1.0,
    N: int = 1,
) -> Any:
    """T4 (tabular, K = 2, n = 2, uniform replay, theta0): expected fresh-loss change per round.

    ``-eta (beta^2 s^2 / 2) (2 pi0 (1 - pi0))^2 E[(2p - 1)^2] / N`` with
    ``E[(2p - 1)^2] = (alpha^2 + (1 - alpha)^2) erf(kappa)^2``.
    """
    check_range("alpha", alpha, 0.0, 1.0)
    check_range("kappa", kappa, 0.0)
    check_range("pi0", pi0, 0.0, 1.0)
    N = check_int("N", N, 1)
    a = np.asarray(alpha, float)
    m = 2 * np.asarray(pi0, float) * (1 - np.asarray(pi0, float))
    e2 = (a**2 + (1 - a) ** 2) * erf(np.asarray(kappa, float)) ** 2
    out = -eta * beta**2 * s**2 / 2 * m**2 * e2 / N
    return float(out) if np.ndim(out) == 0 else out


def fresh_loss_rate_expr():
    """T4: sympy ``(derived, closed, alpha)`` for the tabular K = 2 fresh-loss rate (eta = N = 1).

    derived: ``-E_types ||mu_x||^2`` with ``mu_x = (beta/2) s 2 pi0 pi1 (2p - 1)(e_0 - e_1)`` and
    p in {Phi, 1/2, 1 - Phi} w.p. {alpha^2, 2 alpha (1 - alpha), (1 - alpha)^2};
    closed: ``-(beta^2 s^2 / 2)(2 pi0 pi1)^2 (alpha^2 + (1 - alpha)^2)(2 Phi - 1)^2``.
    """
    import sympy as sp

    alpha, pi0, Ph = sp.symbols("alpha pi0 Phi", positive=True)
    beta, s = sp.symbols("beta s", positive=True)
    m = 2 * pi0 * (1 - pi0)
    types = [
        (alpha**2, Ph),
        (2 * alpha * (1 - alpha), sp.Rational(1, 2)),
        ((1 - alpha) ** 2, 1 - Ph),
    ]
    mu_vec = lambda p: sp.Matrix([1, -1]) * (beta / 2) * s * m * (2 * p - 1)
    derived = -sum(pr * (mu_vec(p).T * mu_vec(p))[0, 0] for pr, p in types)
    closed = -(beta**2 * s**2 / 2) * m**2 * (alpha**2 + (1 - alpha) ** 2) * (2 * Ph - 1) ** 2
    return derived, closed, alpha
