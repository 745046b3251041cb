"""Configuration of one simulated run (paper/model.md): a frozen dataclass registered as a pytree.

Numbers that only enter arithmetic (alpha, kappa, rho, beta, eta, mu, s, b, lam, tau,
temperature, staleness) are pytree leaves, so a sweep over them is one ``vmap``; numbers that
set array shapes or choose code paths (n, K, d_s, N, N_h, B, rounds, gate, progress) are static.
alpha and kappa are scalars (homogeneous verifier) or per-prompt arrays of shape (N,).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import jax
import numpy as np

from sim.students import STUDENTS

GATES = ("uniform", "threshold", "rank", "proportional", "margin")
PROGRESS = ("loss", "reward")

LEAVES = (
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
STATIC = ("n", "K", "d_s", "N", "N_h", "B", "rounds", "gate", "progress")


@dataclasses.dataclass(frozen=True)
class Config:
    """All parameters of one run; see paper/model.md for each symbol."""

    alpha: Any  # () or (N,) verdict (rubric) accuracy of the verifier
    kappa: Any  # () or (N,) verifier confidence (score signal-to-noise)
    rho: Any  # () fraction of verdicts redrawn fresh on every call
    beta: Any  # () DPO inverse temperature
    eta: Any  # () learning rate of optax.sgd
    mu: Any  # () competence shift of the correct candidate along u
    s: Any  # () scale of the prompt-specific (tabular) block
    b: Any  # () initial competence, theta0 = b u
    lam: Any  # () EMA weight of the progress smoothing
    tau: Any  # () threshold of the ``threshold`` gate
    temperature: Any  # () T of the ``rank`` gate
    staleness: Any  # () staleness mixture weight rho_st of the ``rank`` gate
    n: int = 2  # samples per prompt per round
    K: int = 4  # candidates per prompt
    d_s: int = 8  # shared feature dimension
    N: int = 128  # train prompts
    N_h: int = 256  # held-out prompts
    B: int = 32  # batch size drawn from the replay distribution
    rounds: int = 200
    gate: str = "rank"
    progress: str = "loss"


jax.tree_util.register_dataclass(Config, data_fields=list(LEAVES), meta_fields=list(STATIC))

DEFAULTS: dict[str, Any] = {
    "rho": 0.0,
    "beta": 1.0,
    "eta": 0.1,
    "lam": 0.3,
    "tau": 0.0,
    "temperature": 1.0,
    "staleness": 0.1,
    "N": 128,
    "N_h": 256,
    "B": 32,
}


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _check(name: str, value: Any, lo: float | None, hi: float | None = None) -> None:
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr)
    if lo is not None:
        bad |= arr < lo
    if hi is not None:
        bad |= arr > hi
    if np.any(bad):
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        rng = f"[{lo_s}, {hi_s}]"
        raise ValueError(f"{name} must be in {rng}, got {arr[bad].flat[0]:g}")


def _check_int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def make_config(
    alpha: Any = 0.8,
    kappa: Any = 2.0,
    *,
    gate: str = "rank",
    progress: str = "loss",
    student: str = "default",
    rounds: int = 200,
    n: int = 2,
    **overrides: Any,
) -> Config:
    """Build a validated Config from the named student, defaults and overrides.

    Args:
        alpha: verdict accuracy in [0, 1]; scalar or per-prompt array of shape (N,).
        kappa: confidence >= 0; scalar or per-prompt array of shape (N,).
        gate: replay gate, one of uniform, threshold, rank, proportional, margin.
        progress: progress signal, ``loss`` or ``reward``.
        student: a key of ``sim.STUDENTS``.
        rounds: number of training rounds R >= 1.
        n: samples per prompt per round, >= 2.
        **overrides: any other Config field (e.g. N=512, eta=0.1, s=3.0).

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.
    """
    _check_choice("gate", gate, GATES)
    _check_choice("progress", progress, PROGRESS)
    _check_choice("student", student, tuple(STUDENTS))
    unknown = set(overrides) - set(LEAVES) - set(STATIC)
    if unknown:
        raise ValueError(f"unknown config field(s): {', '.join(sorted(unknown))}")
    fields: dict[str, Any] = {**DEFAULTS, **STUDENTS[student], **overrides}
    fields.update(gate=gate, progress=progress, rounds=rounds, n=n)
    for name in ("n",):
        fields[name] = _check_int(name, fields[name], 2)
    for name in ("K",):
        fields[name] = _check_int(name, fields[name], 2)
    for name in ("d_s", "N", "N_h", "B", "rounds"):
        fields[name] = _check_int(name, fields[name], 1)
    _check("alpha", alpha, 0.0, 1.0)
    _check("kappa", kappa, 0.0)
    for name, lo, hi in (
        ("rho", 0.0, 1.0),
        ("beta", 0.0, None),
        ("eta", 0.0, None),
        ("mu", None, None),
        ("s", 0.0, None),
        ("b", None, None),
        ("lam", 0.0, 1.0),
        ("tau", None, None),
        ("staleness", 0.0, 1.0),
    ):
        _check(name, fields[name], lo, hi)
    _check("temperature", fields["temperature"], 1e-6)
    n_prompts = fields["N"]
    for name, value in (("alpha", alpha), ("kappa", kappa)):
        shape = np.shape(value)
        if shape not in ((), (n_prompts,)):
            raise ValueError(f"{name} must be a scalar or have shape ({n_prompts},), got {shape}")
    fields["alpha"] = _leaf(alpha)
    fields["kappa"] = _leaf(kappa)
    for name in LEAVES[2:]:
        fields[name] = float(fields[name])
    return Config(**fields)


# valid range (lo, hi) of every traced leaf; None = unbounded
RANGES: dict[str, tuple[float | None, float | None]] = {
    "alpha": (0.0, 1.0),
    "kappa": (0.0, None),
    "rho": (0.0, 1.0),
    "beta": (0.0, None),
    "eta": (0.0, None),
    "mu": (None, None),
    "s": (0.0, None),
    "b": (None, None),
    "lam": (0.0, 1.0),
    "tau": (None, None),
    "temperature": (1e-6, None),
    "staleness": (0.0, 1.0),
}


def check_points(config: Config, points: Any) -> dict[str, np.ndarray]:
    """Validated grid points of traced parameters: name -> float32 array (G,) or (G, N).

    Raises:
        ValueError: an unknown or static name, a value out of range, a wrong shape, or names
            with different numbers of points.
    """
    out: dict[str, np.ndarray] = {}
    for name, values in dict(points).items():
        if name not in LEAVES:
            kind = "a static field" if name in STATIC else "not a parameter"
            raise ValueError(
                f"grid point name {name!r} is {kind}; traced parameters: {', '.join(LEAVES)}"
            )
        arr = np.asarray(values, dtype=np.float64)
        per_prompt = name in ("alpha", "kappa")
        if arr.ndim != 1 and not (per_prompt and arr.ndim == 2 and arr.shape[1] == config.N):
            want = f"(G,) or (G, {config.N})" if per_prompt else "(G,)"
            raise ValueError(f"grid points of {name} must have shape {want}, got {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"grid points of {name} are empty")
        _check(name, arr, *RANGES[name])
        out[name] = arr.astype(np.float32)
    sizes = {k: v.shape[0] for k, v in out.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"grid points must all have the same length G, got {sizes}")
    return out


def _leaf(value: Any) -> Any:
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr


def config_dict(config: Config) -> dict[str, Any]:
    """JSON-ready dict of a config (arrays as lists)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if isinstance(v, str | int | float):
            out[f.name] = v
        else:
            arr = np.asarray(v, dtype=np.float64)
            out[f.name] = float(arr) if arr.ndim == 0 else arr.tolist()
    return out


