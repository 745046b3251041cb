"""``selfdpo reproduce``: every sweep, figure and claim of the paper from one command.

Layout of the output folder (``--out``, default ``./results``)::

    sweeps/<name>-<hash>.nc   one results file per sweep, named by the hash of its configuration
    manifest.json             sweep name -> results file, hash, configuration, seeds
    figures/<figure>.png|pdf  every figure (figures/*.py, reading the results files only)
    claims.json, claims.md    one row per claim: theory, simulation (95% CI), holds
    paper/                    main.tex (copied from the repository's paper/), generated/*.tex
                              (tables from claims.json), figures/ (copies of the PDFs), and
                              main.pdf when a TeX engine is installed

A sweep whose results file exists with the same hash is reused, so a second run only redraws
figures and re-evaluates the claims. The hash covers the sweep's parameters and the source of
``sim`` and ``theory`` (a code change invalidates the cache). jax is imported inside the
sweep runners only, so ``selfdpo --help`` stays fast; compiled XLA programs are kept in
``$XDG_CACHE_HOME/selfdpo/jax`` (compilation, not simulation, dominates a quick run).

To change a sweep, edit its ``Sweep(name, params)`` in :func:`plan`: its hash changes, so only
that sweep reruns. Every figure script also runs on its own: ``python -m figures.<name>
RESULTS_DIR OUT_DIR``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.results import read_results, write_results
from theory.util import UsageError, atomic_write_json

CACHE_VERSION = 1
REPO = Path(__file__).resolve().parent.parent
PAPER_SRC = REPO / "paper"


# --------------------------------------------------------------------------------------------
# The plan: which sweeps, with what parameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """One sweep of the plan: a name (the runner) and JSON-able parameters."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def hash(self, fingerprint: str = "") -> str:
        """Hash of the sweep's configuration (and of the code, through ``fingerprint``)."""
        return sweep_hash(self.name, self.params, fingerprint)


