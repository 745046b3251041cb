"""Parameters of one simulated run (paper/model.md), split the gymnax way.

``Params`` holds the numbers that only enter arithmetic (alpha, kappa, rho, beta, eta, mu, s, b,
lam, tau, temperature, staleness): a pytree whose leaves are traced, so a sweep over any of them
is one ``vmap``. ``Shape`` holds what sets array shapes or chooses code paths (n, K, d_s, N, N_h,
B, rounds, gate, progress): hashable and static. ``Config`` pairs them (``params`` traced,
``shape`` static, as marked on its fields) and reads either's fields as its own (``config.N``,
``config.alpha``). Defaults: the student's (``theory.STUDENTS``), the gate's
(``theory.GATE_DEFAULTS``) and those on the fields below. alpha and kappa are scalars
(homogeneous verifier) or per-prompt arrays of shape (N,).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from sim.limits import KAPPA_MAX, KAPPA_WHY
from theory.gates import GATE_DEFAULTS, check_gate, check_progress
from theory.student import get_student


def _traced(
    lo: float | None, hi: float | None, default: Any = dataclasses.MISSING, per_prompt=False
) -> Any:
    """A traced field valid in [lo, hi] (None = unbounded); per_prompt: () or (N,) (verifier)."""
    meta = {"range": (lo, hi), "per_prompt": per_prompt}
    return dataclasses.field(default=default, metadata=meta)


def _static(lo: int | None = None, default: Any = dataclasses.MISSING) -> Any:
    """A static field: an integer >= lo, or a name (lo None)."""
    return dataclasses.field(default=default, metadata={"static": True, "min": lo})


@dataclasses.dataclass(frozen=True)
class Params:
    """Traced parameters of a run; see paper/model.md for each symbol."""

    alpha: Any = _traced(0.0, 1.0, per_prompt=True)  # () or (N,) verdict (rubric) accuracy
    kappa: Any = _traced(0.0, KAPPA_MAX, per_prompt=True)  # () or (N,) confidence (sim.limits)
    mu: Any = _traced(None, None)  # competence shift of the correct candidate (student)
    s: Any = _traced(0.0, None)  # scale of the prompt-specific (tabular) block (student)
    b: Any = _traced(None, None)  # initial competence, theta0 = b u (student)
    rho: Any = _traced(0.0, 1.0, 0.0)  # fraction of verdicts redrawn fresh on every call
    beta: Any = _traced(0.0, None, 1.0)  # DPO inverse temperature
    eta: Any = _traced(0.0, None, 0.1)  # learning rate of optax.sgd
    lam: Any = _traced(0.0, 1.0, GATE_DEFAULTS["lam"])  # EMA weight of the smoothed progress
    tau: Any = _traced(None, None, GATE_DEFAULTS["tau"])  # threshold of the ``threshold`` gate
    temperature: Any = _traced(1e-6, None, GATE_DEFAULTS["temperature"])  # T of ``rank``
    staleness: Any = _traced(0.0, 1.0, GATE_DEFAULTS["staleness"])  # staleness weight, ``rank``


@dataclasses.dataclass(frozen=True)
class Shape:
    """Static settings of a run: array shapes and code paths."""

    K: int = _static(2)  # candidates per prompt (student)
    d_s: int = _static(1)  # shared feature dimension (student)
    n: int = _static(2, 2)  # samples per prompt per round
    N: int = _static(1, 128)  # train prompts
    N_h: int = _static(1, 256)  # held-out prompts
    B: int = _static(1, 32)  # batch size drawn from the replay distribution
    rounds: int = _static(1, 200)
    gate: str = _static(None, "rank")  # one of theory.GATES
    progress: str = _static(None, "loss")  # one of theory.PROGRESS


jax.tree_util.register_dataclass(Params)  # every field traced

PARAM_FIELDS = tuple(f.name for f in dataclasses.fields(Params))
SHAPE_FIELDS = tuple(f.name for f in dataclasses.fields(Shape))


@dataclasses.dataclass(frozen=True)
class Config:
    """A run's parameters: ``params`` (traced) and ``shape`` (static)."""

    params: Params
    shape: Shape = dataclasses.field(metadata={"static": True})

    def __getattr__(self, name: str) -> Any:
        if name in PARAM_FIELDS:
            return getattr(self.params, name)
        if name in SHAPE_FIELDS:
            return getattr(self.shape, name)
        raise AttributeError(f"Config has no field {name!r}")

    def replace(self, **changes: Any) -> Config:
        """A copy with the named Params or Shape fields changed (no validation)."""
        unknown = set(changes) - set(PARAM_FIELDS) - set(SHAPE_FIELDS)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        p = {k: v for k, v in changes.items() if k in PARAM_FIELDS}
        s = {k: v for k, v in changes.items() if k in SHAPE_FIELDS}
        return Config(dataclasses.replace(self.params, **p), dataclasses.replace(self.shape, **s))


