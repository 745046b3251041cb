"""One round of verifier-driven self-DPO with progress-gated replay, and a run as lax.scan.

Round t (paper/model.md): every train prompt draws n samples at theta_{t-1} and the verifier
scores them; best/worst form the pair; progress of the last update is observed on the new pairs
and smoothed into S; the gate gives the replay distribution P; a batch of B prompts is drawn
from P; optax.sgd(eta) steps on the batch-mean DPO loss. A round is a pure function of
(state, the round's random numbers); all random numbers come from the run's key only (never
from alpha or kappa), so runs on a parameter grid share them (common random numbers).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, Int

from sim import dpo, student, verifier
from sim import noise as noise_mod
from sim import pairs as pairs_mod
from sim.config import Config
from sim.noise import RunNoise
from sim.replay import Gate, GateState, make_gate, visit
from sim.trajectory import Trajectory


class RunConstants(NamedTuple):
    """What a run fixes once: features, frozen verdicts, theta0 and its train logits."""

    feats: student.Features
    frozen: Int[Array, "N K"]
    params0: student.Params
    logits0: Float[Array, "N K"]  # train logits of pi_ref = pi_theta0


class RoundNoise(NamedTuple):
    """Uniforms and normals of one round (a slice of sim.noise.RunNoise)."""

    u_sample: Float[Array, "N n"]  # inverse-CDF sampling of candidates
    eps: Float[Array, "N n"]  # score noise
    u_redraw: Float[Array, "N n"]  # fresh-verdict draw (rho)
    u_fresh: Float[Array, "N n"]  # the fresh verdict itself
    u_batch: Float[Array, " B"]  # batch draws from P


class Model(NamedTuple):
    """The run's transformations, built once from its config: replay gate and optimiser."""

    gate: Gate
    opt: optax.GradientTransformation


def build(config: Config) -> Model:
    """The gate and the optimiser of ``config`` (hyper-parameters may be traced)."""
    return Model(make_gate(config.gate, config.params), dpo.optimizer(config.eta))


class State(NamedTuple):
    """Carry of the scan."""

    params: student.Params  # theta_{t-1}
    opt_state: optax.OptState  # the optimiser's state
    logits: Float[Array, "N K"]  # train logits at theta_{t-1}
    probs: Float[Array, "N K"]  # pi_{theta_{t-1}}(y | x) on train prompts (softmax of logits)
    prev_logits: Float[Array, "N K"]  # train logits at theta_{t-2} (``loss`` progress)
    gate: GateState


def draw_noise(config: Config, key: jax.Array) -> RunNoise:
    """All random numbers of a run of ``config`` from ``key``."""
    c = config
    return noise_mod.draw(key, c.N, c.N_h, c.K, c.d_s, c.n, c.B, c.rounds)


def init_constants(config: Config, noise: RunNoise) -> RunConstants:
    """Features, frozen verdicts and theta0 of a run."""
    feats = student.Features(train=noise.xi_train, heldout=noise.xi_heldout)
    frozen = verifier.frozen_verdicts(noise.u_verdict, config.alpha)
    params0 = student.init_params(config.b, config.N, config.K, config.d_s)
    logits0 = student.train_logits(params0, feats, config.mu, config.s)
    return RunConstants(feats, frozen, params0, logits0)


def round_noises(noise: RunNoise) -> RoundNoise:
    """The per-round random numbers (leading round axis) of a run."""
    return RoundNoise(noise.u_sample, noise.eps, noise.u_redraw, noise.u_fresh, noise.u_batch)


def fresh_pairs(
    logits: Float[Array, "N K"], const: RunConstants, noise: RoundNoise, config: Config
) -> pairs_mod.Pairs:
    """Every train prompt's pair at the parameters whose train logits are ``logits``."""
    return pairs_from_policy(jax.nn.softmax(logits, axis=-1), const, noise, config)


def pairs_from_policy(
    probs: Float[Array, "N K"], const: RunConstants, noise: RoundNoise, config: Config
) -> pairs_mod.Pairs:
    """Every train prompt's pair when the student's policy is pi = ``probs``."""
    y = pairs_mod.sample_candidates(probs, noise.u_sample)
    v = verifier.call_verdicts(
        const.frozen, y, noise.u_redraw, noise.u_fresh, config.alpha, config.rho
    )
    return pairs_mod.best_worst(y, verifier.scores(v, config.kappa, noise.eps))


