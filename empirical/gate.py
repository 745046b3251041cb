"""The replay gate of the empirical loop: the numpy reference's gate code, with its state.

Optax-style (STYLE.md): ``gate_init(N) -> GateState``; ``gate_update(state, ...) -> (P, state)``
observes the round's progress, smooths it into S (``sim.reference.observe_progress``) and only
then builds the replay distribution P (``sim.reference.replay_distribution``), the order of
paper/model.md; ``gate_visit`` records which questions the drawn batch visited. There is no
gate arithmetic here: the loop and the simulator share one definition of every gate (T2, T3).

Progress (paper/model.md, ``loss``, the default): the decrease, caused by the LAST update
(theta_{t-2} -> theta_{t-1}), of the DPO loss on each question's NEWEST pair (drawn at
theta_{t-1}), l(theta_{t-2}; pair_x(t)) - l(theta_{t-1}; pair_x(t)), for every non-void pair.
``reward``: the rise of the verifier's mean score since the question's last visit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.reference import replay_distribution
from theory.gates import GATE_DEFAULTS, check_gate

try:  # pragma: no cover - which branch runs depends on whether wt-sim has merged
    from sim.reference import observe_progress
except ImportError:  # pragma: no cover
    # TEMPORARY until the sim helper's ``sim.reference.observe_progress`` lands on main (its
    # signature, semantics of paper/model.md): delete this fallback then.
    def observe_progress(
        scores: np.ndarray,
        progress: np.ndarray,
        valid: np.ndarray,
        round_index: int,
        lam: float,
    ) -> np.ndarray:
        """S <- (1 - lam) S + lam P on valid pairs; void pairs and round 1 leave S unchanged."""
        scores = np.asarray(scores, dtype=float)
        if round_index <= 1:
            return scores.copy()
        return np.where(valid, (1.0 - lam) * scores + lam * np.asarray(progress, float), scores)


__all__ = [
    "GateState",
    "gate_init",
    "gate_update",
    "gate_visit",
    "loss_progress",
    "reward_progress",
    "observe_progress",
]


class GateState(NamedTuple):
    """The gate's state between rounds (all arrays of shape (N,), N train questions)."""

    S: np.ndarray  # float64: smoothed progress, starts at 0
    last_visit: np.ndarray  # int64: last round the question was in the batch, 0 if never
    reward_at_visit: np.ndarray  # float64: mean score at the last visit, NaN before any


def gate_init(n_questions: int) -> GateState:
    """The state before round 1: S = 0, never visited."""
    return GateState(
        np.zeros(n_questions), np.zeros(n_questions, dtype=np.int64), np.full(n_questions, np.nan)
    )


def loss_progress(loss_prev: np.ndarray, loss_now: np.ndarray) -> np.ndarray:
    """``loss`` progress P_x(t) = l(theta_{t-2}; pair_x(t)) - l(theta_{t-1}; pair_x(t))."""
    return np.asarray(loss_prev, float) - np.asarray(loss_now, float)


def reward_progress(state: GateState, mean_score: np.ndarray) -> np.ndarray:
    """``reward`` progress: mean score now minus at the last visit (0 before the first visit)."""
    seen = ~np.isnan(state.reward_at_visit)
    return np.where(seen, np.asarray(mean_score, float) - state.reward_at_visit, 0.0)


def gate_update(
    state: GateState,
    gate: str,
    round_index: int,
    progress: np.ndarray,
    valid: np.ndarray,
    margins: np.ndarray,
    *,
    lam: float = GATE_DEFAULTS["lam"],
    tau: float = GATE_DEFAULTS["tau"],
    temperature: float = GATE_DEFAULTS["temperature"],
    staleness_coef: float = GATE_DEFAULTS["staleness"],
) -> tuple[np.ndarray, GateState]:
    """Observe round ``round_index``'s progress, then build the replay distribution P.

    Args:
        state: the gate state after round t - 1.
        gate: one of theory's GATES.
        round_index: t, from 1 (round 1 observes nothing and replays uniformly).
        progress: (N,) this round's progress signal (ignored where ``valid`` is False).
        valid: (N,) non-void pairs.
        margins: (N,) score gaps s_w - s_l of this round's pairs (0 for void ones).
        lam, tau, temperature, staleness_coef: the gate's hyper-parameters (theory's defaults).

    Returns:
        (P, new state): P (N,) sums to 1; the state carries the updated S.
    """
    check_gate(gate)
    S = observe_progress(state.S, progress, valid, round_index, lam)
    P = replay_distribution(
        gate,
        S,
        round_index - state.last_visit,
        margins,
        round_index,
        tau=tau,
        temperature=temperature,
        staleness_coef=staleness_coef,
    )
    return P, state._replace(S=np.asarray(S, dtype=float))


def gate_visit(
    state: GateState, counts: np.ndarray, round_index: int, mean_score: np.ndarray
) -> GateState:
    """Record the batch: visited questions get last_visit = t and their mean score."""
    visited = np.asarray(counts) > 0
    return state._replace(
        last_visit=np.where(visited, round_index, state.last_visit),
        reward_at_visit=np.where(visited, mean_score, state.reward_at_visit),
    )
