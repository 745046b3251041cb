"""Small synthetic results files in the layout ``selfdpo reproduce`` writes (for fast tests).

Numbers are random but shaped like the real sweeps; where a test needs a known truth, it passes
``truth`` functions. Nothing here runs the simulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.stats import norm

from sim.results import write_results

R = 8
S = 8
NOISE = 0.0005  # per-round noise of the accuracy walks: small next to every row's margin
MIX = {"fractions": [0.85, 0.15], "p": [0.6, 0.05]}
REGIMES = ["self-dominated, long horizon", "short horizon", "s → 0", "default student"]


def _rounds(r: int = R) -> dict[str, np.ndarray]:
    return {"round": np.arange(r + 1), "step": np.arange(1, r + 1)}


def _walk(
    rng, lead: tuple[int, ...], drift: np.ndarray | float, r: int = R, noise: float = NOISE
) -> np.ndarray:
    """Accuracy trajectories starting at 0.45 with a per-round drift plus noise."""
    steps = np.asarray(drift)[..., None] + noise * rng.standard_normal((*lead, r))
    start = np.full((*lead, 1), 0.45)
    return np.concatenate([start, 0.45 + np.cumsum(steps, axis=-1)], axis=-1)


def _attrs(name: str, config: dict, **extra) -> dict:
    return {
        "name": name,
        "config": json.dumps(config),
        "config_hash": f"synthetic-{name}",
        "seeds": json.dumps(list(range(S))),
        **extra,
    }


def a_pair(alpha, kappa):
    """L0's n = 2 closed form (THEORY.md), used as the synthetic truth."""
    return 0.5 + (2 * np.asarray(alpha) - 1) * (norm.cdf(np.sqrt(2) * np.asarray(kappa)) - 0.5)