def sweep_hash(name: str, params: dict[str, Any], fingerprint: str = "") -> str:
    """16-hex-digit hash of (name, params, code fingerprint, cache version); order-insensitive."""
    text = json.dumps(
        {"name": name, "params": params, "code": fingerprint, "v": CACHE_VERSION},
        sort_keys=True,
        default=_jsonable,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


RUNNERS_BEGIN = "# Turning trajectories into results files"
RUNNERS_END = "# Cache and orchestration"


def code_fingerprint(packages: Sequence[str] = ("sim", "theory")) -> str:
    """Hash of the source that results depend on: ``packages`` and this module's runners.

    Of this module only the section between the runner markers counts, so editing the plan's
    documentation, the cache or the report does not invalidate results (changing a sweep's
    parameters does, through its own hash).
    """
    skip = {"reproduce.py", "claims.py", "cli.py", "commands.py"}
    h = hashlib.sha256()
    for pkg in packages:
        root = REPO / pkg
        for path in sorted(root.rglob("*.py")):
            if path.name in skip:
                continue
            h.update(str(path.relative_to(REPO)).encode())
            h.update(path.read_bytes())
    own = Path(__file__).read_text()
    h.update(own[own.index("\n" + RUNNERS_BEGIN) : own.rindex("\n" + RUNNERS_END)].encode())
    return h.hexdigest()[:16]


# Heterogeneous verifier of THEORY.md T3: 85% of prompts with p = 0.6, 15% with p = 0.05,
# realised as (alpha_x = 1, Phi(sqrt2 kappa_x) = 0.6) and (alpha_x = 0, Phi(sqrt2 kappa_x) = 0.95).
MISMATCH_MIX = {"fractions": [0.85, 0.15], "p": [0.6, 0.05]}
# T3's regimes, chosen from theory (paper/theory.md, T3 and T3-discovery). The (2p - 1)^3
# mismatch needs (i) the self-term to dominate progress, s^2 t_x >> N <m_x, m_y>:
# theory.self_cross_ratio_model (with the mixture scaling of mismatch_self_cross) gives about 0.5
# for the default student (K = 4, N = 128, s = 4; cross-dominated) and >= 10 for K = 2 (every
# non-void pair mixed, p_x well defined as in THEORY.md's example), N = 128, s = 20; (ii) the gate
# to see the confidently-wrong prompts' self-term before DPO saturates their pairs: theory's
# horizon (theory.mismatch_horizon, 12 rounds at eta = 0.1, 124 at eta = 0.01) must exceed the
# discovery time (theory.gate_discovery, 32 rounds at N = 128, B = 32), and (iii) the EMA to
# remember at least one self-observation: q m / lam >= 1 needs lam <= 0.087 (0.29 observations
# at PLR's lam = 0.3, 1.7 at 0.05). The first regime meets all three; the second is the same
# student at eta = 0.1, which meets (i) only (it was this package's first T3 regime, chosen on
# (i) alone; its failure led to (ii) and (iii)). The s -> 0 counterpart uses K = 2, N = 128,
# s = 0 and equal fractions of the same two types, so that uniform replay's first-round drift,
# proportional to E[2p - 1] = -0.35 (vs 0.035 for the 85/15 mix), is a clear (wrong) consensus for
# the gate to lock in. ``window_from``: the regime (by role) whose horizon is this regime's early
# window (s = 0 has no horizon); by default a regime's own horizon.
MISMATCH_REGIMES = {
    "self-dominated, long horizon (K = 2, s = 20, η = 0.01, λ = 0.05)": {
        "K": 2,
        "N": 128,
        "s": 20.0,
        "eta": 0.01,
        "lam": 0.05,
        "mix": MISMATCH_MIX,
        "role": "mismatch",
    },
    "self-dominated, short horizon (K = 2, s = 20, η = 0.1)": {
        "K": 2,
        "N": 128,
        "s": 20.0,
        "mix": MISMATCH_MIX,
        "role": "short",
    },
    "s → 0 (K = 2, s = 0, 50/50 mix)": {
        "K": 2,
        "N": 128,
        "s": 0.0,
        "mix": {"fractions": [0.5, 0.5], "p": [0.6, 0.05]},
        "role": "consensus",
        "window_from": "short",
    },
    "default student (K = 4, s = 4)": {
        "mix": MISMATCH_MIX,
        "role": "boundary",
        "window_from": "short",
    },
}
# rounds of the mismatch sweep in both modes: the long-horizon regime's window is 124 rounds
MISMATCH_ROUNDS = 200
# seeds of the mismatch sweep in both modes, from a power calculation: in the long-horizon regime
# uniform replay's gain over the window is small (a pilot of 32 seeds: +0.09 pp, per-seed SD
# 0.33 pp), so resolving it with 80% power at the 5% level needs about ((1.96 + 0.84) 0.33 /
# 0.09)^2 = 105 seeds; the seeds include the pilot's 0..31
MISMATCH_SEEDS = 128


def plan(quick: bool) -> list[Sweep]:
    """The sweeps ``reproduce`` runs. ``quick``: fewer seeds/rounds/grid points, same claims.

    Every sweep of a mode uses the same seeds and rounds, so sweeps with the same gate, student
    and n share one compiled program (see :func:`run_points`); ``mismatch`` (T3) has its own
    program and more seeds (paired gate comparisons need them), ``variance`` is numpy.
    """
    if quick:
        seeds, rounds = 16, 100
        phase_alpha = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        phase_kappa = [0.0, 0.5, 1.0, 2.0, 4.0]
        pair_kappa, pair_n, theory_prompts = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0], [2, 4], 1000
        inv_alpha, inv_kappa = [0.08, 0.15, 0.23, 0.35, 0.45], [0.1, 0.5, 1.0, 3.0]
        rep_alpha, rep_kappa = [0.2, 0.35, 0.65, 0.8], [1.0, 3.0]
        cap_points = 7
    else:
        seeds, rounds = 16, 200
        phase_alpha = [round(float(x), 3) for x in np.linspace(0.0, 1.0, 21)]
        phase_kappa = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
        pair_kappa = [0.0, 0.125, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
        pair_n, theory_prompts = [2, 3, 4, 8], 2000
        inv_alpha = [0.02, 0.08, 0.15, 0.23, 0.3, 0.35, 0.4, 0.45]
        inv_kappa = [0.1, 0.25, 0.5, 1.0, 2.0, 3.0]
        rep_alpha, rep_kappa = [0.1, 0.2, 0.35, 0.45, 0.55, 0.65, 0.8, 0.9], [0.5, 1.0, 3.0]
        cap_points = 13
    common = dict(seeds=seeds, rounds=rounds)
    return [
        Sweep(
            "phase",
            dict(
                alphas=phase_alpha, kappas=phase_kappa, gate="uniform", student="default", **common
            ),
        ),
        Sweep(
            "pairs",
            dict(
                alphas=[0.2, 0.8],
                kappas=pair_kappa,
                ns=pair_n,
                theory_prompts=theory_prompts,
                student="default",
                **common,
            ),
        ),
        Sweep(
            "silent",
            dict(
                verifiers=[[0.8, 3.0], [0.3, 3.0]],
                gates=["uniform", "rank"],
                student="default",
                **common,
            ),
        ),
        Sweep(
            "inversion",
            dict(
                alphas=inv_alpha,
                kappas=inv_kappa,
                gates=["uniform", "rank"],
                highlight=[[0.23, 3.0], [0.08, 0.1]],
                student="default",
                **common,
            ),
        ),
        Sweep(
            "mismatch",
            dict(
                regimes=MISMATCH_REGIMES,
                gates=["uniform", "rank", "proportional", "rank/reward"],
                student="default",
                seeds=MISMATCH_SEEDS,
                rounds=MISMATCH_ROUNDS,
            ),
        ),
        Sweep(
            "variance",
            dict(
                alpha=0.7,
                kappa=1.0,
                student="default",
                eta=0.01,  # small step: the O(eta^2) remainder is negligible
                # the same size in both modes (numpy, about 10 s per seed): with 4,000 draws on
                # 2 seeds, quick runs hit a rare excursion (one prompt at z = 5.9, about 1 run
                # in 150) that the full size resolves, so quick no longer runs a smaller T2
                seeds=4,
                # batch means of draws // 20 draws each: skewness and excess kurtosis of single
                # draws (about 1-2 and 8-10) shrink as 1/sqrt(m) and 1/m (claims.claim_variance)
                draws=16000,
            ),
        ),
        Sweep(
            "cap",
            dict(points=cap_points, log10_max=3.0, gate="uniform", student="default", **common),
        ),
        Sweep(
            "replication",
            dict(
                alphas=rep_alpha,
                kappas=rep_kappa,
                students=["default", "second"],
                gate="uniform",
                **common,
            ),
        ),
    ]


# --------------------------------------------------------------------------------------------
# Turning trajectories into results files
# --------------------------------------------------------------------------------------------

ROUND_FIELDS = ("train_acc", "heldout_acc")


def trajectory_data(
    traj: Any, lead: Sequence[str], fields: Sequence[str] | None = None
) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Results-file variables of a Trajectory whose leading axes are named ``lead``.

    Accuracies get the axis ``round`` (0..R); per-round outcomes get ``step`` (1..R).
    """
    out = {}
    for name in traj._fields:
        if fields is not None and name not in fields:
            continue
        arr = np.asarray(getattr(traj, name), dtype=np.float64)
        last = "round" if name in ROUND_FIELDS else "step"
        out[name] = ((*lead, last), arr)
    return out


def round_coords(rounds: int) -> dict[str, np.ndarray]:
    """``round`` = 0..R and ``step`` = 1..R."""
    return {"round": np.arange(rounds + 1), "step": np.arange(1, rounds + 1)}


# --------------------------------------------------------------------------------------------
# Sweep runners (jax imported lazily, inside)
# --------------------------------------------------------------------------------------------

Payload = tuple[dict[str, np.ndarray], dict[str, tuple[tuple[str, ...], np.ndarray]], dict]
Bar = Callable[[str], None]


def _theory():
    import theory

    return theory


def _seed_list(n: int) -> list[int]:
    return list(range(int(n)))


def enable_compilation_cache() -> None:
    """Persist XLA executables across runs (the sweeps' compile time dominates quick runs)."""
    import jax

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "selfdpo" / "jax"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    except (OSError, AttributeError):  # an unwritable home or an older jax: just compile
        pass


def student_fields(student: str, **overrides: Any) -> dict[str, Any]:
    """The student's config fields with the defaults (N, B, eta, beta, d_s, K, mu, s, b, ...)."""
    import sim

    config_dict, make_config = sim.config_dict, sim.make_config

    return config_dict(
        make_config(0.5, 1.0, student=student, gate="uniform", rounds=1, **overrides)
    )


def run_points(
    points: Sequence[tuple[Any, Any]],
    seeds: int,
    *,
    gate: str,
    student: str,
    rounds: int,
    n: int = 2,
    bar: Bar | None = None,
    label: str = "",
    **overrides: Any,
) -> Any:
    """Runs at verifiers ``points`` = [(alpha, kappa), ...] x seeds -> Trajectory (P, S, ...).

    alpha and kappa are passed as per-prompt arrays of shape (N,) (scalars are broadcast), so
    every sweep with the same gate, student, n, rounds and seed count shares one compiled
    program: compilation, not running, dominates a quick reproduction. Random numbers depend on
    the seed only, so all points share them (common random numbers).
    """
    import sim

    make_config, run_seeds = sim.make_config, sim.run_seeds
    from sim.trajectory import Trajectory, to_numpy

    N = int(student_fields(student, **overrides)["N"])
    out = []
    for i, (a, k) in enumerate(points):
        if bar is not None:
            bar(f"{label} {i + 1}/{len(points)}")
        a_x = np.broadcast_to(np.asarray(a, dtype=float), (N,)).copy()
        k_x = np.broadcast_to(np.asarray(k, dtype=float), (N,)).copy()
        cfg = make_config(a_x, k_x, gate=gate, student=student, rounds=rounds, n=n, **overrides)
        out.append(to_numpy(run_seeds(cfg, _seed_list(seeds))))
    return Trajectory(*(np.stack(xs) for xs in zip(*out)))


def run_grid(alphas, kappas, seeds: int, **kw) -> Any:
    """:func:`run_points` on the alpha x kappa grid -> Trajectory (alpha, kappa, seed, ...)."""
    from sim.trajectory import Trajectory

    pts = [(a, k) for a in alphas for k in kappas]
    traj = run_points(pts, seeds, **kw)
    shape = (len(alphas), len(kappas))
    return Trajectory(*(x.reshape(shape + x.shape[1:]) for x in traj))


def _stack(trajs: Sequence[Any]) -> Any:
    return type(trajs[0])(*(np.stack(xs) for xs in zip(*trajs)))


def theory_threshold(kappas: np.ndarray) -> np.ndarray:
    """alpha at which theory's a_pair(alpha, kappa, n=2) = 1/2 (NaN where it never crosses)."""
    from scipy.optimize import brentq

    fn = _theory().pair_accuracy
    out = np.full(np.shape(kappas), np.nan)
    for i, k in enumerate(np.ravel(kappas)):
        f = lambda a, k=k: float(fn(a, k)) - 0.5
        lo, hi = f(0.0), f(1.0)
        if lo < 0 < hi or hi < 0 < lo:
            out[i] = brentq(f, 0.0, 1.0, xtol=1e-10)
    return out


def theory_first_round(alphas, kappas, student: str, n: int = 2) -> tuple[np.ndarray, ...]:
    """Theory's first-order held-out change after round 1 (T1) and its Monte Carlo SE."""
    th = _theory()
    f = student_fields(student)
    st = {k: f[k] for k in ("d_s", "K", "mu", "s", "b", "N")}
    a, k = np.broadcast_arrays(np.asarray(alphas, float), np.asarray(kappas, float))
    val, se = np.empty(a.shape), np.empty(a.shape)
    for idx in np.ndindex(a.shape):
        est = th.first_round_drift_estimate(
            float(a[idx]), float(k[idx]), st, n=n, eta=f["eta"], beta=f["beta"]
        )
        val[idx], se[idx] = est["heldout"], est["heldout_se"]
    return val, se


def run_phase(p: dict, bar: Bar) -> Payload:
    """Final held-out change over an (alpha, kappa) grid, uniform replay (T1 threshold)."""
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    traj = run_grid(
        A,
        K,
        p["seeds"],
        gate=p["gate"],
        student=p["student"],
        rounds=p["rounds"],
        bar=bar,
        label="phase",
    )
    coords = {"alpha": A, "kappa": K, "seed": np.arange(p["seeds"]), **round_coords(p["rounds"])}
    data = trajectory_data(traj, ("alpha", "kappa", "seed"))
    data["theory_threshold"] = (("kappa",), theory_threshold(K))
    bar("phase: theory")
    val, se = theory_first_round(A[:, None], K[None, :], p["student"])
    data["theory_first_round_drift"] = (("alpha", "kappa"), val)
    data["theory_first_round_drift_se"] = (("alpha", "kappa"), se)
    return coords, data, {}


def initial_policies(student: str, M: int, seed: int = 0) -> np.ndarray:
    """M draws of a train prompt's policy at theta0 (paper/model.md): (M, K).

    logit(y) = b (mu 1[y = 0] + xi_y) with xi_y ~ N(0, 1) the first shared coordinate.
    """
    f = student_fields(student)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((M, int(f["K"])))
    logits = f["b"] * (z + f["mu"] * (np.arange(int(f["K"])) == 0))
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def theory_pair_accuracy_mixture(
    alpha: float, kappas: np.ndarray, n: int, pis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """L0 averaged over prompts: E[right_x] / E[right_x + wrong_x], exact per prompt, and its SE.

    Uses theory's exact finite-K pair law per prompt (frozen verdicts averaged); the SE is the
    delta-method Monte Carlo error of the prompt average.
    """
    th = _theory()
    val, se = np.empty(len(kappas)), np.empty(len(kappas))
    for j, k in enumerate(kappas):
        rw = np.array(
            [
                [o["right"], o["wrong"]]
                for o in (th.expected_prompt_pair_probs(pi, alpha, float(k), n) for pi in pis)
            ]
        )
        r, m = rw[:, 0], rw.sum(axis=1)
        ratio = r.mean() / m.mean()
        resid = (r - ratio * m) / m.mean()
        val[j], se[j] = ratio, resid.std(ddof=1) / math.sqrt(len(r))
    return val, se


def run_pairs(p: dict, bar: Bar) -> Payload:
    """First-round pair orientation rates for several n (L0)."""
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    right, wrong, void = [], [], []
    for n in p["ns"]:
        traj = run_grid(
            A,
            K,
            p["seeds"],
            gate="uniform",
            student=p["student"],
            rounds=p["rounds"],
            n=int(n),
            bar=bar,
            label=f"pairs n={n}",
        )
        right.append(traj.pair_right[..., 0])
        wrong.append(traj.pair_wrong[..., 0])
        void.append(traj.void_frac[..., 0])
    fine = np.linspace(0.0, max(p["kappas"]), 41)
    coords = {
        "n": np.array(p["ns"]),
        "alpha": A,
        "kappa": K,
        "seed": np.arange(p["seeds"]),
        "kappa_fine": fine,
    }
    dims = ("n", "alpha", "kappa", "seed")
    data = {
        "pair_right": (dims, np.stack(right)),
        "pair_wrong": (dims, np.stack(wrong)),
        "void_frac": (dims, np.stack(void)),
    }
    th = _theory()
    pis = initial_policies(p["student"], p["theory_prompts"], seed=1)
    grids = {"theory_pair_accuracy": fine, "theory_pair_accuracy_grid": K}
    for name, ks in grids.items():
        val = np.empty((len(p["ns"]), len(A), len(ks)))
        se = np.zeros_like(val)
        for i, n in enumerate(p["ns"]):
            for j, a in enumerate(A):
                bar(f"pairs: theory n={n}")
                if int(n) == 2:  # exact closed form, independent of the policy
                    val[i, j] = th.pair_accuracy(float(a), ks)
                elif name.endswith("grid") or len(ks) <= 12:
                    val[i, j], se[i, j] = theory_pair_accuracy_mixture(float(a), ks, int(n), pis)
                else:  # the plotted curve: fewer prompts, it is only drawn
                    val[i, j], se[i, j] = theory_pair_accuracy_mixture(
                        float(a), ks, int(n), pis[:200]
                    )
        kdim = "kappa_fine" if name == "theory_pair_accuracy" else "kappa"
        data[name] = (("n", "alpha", kdim), val)
        data[name + "_se"] = (("n", "alpha", kdim), se)
    return coords, data, {}


def run_silent(p: dict, bar: Bar) -> Payload:
    """An improving and a regressing verifier, uniform and gated replay (T4)."""
    vs = np.array(p["verifiers"], dtype=float)
    traj = _stack(
        [
            run_points(
                [tuple(v) for v in vs],
                p["seeds"],
                gate=g,
                student=p["student"],
                rounds=p["rounds"],
                bar=bar,
                label=f"silent {g}",
            )
            for g in p["gates"]
        ]
    )
    coords = {
        "gate": np.arange(len(p["gates"])),
        "verifier": np.arange(len(vs)),
        "seed": np.arange(p["seeds"]),
        **round_coords(p["rounds"]),
    }
    data = trajectory_data(traj, ("gate", "verifier", "seed"))
    data["alpha"] = (("verifier",), vs[:, 0])
    data["kappa"] = (("verifier",), vs[:, 1])
    return coords, data, {"gate_names": json.dumps(p["gates"])}


def run_inversion(p: dict, bar: Bar) -> Payload:
    """Sub-threshold (alpha, kappa) grid under uniform and gated replay (T5, amplification)."""
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    per_gate = [
        run_grid(
            A,
            K,
            p["seeds"],
            gate=g,
            student=p["student"],
            rounds=p["rounds"],
            bar=bar,
            label=f"inversion {g}",
        )
        for g in p["gates"]
    ]
    traj = _stack(per_gate)
    coords = {
        "gate": np.arange(len(p["gates"])),
        "alpha": A,
        "kappa": K,
        "seed": np.arange(p["seeds"]),
        **round_coords(p["rounds"]),
    }
    data = trajectory_data(
        traj,
        ("gate", "alpha", "kappa", "seed"),
        fields=("heldout_acc", "train_acc", "loss_trained", "n_eff", "frac_wrong"),
    )
    aa, kk = np.meshgrid(A, K, indexing="ij")
    data["theory_damage"] = (("alpha", "kappa"), np.asarray(_theory().damage_rate(aa, kk)))
    attrs = {"gate_names": json.dumps(p["gates"]), "highlight": json.dumps(p["highlight"])}
    return coords, data, attrs


def mismatch_verifier(mix: dict, N: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt (alpha_x, kappa_x) whose pair accuracy is ``mix['p']`` on each prompt type.

    p >= 1/2 is realised by alpha_x = 1 and Phi(sqrt2 kappa_x) = p; p < 1/2 by alpha_x = 0 and
    Phi(sqrt2 kappa_x) = 1 - p (L0 with alpha in {0, 1}).
    """
    from sim import heterogeneous_verifier

    alphas, kappas = mismatch_types(mix)
    return heterogeneous_verifier(mix["fractions"], alphas, kappas, N)


def mismatch_types(mix: dict) -> tuple[list[float], list[float]]:
    """(alpha_t, kappa_t) of each prompt type of ``mix`` (see :func:`mismatch_verifier`)."""
    from scipy.stats import norm

    alphas, kappas = [], []
    for p in mix["p"]:
        right = p >= 0.5
        alphas.append(1.0 if right else 0.0)
        kappas.append(float(norm.ppf(p if right else 1.0 - p) / math.sqrt(2.0)))
    return alphas, kappas


def mismatch_self_cross(mix: dict, student: str, overrides: dict) -> tuple[float, list[float]]:
    """T3's self/cross ratio of the model's ``loss`` progress for each type of ``mix``.

    theory.self_cross_ratio_model gives, for a homogeneous verifier, ``ratio_loss`` (older name
    ``ratio_mean``) = (self-term)
    / ((N - 1) <m_x, m_y>) of progress on an independent pair (the model's ``loss`` progress). In
    a mixture the cross-term of a type-t prompt is <m_x, sum_y m_y> with m_y = (2 p_y - 1) m_y^0
    for K = 2 (every non-void pair mixed), so the ratio of type t is the homogeneous one times
    |2 p_t - 1| / |E[2 p - 1]|. Returns (min over types, per type).
    """
    th = _theory()
    f = student_fields(student, **overrides)
    st = {k: f[k] for k in ("d_s", "K", "mu", "s", "b", "N")}
    fr, p = np.asarray(mix["fractions"], float), np.asarray(mix["p"], float)
    consensus = abs(float(fr @ (2 * p - 1)))
    per_type = []
    for a, k, p_t in zip(*mismatch_types(mix), p):
        homog = th.self_cross_ratio_model(a, k, st, beta=f["beta"], n_samples=1 << 12)
        r = float(homog.get("ratio_loss", homog.get("ratio_mean", math.nan)))
        per_type.append(r * abs(2 * p_t - 1) / consensus if consensus > 0 else math.inf)
    return min(per_type), per_type


def _mismatch_impl(config: Any, keys: Any, wrong_type: Any) -> tuple[Any, Any]:
    """(Trajectory, replay mass P on the confidently-wrong prompt type per round) over seeds.

    The mass is the gate's replay distribution P of round t summed over the prompts of the
    wrong type (alpha_x = 0), whatever their current pair's orientation; P is the one that
    sim.loop.round_step_with_replay returns, from the same step every run takes.
    """
    import jax
    import jax.numpy as jnp

    from sim.loop import (
        draw_noise,
        init_constants,
        init_state,
        round_noises,
        round_step_with_replay,
        trajectory,
    )

    def per_seed(key):
        noise = draw_noise(config, key)
        const = init_constants(config, noise)

        def body(state, xs):
            new, out, p = round_step_with_replay(state, xs[0], xs[1], const, config)
            out["wrong_type_mass"] = jnp.sum(jnp.where(wrong_type, p, 0.0))
            return new, out

        ts = jnp.arange(1, config.rounds + 1, dtype=jnp.int32)
        _, out = jax.lax.scan(body, init_state(const, config), (round_noises(noise), ts))
        mass = out.pop("wrong_type_mass")
        return trajectory(out, const, config), mass

    return jax.vmap(per_seed)(keys)


_JIT: dict[str, Callable] = {}


def mismatch_runs(config: Any, seeds: int, wrong_type: np.ndarray) -> tuple[Any, np.ndarray]:
    """:func:`_mismatch_impl` jitted (once per process) on seeds 0..seeds-1; numpy outputs."""
    import jax

    from sim.grid import seed_keys
    from sim.trajectory import to_numpy

    if "mismatch" not in _JIT:
        _JIT["mismatch"] = jax.jit(_mismatch_impl)
    _, keys = seed_keys(seeds)
    traj, mass = _JIT["mismatch"](config, keys, np.asarray(wrong_type, bool))
    return to_numpy(traj), np.asarray(mass, dtype=np.float64)


def mixed_at_theta0(fields: dict) -> float:
    """Mixed-pair probability 2 pi_0 (1 - pi_0) averaged over theta0's prompts (n = 2; K = 2
    reading of "mixed": the pair holds the correct candidate and an incorrect one)."""
    rng = np.random.default_rng(0)
    K = int(fields["K"])
    z = rng.standard_normal((4096, K))
    logits = fields["b"] * (z + fields["mu"] * (np.arange(K) == 0))
    pi = np.exp(logits - logits.max(1, keepdims=True))
    pi0 = pi[:, 0] / pi.sum(1)
    return float(np.mean(2 * pi0 * (1 - pi0)))


def mismatch_horizon_rounds(mix: dict, student: str, overrides: dict) -> float:
    """T3's horizon (theory.mismatch_horizon) for the confidently-wrong type of ``mix``.

    Rounds until that type's mean direction halves (its progress falls to a quarter) under
    DPO's saturation, with the student's eta, beta, s, the uniform expected batch weight
    w = 1/N and the mixed-pair probability at theta0 (:func:`mixed_at_theta0`); inf when s = 0
    (no self-term to saturate).
    """
    f = student_fields(student, **overrides)
    if f["s"] <= 0:
        return math.inf
    p_wrong = min(float(p) for p in mix["p"])
    return float(
        _theory().mismatch_horizon(
            p_wrong,
            eta=f["eta"],
            beta=f["beta"],
            s=f["s"],
            w=1.0 / f["N"],
            mixed=mixed_at_theta0(f),
        )
    )


def mismatch_discovery(student: str, overrides: dict) -> dict[str, float]:
    """T3's discovery time and EMA memory (theory.gate_discovery) for a regime."""
    f = student_fields(student, **overrides)
    return _theory().gate_discovery(
        N=int(f["N"]), B=int(f["B"]), mixed=mixed_at_theta0(f), lam=f["lam"]
    )


def theory_mixture_drift(mix: dict, student: str, overrides: dict) -> tuple[float, float]:
    """T1 for a mixture of prompt types: the first-round held-out change under uniform replay.

    First order, each prompt contributes its own E w_x G_x (E w_x = 1/N), so the mixture's drift
    is the fraction-weighted sum of the homogeneous drifts of its types. Returns (drift, SE).
    """
    th = _theory()
    f = student_fields(student, **overrides)
    st = {k: f[k] for k in ("d_s", "K", "mu", "s", "b", "N")}
    val = var = 0.0
    for frac, a, k in zip(mix["fractions"], *mismatch_types(mix)):
        est = th.first_round_drift_estimate(a, k, st, n=2, eta=f["eta"], beta=f["beta"])
        val += frac * est["heldout"]
        var += (frac * est["heldout_se"]) ** 2
    return float(val), float(math.sqrt(var))


def run_mismatch(p: dict, bar: Bar) -> Payload:
    """Heterogeneous verifiers, uniform vs progress-gated replay, per regime (T3).

    Each regime is a student configuration (overrides of ``student``: K, N, s) with its own mix
    of prompt types. Gates are named ``gate`` or ``gate/progress`` (``rank/reward``: the rank gate
    on the ``reward`` progress signal). Stored per regime: theory's self/cross ratio of the
    model's ``loss`` progress (min over types), theory's first-round drift of uniform replay and
    the replay mass on the confidently-wrong prompt type (alpha_x = 0) per round.
    """
    import sim

    regimes = list(p["regimes"])
    roles = [p["regimes"][r].get("role", "") for r in regimes]
    rows, masses, ratios, drifts, drift_se, signs, horizons = [], [], [], [], [], [], []
    discovery, memory = [], []
    for regime in regimes:
        spec_r = dict(p["regimes"][regime])
        mix = spec_r.pop("mix")
        spec_r.pop("role", None)
        spec_r.pop("window_from", None)
        N = int(student_fields(p["student"], **spec_r)["N"])
        a_x, k_x = mismatch_verifier(mix, N)
        wrong_type = a_x == 0.0
        bar(f"mismatch {regime}: theory")
        ratios.append(mismatch_self_cross(mix, p["student"], spec_r)[0])
        horizons.append(mismatch_horizon_rounds(mix, p["student"], spec_r))
        disc = mismatch_discovery(p["student"], spec_r)
        discovery.append(disc["discovery_rounds"])
        memory.append(disc["memory_observations"])
        d, dse = theory_mixture_drift(mix, p["student"], spec_r)
        drifts.append(d)
        drift_se.append(dse)
        sg = _theory().mismatch_signs(np.array(mix["p"]), np.array(mix["fractions"]))
        signs.append([sg["uniform"], sg["gated"]])
        per_gate, per_mass = [], []
        for spec in p["gates"]:
            bar(f"mismatch {spec} {regime}")
            gate, _, progress = spec.partition("/")  # "rank/reward": rank gate, reward progress
            cfg = sim.make_config(
                a_x,
                k_x,
                gate=gate,
                progress=progress or "loss",
                student=p["student"],
                rounds=p["rounds"],
                **spec_r,
            )
            traj, mass = mismatch_runs(cfg, p["seeds"], wrong_type)
            per_gate.append(traj)
            per_mass.append(mass)
        rows.append(_stack(per_gate))
        masses.append(np.stack(per_mass))
    traj = _stack(rows)  # (regime, gate, seed, ...)
    coords = {
        "regime": np.arange(len(regimes)),
        "gate": np.arange(len(p["gates"])),
        "seed": np.arange(p["seeds"]),
        "sign": np.arange(2),
        **round_coords(p["rounds"]),
    }
    data = trajectory_data(traj, ("regime", "gate", "seed"))
    data["wrong_type_mass"] = (("regime", "gate", "seed", "step"), np.stack(masses))
    data["theory_self_cross"] = (("regime",), np.array(ratios))
    data["theory_horizon"] = (("regime",), np.array(horizons))
    windows = []
    for regime, hz in zip(regimes, horizons):
        source = p["regimes"][regime].get("window_from")
        windows.append(horizons[roles.index(source)] if source in roles else hz)
    data["theory_window"] = (("regime",), np.array(windows))
    data["theory_discovery"] = (("regime",), np.array(discovery))
    data["theory_memory_observations"] = (("regime",), np.array(memory))
    data["theory_uniform_drift"] = (("regime",), np.array(drifts))
    data["theory_uniform_drift_se"] = (("regime",), np.array(drift_se))
    data["theory_mismatch_signs"] = (("regime", "sign"), np.array(signs))
    attrs = {
        "regime_names": json.dumps(regimes),
        "gate_names": json.dumps(p["gates"]),
        "regime_roles": json.dumps(roles),
    }
    return coords, data, attrs


def progress_experiment(
    alpha: float,
    kappa: float,
    fields: dict[str, Any],
    *,
    seed: int,
    draws: int,
    eta: float,
    n_batches: int = 20,
) -> dict[str, np.ndarray]:
    """T2 at theta0, per prompt, in plain numpy from paper/model.md (uniform replay, n = 2).

    One run's features and frozen verdicts (from ``seed``); then ``draws`` independent rounds at
    theta0, each: every prompt's fresh pair, ascent directions G_x = (beta/2)(phi_w - phi_l)
    (0 for void pairs), a batch of B i.i.d. uniform draws (weights w = count/B, E w = 1/N) and
    the update Delta = eta sum_y w_y G_y. Measured per prompt:

    * ``fresh`` progress: l(theta0; pair_x) - l(theta0 + Delta; pair_x) on an independent fresh
      pair of x: paper/model.md's ``loss`` progress (measured on x's newest pair, drawn after
      the update, independent of the pairs the update used); its expectation is THEORY.md's T2
      form eta <mu_x, sum_y w_y mu_y>;
    * ``trained`` progress: the same on the pair that was just trained on (THEORY.md's literal
      definition of progress), which adds the variance instead: a counter-example to that
      wording.

    Predictions (first order, E w = 1/N): fresh = eta [ (E||G||^2 - tr Sigma)/N + cross ],
    trained = eta [ E||G||^2/N + cross ], cross = sum_{y != x} <mu_x, mu_y>/N, with the moments
    E||G_x||^2, mu_x, tr Sigma_x computed exactly from the finite n = 2 pair law (``predicted_*``,
    SE 0); the same from a separate set of ``draws`` sampled pairs with delta-method SEs is kept
    as ``predicted_*_mc`` (a cross-check).
    """
    rng = np.random.default_rng(seed)
    N, K, d_s = int(fields["N"]), int(fields["K"]), int(fields["d_s"])
    B, beta, mu, s, b = int(fields["B"]), fields["beta"], fields["mu"], fields["s"], fields["b"]
    xi = rng.standard_normal((N, K, d_s))
    phi_s = xi + mu * (np.arange(K) == 0)[None, :, None] * (np.arange(d_s) == 0)[None, None, :]
    logits0 = b * phi_s[..., 0]
    pi = np.exp(logits0 - logits0.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    correct = np.arange(K) == 0
    verdict = np.where(rng.random((N, K)) < alpha, correct, ~correct)
    cdf = np.cumsum(pi, axis=1)

    def pairs(n_draws: int) -> tuple[np.ndarray, np.ndarray]:
        """(G_shared (D, N, d_s), G_tab (D, N, K)) of fresh n = 2 pairs at theta0."""
        u = rng.random((n_draws, N, 2))
        y = np.minimum((u[..., None] > cdf[None, :, None, :]).sum(-1), K - 1)  # (D, N, 2)
        v = np.take_along_axis(np.broadcast_to(verdict, (n_draws, N, K)), y, axis=2)
        score = kappa * (2.0 * v - 1.0) + rng.standard_normal((n_draws, N, 2))
        first_wins = score[..., 0] >= score[..., 1]
        yw = np.where(first_wins, y[..., 0], y[..., 1])
        yl = np.where(first_wins, y[..., 1], y[..., 0])
        onehot = np.eye(K)[yw] - np.eye(K)[yl]  # (D, N, K), 0 for void pairs
        g_s = 0.5 * beta * np.einsum("dnk,nkj->dnj", onehot, phi_s)
        return g_s, 0.5 * beta * s * onehot

    # moments from one set of draws
    gs, gt = pairs(draws)
    sq = (gs**2).sum(-1) + (gt**2).sum(-1)  # (D, N) ||G_x||^2
    m_s, m_t = gs.mean(0), gt.mean(0)  # mu_x
    second = sq.mean(0)
    var_s = ((gs - m_s) ** 2).sum(-1) + ((gt - m_t) ** 2).sum(-1)
    trace = var_s.sum(0) / (draws - 1)  # unbiased tr Sigma_x
    mean_sq = second - trace  # unbiased ||mu_x||^2
    total_s = m_s.sum(0)
    cross = (m_s @ total_s - (m_s**2).sum(-1)) / N  # sum_{y != x} <mu_x, mu_y> / N
    pred_fresh = eta * (mean_sq / N + cross)
    pred_trained = eta * (second / N + cross)
    # delta-method standard errors of the predictions: per draw, the first-order influence of
    # that draw's pairs (this prompt's and, through the cross-term, every other prompt's)
    dev_s, dev_t = gs - m_s, gt - m_t  # (D, N, .)
    others_s = dev_s.sum(1, keepdims=True) - dev_s  # sum over y != x of (G_y - mu_y), shared
    rest = total_s[None, :] - m_s  # (N, d_s) sum_{y != x} mu_y
    via_mu_x = np.einsum("nj,dnj->dn", rest, dev_s)  # <rest, G_x - mu_x>
    via_others = np.einsum("nj,dnj->dn", m_s, others_s)  # <mu_x, sum_{y!=x} (G_y - mu_y)>
    own = 2.0 * (np.einsum("nj,dnj->dn", m_s, dev_s) + np.einsum("nk,dnk->dn", m_t, dev_t))
    infl_fresh = (own + via_mu_x + via_others) / N
    infl_trained = ((sq - second) + via_mu_x + via_others) / N
    se_fresh = eta * infl_fresh.std(0, ddof=1) / math.sqrt(draws)
    se_trained = eta * infl_trained.std(0, ddof=1) / math.sqrt(draws)

    # exact first-order predictions: the pair law of an n = 2 pair is finite,
    # P(w = i, l = j) = 2 pi_i pi_j Phi((m_i - m_j)/sqrt2) with m = kappa (2 v - 1), so mu_x,
    # E||G_x||^2 and the cross-term need no sampling (the Monte Carlo moments above, kept as
    # ``*_mc``, carry second-order errors that the delta method misses when ||mu_x|| is small)
    m_sc = kappa * (2.0 * verdict - 1.0)  # (N, K) score means
    from scipy.special import ndtr

    win = ndtr((m_sc[:, :, None] - m_sc[:, None, :]) / math.sqrt(2.0))
    P = 2.0 * pi[:, :, None] * pi[:, None, :] * win
    P[:, np.arange(K), np.arange(K)] = 0.0  # void pairs carry no direction
    net = P.sum(2) - P.sum(1)  # (N, K) P(best = i) - P(worst = i)
    mu_s = 0.5 * beta * np.einsum("nk,nkj->nj", net, phi_s)  # (N, d_s)
    mu_t_sq = (0.5 * beta * s) ** 2 * (net**2).sum(1)
    dist = ((phi_s[:, :, None, :] - phi_s[:, None, :, :]) ** 2).sum(-1) + 2.0 * s**2
    second_x = (0.5 * beta) ** 2 * (P * dist).sum((1, 2))  # E||G_x||^2
    mu_sq_x = (mu_s**2).sum(1) + mu_t_sq  # ||mu_x||^2
    tot = mu_s.sum(0)
    cross_x = (mu_s @ tot - (mu_s**2).sum(1)) / N
    exact_fresh = eta * (mu_sq_x / N + cross_x)
    exact_trained = eta * (second_x / N + cross_x)

    # progress from independent draws
    gs, gt = pairs(draws)
    gs2, gt2 = pairs(draws)  # the independent probe pairs
    w = np.stack([np.bincount(rng.integers(0, N, B), minlength=N) for _ in range(draws)]) / B
    delta_s = eta * np.einsum("dn,dnj->dj", w, gs)  # (D, d_s)
    delta_t = eta * w[..., None] * gt  # (D, N, K): tabular rows move only where trained

    def progress(g_s: np.ndarray, g_t: np.ndarray) -> np.ndarray:
        h1 = 2.0 * (np.einsum("dj,dnj->dn", delta_s, g_s) + (delta_t * g_t).sum(-1))
        valid = (np.abs(g_t).sum(-1) > 0) | (np.abs(g_s).sum(-1) > 0)
        return np.where(valid, np.log(2.0) - np.logaddexp(0.0, -h1), 0.0)

    out = {}
    for name, pr in (("trained", progress(gs, gt)), ("fresh", progress(gs2, gt2))):
        out[f"measured_{name}"] = pr.mean(0)
        out[f"measured_{name}_se"] = pr.std(0, ddof=1) / math.sqrt(draws)
        # batch means over consecutive blocks of independent draws (T2's decision rule) and the
        # per-prompt skewness / excess kurtosis of single draws (products of Gaussian-like
        # vectors: heavy-tailed), which bound the batch means' departure from normality
        size = draws // n_batches
        out[f"measured_{name}_batches"] = pr[: size * n_batches].reshape(n_batches, size, N).mean(1)
        c = pr - pr.mean(0)
        m2 = np.maximum((c**2).mean(0), 1e-300)
        out[f"measured_{name}_skew"] = (c**3).mean(0) / m2**1.5
        out[f"measured_{name}_kurt"] = (c**4).mean(0) / m2**2 - 3.0
    out.update(
        predicted_fresh=exact_fresh,
        predicted_trained=exact_trained,
        predicted_fresh_se=np.zeros(N),  # exact: no Monte Carlo error
        predicted_trained_se=np.zeros(N),
        predicted_fresh_mc=pred_fresh,
        predicted_trained_mc=pred_trained,
        predicted_fresh_mc_se=se_fresh,
        predicted_trained_mc_se=se_trained,
        second_moment=second_x,
        trace_sigma=second_x - mu_sq_x,
        second_moment_mc=second,
        trace_sigma_mc=trace,
        cross=eta * cross_x,
        p_correct=pi[:, 0],
    )
    return out


def run_variance(p: dict, bar: Bar) -> Payload:
    """Per-prompt measured progress vs eta (E||G||^2 -/+ tr Sigma) at theta0 (T2).

    Runs :func:`progress_experiment` (numpy, paper/model.md) for each seed with a small step
    ``eta`` so that the O(eta^2) remainder of the first-order statement is negligible.
    """
    fields = student_fields(p["student"])
    rows = []
    for seed in range(p["seeds"]):
        bar(f"variance seed {seed + 1}/{p['seeds']}")
        rows.append(
            progress_experiment(
                p["alpha"], p["kappa"], fields, seed=seed, draws=p["draws"], eta=p["eta"]
            )
        )
    data = {
        k: (
            ("batch", "prompt") if rows[0][k].ndim == 2 else ("prompt",),
            np.concatenate([r[k] for r in rows], axis=-1),
        )
        for k in rows[0]
    }
    n_prompts = len(data["measured_trained"][1])
    data["seed_of_prompt"] = (
        ("prompt",),
        np.repeat(np.arange(p["seeds"]), n_prompts // p["seeds"]),
    )
    n_batches = data["measured_trained_batches"][1].shape[0]
    return {"prompt": np.arange(n_prompts), "batch": np.arange(n_batches)}, data, {}


def run_cap(p: dict, bar: Bar) -> Payload:
    """Verifiers along theory's compute power law: gain rate above threshold (T6)."""
    th = _theory()
    compute = np.logspace(0.0, p["log10_max"], p["points"])
    alphas = np.asarray(th.alpha_of_compute(compute), dtype=float)
    kappas = np.asarray(th.kappa_of_compute(compute), dtype=float)
    traj = run_points(
        list(zip(alphas, kappas)),
        p["seeds"],
        gate=p["gate"],
        student=p["student"],
        rounds=p["rounds"],
        bar=bar,
        label="cap",
    )
    coords = {"compute": compute, "seed": np.arange(p["seeds"]), **round_coords(p["rounds"])}
    data = trajectory_data(traj, ("compute", "seed"), fields=("heldout_acc", "train_acc"))
    data["alpha"] = (("compute",), alphas)
    data["kappa"] = (("compute",), kappas)
    bar("cap: theory")
    gain, gain_se = theory_first_round(alphas, kappas, p["student"])
    data["theory_gain"] = (("compute",), gain)
    data["theory_gain_se"] = (("compute",), gain_se)
    # T6's scale eta beta M / 2: the first-round gain of a perfect verifier (alpha 1, erf = 1)
    scale = float(theory_first_round(np.array([1.0]), np.array([30.0]), p["student"])[0][0])
    c_star = float(10.0 ** (p["log10_max"] / 2.0))  # epsilon chosen to put the cap mid-grid
    eps = float(th.marginal_gain(c_star, scale=scale))
    attrs = {"epsilon": eps, "scale": scale, "theory_cap": float(th.compute_cap(eps, scale=scale))}
    return coords, data, attrs


def run_replication(p: dict, bar: Bar) -> Payload:
    """The sign of the held-out change on two students (T1's student-independence)."""
    A, K = np.array(p["alphas"]), np.array(p["kappas"])
    traj = _stack(
        [
            run_grid(
                A,
                K,
                p["seeds"],
                gate=p["gate"],
                student=st,
                rounds=p["rounds"],
                bar=bar,
                label=f"replication {st}",
            )
            for st in p["students"]
        ]
    )
    coords = {
        "student": np.arange(len(p["students"])),
        "alpha": A,
        "kappa": K,
        "seed": np.arange(p["seeds"]),
        **round_coords(p["rounds"]),
    }
    data = trajectory_data(
        traj,
        ("student", "alpha", "kappa", "seed"),
        fields=("heldout_acc", "train_acc", "loss_trained"),
    )
    return coords, data, {"student_names": json.dumps(p["students"])}


RUNNERS: dict[str, Callable[[dict, Callable[[str], None]], Payload]] = {
    "phase": run_phase,
    "pairs": run_pairs,
    "silent": run_silent,
    "inversion": run_inversion,
    "mismatch": run_mismatch,
    "variance": run_variance,
    "cap": run_cap,
    "replication": run_replication,
}


# --------------------------------------------------------------------------------------------
# Cache and orchestration
# --------------------------------------------------------------------------------------------


def cached_path(out: Path, sweep: Sweep, fingerprint: str) -> Path:
    """Where the results file of ``sweep`` lives: ``sweeps/<name>-<hash>.nc``."""
    return out / "sweeps" / f"{sweep.name}-{sweep.hash(fingerprint)}.nc"


def is_cached(path: Path, digest: str) -> bool:
    """True if ``path`` is a readable results file carrying hash ``digest``."""
    if not path.is_file():
        return False
    try:
        return read_results(path).attrs.get("config_hash") == digest
    except (ValueError, OSError):
        return False


def ensure_sweep(
    out: Path,
    sweep: Sweep,
    fingerprint: str,
    bar: Callable[[str], None] = lambda s: None,
    runners: dict[str, Callable] | None = None,
) -> tuple[Path, bool]:
    """Run ``sweep`` unless its results file is cached; returns (path, reused)."""
    digest = sweep.hash(fingerprint)
    path = cached_path(out, sweep, fingerprint)
    if is_cached(path, digest):
        return path, True
    runner = (runners or RUNNERS)[sweep.name]
    if runners is None:
        enable_compilation_cache()
    coords, data, attrs = runner(sweep.params, bar)
    attrs = {
        **attrs,
        "name": sweep.name,
        "config": json.dumps(sweep.params, sort_keys=True, default=_jsonable),
        "config_hash": digest,
        "seeds": json.dumps(_seed_list(sweep.params.get("seeds", 0))),
        "code_fingerprint": fingerprint,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_results(path, coords, data, attrs)
    return path, False


def check_out_dir(out: str | os.PathLike) -> Path:
    """The output folder, created if needed; UsageError if it is a file or not writable."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out must be a directory, but {path} is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {path} is not writable: {exc.strerror or exc}") from None
    return path


def _progress(iterable, **kw):
    from tqdm.auto import tqdm

    return tqdm(iterable, file=sys.stderr, **kw)


def run_sweeps(
    out: Path, sweeps: Sequence[Sweep], *, quiet: bool = False, runners=None
) -> dict[str, dict[str, Any]]:
    """Ensure every sweep's results file; write and return the manifest.

    A sweep whose runner cannot run (RuntimeError: a piece of sim/ or theory/ it needs is
    missing) is recorded in the manifest with the reason; its figure and claims then report it.
    """
    fingerprint = code_fingerprint()
    manifest: dict[str, dict[str, Any]] = {}
    bar = _progress(sweeps, desc="sweeps", unit="sweep", disable=True if quiet else None)
    for sweep in bar:
        bar.set_postfix_str(sweep.name)
        entry: dict[str, Any] = {"hash": sweep.hash(fingerprint), "params": sweep.params}
        try:
            path, reused = ensure_sweep(
                out, sweep, fingerprint, lambda s: bar.set_postfix_str(s), runners
            )
            entry.update(file=str(path.relative_to(out)), reused=reused)
        except RuntimeError as exc:
            entry.update(file=None, reused=False, error=str(exc))
            bar.write(f"sweep {sweep.name}: not run: {exc}", file=sys.stderr)
        manifest[sweep.name] = entry
    atomic_write_json(out / "manifest.json", manifest)
    return manifest


def draw_figures(out: Path, *, quiet: bool = False) -> tuple[list[Path], dict[str, str]]:
    """Run every figure script on ``out``; PNG and PDF into ``out/figures``.

    Returns the files written and, per figure that could not be drawn, why (a missing sweep).
    """
    from figures import FIGURES

    paths: list[Path] = []
    missing: dict[str, str] = {}
    bar = _progress(FIGURES, desc="figures", unit="fig", disable=True if quiet else None)
    for name in bar:
        module = importlib.import_module(f"figures.{name}")
        try:
            paths += module.main(str(out), str(out / "figures"))
        except FileNotFoundError as exc:
            missing[name] = str(exc)
            bar.write(f"figure {name}: not drawn: {exc}", file=sys.stderr)
    return paths, missing


def assemble_paper(out: Path, figure_paths: Sequence[Path], claims: Sequence[Any]) -> Path:
    """``out/paper``: main.tex copied from the repository, figures and generated tables.

    main.tex sets ``\\graphicspath{{figures/}}`` and inputs ``generated/*.tex``, so the folder
    is self-contained: ``cd out/paper && pdflatex main.tex`` builds it.
    """
    from sim import claims as claims_mod

    paper = out / "paper"
    (paper / "figures").mkdir(parents=True, exist_ok=True)
    for pattern in ("*.tex", "*.bib", "*.md"):
        for src in PAPER_SRC.glob(pattern):
            shutil.copyfile(src, paper / src.name)
    for fig in figure_paths:
        shutil.copyfile(fig, paper / "figures" / fig.name)
    claims_mod.write_paper_tables(paper / "generated", list(claims))
    return paper


def build_pdf(paper: Path) -> tuple[Path | None, str]:
    """Build ``paper/main.pdf`` with latexmk, pdflatex or tectonic if one is installed."""
    engine = next((e for e in ("latexmk", "pdflatex", "tectonic") if shutil.which(e)), None)
    if engine is None:
        return None, "no TeX engine (latexmk, pdflatex, tectonic) installed: PDF build skipped"
    if not (paper / "main.tex").is_file():
        return None, "no main.tex: PDF build skipped"
    cmd = {
        "latexmk": ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
        "pdflatex": ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
        "tectonic": ["tectonic", "main.tex"],
    }[engine]
    try:
        for _ in range(2 if engine == "pdflatex" else 1):
            subprocess.run(cmd, cwd=paper, check=True, capture_output=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        return None, f"{engine} failed ({type(exc).__name__}); see {paper / 'main.log'}"
    return paper / "main.pdf", f"PDF built with {engine}: {paper / 'main.pdf'}"


def reproduce(out: str | os.PathLike, *, quick: bool = False, quiet: bool = False) -> int:
    """Everything: sweeps, figures, claims, paper.

    Returns 0 if every row of kind ``claim`` holds, else 1 (``boundary`` rows never decide it).
    """
    from sim import claims as claims_mod

    t0 = time.time()
    out_path = check_out_dir(out)
    manifest = run_sweeps(out_path, plan(quick), quiet=quiet)
    figure_paths, missing = draw_figures(out_path, quiet=quiet)
    claims = claims_mod.evaluate(out_path)
    written = claims_mod.write_claims(out_path, claims)
    paper_dir = assemble_paper(out_path, figure_paths, claims)
    pdf, note = build_pdf(paper_dir)
    reused = sum(1 for m in manifest.values() if m.get("reused"))
    failed_sweeps = [k for k, m in manifest.items() if m.get("error")]
    print(
        f"results:  {out_path / 'sweeps'} ({len(manifest)} sweeps, {reused} reused from cache"
        + (f", not run: {', '.join(failed_sweeps)}" if failed_sweeps else "")
        + ")"
    )
    print(
        f"figures:  {out_path / 'figures'} ({len(figure_paths)} files"
        + (f", not drawn: {', '.join(missing)}" if missing else "")
        + ")"
    )
    print(f"claims:   {written[0]}  {written[1]}")
    print(f"paper:    {paper_dir / 'main.tex'} ({note})")
    main = [c for c in claims if c.kind == "claim"]
    failing = [c for c in main if not c.holds]
    boundary = [c for c in claims if c.kind != "claim"]
    print(
        f"claims holding: {len(main) - len(failing)}/{len(main)}; boundary rows holding: "
        f"{sum(c.holds for c in boundary)}/{len(boundary)} "
        f"({'quick' if quick else 'full'} run, {time.time() - t0:.0f} s)"
    )
    not_holding = [c for c in boundary if not c.holds]
    if not_holding:
        sys.stderr.write(
            "boundary rows not holding (reported, exit status unaffected): "
            f"{', '.join(c.id for c in not_holding)}\n"
        )
    if failing:
        sys.stderr.write(f"failing claims: {', '.join(c.id for c in failing)}\n")
        for c in failing:
            sys.stderr.write(f"  {c.id}: {c.decision}\n")
        return 1
    return 0


def _handler(args: argparse.Namespace) -> int:
    return reproduce(args.out, quick=args.quick, quiet=args.quiet)


def register(subparsers: Any) -> None:
    """Add ``selfdpo reproduce`` to the CLI."""
    p = subparsers.add_parser(
        "reproduce",
        help="run every sweep, draw every figure, write the claims report and the paper",
        description="Run the sweeps (cached by configuration hash), draw every figure, "
        "write claims.json/claims.md and assemble the paper. Exits 1 naming any failing claim.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer seeds, rounds and grid points (a few minutes on 2 CPU cores)",
    )
    p.add_argument(
        "--out", default="results", metavar="DIR", help="output folder (default: ./results)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_handler)