jax.tree_util.register_dataclass(Config)  # params traced, shape static (marked on the field)


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
        why = f": {KAPPA_WHY}" if name == "kappa" else ""
        raise ValueError(f"{name} must be in [{lo_s}, {hi_s}], got {arr[bad].flat[0]:g}{why}")


def _check_int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def _param_range(name: str) -> tuple[float | None, float | None]:
    return Params.__dataclass_fields__[name].metadata["range"]


def defaults(student: str = "default", **overrides: Any) -> dict[str, Any]:
    """Every field of a run but alpha and kappa: the field defaults, the student's, overrides.

    Validated like :func:`make_config` (reading a student's fields needs no verifier).

    Raises:
        ValueError: an unknown student or field, or a value out of range.
    """
    spec = get_student(student).fields()
    unknown = set(overrides) - set(PARAM_FIELDS) - set(SHAPE_FIELDS)
    if unknown:
        raise ValueError(f"unknown config field(s): {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    scalars = [f for f in dataclasses.fields(Params) if not f.metadata["per_prompt"]]
    for f in dataclasses.fields(Shape) + tuple(scalars):
        has_default = f.default is not dataclasses.MISSING
        out[f.name] = overrides.get(f.name, spec.get(f.name, f.default if has_default else None))
    for f in dataclasses.fields(Shape):
        lo = f.metadata["min"]
        if lo is not None:
            out[f.name] = _check_int(f.name, out[f.name], lo)
    check_gate(out["gate"])
    check_progress(out["progress"])
    for f in scalars:
        _check(f.name, out[f.name], *f.metadata["range"])
        out[f.name] = float(out[f.name])
    return out


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
        gate: replay gate, one of ``theory.GATES``.
        progress: progress signal, one of ``theory.PROGRESS``.
        student: a key of ``theory.STUDENTS``.
        rounds: number of training rounds R >= 1.
        n: samples per prompt per round, >= 2.
        **overrides: any other Params or Shape field (e.g. N=512, eta=0.1, s=3.0).

    Raises:
        ValueError: an argument is out of range or unknown; the message names it.
    """
    fields = defaults(student, gate=gate, progress=progress, rounds=rounds, n=n, **overrides)
    for name, value in (("alpha", alpha), ("kappa", kappa)):  # the per-prompt fields
        _check(name, value, *_param_range(name))
        shape = np.shape(value)
        if shape not in ((), (fields["N"],)):
            raise ValueError(f"{name} must be a scalar or have shape ({fields['N']},), got {shape}")
        fields[name] = _leaf(value)
    return Config(
        Params(**{k: fields[k] for k in PARAM_FIELDS}),
        Shape(**{k: fields[k] for k in SHAPE_FIELDS}),
    )


def check_points(config: Config, points: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Validated grid points of traced parameters: name -> float32 array (G,) or (G, N).

    Raises:
        ValueError: an unknown or static name, a value out of range, a wrong shape, or names
            with different numbers of points.
    """
    out: dict[str, np.ndarray] = {}
    for name, values in dict(points).items():
        if name not in PARAM_FIELDS:
            kind = "a static field" if name in SHAPE_FIELDS else "not a parameter"
            raise ValueError(
                f"grid point name {name!r} is {kind}; traced parameters: {', '.join(PARAM_FIELDS)}"
            )
        arr = np.asarray(values, dtype=np.float64)
        per_prompt = Params.__dataclass_fields__[name].metadata["per_prompt"]
        if arr.ndim != 1 and not (per_prompt and arr.ndim == 2 and arr.shape[1] == config.N):
            want = f"(G,) or (G, {config.N})" if per_prompt else "(G,)"
            raise ValueError(f"grid points of {name} must have shape {want}, got {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"grid points of {name} are empty")
        _check(name, arr, *_param_range(name))
        out[name] = arr.astype(np.float32)
    sizes = {k: v.shape[0] for k, v in out.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"grid points must all have the same length G, got {sizes}")
    return out


def _leaf(value: Any) -> Any:
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr


def config_dict(config: Config) -> dict[str, Any]:
    """JSON-ready dict of every field of a config (Shape and Params; arrays as lists)."""
    out: dict[str, Any] = dataclasses.asdict(config.shape)
    for name in PARAM_FIELDS:
        arr = np.asarray(getattr(config.params, name), dtype=np.float64)
        out[name] = float(arr) if arr.ndim == 0 else arr.tolist()
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