def write_all(root: Path, seed: int = 0, *, pair_bias: float = 0.0) -> Path:
    """Write every sweep's synthetic results file under ``root`` (no manifest: plain names)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    alphas = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    kappas = np.array([0.0, 1.0, 3.0])
    drift = 0.02 * (2 * a_pair(alphas[:, None], kappas[None, :]) - 1)  # (alpha, kappa)

    h = _walk(rng, (5, 3, S), drift[..., None])
    write_results(
        root / "phase.nc",
        {"alpha": alphas, "kappa": kappas, "seed": np.arange(S), **_rounds()},
        {
            "heldout_acc": (("alpha", "kappa", "seed", "round"), h),
            "loss_trained": (
                ("alpha", "kappa", "seed", "step"),
                0.7 - 0.01 * rng.random((5, 3, S, R)),
            ),
            "theory_threshold": (("kappa",), np.where(kappas > 0, 0.5, np.nan)),
            "theory_first_round_drift": (("alpha", "kappa"), drift),
            "theory_first_round_drift_se": (("alpha", "kappa"), np.zeros_like(drift)),
        },
        _attrs("phase", {"gate": "uniform"}),
    )

    ns = np.array([2, 4])
    pk = np.array([0.0, 0.5, 2.0])
    pa = np.array([0.2, 0.8])
    truth = a_pair(pa[:, None], pk[None, :])  # same for both n here
    mixed = 0.4 + 0.01 * rng.random((2, 2, 3, S))
    acc = np.clip(
        truth[None, :, :, None] + pair_bias + 0.002 * rng.standard_normal((2, 2, 3, S)), 0, 1
    )
    fine = np.linspace(0, 2, 9)
    write_results(
        root / "pairs.nc",
        {"n": ns, "alpha": pa, "kappa": pk, "seed": np.arange(S), "kappa_fine": fine},
        {
            "pair_right": (("n", "alpha", "kappa", "seed"), mixed * acc),
            "pair_wrong": (("n", "alpha", "kappa", "seed"), mixed * (1 - acc)),
            "theory_pair_accuracy": (
                ("n", "alpha", "kappa_fine"),
                np.broadcast_to(a_pair(pa[:, None], fine[None, :]), (2, 2, 9)),
            ),
            "theory_pair_accuracy_grid": (
                ("n", "alpha", "kappa"),
                np.broadcast_to(truth, (2, 2, 3)),
            ),
            "theory_pair_accuracy_grid_se": (("n", "alpha", "kappa"), np.zeros((2, 2, 3))),
        },
        _attrs("pairs", {}),
    )

    loss = 0.69 - 0.02 * np.arange(1, R + 1) + 0.001 * rng.standard_normal((2, 2, S, R))
    write_results(
        root / "silent.nc",
        {"gate": np.arange(2), "verifier": np.arange(2), "seed": np.arange(S), **_rounds()},
        {
            "heldout_acc": (
                ("gate", "verifier", "seed", "round"),
                _walk(rng, (2, 2, S), np.array([0.004, -0.004])[None, :, None]),
            ),
            "loss_trained": (("gate", "verifier", "seed", "step"), loss),
            "alpha": (("verifier",), np.array([0.8, 0.3])),
            "kappa": (("verifier",), np.array([3.0, 3.0])),
        },
        _attrs("silent", {}, gate_names=json.dumps(["uniform", "rank"])),
    )

    ia, ik = np.array([0.08, 0.23, 0.4]), np.array([0.1, 3.0])
    dmg = (1 - 2 * ia[:, None]) * (2 * norm.cdf(np.sqrt(2) * ik[None, :]) - 1)
    dd = -0.015 * dmg[None, :, :, None] * np.array([1.0, 1.5])[:, None, None, None]
    write_results(
        root / "inversion.nc",
        {"gate": np.arange(2), "alpha": ia, "kappa": ik, "seed": np.arange(S), **_rounds()},
        {
            "heldout_acc": (
                ("gate", "alpha", "kappa", "seed", "round"),
                _walk(rng, (2, 3, 2, S), dd),
            ),
            "n_eff": (
                ("gate", "alpha", "kappa", "seed", "step"),
                np.stack([np.full((3, 2, S, R), 28.0), 20.0 + rng.random((3, 2, S, R))]),
            ),
            "theory_damage": (("alpha", "kappa"), dmg),
        },
        _attrs(
            "inversion",
            {"B": 32},
            gate_names=json.dumps(["uniform", "rank"]),
            highlight=json.dumps([[0.23, 3.0], [0.08, 0.1]]),
        ),
    )

    # regimes: self-dominated long horizon (mismatch), short horizon (no mismatch), s -> 0 (wrong
    # consensus), default student (boundary); gates: uniform, rank, proportional, rank/reward
    md = np.array(
        [
            [0.003, -0.003, -0.004, -0.003],
            [0.006, 0.003, 0.002, 0.003],
            [-0.006, -0.012, -0.015, -0.009],
            [0.006, 0.004, 0.003, 0.003],
        ]
    )[:, :, None]
    write_results(
        root / "mismatch.nc",
        {
            "regime": np.arange(4),
            "gate": np.arange(4),
            "seed": np.arange(S),
            "sign": np.arange(2),
            **_rounds(),
        },
        {
            "heldout_acc": (("regime", "gate", "seed", "round"), _walk(rng, (4, 4, S), md)),
            "frac_wrong": (
                ("regime", "gate", "seed", "step"),
                0.1 + 0.05 * rng.random((4, 4, S, R)),
            ),
            "wrong_type_mass": (
                ("regime", "gate", "seed", "step"),
                0.15 + 0.1 * rng.random((4, 4, S, R)),
            ),
            "theory_self_cross": (("regime",), np.array([13.7, 13.7, 0.03, 0.5])),
            "theory_horizon": (("regime",), np.array([R / 2, R / 4, np.inf, 2.0 * R])),
            "theory_window": (("regime",), np.array([R / 2, R / 4, R / 4, R / 4])),
            "theory_discovery": (("regime",), np.array([R / 6, R / 6, R / 6, R / 8])),
            "theory_memory_observations": (("regime",), np.array([1.7, 0.29, 0.29, 0.34])),
            "theory_uniform_drift": (("regime",), np.array([0.0004, 0.0004, -0.004, 0.0006])),
            "theory_uniform_drift_se": (("regime",), np.full(4, 1e-5)),
            "theory_mismatch_signs": (
                ("regime", "sign"),
                np.array([[0.035, -0.66], [0.035, -0.66], [-0.35, -0.85], [0.035, -0.66]]),
            ),
        },
        _attrs(
            "mismatch",
            {"regimes": {name: {"mix": MIX} for name in REGIMES}},
            regime_names=json.dumps(REGIMES),
            regime_roles=json.dumps(["mismatch", "short", "consensus", "boundary"]),
            gate_names=json.dumps(["uniform", "rank", "proportional", "rank/reward"]),
        ),
    )

    # T2: per prompt, measured progress around its prediction (noise centred on the truth)
    P = 20
    pred = rng.random(P) * 0.01
    e = 0.0004 * rng.standard_normal(P)
    write_results(
        root / "variance.nc",
        {"prompt": np.arange(P)},
        {
            "predicted_fresh": (("prompt",), pred),
            "predicted_fresh_se": (("prompt",), np.full(P, 0.0002)),
            "measured_fresh": (("prompt",), pred + e - e.mean()),
            "measured_fresh_se": (("prompt",), np.full(P, 0.0004)),
            "seed_of_prompt": (("prompt",), np.repeat(np.arange(2), P // 2)),
        },
        _attrs(
            "variance",
            {"draws": 1000, "alpha": 0.7, "kappa": 1.0, "eta": 0.05, "moment_batches": 8},
        ),
    )

    # T2b: N_eff of P (uniform: N = 128; rank: about 40) and a realised N_eff at its
    # multinomial prediction B / (1 + (B - 1) / N_eff(P)) within 1%
    neff_dist = np.stack([np.full((2, S, R), 128.0), 40.0 + rng.random((2, S, R))])
    neff = 32.0 / (1.0 + 31.0 / neff_dist) * (1.0 + 0.01 * (rng.random((2, 2, S, R)) - 0.5))
    write_results(
        root / "neff.nc",
        {"gate": np.arange(2), "verifier": np.arange(2), "seed": np.arange(S), **_rounds()},
        {
            "n_eff": (("gate", "verifier", "seed", "step"), neff),
            "n_eff_dist": (("gate", "verifier", "seed", "step"), neff_dist),
            "alpha": (("verifier",), np.array([0.23, 0.8])),
            "kappa": (("verifier",), np.array([3.0, 3.0])),
        },
        _attrs("neff", {"B": 32}, gate_names=json.dumps(["uniform", "rank"])),
    )

    # T1 first round: round-1 change = theory's drift 0.01 (2 a_pair - 1) plus tiny noise
    fa, fk = np.array([0.2, 0.5, 0.8]), np.array([0.0, 1.0, 3.0])
    fdrift = 0.01 * (2 * a_pair(fa[:, None], fk[None, :]) - 1)
    f1 = fdrift[None, :, :, None] + 0.00005 * rng.standard_normal((2, 3, 3, S))
    write_results(
        root / "first_round.nc",
        {
            "student": np.arange(2),
            "alpha": fa,
            "kappa": fk,
            "seed": np.arange(S),
            "round": np.arange(2),
            "step": np.arange(1, 2),
        },
        {
            "heldout_acc": (
                ("student", "alpha", "kappa", "seed", "round"),
                np.stack([np.full(f1.shape, 0.45), 0.45 + f1], -1),
            ),
            "theory_first_round_drift": (
                ("student", "alpha", "kappa"),
                np.broadcast_to(fdrift, (2, 3, 3)).copy(),
            ),
            "theory_first_round_drift_se": (("student", "alpha", "kappa"), np.zeros((2, 3, 3))),
        },
        _attrs("first_round", {}, student_names=json.dumps(["default", "second"])),
    )

    tk, ta = np.array([1.0, 2.0, 4.0]), np.array([0.4, 0.45, 0.5, 0.55, 0.6])
    slope1 = 0.05  # first-round change per unit alpha
    first = slope1 * (ta - 0.5)  # (alpha,)
    final = 0.5 * (ta - 0.52)
    steps = np.zeros((2, 3, 5, S, R))
    steps[..., 0] = first[None, None, :, None]
    steps[..., 1:] = ((final - first) / (R - 1))[None, None, :, None, None]
    steps += 0.00002 * rng.standard_normal(steps.shape)
    h_thr = np.concatenate([np.full((2, 3, 5, S, 1), 0.45), 0.45 + np.cumsum(steps, -1)], -1)
    write_results(
        root / "threshold.nc",
        {"student": np.arange(2), "kappa": tk, "alpha": ta, "seed": np.arange(S), **_rounds()},
        {
            "heldout_acc": (("student", "kappa", "alpha", "seed", "round"), h_thr),
            "theory_first_round_slope": (("student", "kappa"), np.full((2, 3), slope1)),
            "theory_full_run_threshold": (("student", "kappa"), np.full((2, 3), 0.52)),
            "theory_full_run_threshold_error": (("student", "kappa"), np.full((2, 3), 0.003)),
            "theory_full_run_slope": (("student", "kappa"), np.full((2, 3), 0.5)),
        },
        _attrs("threshold", {}, student_names=json.dumps(["default", "second"])),
    )

    # T6: gain 0.004 (1 - exp(-C / 10)), marginal 0.0004 exp(-C / 10) = epsilon at C* = 10 ln 20
    c = np.logspace(0, 2.5, 6)
    gain = 0.004 * (1 - np.exp(-c / 10))
    write_results(
        root / "cap.nc",
        {"compute": c, "seed": np.arange(S), **_rounds()},
        {
            "heldout_acc": (
                ("compute", "seed", "round"),
                _walk(rng, (6, S), gain[:, None], noise=1e-6),
            ),
            "alpha": (("compute",), np.linspace(0.6, 0.9, 6)),
            "kappa": (("compute",), np.linspace(0.5, 3, 6)),
            "theory_gain": (("compute",), gain),
            "theory_gain_se": (("compute",), np.zeros(6)),
        },
        _attrs("cap", {}, epsilon=2e-5, theory_cap=10 * np.log(20.0)),
    )

    ra, rk = np.array([0.2, 0.8]), np.array([1.0, 3.0])
    rd = 0.004 * (2 * a_pair(ra[:, None], rk[None, :]) - 1)
    write_results(
        root / "replication.nc",
        {"student": np.arange(2), "alpha": ra, "kappa": rk, "seed": np.arange(S), **_rounds()},
        {
            "heldout_acc": (
                ("student", "alpha", "kappa", "seed", "round"),
                _walk(rng, (2, 2, 2, S), np.broadcast_to(rd[None, :, :, None], (2, 2, 2, 1))),
            )
        },
        _attrs("replication", {"gate": "uniform"}, student_names=json.dumps(["default", "second"])),
    )
    # gate noise: uniform relaxes smoothly, rank does 1 pp less mean damage (theory's value),
    # proportional oscillates with period 2 * lag (the truth of T5-gated and T2b-oscillation)
    Rg, lag = 40, 5
    t = np.arange(Rg + 1)
    base = -0.1 * (1 - np.exp(-t / 5.0))
    walk = 0.0005 * np.cumsum(rng.standard_normal((2, 3, S, Rg + 1)), axis=-1)
    phase = rng.uniform(0, 2 * np.pi, (S, 1))
    shape = (2, S, Rg + 1)
    paths = np.stack(
        [
            np.broadcast_to(base, shape),
            np.broadcast_to(base + 0.01 * (t > 0), shape),
            np.broadcast_to(base + 0.03 * np.sin(np.pi * t / lag + phase), shape),
        ],
        axis=1,
    )
    paths = paths + walk
    paths = 0.45 + paths - paths[..., :1]
    pred = {
        "auc_diff": 0.01,
        "auc_diff_error": 0.001,
        "auc_gate": -0.08,
        "auc_uniform": -0.09,
        "auc_ratio": 0.89,
        "auc_ratio_error": 0.01,
        "final_gate": -0.09,
        "final_uniform": -0.1,
        "n_eff_dist": 21.5,
        "trough_round": 10,
        "trough_depth": -0.12,
    }
    th = {st: {k: pred for k in ("rank", "proportional", "rank_expected")} for st in ("a", "b")}
    th = {"default": th["a"], "second": th["b"]}
    mass = 0.3 + 0.01 * rng.random((2, 3, S, Rg))
    write_results(
        root / "gate_noise.nc",
        {"student": np.arange(2), "gate": np.arange(3), "seed": np.arange(S), **_rounds(Rg)},
        {
            "heldout_acc": (("student", "gate", "seed", "round"), paths),
            "frac_right": (("student", "gate", "seed", "step"), mass / 3),
            "frac_wrong": (("student", "gate", "seed", "step"), mass),
            "n_eff_dist": (("student", "gate", "seed", "step"), np.full((2, 3, S, Rg), 30.0)),
        },
        _attrs(
            "gate_noise",
            {},
            gate_names=json.dumps(["uniform", "rank", "proportional"]),
            student_names=json.dumps(["default", "second"]),
            theory=json.dumps(th),
            lag=lag,
        ),
    )
    # T2 along trajectories: per-run slopes (conditional form 1; independent-weights form 1 for
    # uniform, about 2 under the gates) and the run's a_gated at THEORY.md's closed form
    gates = ["uniform", "rank", "proportional", "threshold"]
    a_th = 0.5 + (a_pair(0.3, 2.0) - 0.5) / (0.3**2 + 0.7**2)
    jitter = 0.02 * rng.standard_normal((4, S))
    write_results(
        root / "t2traj.nc",
        {"gate": np.arange(4), "seed": np.arange(S)},
        {
            "slope_cond": (("gate", "seed"), 1.0 + jitter),
            "slope_ind": (("gate", "seed"), np.array([1.0, 2.0, 2.0, 2.0])[:, None] + jitter),
            "intercept_cond": (("gate", "seed"), np.zeros((4, S))),
            "corr_cond": (("gate", "seed"), np.full((4, S), 0.4)),
            "agated_run": (("gate", "seed"), a_th + 0.2 * jitter),
        },
        _attrs(
            "t2traj",
            {"alpha": 0.3, "kappa": 2.0, "eta": 0.05, "rounds": R},
            gate_names=json.dumps(gates),
        ),
    )

    # T2-agated: the simulator's round-2 a_gated around theory's value
    th = np.array([[0.30, 0.67], [0.17, 0.79], [0.15, 0.80], [0.18, 0.78]])
    write_results(
        root / "agated.nc",
        {"gate": np.arange(4), "verifier": np.arange(2), "seed": np.arange(S)},
        {
            "agated": (
                ("gate", "verifier", "seed"),
                th[..., None] + 0.005 * rng.standard_normal((4, 2, S)),
            ),
            "theory": (("gate", "verifier"), th),
            "theory_se": (("gate", "verifier"), np.full((4, 2), 0.002)),
            "alpha": (("verifier",), np.array([0.3, 0.7])),
            "kappa": (("verifier",), np.array([2.0, 1.0])),
        },
        _attrs("agated", {}, gate_names=json.dumps(gates)),
    )

    return root
