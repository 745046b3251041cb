"""The model of paper/model.md in numpy, vectorised over runs and prompts: the bench's baseline.

The fastest numpy a user would write for a sweep: every array has a leading run axis (grid
points x seeds flattened) and a prompt axis, the hot path is float32, batch draws are one
``searchsorted`` on row-offset CDFs, and the replay gates are the batched form of
``sim.reference.replay_distribution`` (held equal to it row by row in tests/sim). The smoothed
progress is ``sim.reference.observe_progress`` itself. Random numbers come from numpy, so runs
equal the reference and the JAX engine in distribution, not bit for bit (tests/sim checks).
No jax.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.reference import observe_progress
from sim.trajectory import Trajectory
from theory.gates import check_gate

F = np.float32


def _normalise_or_uniform(w: np.ndarray) -> np.ndarray:
    total = w.sum(-1, keepdims=True)
    ok = total > 0
    return np.where(ok, w / np.where(ok, total, 1.0), 1.0 / w.shape[-1])


def replay_distributions(
    gate: str,
    scores: np.ndarray,
    staleness: np.ndarray,
    margins: np.ndarray,
    round_index: int,
    *,
    tau: Any,
    temperature: Any,
    staleness_coef: Any,
) -> np.ndarray:
    """``sim.reference.replay_distribution`` for many runs at once: rows of (runs, N) arrays.

    Hyper-parameters are scalars or per-run arrays of shape (runs, 1).
    """
    check_gate(gate)
    runs, n = scores.shape
    if round_index <= 1 or gate == "uniform":
        return np.full((runs, n), 1.0 / n, dtype=scores.dtype)
    if gate == "threshold":
        return _normalise_or_uniform((scores > tau).astype(scores.dtype))
    if gate == "proportional":
        return _normalise_or_uniform(np.maximum(scores, 0.0))
    if gate == "margin":
        return _normalise_or_uniform(np.maximum(margins, 0.0))
    order = np.argsort(-scores, axis=-1, kind="stable")
    rank = np.empty_like(scores)
    np.put_along_axis(rank, order, np.arange(1, n + 1, dtype=scores.dtype)[None, :], axis=-1)
    h = (1.0 / rank) ** (1.0 / temperature)
    p_rank = h / h.sum(-1, keepdims=True)
    p_stale = _normalise_or_uniform(staleness.astype(scores.dtype))
    return (1.0 - staleness_coef) * p_rank + staleness_coef * p_stale


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(F(0), z)


def _margins(logits, logits0, D, beta):
    """DPO margins h = beta sum_y D (logit - logit0) of every run's pairs."""
    return beta * (D * (logits - logits0)).sum(-1)


def _per_run(config: Any, points: Mapping[str, Any], name: str, G: int, S: int, N: int):
    """(runs, 1) or (runs, N) array of a parameter: the point's value for each of its S seeds."""
    if name in points:
        v = np.asarray(points[name], dtype=F).reshape(G, -1)
    else:
        v = np.broadcast_to(
            np.asarray(getattr(config, name), dtype=F), (G,) + np.shape(getattr(config, name))
        ).reshape(G, -1)
    return np.repeat(v, S, axis=0)


