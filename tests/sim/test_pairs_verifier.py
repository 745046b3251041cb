"""sim.pairs sampling and sim.verifier lookups against plain numpy indexing (the definitions)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from sim import pairs, verifier


@pytest.mark.parametrize("K", [2, 4, 7])
def test_sample_candidates_is_the_inverse_cdf(K):
    rng = np.random.default_rng(K)
    probs = rng.dirichlet(np.ones(K), size=50).astype(np.float32)
    u = rng.uniform(size=(50, 3)).astype(np.float32)
    cdf = np.cumsum(probs, axis=1)
    want = np.array(
        [[np.searchsorted(cdf[x, :-1], u[x, j], side="right") for j in range(3)] for x in range(50)]
    )
    got = np.asarray(pairs.sample_candidates(jnp.asarray(probs), jnp.asarray(u)))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("K", [2, 4, 40])  # 40: the one-hot path above 32 candidates
def test_call_verdicts_look_up_frozen_or_fresh(K):
    rng = np.random.default_rng(K)
    N, n = 30, 5
    frozen = rng.integers(0, 2, size=(N, K)).astype(np.int32)
    y = rng.integers(0, K, size=(N, n)).astype(np.int32)
    u_redraw = rng.uniform(size=(N, n)).astype(np.float32)
    u_fresh = rng.uniform(size=(N, n)).astype(np.float32)
    alpha, rho = 0.7, 0.4
    c = (y == 0).astype(np.int32)
    fresh = np.where(u_fresh < alpha, c, 1 - c)
    want = np.where(u_redraw < rho, fresh, np.take_along_axis(frozen, y, axis=1))
    got = verifier.call_verdicts(
        jnp.asarray(frozen), jnp.asarray(y), jnp.asarray(u_redraw), jnp.asarray(u_fresh), alpha, rho
    )
    np.testing.assert_array_equal(np.asarray(got), want)
