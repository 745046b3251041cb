"""All random numbers of a run, drawn from its key in a single ``jax.random.bits`` call.

One threefry call per run (rather than one per array) keeps XLA compile times short on CPU;
uniforms are the top 23 bits scaled into the open interval (0, 1) (23 bits, so that 2u - 1 stays
below 1 in float32), normals are sqrt(2) erfinv(2u - 1) of those (tails cut near 5.3 sd).
Everything here depends on the key only, never on (alpha, kappa): a grid sweep reuses the same
numbers at every grid point (common random numbers).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class RunNoise(NamedTuple):
    """Random numbers of one run (R = rounds)."""

    xi_train: Float[Array, "N K d_s"]  # shared-block feature noise, train prompts
    xi_heldout: Float[Array, "N_h K d_s"]  # shared-block feature noise, held-out prompts
    u_verdict: Float[Array, "N K"]  # frozen-verdict uniforms U_{x,y}
    u_sample: Float[Array, "R N n"]  # inverse-CDF sampling of candidates
    eps: Float[Array, "R N n"]  # score noise
    u_redraw: Float[Array, "R N n"]  # whether a call's verdict is redrawn (rho)
    u_fresh: Float[Array, "R N n"]  # the fresh verdict itself
    u_batch: Float[Array, "R B"]  # batch draws from the replay distribution


def _uniform(bits: jax.Array) -> Float[Array, ...]:
    """uint32 -> uniform in the open interval (0, 1) with 23 bits of resolution."""
    return ((bits >> 9).astype(jnp.float32) + 0.5) * (1.0 / (1 << 23))


def _normal(bits: jax.Array) -> Float[Array, ...]:
    return jnp.sqrt(2.0).astype(jnp.float32) * jax.lax.erf_inv(2.0 * _uniform(bits) - 1.0)


def draw(key: jax.Array, N: int, N_h: int, K: int, d_s: int, n: int, B: int, R: int) -> RunNoise:
    """Draw every random number of a run from ``key``."""
    shapes = {
        "xi_train": (N, K, d_s),
        "xi_heldout": (N_h, K, d_s),
        "u_verdict": (N, K),
        "u_sample": (R, N, n),
        "eps": (R, N, n),
        "u_redraw": (R, N, n),
        "u_fresh": (R, N, n),
        "u_batch": (R, B),
    }
    sizes = [math.prod(s) for s in shapes.values()]
    bits = jax.random.bits(key, (sum(sizes),), dtype=jnp.uint32)
    out = {}
    start = 0
    for (name, shape), size in zip(shapes.items(), sizes):
        chunk = bits[start : start + size].reshape(shape)
        start += size
        out[name] = _normal(chunk) if name in ("xi_train", "xi_heldout", "eps") else _uniform(chunk)
    return RunNoise(**out)
