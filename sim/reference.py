"""The model of paper/model.md in plain numpy, written for clarity: the oracle and speed baseline.

Same model as the JAX simulator (``sim.run``), not bit-identical (other random streams): the two
agree in distribution, which tests/sim checks. ``observe_progress`` and ``replay_distribution``
are the gate code the empirical loop calls, so a gate means the same thing in simulation and on
real models; tests/sim/test_replay.py holds the JAX gates (sim.replay) equal to them. No jax.
"""

from __future__ import annotations

import numpy as np

from sim.trajectory import Trajectory
from theory.gates import GATE_DEFAULTS, check_gate


def _uniform(n: int) -> np.ndarray:
    return np.full(n, 1.0 / n)


def _normalise_or_uniform(w: np.ndarray) -> np.ndarray:
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        return _uniform(w.size)
    return w / total


def replay_distribution(
    gate: str,
    scores: np.ndarray,
    staleness: np.ndarray,
    margins: np.ndarray,
    round_index: int,
    *,
    tau: float = GATE_DEFAULTS["tau"],
    temperature: float = GATE_DEFAULTS["temperature"],
    staleness_coef: float = GATE_DEFAULTS["staleness"],
) -> np.ndarray:
    """Replay distribution P over the N train prompts for round ``round_index`` (model.md).

    Args:
        gate: one of ``uniform``, ``threshold``, ``rank``, ``proportional``, ``margin``.
        scores: (N,) smoothed progress S_x after the previous round.
        staleness: (N,) st_x = t - (last round x was in the batch); t if never visited.
        margins: (N,) current pairs' score gaps s_w - s_l (0 for void pairs).
        round_index: t, counted from 1; round 1 is uniform for every gate.
        tau: threshold of the ``threshold`` gate.
        temperature: T of the ``rank`` gate, h_x = (1 / rank_x)^(1 / T).
        staleness_coef: rho_st, the staleness mixture weight of the ``rank`` gate.

    Returns:
        (N,) nonnegative weights summing to 1.
    """
    check_gate(gate)
    scores = np.asarray(scores, dtype=float)
    n = scores.size
    if round_index <= 1 or gate == "uniform":
        return _uniform(n)
    if gate == "threshold":
        return _normalise_or_uniform((scores > tau).astype(float))
    if gate == "proportional":
        return _normalise_or_uniform(np.maximum(scores, 0.0))
    if gate == "margin":
        return _normalise_or_uniform(np.maximum(np.asarray(margins, dtype=float), 0.0))
    # rank (prioritized level replay): rank 1 is the largest S, ties broken by index
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(n)
    rank[order] = np.arange(1, n + 1)
    h = (1.0 / rank) ** (1.0 / temperature)
    st = np.asarray(staleness, dtype=float)
    p_rank = h / h.sum()
    p_stale = _normalise_or_uniform(st)
    return (1.0 - staleness_coef) * p_rank + staleness_coef * p_stale


def observe_progress(
    scores: np.ndarray,
    progress: np.ndarray,
    valid: np.ndarray,
    round_index: int,
    lam: float = GATE_DEFAULTS["lam"],
) -> np.ndarray:
    """Smoothed progress S after round ``round_index`` observed ``progress`` (model.md): an EMA.

    S_x <- (1 - lam) S_x + lam P_x(t) where x's pair is valid; void pairs and round 1 (no
    previous update to measure) leave S_x unchanged.

    Args:
        scores: (N,) S_x before this round.
        progress: (N,) this round's measured progress P_x(t) (``loss``: the newest pair's DPO
            loss at theta_{t-2} minus at theta_{t-1}; ``reward``: the rise of the mean verifier
            score since x's last visit).
        valid: (N,) whether x's newest pair is not void.
        round_index: t, counted from 1.
        lam: EMA weight in [0, 1].

    Returns:
        (N,) the new S.
    """
    scores = np.asarray(scores, dtype=float)
    if round_index <= 1:
        return scores.copy()
    new = (1.0 - lam) * scores + lam * np.asarray(progress, dtype=float)
    return np.where(np.asarray(valid, dtype=bool), new, scores)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-_softplus(-z))


def _per_prompt(value, n_prompts: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), (n_prompts,)).copy()


