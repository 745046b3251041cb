"""A tracer of per-prompt quantities along a run (T2 along trajectories, a_gated).

``trace_run(config, key)`` scans ``sim.loop.round_step_with_replay`` (the simulator's own round:
same state transition, same per-round scalars as ``sim.loop.run``) and records, per round t and
train prompt x, what the gate saw and did: the progress P_x(t) observed on x's newest pair (the
signal the gate folds into S), whether that pair is void, its orientation, the replay
distribution P(t), the realised batch weights w(t) = counts / B, and the train logits at
theta_{t-1} (the state round t steps from). With the run's constants (shared features, frozen
verdicts, logits at theta0) these give theory everything T2 needs at that state: each prompt's
mean ascent direction (``theory.mean_ascent_directions``) and so the predicted progress of the
next round, ``theory.expected_progress``.

The per-prompt arrays are recomputed from the round's inputs with the loop's own pieces (the
pairs with ``sim.loop.pairs_from_policy``, the batch with ``sim.loop.batch_counts``); the
progress is the loop's formula (paper/model.md), and tests/sim/test_trace.py checks that it is
exactly what the gate folded into S.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from sim import dpo, loop
from sim import pairs as pairs_mod
from sim.config import Config
from sim.grid import seed_keys
from sim.trajectory import Trajectory, to_numpy


class Trace(NamedTuple):
    """Per-round, per-prompt records of a run (leading axis: round t = 1..R)."""

    logits: Float[Array, "R N K"]  # train logits at theta_{t-1} (before round t's step)
    theta_shared: Float[Array, "R d_s"]  # theta_{t-1}, shared block
    theta_tabular: Float[Array, "R N K"]  # theta_{t-1}, tabular block
    progress: Float[Array, "R N"]  # P_x(t) observed on x's newest pair (0 for void pairs)
    valid: Bool[Array, "R N"]  # the newest pair is not void
    right: Bool[Array, "R N"]  # the newest pair is right-oriented (rubric)
    wrong: Bool[Array, "R N"]  # the newest pair is wrong-oriented
    replay: Float[Array, "R N"]  # the replay distribution P(t)
    weights: Float[Array, "R N"]  # realised batch weights w(t) = counts / B
    score: Float[Array, "R N"]  # smoothed progress S after round t's observation


class Constants(NamedTuple):
    """What theory needs of a run's constants."""

    shared: Float[Array, "N K d_s"]  # shared-block features phi_s(x, y), competence shift included
    frozen: Float[Array, "N K"]  # frozen verdicts v(x, y) in {0, 1}
    logits0: Float[Array, "N K"]  # train logits at theta0


def observed_progress(
    state: loop.State, pairs: pairs_mod.Pairs, const: loop.RunConstants, config: Config
) -> Float[Array, " N"]:
    """The progress round t observes on its new pairs (paper/model.md; sim.loop's formula)."""
    D = pairs_mod.difference(pairs, config.K)
    if config.progress == "loss":
        l_now = dpo.loss(dpo.margins(state.logits, const.logits0, D, config.beta))
        l_prev = dpo.loss(dpo.margins(state.prev_logits, const.logits0, D, config.beta))
        return l_prev - l_now
    seen = state.gate.last_visit > 0
    return jnp.where(seen, pairs.reward - state.gate.last_reward, 0.0)


def trace_step(
    state: loop.State,
    noise: loop.RoundNoise,
    t: Any,
    const: loop.RunConstants,
    config: Config,
    model: loop.Model,
) -> tuple[loop.State, tuple[dict[str, Array], Trace]]:
    """One round of the simulator (``round_step_with_replay``) and its per-prompt record."""
    new, out, p = loop.round_step_with_replay(state, noise, t, const, config, model)
    pairs = loop.pairs_from_policy(state.probs, const, noise, config)
    right, wrong = pairs_mod.orientation(pairs)
    counts = loop.batch_counts(p, noise.u_batch)
    rec = Trace(
        logits=state.logits,
        theta_shared=state.params.shared,
        theta_tabular=state.params.tabular,
        progress=observed_progress(state, pairs, const, config),
        valid=pairs.valid,
        right=right,
        wrong=wrong,
        replay=p,
        weights=counts / config.B,
        score=new.gate.score,
    )
    return new, (out, rec)


def constants_of(const: loop.RunConstants, config: Config) -> Constants:
    """Shared features with the competence shift mu on candidate 0 (coordinate 0), verdicts."""
    feats = const.feats.train
    shift = (
        config.mu * (jnp.arange(feats.shape[1]) == 0)[:, None] * (jnp.arange(feats.shape[2]) == 0)
    )
    return Constants(feats + shift, const.frozen.astype(feats.dtype), const.logits0)


def trace_run(config: Config, key: jax.Array) -> tuple[Trajectory, Trace, Constants]:
    """One run of ``config`` from ``key``: Trajectory (as ``sim.loop.run``), Trace, Constants."""
    noise = loop.draw_noise(config, key)
    const = loop.init_constants(config, noise)
    model = loop.build(config)
    ts = jnp.arange(1, config.rounds + 1, dtype=jnp.int32)

    def body(state, xs):
        return trace_step(state, xs[0], xs[1], const, config, model)

    state0 = loop.init_state(const, config, model)
    _, (out, rec) = jax.lax.scan(body, state0, (loop.round_noises(noise), ts))
    return loop.trajectory(out, const, config), rec, constants_of(const, config)


_trace_seeds = jax.jit(jax.vmap(trace_run, in_axes=(None, 0)))


def trace_seeds(
    config: Config, seeds: Any, *, chunk: int = 16
) -> tuple[Trajectory, Trace, Constants]:
    """:func:`trace_run` for every seed (an int count or an array of ints), numpy, leading seed
    axis. Seeds run ``chunk`` at a time (the last chunk padded), so every call compiles one
    shape whatever the seed count."""
    _, keys = seed_keys(seeds)
    keys = np.asarray(keys)
    S = keys.shape[0]
    parts = []
    for s0 in range(0, S, chunk):
        k = keys[s0 : s0 + chunk]
        n = k.shape[0]
        if n < chunk:
            k = np.concatenate([k, np.repeat(k[-1:], chunk - n, axis=0)])
        out = jax.tree.map(lambda x, n=n: np.asarray(x)[:n], _trace_seeds(config, jnp.asarray(k)))
        parts.append(out)
    traj, rec, const = jax.tree.map(lambda *xs: np.concatenate(xs), *parts)
    return Trajectory(*to_numpy(traj)), Trace(*rec), Constants(*const)
