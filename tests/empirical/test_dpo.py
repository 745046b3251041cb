"""Torch DPO loss (empirical.dpo) against the closed form, the JAX simulator's loss and TRL's
formula on the same numbers (THEORY.md's DPO; T4's dl = -eta ||grad l||^2 uses this gradient)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from empirical.dpo import dpo_loss, dpo_margin

floats = st.floats(-30.0, 30.0, allow_nan=False)


def _trl_sigmoid_loss(pc, pr, rc, rr, beta):
    # TRL DPOTrainer (loss_type="sigmoid"), written out independently:
    # logits = (policy_chosen - policy_rejected) - (ref_chosen - ref_rejected)
    logits = (pc - pr) - (rc - rr)
    return -torch.nn.functional.logsigmoid(beta * logits)


@given(floats, floats, floats, floats, st.floats(0.01, 5.0))
def test_dpo_loss_matches_closed_form_and_trl(pw, pl, rw, rl, beta):
    t = lambda x: torch.tensor(x, dtype=torch.float64)
    got = dpo_loss(t(pw), t(pl), t(rw), t(rl), beta).item()
    h = beta * ((pw - rw) - (pl - rl))
    closed = float(np.logaddexp(0.0, -h))  # -log sigmoid(h), stable
    trl = _trl_sigmoid_loss(t(pw), t(pl), t(rw), t(rl), beta).item()
    assert got == pytest.approx(closed, rel=1e-12, abs=1e-12)
    assert got == pytest.approx(trl, rel=1e-12, abs=1e-12)


def test_dpo_loss_matches_jax_simulator_on_linear_softmax():
    """Linear-softmax student: torch log-ratios give h = beta (theta - theta0).(phi_w - phi_l)
    exactly (partition functions cancel), and the loss equals sim.dpo.loss(h) in JAX; the torch
    gradient is minus THEORY.md's ascent direction G = beta sigmoid(-h)(phi_w - phi_l)."""
    jax = pytest.importorskip("jax")
    from sim.dpo import loss as jax_loss

    rng = np.random.default_rng(0)
    K, d, beta = 5, 7, 0.3
    for _ in range(20):
        phi = torch.tensor(rng.normal(size=(K, d)))
        theta0 = torch.tensor(rng.normal(size=d))
        theta = (theta0 + torch.tensor(rng.normal(size=d))).requires_grad_(True)
        w, l = rng.choice(K, size=2, replace=False)
        logp = torch.log_softmax(phi @ theta, 0)
        logp0 = torch.log_softmax(phi @ theta0, 0)
        loss = dpo_loss(logp[w], logp[l], logp0[w], logp0[l], beta)
        h_closed = beta * float((theta - theta0).detach() @ (phi[w] - phi[l]))
        h = dpo_margin(logp[w], logp[l], logp0[w], logp0[l], beta).item()
        assert h == pytest.approx(h_closed, rel=1e-10, abs=1e-10)
        with jax.default_device(jax.devices("cpu")[0]):
            want = float(jax_loss(jax.numpy.asarray(h_closed)))
        assert loss.item() == pytest.approx(want, rel=1e-5, abs=1e-6)  # JAX runs in float32
        loss.backward()
        G = beta / (1 + np.exp(h_closed)) * (phi[w] - phi[l]).numpy()
        np.testing.assert_allclose(-theta.grad.numpy(), G, rtol=1e-9, atol=1e-12)


def test_dpo_loss_at_reference_is_log2():
    """At theta = theta0 every pair has h = 0 and loss log 2 (round 1 of every run)."""
    x = torch.randn(10, dtype=torch.float64)
    y = torch.randn(10, dtype=torch.float64)
    np.testing.assert_allclose(dpo_loss(x, y, x, y, 0.1).numpy(), np.log(2.0), rtol=1e-12)