def batch_counts(p: Float[Array, " N"], u: Float[Array, " B"]) -> Float[Array, " N"]:
    """How often each prompt is drawn in B i.i.d. draws from P (inverse CDF of uniforms u).

    Draw b lands on x when cdf_{x-1} <= u_b < cdf_x; counted by comparisons, not a scatter.
    """
    cdf = jnp.cumsum(p)
    # column sums of a (B, N) comparison matrix, counted in the narrowest integer that holds B
    acc = jnp.uint8 if u.shape[0] <= 255 else jnp.int32
    below = jnp.sum(u[:, None] < cdf[None, :], axis=0, dtype=acc).astype(p.dtype)
    below = below.at[-1].set(u.shape[0])  # rounding: the last prompt takes what remains
    return jnp.diff(below, prepend=0.0)


def _safe_mean(total, count):
    return jnp.where(count > 0, total / jnp.where(count > 0, count, 1.0), jnp.nan)


def init_state(const: RunConstants, config: Config, model: Model | None = None) -> State:
    """State before round 1: theta0, fresh optimiser state, never visited, S = 0."""
    model = build(config) if model is None else model
    probs0 = jax.nn.softmax(const.logits0, axis=-1)
    opt_state = model.opt.init(const.params0)
    gate_state = model.gate.init(config.N)
    return State(const.params0, opt_state, const.logits0, probs0, const.logits0, gate_state)


def round_step(
    state: State,
    noise: RoundNoise,
    t: Int[Array, ""],
    const: RunConstants,
    config: Config,
    model: Model | None = None,
) -> tuple[State, dict[str, Float[Array, ""]]]:
    """One round t as a pure function of (state, the round's random numbers)."""
    new, out, _ = round_step_with_replay(state, noise, t, const, config, model)
    return new, out


def round_step_with_replay(
    state: State,
    noise: RoundNoise,
    t: Int[Array, ""],
    const: RunConstants,
    config: Config,
    model: Model | None = None,
) -> tuple[State, dict[str, Float[Array, ""]], Float[Array, " N"]]:
    """:func:`round_step`, also returning the round's replay distribution P (for diagnostics).

    ``model`` is the run's :func:`build` (built here when not given).
    """
    model = build(config) if model is None else model
    pairs = pairs_from_policy(state.probs, const, noise, config)
    D = pairs_mod.difference(pairs, config.K)
    h = dpo.margins(state.logits, const.logits0, D, config.beta)
    l0 = dpo.loss(h)

    if config.progress == "loss":
        l_prev = dpo.loss(dpo.margins(state.prev_logits, const.logits0, D, config.beta))
        progress = l_prev - l0
    else:
        seen = state.gate.last_visit > 0
        progress = jnp.where(seen, pairs.reward - state.gate.last_reward, 0.0)
    p, gate_state = model.gate.update(state.gate, progress, pairs.valid, pairs.margin, t)
    counts = batch_counts(p, noise.u_batch)
    weights = counts / config.B
    # h are the margins at state.params (state.logits are its train logits): no recomputation
    params, opt_state = dpo.update(
        state.params, state.opt_state, model.opt, const.feats, h, D, weights, config
    )
    logits = student.train_logits(params, const.feats, config.mu, config.s)
    probs = jax.nn.softmax(logits, axis=-1)
    gate_state = visit(gate_state, counts > 0, pairs.reward, t)

    right, wrong = pairs_mod.orientation(pairs)
    valid = pairs.valid.astype(l0.dtype)
    trained = counts * valid
    out = {
        "train_acc": jnp.mean(probs[:, 0]),
        "heldout_acc": student.heldout_accuracy(params, const.feats, config.mu),
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
    return State(params, opt_state, logits, probs, state.logits, gate_state), out, p


def trajectory(out: dict[str, Array], const: RunConstants, config: Config) -> Trajectory:
    """Per-round outputs of a scan as a Trajectory, with the accuracies at theta0 prepended."""
    acc0_train = student.accuracy(const.logits0)
    acc0_held = student.heldout_accuracy(const.params0, const.feats, config.mu)
    train_acc = jnp.concatenate([acc0_train[None], out.pop("train_acc")])
    heldout_acc = jnp.concatenate([acc0_held[None], out.pop("heldout_acc")])
    return Trajectory(train_acc=train_acc, heldout_acc=heldout_acc, **out)


def run(config: Config, key: jax.Array) -> Trajectory:
    """One run of ``config.rounds`` rounds from the seed key; returns the Trajectory."""
    noise = draw_noise(config, key)
    const = init_constants(config, noise)
    model = build(config)
    ts = jnp.arange(1, config.rounds + 1, dtype=jnp.int32)

    def body(state, xs):
        return round_step(state, xs[0], xs[1], const, config, model)

    state0 = init_state(const, config, model)
    _, out = jax.lax.scan(body, state0, (round_noises(noise), ts))
    return trajectory(out, const, config)
