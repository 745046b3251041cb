"""Theory's verdict for a verifier (alpha, kappa): the object behind ``selfdpo predict``.

Used by the CLI, by the verifier audit and by the empirical comparison. First-order, at the
reference policy (T1), with the gate's amplification for the model's loss progress (newest,
independent pair), which is THEORY.md's T2 reading.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.gates import check_gate
from theory.l0_pairs import N_MAX, pair_accuracy, pair_outcome_probs
from theory.t1_drift import drift_rate
from theory.t2_progress import gate_amplification
from theory.t5_inversion import damage_rate
from theory.util import check_int, check_range

__all__ = ["check_predict_inputs", "predict", "side_of_threshold"]

_AT_TOL = 1e-12


def side_of_threshold(a_pair: float) -> str:
    """T1: 'above' / 'below' / 'at' the threshold a_pair = 1/2."""
    if abs(a_pair - 0.5) <= _AT_TOL:
        return "at"
    return "above" if a_pair > 0.5 else "below"


def check_predict_inputs(
    alpha: Any,
    kappa: Any,
    n: Any = 2,
    gate: str = "rank",
    *,
    p_correct: Any = 0.5,
    eta: Any = 1.0,
    beta: Any = 1.0,
    M: Any = 1.0,
) -> tuple[float, float, int, float]:
    """Validate predict's inputs before any work; return (alpha, kappa, n, p_correct).

    Every number must be finite (kappa = inf is refused: the kappa -> inf limit is reached, to
    double precision, by kappa = 40); alpha in [0, 1], kappa >= 0, n an integer in
    [2, N_MAX = 10000], p_correct in (0, 1), eta >= 0, beta > 0, M >= 0. Raises ValueError with
    one line naming the argument, its range and the value given.
    """
    check_range("alpha", alpha, 0.0, 1.0, finite=True)
    check_range("kappa", kappa, 0.0, finite=True)
    n = check_int("n", n, 2, N_MAX)
    check_gate(gate)
    check_range("p_correct", p_correct, 0.0, 1.0, lo_open=True, hi_open=True, finite=True)
    check_range("eta", eta, 0.0, finite=True)
    check_range("beta", beta, 0.0, lo_open=True, finite=True)
    check_range("M", M, 0.0, finite=True)
    for name, v in (("alpha", alpha), ("kappa", kappa), ("p_correct", p_correct)):
        if np.ndim(v):
            raise ValueError(f"{name} must be a single number")
    return float(alpha), float(kappa), n, float(p_correct)


def predict(
    alpha: float,
    kappa: float,
    n: int = 2,
    gate: str = "rank",
    *,
    p_correct: float = 0.5,
    eta: float = 1.0,
    beta: float = 1.0,
    M: float = 1.0,
) -> dict[str, Any]:
    """Theory's prediction for verifier V(alpha, kappa) in a self-DPO loop.

    Returns a JSON-ready dict: inputs, ``a_pair`` (L0), ``side`` of the threshold (T1),
    ``drift_sign`` (+1 / -1 / 0), ``drift_rate`` (T1, uniform, units eta beta M),
    ``gate_amplification`` (T2 for the model's loss progress, measured on the newest pair
    independent of the update = THEORY.md's reading, weights ~ ||mu_x||^2 when self-dominated;
    the reward signal gives the same value; null when the gate has no closed form, e.g. rank),
    ``gate_amplification_trained_pair`` (THEORY.md's literal definition, progress on the
    trained pair, at theta0: the counter-example, 1 for proportional/threshold),
    ``gated_drift_rate``, ``damage_rate`` (T5: -(2 a_pair - 1), uniform), pair outcome
    probabilities and a one-line ``verdict``.
    """
    alpha, kappa, n, p_correct = check_predict_inputs(
        alpha, kappa, n, gate, p_correct=p_correct, eta=eta, beta=beta, M=M
    )
    ap = float(pair_accuracy(alpha, kappa, n, p_correct))
    side = side_of_threshold(ap)
    rate = float(drift_rate(alpha, kappa, n=n, eta=eta, beta=beta, M=M, p_correct=p_correct))
    amp = float(gate_amplification(alpha, kappa, gate, n=n, progress="loss"))
    amp_out = None if amp != amp else amp  # nan -> null
    amp_tr = float(gate_amplification(alpha, kappa, gate, n=n, progress="trained"))
    amp_tr_out = None if amp_tr != amp_tr else amp_tr
    sign = 0 if side == "at" else (1 if side == "above" else -1)
    outcomes = pair_outcome_probs(alpha, kappa, n, p_correct)
    if side == "below":
        verdict = (
            f"REGRESS: rubric accuracy alpha={alpha:g} is below the 1/2 threshold "
            f"(a_pair={ap:.4f}); self-DPO with this verifier is predicted to lower accuracy "
            "while the DPO loss keeps falling"
        )
    elif side == "above":
        verdict = (
            f"IMPROVE: alpha={alpha:g} is above the 1/2 threshold (a_pair={ap:.4f}); "
            "self-DPO is predicted to raise accuracy"
        )
    else:
        verdict = f"NEUTRAL: a_pair={ap:.4f} is at the threshold; no first-order drift"
    return {
        "alpha": alpha,
        "kappa": kappa,
        "n": n,
        "gate": gate,
        "p_correct": p_correct,
        "a_pair": ap,
        "side": side,
        "threshold": 0.5,
        "drift_sign": sign,
        "drift_rate": rate,
        "gate_amplification": amp_out,
        "gated_drift_rate": None if amp_out is None else rate * amp,
        "gate_amplification_trained_pair": amp_tr_out,
        "damage_rate": float(damage_rate(alpha, kappa)) if n == 2 else 1.0 - 2.0 * ap,
        "pair_outcomes": {k: float(v) for k, v in outcomes.items()},
        "verdict": verdict,
    }
