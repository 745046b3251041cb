"""The two-block linear-softmax student (paper/model.md, "Student").

logit_x(y) = theta_s . phi_s(x, y) + s theta_t[x, y], with phi_s(x, y) = mu 1[y = 0] u + xi_{x,y},
u = e_0, xi ~ N(0, I) drawn once per run. Held-out prompts see only the shared block.
Candidate 0 is the correct one.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class Features(NamedTuple):
    """Shared-block noise xi of train and held-out prompts, drawn once per run."""

    train: Float[Array, "N K d_s"]
    heldout: Float[Array, "N_h K d_s"]


class Params(NamedTuple):
    """Student parameters theta = (theta_s, theta_t)."""

    shared: Float[Array, " d_s"]  # theta_s
    tabular: Float[Array, "N K"]  # theta_t (train prompts only)


def init_params(b: Float[Array, ""], N: int, K: int, d_s: int) -> Params:
    """theta0 = (b u, 0)."""
    shared = jnp.zeros(d_s).at[0].set(b)
    return Params(shared=shared, tabular=jnp.zeros((N, K)))


def shared_logits(
    theta_s: Float[Array, " d_s"], xi: Float[Array, "M K d_s"], mu: Float[Array, ""]
) -> Float[Array, "M K"]:
    """theta_s . phi_s(x, y) for every prompt and candidate."""
    K = xi.shape[1]
    shift = mu * theta_s[0] * (jnp.arange(K) == 0)
    return xi @ theta_s + shift


def train_logits(params: Params, feats: Features, mu, s) -> Float[Array, "N K"]:
    """Logits of the train prompts (shared plus tabular block)."""
    return shared_logits(params.shared, feats.train, mu) + s * params.tabular


def accuracy(logits: Float[Array, "M K"]) -> Float[Array, ""]:
    """Mean over prompts of pi(correct | x) = softmax(logits)[0] (exact, no sampling)."""
    return jnp.mean(jax.nn.softmax(logits, axis=-1)[:, 0])


def heldout_accuracy(params: Params, feats: Features, mu) -> Float[Array, ""]:
    """A_held: rubric accuracy on held-out prompts (shared block only): the benchmark score.

    Computed as mean_x 1 / (1 + sum_{y > 0} exp(l_x(y) - l_x(0))) with the logit gaps taken
    from feature differences xi_{x,y} - xi_{x,0} (loop-invariant, so XLA hoists them out of a
    scan): the same number as ``accuracy(shared_logits(...))`` without a max-reduction and
    softmax over the short candidate axis. The sum over y > 0 is written out term by term, so
    every operation runs along the long prompt axis (XLA on CPU does not vectorise a sum over
    a short axis: 0.7 us CPU per run-round less in a sweep, N = 128, same process A/B).
    exp overflow gives pi(correct) = 0, its limit.
    """
    xi = feats.heldout
    theta = params.shared
    shift = mu * theta[0]
    denom = 1.0
    for y in range(1, xi.shape[1]):
        # a product and a sum over the feature axis, not ``@``: under vmap with prompts shared
        # across runs ``@`` becomes one matrix product whose blocking (and float32 rounding)
        # depends on how many runs a device holds; this way a run's number does not
        denom = denom + jnp.exp(jnp.sum((xi[:, y, :] - xi[:, 0, :]) * theta, axis=-1) - shift)
    return jnp.mean(1.0 / denom)
