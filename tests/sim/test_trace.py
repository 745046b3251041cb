"""sim.trace: the tracer runs the simulator's own round and records what its gate saw (T2)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.trace import trace_seeds

SEEDS = np.array([3, 11, 20_000])


@pytest.fixture(scope="module", params=["rank", "proportional"])
def traced(request):
    cfg = sim.make_config(0.3, 2.0, gate=request.param, rounds=12, N=24, N_h=32, B=8)
    return cfg, trace_seeds(cfg, SEEDS, chunk=2)


def test_T2_tracer_per_round_scalars_equal_run(traced):
    cfg, (traj, rec, const) = traced
    ref = sim.run_seeds(cfg, SEEDS)
    for name in traj._fields:
        np.testing.assert_allclose(
            getattr(traj, name), getattr(ref, name), rtol=1e-6, atol=1e-7, err_msg=name
        )


def test_T2_tracer_progress_is_what_the_gate_folded_into_S(traced):
    """S(t) = (1 - lam) S(t-1) + lam P(t) for non-void pairs from round 2 on, else S(t-1)."""
    cfg, (_, rec, _) = traced
    lam = float(cfg.lam)
    prev = np.concatenate([np.zeros_like(rec.score[:, :1]), rec.score[:, :-1]], axis=1)
    t = np.arange(1, rec.score.shape[1] + 1)[None, :, None]
    expect = np.where(rec.valid & (t > 1), (1 - lam) * prev + lam * rec.progress, prev)
    np.testing.assert_allclose(rec.score, expect, rtol=1e-5, atol=1e-7)
    assert np.all(rec.progress[~rec.valid] == 0.0)  # void pairs: no change of the loss
    assert np.any(rec.progress != 0.0)


def test_T2_tracer_weights_replay_and_orientation_match_the_run(traced):
    cfg, (traj, rec, _) = traced
    np.testing.assert_allclose(rec.weights.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(rec.replay.sum(-1), 1.0, rtol=1e-5)
    counts = rec.weights * cfg.B
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-5)
    np.testing.assert_allclose(traj.n_eff, 1.0 / (rec.weights**2).sum(-1), rtol=1e-5)
    np.testing.assert_allclose(traj.frac_right, (rec.replay * rec.right).sum(-1), atol=1e-6)
    np.testing.assert_allclose(traj.frac_wrong, (rec.replay * rec.wrong).sum(-1), atol=1e-6)
    np.testing.assert_allclose(traj.void_frac, 1.0 - rec.valid.mean(-1), atol=1e-6)
    assert not np.any(rec.right & rec.wrong)


def test_T2_tracer_state_logits_follow_from_the_recorded_parameters(traced):
    """logits_x(y) = theta_s . phi_s(x, y) + s theta_t[x, y], recomputed here in numpy; theta0
    = (b u, 0) and the train accuracy of the next state is the run's."""
    cfg, (traj, rec, const) = traced
    logits = np.einsum("sxkd,srd->srxk", const.shared, rec.theta_shared)
    logits = logits + float(cfg.s) * rec.theta_tabular
    np.testing.assert_allclose(rec.logits, logits, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rec.logits[:, 0], const.logits0, atol=1e-5)
    assert np.allclose(rec.theta_shared[:, 0, 0], float(cfg.b))
    p = np.exp(rec.logits - rec.logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(p[:, :, :, 0].mean(-1), traj.train_acc[:, :-1], atol=1e-5)
