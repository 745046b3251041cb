"""The DPO step on the linear-softmax student (paper/model.md, "DPO").

For linear softmax, log pi(y_w)/pi_ref(y_w) - log pi(y_l)/pi_ref(y_l) equals the logit gap minus
the reference logit gap (partition functions cancel), so h = beta (theta - theta0) .
(phi_w - phi_l) = beta sum_y D_{x,y} (logit_x(y) - logit0_x(y)) with D = onehot(y_w) -
onehot(y_l) (0 for void pairs). l = -log sigmoid(h). The update is optax.sgd(eta) on the
batch-mean loss sum_x w_x l_x, whose gradient is -sum_x w_x G_x with the ascent direction
G_x = beta sigmoid(-h) (phi_w - phi_l). Everything is one-hot arithmetic and matrix products
(no gathers or scatters), which vectorises well over a parameter grid. The optimiser is built
once per run (:func:`optimizer`) and its state carried with the parameters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from sim.student import Features, Params, train_logits


def optimizer(eta) -> optax.GradientTransformation:
    """The student's optimiser: optax.sgd(eta) (eta may be traced)."""
    return optax.sgd(eta)


def margins(
    logits: Float[Array, "N K"], logits0: Float[Array, "N K"], D: Float[Array, "N K"], beta
) -> Float[Array, " N"]:
    """DPO margin h of every prompt's pair at the parameters whose train logits are ``logits``."""
    return beta * jnp.sum(D * (logits - logits0), axis=-1)


def loss(h: Float[Array, ...]) -> Float[Array, ...]:
    """DPO loss -log sigmoid(h)."""
    return jax.nn.softplus(-h)


def batch_loss(
    params: Params,
    feats: Features,
    logits0: Float[Array, "N K"],
    D: Float[Array, "N K"],
    weights: Float[Array, " N"],
    config,
) -> Float[Array, ""]:
    """sum_x w_x l_x(theta): the batch-mean DPO loss with w_x = count_x / B (void pairs give 0)."""
    logits = train_logits(params, feats, config.mu, config.s)
    return jnp.sum(weights * loss(margins(logits, logits0, D, config.beta)) * jnp.any(D != 0, -1))


def logit_gradient(
    h: Float[Array, " N"], D: Float[Array, "N K"], weights: Float[Array, " N"], beta
) -> Float[Array, "N K"]:
    """d/d logits of the batch-mean loss sum_x w_x l_x: -w_x beta sigmoid(-h_x) D_x (void: 0)."""
    return -(weights * beta * jax.nn.sigmoid(-h))[:, None] * D


def gradient(params: Params, feats: Features, g_logits: Float[Array, "N K"], config) -> Params:
    """The parameter gradient whose train-logit gradient is ``g_logits``.

    The transpose (vjp) of the linear map :func:`sim.student.train_logits` applied to
    ``g_logits``; the map is linear, so its forward values are not needed (XLA drops them).
    """
    _, vjp = jax.vjp(lambda p: train_logits(p, feats, config.mu, config.s), params)
    return vjp(g_logits)[0]


def update(
    params: Params,
    opt_state: optax.OptState,
    opt: optax.GradientTransformation,
    feats: Features,
    h: Float[Array, " N"],
    D: Float[Array, "N K"],
    weights: Float[Array, " N"],
    config,
) -> tuple[Params, optax.OptState]:
    """:func:`step` given the margins h of the pairs D at ``params`` (no logits recomputed).

    The gradient is taken in closed form (:func:`logit_gradient`, then :func:`gradient`), which
    equals ``jax.grad(batch_loss)`` (tests/sim/test_dpo.py) without its forward pass.
    """
    grads = gradient(params, feats, logit_gradient(h, D, weights, config.beta), config)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def step(
    params: Params,
    opt_state: optax.OptState,
    opt: optax.GradientTransformation,
    feats: Features,
    logits0: Float[Array, "N K"],
    D: Float[Array, "N K"],
    weights: Float[Array, " N"],
    config,
) -> tuple[Params, optax.OptState]:
    """One optimiser step on the batch-mean DPO loss (sgd: theta + eta sum_x w_x G_x)."""
    logits = train_logits(params, feats, config.mu, config.s)
    h = margins(logits, logits0, D, config.beta)
    return update(params, opt_state, opt, feats, h, D, weights, config)


def ascent_directions(
    logits: Float[Array, "N K"],
    logits0: Float[Array, "N K"],
    D: Float[Array, "N K"],
    feats: Features,
    config,
) -> tuple[Float[Array, "N d_s"], Float[Array, "N K"]]:
    """Per-prompt G_x = beta sigmoid(-h) (phi_w - phi_l): (shared part, tabular row of x).

    The tabular part of G_x is nonzero only in row x, so it is returned as that row.
    """
    h = margins(logits, logits0, D, config.beta)
    g = config.beta * jax.nn.sigmoid(-h) * jnp.any(D != 0, -1)
    d_s = feats.train.shape[-1]
    dphi = jnp.einsum("xy,xyd->xd", D, feats.train)
    dphi = dphi + config.mu * D[:, :1] * (jnp.arange(d_s) == 0)
    return g[:, None] * dphi, config.s * g[:, None] * D
