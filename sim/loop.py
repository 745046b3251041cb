"""One round of verifier-driven self-DPO with progress-gated replay, and a run as lax.scan.

Round t (paper/model.md): every train prompt draws n samples at theta_{t-1}, the verifier scores
them, best/worst form the pair; the gate gives the replay distribution P from S after round
t - 1; a batch of B prompts is drawn from P; optax.sgd(eta) steps on the batch-mean DPO loss;
progress is observed and smoothed into S. All randomness of a round comes from the round's
key only (never from alpha or kappa), so runs on a parameter grid share random numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from sim import dpo, pairs as pairs_mod, student, verifier
from sim.config import Config
from sim.replay import GateState, make_gate
from sim.trajectory import Trajectory


class RunConstants(NamedTuple):
    """What a run draws once: features, frozen verdicts and the reference parameters."""

    feats: student.Features
    frozen: Int[Array, "N K"]
    params0: student.Params


class RoundNoise(NamedTuple):
    """Uniforms and normals of one round (depend on the key only)."""

    u_sample: Float[Array, "N n"]  # inverse-CDF sampling of candidates
    eps: Float[Array, "N n"]  # score noise
    u_redraw: Float[Array, "N n"]  # fresh-verdict draw (rho)
    u_fresh: Float[Array, "N n"]  # the fresh verdict itself
    u_batch: Float[Array, " B"]  # batch draws from P


class State(NamedTuple):
    """Carry of the scan: theta_{t-1}, theta_{t-2} (for ``loss`` progress) and the gate state."""

    params: student.Params
    prev_params: student.Params
    gate: GateState


def init_constants(config: Config, key: jax.Array) -> RunConstants:
    """Draw features and frozen verdicts from the run's key."""
    k_feat, k_verdict = jax.random.split(key)
    feats = student.init_features(k_feat, config.N, config.N_h, config.K, config.d_s)
    u = jax.random.uniform(k_verdict, (config.N, config.K))
    frozen = verifier.frozen_verdicts(u, config.alpha)
    params0 = student.init_params(config.b, config.N, config.K, config.d_s)
    return RunConstants(feats, frozen, params0)


def round_noise(key: jax.Array, config: Config) -> RoundNoise:
    """Random numbers of one round."""
    k = jax.random.split(key, 5)
    shape = (config.N, config.n)
    return RoundNoise(
        u_sample=jax.random.uniform(k[0], shape),
        eps=jax.random.normal(k[1], shape),
        u_redraw=jax.random.uniform(k[2], shape),
        u_fresh=jax.random.uniform(k[3], shape),
        u_batch=jax.random.uniform(k[4], (config.B,)),
    )


def fresh_pairs(params: student.Params, const: RunConstants, noise: RoundNoise, config: Config):
    """Every train prompt's pair at the current theta."""
    logits = student.train_logits(params, const.feats, config.mu, config.s)
    y = pairs_mod.sample_candidates(logits, noise.u_sample)
    v = verifier.call_verdicts(
        const.frozen, y, noise.u_redraw, noise.u_fresh, config.alpha, config.rho
    )
    return pairs_mod.best_worst(y, verifier.scores(v, config.kappa, noise.eps))


def batch_counts(p: Float[Array, " N"], u: Float[Array, " B"]) -> Float[Array, " N"]:
    """How often each prompt is drawn in a batch of B i.i.d. draws from P (inverse CDF)."""
    N = p.shape[0]
    idx = jnp.clip(jnp.searchsorted(jnp.cumsum(p), u, side="right"), 0, N - 1)
    return jnp.zeros(N, p.dtype).at[idx].add(1.0)


def _safe_mean(total, count):
    return jnp.where(count > 0, total / jnp.where(count > 0, count, 1.0), jnp.nan)


def round_step(
    state: State, key: jax.Array, t: Int[Array, ""], const: RunConstants, config: Config
) -> tuple[State, dict[str, Float[Array, ""]]]:
    """One round t as a pure function of (params, gate state, key)."""
    gate = make_gate(config.gate)
    noise = round_noise(key, config)
    params = state.params
    pairs = fresh_pairs(params, const, noise, config)
    dphi = dpo.feature_gap(pairs, const.feats.train, config.mu)
    h0 = dpo.margins(params, const.params0, pairs, dphi, config.beta, config.s)
    l0 = dpo.loss(h0)

    if config.progress == "loss":
        h_prev = dpo.margins(state.prev_params, const.params0, pairs, dphi, config.beta, config.s)
        progress = dpo.loss(h_prev) - l0
    else:
        seen = state.gate.last_visit > 0
        progress = jnp.where(seen, pairs.reward - state.gate.last_reward, 0.0)
    p, gate_state = gate.update(state.gate, progress, pairs.valid, pairs.margin, t, config)
    counts = batch_counts(p, noise.u_batch)
    weights = counts / config.B
    new_params = dpo.step(
        params, const.params0, pairs, dphi, weights, config.beta, config.s, config.eta
    )
    gate_state = gate.visit(gate_state, counts > 0, pairs.reward, t)

    right, wrong = pairs_mod.orientation(pairs)
    valid = pairs.valid.astype(l0.dtype)
    trained = counts * valid
    out = {
        "train_acc": student.train_accuracy(new_params, const.feats, config.mu, config.s),
        "heldout_acc": student.heldout_accuracy(new_params, const.feats, config.mu),
        "loss_trained": _safe_mean(jnp.sum(trained * l0), jnp.sum(trained)),
        "loss_fresh": _safe_mean(jnp.sum(valid * l0), jnp.sum(valid)),
        "frac_right": jnp.sum(jnp.where(right, p, 0.0)),
        "frac_wrong": jnp.sum(jnp.where(wrong, p, 0.0)),
        "frac_unoriented": jnp.sum(jnp.where(right | wrong, 0.0, p)),
        "n_eff": 1.0 / jnp.sum(weights**2),
        "n_eff_dist": 1.0 / jnp.sum(p**2),
        "void_frac": 1.0 - jnp.mean(valid),
        "pair_right": jnp.mean(right.astype(l0.dtype)),
        "pair_wrong": jnp.mean(wrong.astype(l0.dtype)),
    }
    return State(new_params, params, gate_state), out


def run(config: Config, key: jax.Array) -> Trajectory:
    """One run of ``config.rounds`` rounds from the seed key; returns the Trajectory."""
    k_const, k_rounds = jax.random.split(key)
    const = init_constants(config, k_const)
    gate = make_gate(config.gate)
    state0 = State(const.params0, const.params0, gate.init(config.N))
    keys = jax.random.split(k_rounds, config.rounds)
    ts = jnp.arange(1, config.rounds + 1, dtype=jnp.int32)

    def body(state, xs):
        return round_step(state, xs[0], xs[1], const, config)

    _, out = jax.lax.scan(body, state0, (keys, ts))
    acc0_train = student.train_accuracy(const.params0, const.feats, config.mu, config.s)
    acc0_held = student.heldout_accuracy(const.params0, const.feats, config.mu)
    train_acc = jnp.concatenate([acc0_train[None], out.pop("train_acc")])
    heldout_acc = jnp.concatenate([acc0_held[None], out.pop("heldout_acc")])
    return Trajectory(train_acc=train_acc, heldout_acc=heldout_acc, **out)
