"""sim.dpo: the closed-form gradient the engine uses against JAX autodiff of the loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sim import dpo, loop, student
from sim.config import make_config


@pytest.mark.parametrize("name", ["default", "second"])
def test_closed_form_update_equals_autodiff_step(name):
    """dpo.update (margins given, gradient in closed form) == optax.sgd on jax.grad(batch_loss)."""
    cfg = make_config(0.6, 1.5, student=name, N=24, N_h=8, B=7, eta=0.3, beta=0.7)
    key = jax.random.PRNGKey(3)
    const = loop.init_constants(cfg, loop.draw_noise(cfg, key))
    k1, k2, k3, k4 = jax.random.split(key, 4)
    N, K, d = cfg.N, cfg.K, cfg.d_s
    params = const.params0._replace(
        shared=jax.random.normal(k1, (d,)), tabular=0.3 * jax.random.normal(k2, (N, K))
    )
    y_w = jax.random.randint(k3, (N,), 0, K)
    y_l = jax.random.randint(k4, (N,), 0, K)  # some pairs void (y_w == y_l)
    D = jax.nn.one_hot(y_w, K) - jax.nn.one_hot(y_l, K)
    weights = jax.random.uniform(k1, (N,)) / N
    model = loop.build(cfg)
    opt_state = model.opt.init(params)

    # autodiff of the loss, independent of the closed form
    grads = jax.grad(dpo.batch_loss)(params, const.feats, const.logits0, D, weights, cfg)
    want = jax.tree.map(lambda p, g: p - cfg.eta * g, params, grads)

    logits = student.train_logits(params, const.feats, cfg.mu, cfg.s)
    h = dpo.margins(logits, const.logits0, D, cfg.beta)
    got, _ = dpo.update(params, opt_state, model.opt, const.feats, h, D, weights, cfg)
    got_step, _ = dpo.step(
        params, opt_state, model.opt, const.feats, const.logits0, D, weights, cfg
    )
    assert float(jnp.max(jnp.abs(grads.shared))) > 1e-3  # a real step, not a zero one
    for a, b, c in zip(jax.tree.leaves(want), jax.tree.leaves(got), jax.tree.leaves(got_step)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(c), np.asarray(a), rtol=1e-5, atol=1e-6)