def config_hash(config: Config | dict[str, Any]) -> str:
    """Short stable hash of a config (or of its dict)."""
    d = config if isinstance(config, dict) else config_dict(config)
    text = json.dumps(d, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def heterogeneous_verifier(
    fractions: Any, alphas: Any, kappas: Any, N: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt (alpha_x, kappa_x) arrays for a mixture of prompt types (THEORY.md T3).

    Prompt type j gets round(fractions[j] * N) consecutive prompts (the last type takes the
    remainder). Since every computation is exchangeable over prompts, order does not matter.

    Raises:
        ValueError: fractions do not sum to 1, lengths differ, or values are out of range.
    """
    fr = np.asarray(fractions, dtype=float).ravel()
    al = np.asarray(alphas, dtype=float).ravel()
    ka = np.asarray(kappas, dtype=float).ravel()
    if not (fr.size == al.size == ka.size) or fr.size == 0:
        raise ValueError("fractions, alphas and kappas must have the same nonzero length")
    _check("fractions", fr, 0.0, 1.0)
    if abs(fr.sum() - 1.0) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {fr.sum():g}")
    _check("alphas", al, 0.0, 1.0)
    _check("kappas", ka, 0.0)
    N = _check_int("N", N, 1)
    counts = np.round(fr * N).astype(int)
    counts[-1] = N - counts[:-1].sum()
    if counts[-1] < 0:
        raise ValueError("fractions round to more than N prompts")
    return np.repeat(al, counts), np.repeat(ka, counts)
