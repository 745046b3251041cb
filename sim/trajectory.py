"""The outcome of one run (paper/model.md, "Outcomes per run"), and its summaries.

Plain NamedTuple of arrays: the JAX simulator and ``sim.reference`` both return it, with extra
leading axes (seed, alpha, kappa) when runs are batched. Round is always the last axis.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Trajectory(NamedTuple):
    """Per-round outcomes; ``R`` = number of rounds, leading batch axes allowed."""

    train_acc: Any  # (..., R+1) mean pi(correct|x) over train prompts; index 0 = initial
    heldout_acc: Any  # (..., R+1) the same over held-out prompts (shared block only)
    loss_trained: Any  # (..., R) mean DPO loss of the trained (batch) pairs, before the update
    loss_fresh: Any  # (..., R) mean DPO loss of all non-void fresh pairs, before the update
    frac_right: Any  # (..., R) replay mass P on right-oriented pairs
    frac_wrong: Any  # (..., R) replay mass P on wrong-oriented pairs
    frac_unoriented: Any  # (..., R) replay mass P on un-oriented (incl. void) pairs
    n_eff: Any  # (..., R) (sum w)^2 / sum w^2 of the realised batch weights (<= B)
    n_eff_dist: Any  # (..., R) the same of the replay distribution P (<= N)
    void_frac: Any  # (..., R) fraction of train prompts whose fresh pair is void
    pair_right: Any  # (..., R) fraction of train prompts whose fresh pair is right-oriented (L0)
    pair_wrong: Any  # (..., R) fraction of train prompts whose fresh pair is wrong-oriented (L0)


def to_numpy(traj: Trajectory) -> Trajectory:
    """The same trajectory with every field a float64 numpy array."""
    return Trajectory(*(np.asarray(x, dtype=np.float64) for x in traj))


def delta_heldout(traj: Trajectory) -> np.ndarray:
    """Final minus initial held-out accuracy, A_held(R) - A_held(0)."""
    h = np.asarray(traj.heldout_acc)
    return h[..., -1] - h[..., 0]


def min_delta_heldout(traj: Trajectory) -> np.ndarray:
    """Worst change of held-out accuracy over the run, min_t A_held(t) - A_held(0)."""
    h = np.asarray(traj.heldout_acc)
    return h.min(axis=-1) - h[..., 0]


def early_delta(traj: Trajectory, window: int | None = None) -> np.ndarray:
    """Held-out change over the early window, A_held(R_e) - A_held(0), R_e = R // 4 by default."""
    h = np.asarray(traj.heldout_acc)
    r_e = (h.shape[-1] - 1) // 4 if window is None else int(window)
    return h[..., r_e] - h[..., 0]
