"""The synthetic verifier V(alpha, kappa) (paper/model.md, "Verifier").

Verdicts are frozen: v(x, y) = c(x, y) if U_{x,y} < alpha_x else 1 - c(x, y), with U drawn once
per run and shared by every alpha (common random numbers). With probability rho a call's
verdict is redrawn fresh. A call's score is kappa_x (2 v - 1) + eps, eps ~ N(0, 1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def _per_prompt(value, n_prompts: int) -> Float[Array, "N 1"]:
    return jnp.broadcast_to(jnp.asarray(value, dtype=jnp.float32), (n_prompts,))[:, None]


def correct(y: Int[Array, ...]) -> Int[Array, ...]:
    """Rubric label c(x, y) = 1[y = 0]."""
    return (y == 0).astype(jnp.int32)


def frozen_verdicts(u: Float[Array, "N K"], alpha) -> Int[Array, "N K"]:
    """v(x, y) from the frozen uniforms U_{x,y} and the (per-prompt) verdict accuracy alpha."""
    N, K = u.shape
    c = correct(jnp.arange(K))[None, :]
    return jnp.where(u < _per_prompt(alpha, N), c, 1 - c)


def call_verdicts(
    frozen: Int[Array, "N K"],
    y: Int[Array, "N n"],
    u_redraw: Float[Array, "N n"],
    u_fresh: Float[Array, "N n"],
    alpha,
    rho,
) -> Int[Array, "N n"]:
    """Verdicts of one call on samples y: frozen, or with probability rho a fresh draw."""
    N, K = frozen.shape
    if K <= 32:
        # v(x, y) is bit y of a per-prompt mask: two integer ops per call, where a one-hot
        # product summed over the short K axis cost 0.9 of 7.6 us CPU per run-round in a
        # sweep (N = 128, same process A/B); XLA on CPU does not vectorise short-axis sums
        mask = jnp.sum(frozen.astype(jnp.uint32) << jnp.arange(K, dtype=jnp.uint32), axis=-1)
        v_frozen = ((mask[:, None] >> y.astype(jnp.uint32)) & 1).astype(frozen.dtype)
    else:
        v_frozen = jnp.sum(jax.nn.one_hot(y, K, dtype=frozen.dtype) * frozen[:, None, :], axis=-1)
    c = correct(y)
    v_fresh = jnp.where(u_fresh < _per_prompt(alpha, N), c, 1 - c)
    return jnp.where(u_redraw < rho, v_fresh, v_frozen)


def scores(v: Int[Array, "N n"], kappa, eps: Float[Array, "N n"]) -> Float[Array, "N n"]:
    """Score of each call: kappa_x (2 v - 1) + eps."""
    return _per_prompt(kappa, v.shape[0]) * (2 * v - 1) + eps
