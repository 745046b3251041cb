"""The DPO step on the linear-softmax student (paper/model.md, "DPO").

h = beta (theta - theta0) . (phi_w - phi_l) exactly (partition functions cancel),
l = -log sigmoid(h); the update is optax.sgd(eta) on the batch-mean loss, whose gradient is
-(1/B) sum_b G_{x_b} with the ascent direction G_x = beta sigmoid(-h) (phi_w - phi_l).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from sim.pairs import Pairs
from sim.student import Features, Params


def feature_gap(pairs: Pairs, xi: Float[Array, "N K d_s"], mu) -> Float[Array, "N d_s"]:
    """Shared-block phi_s(x, y_w) - phi_s(x, y_l) of every pair."""
    take = lambda y: jnp.take_along_axis(xi, y[:, None, None], axis=1)[:, 0]
    c_gap = (pairs.y_w == 0).astype(xi.dtype) - (pairs.y_l == 0).astype(xi.dtype)
    return take(pairs.y_w) - take(pairs.y_l) + mu * c_gap[:, None] * (jnp.arange(xi.shape[2]) == 0)


def margins(
    params: Params, params0: Params, pairs: Pairs, dphi: Float[Array, "N d_s"], beta, s
) -> Float[Array, " N"]:
    """DPO margin h of every prompt's pair at theta (0 for void pairs' own features)."""
    d_shared = params.shared - params0.shared
    d_tab = params.tabular - params0.tabular
    tab = jnp.take_along_axis(d_tab, pairs.y_w[:, None], 1) - jnp.take_along_axis(
        d_tab, pairs.y_l[:, None], 1
    )
    return beta * (dphi @ d_shared + s * tab[:, 0])


def loss(h: Float[Array, "..."]) -> Float[Array, "..."]:
    """DPO loss -log sigmoid(h)."""
    return jax.nn.softplus(-h)


def batch_loss(
    params: Params,
    params0: Params,
    pairs: Pairs,
    dphi: Float[Array, "N d_s"],
    weights: Float[Array, " N"],
    beta,
    s,
) -> Float[Array, ""]:
    """sum_x w_x l_x over non-void pairs: the batch-mean loss with w_x = count_x / B."""
    h = margins(params, params0, pairs, dphi, beta, s)
    return jnp.sum(jnp.where(pairs.valid, weights * loss(h), 0.0))


def step(
    params: Params,
    params0: Params,
    pairs: Pairs,
    dphi: Float[Array, "N d_s"],
    weights: Float[Array, " N"],
    beta,
    s,
    eta,
) -> Params:
    """One optax.sgd(eta) step on the batch-mean DPO loss: theta + eta sum_x w_x G_x."""
    grads = jax.grad(batch_loss)(params, params0, pairs, dphi, weights, beta, s)
    opt = optax.sgd(eta)
    updates, _ = opt.update(grads, opt.init(params), params)
    return optax.apply_updates(params, updates)


def ascent_direction(
    params: Params, params0: Params, pairs: Pairs, feats: Features, beta, s, mu
) -> Params:
    """Per-prompt G_x = beta sigmoid(-h) (phi_w - phi_l), as a Params with a leading N axis.

    Void pairs give 0. The tabular part of G_x is nonzero only in row x.
    """
    dphi = feature_gap(pairs, feats.train, mu)
    h = margins(params, params0, pairs, dphi, beta, s)
    g = jnp.where(pairs.valid, beta * jax.nn.sigmoid(-h), 0.0)
    N, K = params.tabular.shape
    onehot = jax.nn.one_hot(pairs.y_w, K) - jax.nn.one_hot(pairs.y_l, K)
    tab = jnp.zeros((N, N, K)).at[jnp.arange(N), jnp.arange(N)].set(s * g[:, None] * onehot)
    return Params(shared=g[:, None] * dphi, tabular=tab)
