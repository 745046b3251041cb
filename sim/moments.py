"""THEORY.md T2 diagnostic: moments of the ascent direction G_x and the measured progress.

At fixed parameters theta, each prompt's fresh pair gives G_x = beta sigmoid(-h)(phi_w - phi_l)
with mean mu_x and covariance Sigma_x over sampling and verifier noise. One step with weights w
on independent pairs moves theta by eta sum_y w_y G_y, and the loss progress measured on a
further independent fresh pair of x is, to first order, eta <mu_x, sum_y w_y mu_y>: the
self-term eta w_x ||mu_x||^2 = eta w_x (E||G_x||^2 - tr Sigma_x) plus the cross-term
eta sum_{y != x} w_y <mu_x, mu_y> (only the shared block overlaps across prompts).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from sim import dpo, loop, student
from sim import pairs as pairs_mod
from sim.config import Config


def _pair_noise(key: jax.Array, config: Config) -> loop.RoundNoise:
    k = jax.random.split(key, 5)
    shape = (config.N, config.n)
    return loop.RoundNoise(
        u_sample=jax.random.uniform(k[0], shape),
        eps=jax.random.normal(k[1], shape),
        u_redraw=jax.random.uniform(k[2], shape),
        u_fresh=jax.random.uniform(k[3], shape),
        u_batch=jax.random.uniform(k[4], (config.B,)),
    )


@functools.partial(jax.jit, static_argnames="draws")
def _draws(
    config: Config,
    const: loop.RunConstants,
    theta: student.Params,
    w: jax.Array,
    key: jax.Array,
    draws: int,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(G^s, G^t, measured progress) of ``draws`` independent (update, probe) pair draws.

    Jitted once per (static shape, draws): the run constants, theta and w are arguments, not
    constants closed over, so a call at other seeds or weights reuses the program (a closure
    jitted per call compiled anew every time: 45 compiles in one quick reproduction).
    """
    logits = student.train_logits(theta, const.feats, config.mu, config.s)

    def one(k):
        k_update, k_probe = jax.random.split(k)
        # the step: theta' = theta + eta sum_y w_y G_y on one set of fresh pairs
        pa = loop.fresh_pairs(logits, const, _pair_noise(k_update, config), config)
        Da = pairs_mod.difference(pa, config.K)
        gs, gt = dpo.ascent_directions(logits, const.logits0, Da, const.feats, config)
        new = student.Params(
            shared=theta.shared + config.eta * jnp.sum(w[:, None] * gs, axis=0),
            tabular=theta.tabular + config.eta * w[:, None] * gt,
        )
        new_logits = student.train_logits(new, const.feats, config.mu, config.s)
        # the probe: a further independent fresh pair of every prompt
        pb = loop.fresh_pairs(logits, const, _pair_noise(k_probe, config), config)
        Db = pairs_mod.difference(pb, config.K)
        l_before = dpo.loss(dpo.margins(logits, const.logits0, Db, config.beta))
        l_after = dpo.loss(dpo.margins(new_logits, const.logits0, Db, config.beta))
        progress = jnp.where(pb.valid, l_before - l_after, 0.0)
        return gs, gt, progress

    return jax.vmap(one)(jax.random.split(key, draws))


def progress_moments(
    config: Config,
    key: jax.Array,
    draws: int = 2000,
    *,
    params: student.Params | None = None,
    weights: Any = None,
    run_key: jax.Array | None = None,
) -> dict[str, np.ndarray]:
    """Per-prompt moments of G_x and measured vs first-order progress of one step (T2).

    Args:
        config: the model; features and frozen verdicts come from ``run_key`` (default ``key``).
        key: PRNG key of the pair draws.
        draws: independent (update pairs, probe pair) draws.
        params: theta at which to measure (default theta0).
        weights: (N,) replay weights w of the step (default uniform 1/N).
        run_key: key of the run constants (features, frozen verdicts).

    Returns:
        dict of numpy arrays: ``mu_shared`` (N, d_s), ``mu_tabular`` (N, K), ``second_moment``
        E||G_x||^2 (N,), ``trace_cov`` tr Sigma_x (N,), ``self_term`` eta w_x ||mu_x||^2,
        ``cross_term`` eta sum_{y!=x} w_y <mu_x, mu_y>, ``predicted`` (their sum),
        ``measured`` mean progress (N,), ``measured_se`` (N,), ``measured_total`` and its
        ``measured_total_se`` (sum over prompts, one value per draw), ``predicted_total``;
        for T2b ``trace_cov_shared`` tr Sigma_x of the shared block and ``update_var`` (with
        ``update_var_se``), the measured total variance of the shared update eta sum w_x G_x^s.
    """
    cfg1 = config.replace(rounds=1)
    const = loop.init_constants(cfg1, loop.draw_noise(cfg1, key if run_key is None else run_key))
    theta = const.params0 if params is None else params
    # one dtype, never weak, however the weights come: a change of it would compile anew
    w = jnp.asarray(np.full(config.N, 1.0 / config.N) if weights is None else weights, float)
    gs, gt, prog = _draws(config, const, theta, w, key, int(draws))
    gs, gt, prog = (np.asarray(x, dtype=np.float64) for x in (gs, gt, prog))
    # T2b: the shared-block update eta sum_x w_x G_x^s, one per draw
    upd = float(config.eta) * np.einsum("x,rxd->rd", np.asarray(w, np.float64), gs)
    dev = ((upd - upd.mean(0)) ** 2).sum(-1)
    mu_s, mu_t = gs.mean(0), gt.mean(0)
    second = (gs**2).sum(-1).mean(0) + (gt**2).sum(-1).mean(0)
    mu_sq = (mu_s**2).sum(-1) + (mu_t**2).sum(-1)
    # unbiased ||mu||^2 would subtract tr Sigma / draws; the draws are many, keep the plain one
    trace_cov = second - mu_sq
    wn = np.asarray(w, dtype=np.float64)
    eta = float(config.eta)
    self_term = eta * wn * mu_sq
    consensus = (wn[:, None] * mu_s).sum(0)
    cross = eta * (mu_s @ consensus - wn * (mu_s**2).sum(-1))
    total = prog.sum(1)
    trace_cov_shared = (gs**2).sum(-1).mean(0) - (mu_s**2).sum(-1)
    return {
        "trace_cov_shared": trace_cov_shared,
        "update_var": dev.sum() / (draws - 1),
        "update_var_se": dev.std(ddof=1) / np.sqrt(draws),
        "mu_shared": mu_s,
        "mu_tabular": mu_t,
        "second_moment": second,
        "trace_cov": trace_cov,
        "self_term": self_term,
        "cross_term": cross,
        "predicted": self_term + cross,
        "measured": prog.mean(0),
        "measured_se": prog.std(0, ddof=1) / np.sqrt(draws),
        "measured_total": total.mean(),
        "measured_total_se": total.std(ddof=1) / np.sqrt(draws),
        "predicted_total": (self_term + cross).sum(),
        "weights": wn,
    }
