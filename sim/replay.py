"""Replay gates (paper/model.md, "Progress and replay gates"), optax-style.

A gate is a pair of pure functions built from its hyper-parameters (which may be traced):
``init(N) -> state`` and ``update(state, progress, valid, margins, t) -> (P, state)``. ``update``
folds round t's progress P_x(t) into the smoothed progress S, an EMA (void pairs and round 1
leave S unchanged), and returns the replay distribution P of round t; round 1 is uniform for
every gate. :func:`visit` then records which prompts the round's batch trained on. The numpy
twins, which the empirical loop calls, are ``sim.reference.observe_progress`` and
``sim.reference.replay_distribution``; tests/sim/test_replay.py holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from theory.gates import check_gate


class GateState(NamedTuple):
    """Per-prompt replay statistics."""

    score: Float[Array, " N"]  # smoothed progress S_x (EMA), starts at 0
    last_visit: Int[Array, " N"]  # last round x was in the batch; 0 = never
    last_reward: Float[Array, " N"]  # mean verifier score at that visit (``reward`` progress)


class Gate(NamedTuple):
    """A replay gate: ``init(N) -> state``, ``update(state, progress, valid, margins, t)``."""

    init: Callable[[int], GateState]
    update: Callable[..., tuple[Float[Array, " N"], GateState]]


def init(N: int) -> GateState:
    """S = 0, never visited."""
    return GateState(jnp.zeros(N), jnp.zeros(N, jnp.int32), jnp.zeros(N))


def observe(
    state: GateState,
    progress: Float[Array, " N"],
    valid: Bool[Array, " N"],
    t: Int[Array, ""],
    lam,
) -> GateState:
    """Fold round t's progress into S by EMA (void pairs and round 1 leave S unchanged)."""
    seen = valid & (t > 1)
    score = jnp.where(seen, (1.0 - lam) * state.score + lam * progress, state.score)
    return state._replace(score=score)


def visit(
    state: GateState, visited: Bool[Array, " N"], reward: Float[Array, " N"], t: Int[Array, ""]
) -> GateState:
    """Record the prompts trained on in round t and their mean verifier score R_x(t)."""
    last_visit = jnp.where(visited, t, state.last_visit)
    last_reward = jnp.where(visited, reward, state.last_reward)
    return GateState(state.score, last_visit, last_reward)


def _normalise_or_uniform(w: Float[Array, " N"]) -> Float[Array, " N"]:
    total = jnp.sum(w)
    return jnp.where(total > 0, w / jnp.where(total > 0, total, 1.0), 1.0 / w.shape[0])


# up to this many prompts, ranks come from N^2 comparisons; above it, from a sort (memory)
_COMPARE_RANK_MAX_N = 256


def ranks(score: Float[Array, " N"]) -> Float[Array, " N"]:
    """rank_x = 1 + #{y: S_y > S_x, or S_y = S_x and y < x}: rank 1 is the largest S.

    For N <= 256, the column sum in uint8 of the N x N comparison matrix. An earlier version
    unrolled the comparisons term by term over y into one fusion (a Python loop): no faster in
    a sweep (N = 128, 512 runs of 200 rounds, same process, two A/B pairs: 9.6 and 6.9 us CPU
    per run-round unrolled against 7.0 and 7.7 for the matrix) but twice the compile (lowering
    1.4 -> 0.6 s, XLA compile 3.9-5.0 -> 2.3-2.4 s per sweep program), and compilation is
    most of a quick reproduction on a fresh machine. In other A/Bs a float or int32 column sum
    was about 3 us slower than the uint8 one, and a stable argsort or top_k plus scatter took
    17-19 us for the ranks alone. Large N uses a stable sort to keep memory linear in N: on
    CPU numpy's (a host callback, one per round for the whole batch of runs), since XLA's
    CPU sort plus scatter inside the vmapped scan took about 220 us per run at N = 512
    against 37 us for the callback (same process, 256 runs); on accelerators XLA's sort.
    """
    N = score.shape[0]
    idx = jnp.arange(N)
    if N <= _COMPARE_RANK_MAX_N:
        before = idx[:, None] < idx[None, :]  # [y, x]: y comes before x (wins ties)
        other, me = score[:, None], score[None, :]
        ahead = jnp.where(before, other >= me, other > me)
        return 1.0 + jnp.sum(ahead, axis=0, dtype=jnp.uint8).astype(score.dtype)
    if HOST_SORT and jax.default_backend() == "cpu":
        shape = jax.ShapeDtypeStruct(score.shape, score.dtype)
        return jax.pure_callback(_host_ranks, shape, score, vmap_method="broadcast_all")
    order = jnp.argsort(-score, stable=True)
    return jnp.zeros(N, score.dtype).at[order].set(jnp.arange(1, N + 1, dtype=score.dtype))