def run_batch(config: Any, points: Mapping[str, Any] | None, seeds: Any, *, rng_seed: int = 0):
    """Runs of ``config`` at G grid points x S seeds -> Trajectory with fields (G, S, ...).

    ``points`` as for ``sim.grid_runs``; ``seeds`` an int count (only the count matters: numpy's
    generator seeded by ``rng_seed`` draws every run's numbers).
    """
    c = config
    points = dict(points or {})
    G = len(np.asarray(next(iter(points.values())))) if points else 1
    S = int(seeds) if np.ndim(seeds) == 0 else len(np.ravel(seeds))
    M, N, N_h, K, d_s, n, B, R = G * S, c.N, c.N_h, c.K, c.d_s, c.n, c.B, c.rounds
    p = {
        k: _per_run(c, points, k, G, S, N)
        for k in (
            "alpha",
            "kappa",
            "rho",
            "beta",
            "eta",
            "mu",
            "s",
            "b",
            "lam",
            "tau",
            "temperature",
            "staleness",
        )
    }
    rng = np.random.default_rng(rng_seed)
    runs = np.arange(M)[:, None]
    prompts = np.arange(N)[None, :]

    xi = rng.standard_normal((M, N, K, d_s), dtype=F)
    xi_h = rng.standard_normal((M, N_h, K, d_s), dtype=F)
    gaps_h = xi_h[:, :, 1:, :] - xi_h[:, :, :1, :]  # held-out logit gaps' features
    xi_flat = xi.reshape(M, N * K, d_s)
    kk = np.arange(K)
    onehot0 = (kk == 0).astype(F)
    theta_s = np.zeros((M, d_s), F)
    theta_s[:, 0] = p["b"][:, 0]
    theta_t = np.zeros((M, N, K), F)

    def train_logits(ts, tt):
        shared = np.matmul(xi_flat, ts[:, :, None]).reshape(M, N, K)
        return shared + (p["mu"] * ts[:, :1])[:, :, None] * onehot0 + p["s"][:, :, None] * tt

    def heldout_acc(ts):
        g = np.matmul(gaps_h.reshape(M, -1, d_s), ts[:, :, None]).reshape(M, N_h, K - 1)
        g = g - (p["mu"] * ts[:, :1])[:, :, None]
        return (1.0 / (1.0 + np.exp(g).sum(-1))).mean(-1)

    correct = onehot0.astype(np.int8)[None, None, :]
    frozen = np.where(rng.random((M, N, K), dtype=F) < p["alpha"][:, :, None], correct, 1 - correct)
    logits0 = train_logits(theta_s, theta_t)
    logits, prev_logits = logits0, logits0
    S_score = np.zeros((M, N), F)
    last_visit = np.zeros((M, N), np.int32)
    last_reward = np.zeros((M, N), F)
    names = [f for f in Trajectory._fields if f not in ("train_acc", "heldout_acc")]
    out = {k: np.zeros((M, R), F) for k in names}
    train_acc = np.zeros((M, R + 1), F)
    held_acc = np.zeros((M, R + 1), F)
    train_acc[:, 0] = _softmax(logits0)[..., 0].mean(-1)
    held_acc[:, 0] = heldout_acc(theta_s)
    offsets = np.arange(M, dtype=np.float64)[:, None]
    for t in range(1, R + 1):
        pi = _softmax(logits)
        cdf = np.cumsum(pi, -1)
        u = rng.random((M, N, n), dtype=F)
        y = (u[..., None] >= cdf[:, :, None, :-1]).sum(-1)
        v = np.take_along_axis(frozen, y, axis=-1)
        fresh = rng.random((M, N, n), dtype=F) < p["rho"][:, :, None]
        v_fresh = np.where(rng.random((M, N, n), dtype=F) < p["alpha"][:, :, None], y == 0, y != 0)
        v = np.where(fresh, v_fresh, v)
        score = p["kappa"][:, :, None] * (2 * v.astype(F) - 1) + rng.standard_normal(
            (M, N, n), dtype=F
        )
        iw, il = score.argmax(-1)[..., None], score.argmin(-1)[..., None]
        y_w = np.take_along_axis(y, iw, -1)[..., 0]
        y_l = np.take_along_axis(y, il, -1)[..., 0]
        valid = y_w != y_l
        margin = np.where(valid, score.max(-1) - score.min(-1), F(0))
        reward = score.mean(-1)
        right = (y_w == 0) & (y_l != 0)
        wrong = (y_w != 0) & (y_l == 0)

        D = (y_w[..., None] == kk).astype(F) - (y_l[..., None] == kk).astype(F)
        h = _margins(logits, logits0, D, p["beta"])
        l0 = _softplus(-h)
        if c.progress == "loss":
            progress = _softplus(-_margins(prev_logits, logits0, D, p["beta"])) - l0
        else:
            progress = np.where(last_visit > 0, reward - last_reward, F(0))
        S_score = observe_progress(S_score, progress, valid, t, p["lam"]).astype(F)
        P = replay_distributions(
            c.gate,
            S_score,
            t - last_visit,
            margin,
            t,
            tau=p["tau"],
            temperature=p["temperature"],
            staleness_coef=p["staleness"],
        )
        # B draws per run: one searchsorted over row-offset CDFs
        cdf_p = np.cumsum(P, -1, dtype=np.float64)
        cdf_p /= cdf_p[:, -1:]
        u_b = rng.random((M, B)) + offsets
        idx = np.searchsorted((cdf_p + offsets).ravel(), u_b.ravel(), side="right")
        idx = np.minimum(idx, (np.arange(M).repeat(B) + 1) * N - 1)
        counts = np.bincount(idx, minlength=M * N).reshape(M, N).astype(F)
        w = counts / B

        g = np.where(valid, p["beta"] / (1.0 + np.exp(h)), F(0)) * w  # beta sigmoid(-h) w
        dphi = (
            np.take_along_axis(xi, y_w[..., None, None], 2)
            - np.take_along_axis(xi, y_l[..., None, None], 2)
        )[:, :, 0, :]
        dphi[..., 0] += p["mu"] * ((y_w == 0).astype(F) - (y_l == 0).astype(F))
        theta_s = theta_s + p["eta"] * np.einsum("rn,rnd->rd", g, dphi)
        step = p["eta"] * p["s"] * g
        theta_t = theta_t.copy()
        theta_t[runs, prompts, y_w] += step
        theta_t[runs, prompts, y_l] -= step
        prev_logits, logits = logits, train_logits(theta_s, theta_t)
        visited = counts > 0
        last_visit = np.where(visited, t, last_visit)
        last_reward = np.where(visited, reward, last_reward)

        trained = counts * valid
        i = t - 1
        train_acc[:, t] = _softmax(logits)[..., 0].mean(-1)
        held_acc[:, t] = heldout_acc(theta_s)
        ts_ = trained.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["loss_trained"][:, i] = np.where(ts_ > 0, (trained * l0).sum(-1) / ts_, np.nan)
            nv = valid.sum(-1)
            out["loss_fresh"][:, i] = np.where(nv > 0, (valid * l0).sum(-1) / nv, np.nan)
        out["frac_right"][:, i] = (P * right).sum(-1)
        out["frac_wrong"][:, i] = (P * wrong).sum(-1)
        out["frac_unoriented"][:, i] = (P * ~(right | wrong)).sum(-1)
        out["n_eff"][:, i] = 1.0 / (w**2).sum(-1)
        out["n_eff_dist"][:, i] = 1.0 / (P**2).sum(-1)
        out["void_frac"][:, i] = 1.0 - valid.mean(-1)
        out["pair_right"][:, i] = right.mean(-1)
        out["pair_wrong"][:, i] = wrong.mean(-1)
    traj = Trajectory(train_acc=train_acc, heldout_acc=held_acc, **out)
    return Trajectory(*(np.asarray(x, np.float64).reshape((G, S) + x.shape[1:]) for x in traj))