def run(config, seed: int) -> Trajectory:
    """One run of ``config`` (a ``sim.Config``) with numpy random numbers from ``seed``.

    Follows paper/model.md step by step, vectorised over prompts only.
    """
    c = config
    rng = np.random.default_rng(seed)
    N, N_h, K, d_s, n, B, R = c.N, c.N_h, c.K, c.d_s, c.n, c.B, c.rounds
    alpha = _per_prompt(c.alpha, N)
    kappa = _per_prompt(c.kappa, N)
    rows = np.arange(N)

    # student: shared features phi_s = mu 1[y=0] e_0 + xi; tabular block s e_(x,y) (train only)
    xi_train = rng.standard_normal((N, K, d_s))
    xi_held = rng.standard_normal((N_h, K, d_s))
    phi_train = xi_train.copy()
    phi_train[:, 0, 0] += c.mu
    phi_held = xi_held.copy()
    phi_held[:, 0, 0] += c.mu
    theta_s0 = np.zeros(d_s)
    theta_s0[0] = c.b
    theta_s, theta_t = theta_s0.copy(), np.zeros((N, K))
    prev_s, prev_t = theta_s.copy(), theta_t.copy()

    def logits_train(ts, tt):
        return phi_train @ ts + c.s * tt

    def acc(logits):
        return _softmax(logits)[:, 0].mean()

    # verifier: frozen verdicts v = c if U < alpha else 1 - c
    correct = (np.arange(K) == 0).astype(int)[None, :]
    frozen = np.where(rng.random((N, K)) < alpha[:, None], correct, 1 - correct)

    # gate state
    S = np.zeros(N)
    last_visit = np.zeros(N, dtype=int)
    last_reward = np.zeros(N)

    out = {k: np.zeros(R) for k in Trajectory._fields if k not in ("train_acc", "heldout_acc")}
    train_acc = [acc(logits_train(theta_s, theta_t))]
    heldout_acc = [acc(phi_held @ theta_s)]
    for t in range(1, R + 1):
        # pairs: n samples from pi_theta, scored by the verifier; best vs worst
        pi = _softmax(logits_train(theta_s, theta_t))
        y = np.array([rng.choice(K, size=n, p=pi[x]) for x in range(N)])
        v = frozen[rows[:, None], y]
        fresh = rng.random((N, n)) < c.rho
        v_fresh = np.where(rng.random((N, n)) < alpha[:, None], y == 0, y != 0).astype(int)
        v = np.where(fresh, v_fresh, v)
        score = kappa[:, None] * (2 * v - 1) + rng.standard_normal((N, n))
        y_w = y[rows, score.argmax(axis=1)]
        y_l = y[rows, score.argmin(axis=1)]
        valid = y_w != y_l
        margin = np.where(valid, score.max(axis=1) - score.min(axis=1), 0.0)
        reward = score.mean(axis=1)
        right = (y_w == 0) & (y_l != 0)
        wrong = (y_w != 0) & (y_l == 0)

        # DPO margins h = beta (theta - theta0) . (phi_w - phi_l)
        dphi_s = phi_train[rows, y_w] - phi_train[rows, y_l]

        def h_of(ts, tt, dphi_s=dphi_s, y_w=y_w, y_l=y_l):
            return c.beta * (dphi_s @ (ts - theta_s0) + c.s * (tt[rows, y_w] - tt[rows, y_l]))

        l0 = _softplus(-h_of(theta_s, theta_t))

        # progress observed on the newest pairs, smoothed into S (not in round 1)
        if c.progress == "loss":
            progress = _softplus(-h_of(prev_s, prev_t)) - l0
        else:
            progress = np.where(last_visit > 0, reward - last_reward, 0.0)
        S = observe_progress(S, progress, valid, t, c.lam)

        # replay distribution and batch of B prompts drawn i.i.d. from it
        P = replay_distribution(
            c.gate,
            S,
            t - last_visit,
            margin,
            t,
            tau=c.tau,
            temperature=c.temperature,
            staleness_coef=c.staleness,
        )
        batch = rng.choice(N, size=B, p=P)
        counts = np.bincount(batch, minlength=N).astype(float)
        w = counts / B

        # DPO step: theta <- theta + eta sum_x w_x G_x, G_x = beta sigmoid(-h) (phi_w - phi_l)
        g = np.where(valid, c.beta * _sigmoid(h_of(theta_s, theta_t) * -1.0), 0.0) * w
        prev_s, prev_t = theta_s.copy(), theta_t.copy()
        theta_s = theta_s + c.eta * (g @ dphi_s)
        theta_t = theta_t.copy()
        np.add.at(theta_t, (rows, y_w), c.eta * c.s * g)
        np.add.at(theta_t, (rows, y_l), -c.eta * c.s * g)
        visited = counts > 0
        last_visit = np.where(visited, t, last_visit)
        last_reward = np.where(visited, reward, last_reward)

        trained = counts * valid
        i = t - 1
        train_acc.append(acc(logits_train(theta_s, theta_t)))
        heldout_acc.append(acc(phi_held @ theta_s))
        out["loss_trained"][i] = (trained * l0).sum() / trained.sum() if trained.sum() else np.nan
        out["loss_fresh"][i] = l0[valid].mean() if valid.any() else np.nan
        out["frac_right"][i] = P[right].sum()
        out["frac_wrong"][i] = P[wrong].sum()
        out["frac_unoriented"][i] = P[~(right | wrong)].sum()
        out["n_eff"][i] = w.sum() ** 2 / (w**2).sum()
        out["n_eff_dist"][i] = P.sum() ** 2 / (P**2).sum()
        out["void_frac"][i] = 1.0 - valid.mean()
        out["pair_right"][i] = right.mean()
        out["pair_wrong"][i] = wrong.mean()
    return Trajectory(train_acc=np.array(train_acc), heldout_acc=np.array(heldout_acc), **out)


def run_seeds(config, seeds) -> Trajectory:
    """``run`` over seeds (an int count 0..S-1 or a list of ints); leading seed axis."""
    seeds = np.arange(int(seeds)) if np.ndim(seeds) == 0 else np.asarray(seeds).ravel()
    runs = [run(config, int(s)) for s in seeds]
    return Trajectory(*(np.stack(xs) for xs in zip(*runs)))