# rank large N on the host with numpy when the backend is the CPU (see :func:`ranks`)
HOST_SORT = True


def _host_ranks(score: np.ndarray) -> np.ndarray:
    """Ranks along the last axis (1 = largest, ties by index) with numpy's stable argsort."""
    score = np.asarray(score)
    order = np.argsort(-score, axis=-1, kind="stable")
    out = np.empty(score.shape, score.dtype)
    ranks_ = np.arange(1, score.shape[-1] + 1, dtype=score.dtype)
    np.put_along_axis(out, order, np.broadcast_to(ranks_, score.shape), axis=-1)
    return out


def rank_weights(score: Float[Array, " N"], temperature) -> Float[Array, " N"]:
    """(1 / rank)^(1/T) normalised (prioritized level replay)."""
    h = jnp.exp(-jnp.log(ranks(score)) / temperature)
    return h / jnp.sum(h)


Weights = Callable[[GateState, Float[Array, " N"], Int[Array, ""]], Float[Array, " N"]]


def _gate(weights: Weights, lam) -> Gate:
    """The gate whose P from round 2 on is ``weights(state, margins, t)`` over an EMA of lam."""

    def update(state, progress, valid, margins, t):
        state = observe(state, progress, valid, t, lam)
        N = state.score.shape[0]
        return jnp.where(t <= 1, 1.0 / N, weights(state, margins, t)), state

    return Gate(init=init, update=update)


def uniform(lam) -> Gate:
    """P = 1/N (S is still tracked, for diagnostics)."""
    return _gate(lambda st, m, t: jnp.full(st.score.shape, 1.0 / st.score.shape[0]), lam)


def threshold(lam, tau) -> Gate:
    """P proportional to 1[S_x > tau] (uniform when no prompt passes)."""
    return _gate(lambda st, m, t: _normalise_or_uniform((st.score > tau).astype(m.dtype)), lam)


def proportional(lam) -> Gate:
    """P proportional to max(S_x, 0) (uniform when all are <= 0)."""
    return _gate(lambda st, m, t: _normalise_or_uniform(jnp.maximum(st.score, 0.0)), lam)


def margin(lam) -> Gate:
    """P proportional to the current pair's score gap max(s_w - s_l, 0)."""
    return _gate(lambda st, m, t: _normalise_or_uniform(jnp.maximum(m, 0.0)), lam)


def rank(lam, temperature, staleness) -> Gate:
    """Prioritized level replay: (1 - rho_st) (1/rank)^(1/T) normalised + rho_st staleness."""

    def weights(st, m, t):
        stale = (t - st.last_visit).astype(st.score.dtype)
        p = (1.0 - staleness) * rank_weights(st.score, temperature)
        return p + staleness * _normalise_or_uniform(stale)

    return _gate(weights, lam)


def make_gate(name: str, params: Any) -> Gate:
    """The gate ``name`` (one of theory.GATES) with the hyper-parameters of ``params``."""
    builders: dict[str, Callable[[], Gate]] = {
        "uniform": lambda: uniform(params.lam),
        "threshold": lambda: threshold(params.lam, params.tau),
        "proportional": lambda: proportional(params.lam),
        "margin": lambda: margin(params.lam),
        "rank": lambda: rank(params.lam, params.temperature, params.staleness),
    }
    return builders[check_gate(name)]()
