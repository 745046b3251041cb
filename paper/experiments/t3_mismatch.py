"""T3 (direction mismatch) and its s -> 0 counterpart (the gate locks in the consensus).

Sweep ``mismatch``: heterogeneous verifiers (per-prompt alpha_x, kappa_x), uniform vs
progress-gated replay, in several regimes (student overrides K, N, s, eta, lam). Regimes are
chosen from theory (paper/theory.md, T3 and T3-discovery); see :data:`REGIMES`. Results layout
(written and read here only): Trajectory fields (regime, gate, seed, round|step); per regime
``theory_self_cross``, ``theory_horizon``, ``theory_window``, ``theory_discovery``,
``theory_memory_observations``, ``theory_uniform_drift`` (+ ``_se``) and
``theory_mismatch_signs`` (regime, sign); attrs ``regime_names``, ``gate_names``,
``regime_roles``.
"""

from __future__ import annotations

import json
import math

import numpy as np
from scipy.stats import norm

import sim
import theory
from paper.claims import Claim, Test, ci_text, decide, powered_row
from paper.experiments import common
from sim.results import Results
from sim.stats import mean_ci

SWEEP = "mismatch"
ROWS = ("T3", "T3-proportional", "T3-reward", "T3-consensus", "T3-short-horizon", "T3-default")

# THEORY.md T3's verifier: 85% of prompts with p = 0.6, 15% with p = 0.05, realised as
# (alpha_x = 1, Phi(sqrt2 kappa_x) = 0.6) and (alpha_x = 0, Phi(sqrt2 kappa_x) = 0.95).
MIX = {"fractions": [0.85, 0.15], "p": [0.6, 0.05]}
# The mismatch needs (i) self-dominated progress (theory.self_cross_ratio_model: about 0.5 for
# the default student, >= 10 for K = 2, N = 128, s = 20), (ii) theory's horizon
# (theory.mismatch_horizon: 124 rounds at eta = 0.01, 12 at 0.1) longer than the gate's
# discovery time (theory.gate_discovery: 32 rounds at N = 128, B = 32), (iii) an EMA that
# remembers one self-observation (lam <= 0.087). History: the short-horizon regime (eta = 0.1)
# was this package's first T3 regime, chosen on (i) alone; its failure led to (ii) and (iii),
# and the long-horizon regime was chosen after it. The s -> 0 regime uses equal fractions so
# that uniform replay's drift, E[2p - 1] = -0.35, is a clear (wrong) consensus to lock in.
# ``window_from``: the regime (by role) whose horizon is this regime's early window.
REGIMES = {
    "self-dominated, long horizon (K = 2, s = 20, η = 0.01, λ = 0.05)": {
        "K": 2,
        "N": 128,
        "s": 20.0,
        "eta": 0.01,
        "lam": 0.05,
        "mix": MIX,
        "role": "mismatch",
    },
    "self-dominated, short horizon (K = 2, s = 20, η = 0.1)": {
        "K": 2,
        "N": 128,
        "s": 20.0,
        "mix": MIX,
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
    "default student (K = 4, s = 4)": {"mix": MIX, "role": "boundary", "window_from": "short"},
}
ROUNDS = 200  # the long-horizon regime's window is 124 rounds
# History: this package's earlier pilot (seeds 0..31, uniform's window gain +0.09 pp, per-seed
# SD 0.33 pp) sat inside its 128 confirmation seeds. Now the pilot runs on seeds 10000.. that the
# confirmation (0..n-1) never uses, and n follows from the pilot's SD by the tests below.
GATES = ["uniform", "rank", "proportional", "rank/reward"]
# pre-registered: a mismatch is uniform's early change > 0 and the gate's < 0, smallest effect
# of interest 0.1 pp each; "no mismatch" rows: the gate's early change > -0.25 pp
# (non-inferiority); the consensus row: the gate pushes further along the consensus by >= 1 pp
MISMATCH_TEST = Test("greater", 0.001, 0.0025, " pp", 100.0)
NO_MISMATCH_TEST = Test("noninferior", 0.0025, 0.005, " pp", 100.0)
CONSENSUS_TEST = Test("greater", 0.01, 0.02, " pp", 100.0)


def spec(quick: bool) -> dict:
    """The sweep's parameters (the same in both modes)."""
    return dict(
        regimes=REGIMES,
        gates=GATES,
        student="default",
        rounds=ROUNDS,
        pilot=32,
        min_seeds=64,
        max_seeds=192,
    )


def prompt_types(mix: dict) -> tuple[list[float], list[float]]:
    """(alpha_t, kappa_t) of each prompt type: p >= 1/2 as alpha = 1, Phi(sqrt2 kappa) = p;
    p < 1/2 as alpha = 0, Phi(sqrt2 kappa) = 1 - p (L0 with alpha in {0, 1})."""
    alphas, kappas = [], []
    for p in mix["p"]:
        right = p >= 0.5
        alphas.append(1.0 if right else 0.0)
        kappas.append(float(norm.ppf(p if right else 1.0 - p) / math.sqrt(2.0)))
    return alphas, kappas


def mixed_at_theta0(fields: dict) -> float:
    """Mixed-pair probability 2 pi_0 (1 - pi_0) averaged over theta0's prompts (n = 2)."""
    pi0 = common.initial_policies(fields, 4096, seed=0)[:, 0]
    return float(np.mean(2 * pi0 * (1 - pi0)))


def self_cross(mix: dict, fields: dict) -> float:
    """T3's self/cross ratio of the model's ``loss`` progress, min over the types of ``mix``.

    theory.self_cross_ratio_model gives the homogeneous ratio; in a mixture (K = 2: m_y =
    (2 p_y - 1) m_y^0) the ratio of type t is that times |2 p_t - 1| / |E[2p - 1]|.
    """
    st = common.student_dict(fields)
    fr, p = np.asarray(mix["fractions"], float), np.asarray(mix["p"], float)
    consensus = abs(float(fr @ (2 * p - 1)))
    per_type = []
    for a, k, p_t in zip(*prompt_types(mix), p):
        r = theory.self_cross_ratio_model(a, k, st, beta=fields["beta"], n_samples=1 << 12)
        per_type.append(
            float(r["ratio_loss"]) * abs(2 * p_t - 1) / consensus if consensus > 0 else math.inf
        )
    return min(per_type)


def horizon(mix: dict, fields: dict) -> float:
    """theory.mismatch_horizon for the confidently-wrong type (inf when s = 0)."""
    if fields["s"] <= 0:
        return math.inf
    return float(
        theory.mismatch_horizon(
            min(float(p) for p in mix["p"]),
            eta=fields["eta"],
            beta=fields["beta"],
            s=fields["s"],
            w=1.0 / fields["N"],
            mixed=mixed_at_theta0(fields),
        )
    )


def mixture_drift(mix: dict, fields: dict) -> tuple[float, float]:
    """T1 for a mixture of prompt types: fraction-weighted first-round drifts, and the SE."""
    st = common.student_dict(fields)
    val = var = 0.0
    for frac, a, k in zip(mix["fractions"], *prompt_types(mix)):
        est = theory.first_round_drift_estimate(
            a, k, st, n=2, eta=fields["eta"], beta=fields["beta"]
        )
        val += frac * est["heldout"]
        var += (frac * est["heldout_se"]) ** 2
    return float(val), float(math.sqrt(var))


def _overrides(regime: dict) -> dict:
    return {k: v for k, v in regime.items() if k not in ("mix", "role", "window_from")}


def run(p: dict, bar: common.Bar) -> common.Payload:
    """Every regime under every gate (``rank/reward``: the rank gate on ``reward`` progress)."""
    names = list(p["regimes"])
    roles = [p["regimes"][r].get("role", "") for r in names]
    seeds = common.seed_range(p["seeds"])
    th = {k: [] for k in ("ratio", "horizon", "disc", "mem", "drift", "drift_se", "signs")}
    per_regime = []
    for name in names:
        reg = p["regimes"][name]
        over = _overrides(reg)
        fields = common.model_fields(p["student"], **over)
        a_x, k_x = sim.heterogeneous_verifier(
            reg["mix"]["fractions"], *prompt_types(reg["mix"]), int(fields["N"])
        )
        bar(f"mismatch {name}: theory")
        th["ratio"].append(self_cross(reg["mix"], fields))
        th["horizon"].append(horizon(reg["mix"], fields))
        disc = theory.gate_discovery(
            N=int(fields["N"]), B=int(fields["B"]), mixed=mixed_at_theta0(fields), lam=fields["lam"]
        )
        th["disc"].append(disc["discovery_rounds"])
        th["mem"].append(disc["memory_observations"])
        d, dse = mixture_drift(reg["mix"], fields)
        th["drift"].append(d)
        th["drift_se"].append(dse)
        sg = theory.mismatch_signs(np.array(reg["mix"]["p"]), np.array(reg["mix"]["fractions"]))
        th["signs"].append([sg["uniform"], sg["gated"]])
        trajs = []
        for spec_g in p["gates"]:
            gate, _, progress = spec_g.partition("/")
            cfg = common.base_config(
                p["student"], gate=gate, progress=progress or "loss", rounds=p["rounds"], **over
            )
            pts = {"alpha": a_x[None, :], "kappa": k_x[None, :]}
            trajs.append(common.grid(cfg, pts, seeds, bar, f"mismatch {spec_g}"))
        per_regime.append(common.stack([common.Trajectory(*(x[0] for x in t)) for t in trajs]))
    coords = {
        "regime": np.arange(len(names)),
        "gate": np.arange(len(p["gates"])),
        "seed": np.array(seeds),
        "sign": np.arange(2),
        **common.round_coords(p["rounds"]),
    }
    data = common.trajectory_data(common.stack(per_regime), ("regime", "gate", "seed"))
    windows = []
    for name, hz in zip(names, th["horizon"]):
        source = p["regimes"][name].get("window_from")
        windows.append(th["horizon"][roles.index(source)] if source in roles else hz)
    for key, var in (
        ("ratio", "theory_self_cross"),
        ("horizon", "theory_horizon"),
        ("disc", "theory_discovery"),
        ("mem", "theory_memory_observations"),
        ("drift", "theory_uniform_drift"),
        ("drift_se", "theory_uniform_drift_se"),
    ):
        data[var] = (("regime",), np.array(th[key]))
    data["theory_window"] = (("regime",), np.array(windows))
    data["theory_mismatch_signs"] = (("regime", "sign"), np.array(th["signs"]))
    attrs = {
        "regime_names": json.dumps(names),
        "gate_names": json.dumps(p["gates"]),
        "regime_roles": json.dumps(roles),
    }
    return coords, data, attrs


def claims(res: Results, meta: dict, pilot: Results | None = None) -> list[Claim]:
    """T3 and its variants, T3-consensus, and the two no-mismatch boundary regimes."""
    early, windows = _early(res)
    pe = None if pilot is None else _early(pilot)[0]
    return [
        _mismatch(res, meta, early, windows, pe, "rank", "mismatch"),
        _mismatch(res, meta, early, windows, pe, "proportional", "mismatch"),
        _mismatch(res, meta, early, windows, pe, "rank/reward", "mismatch"),
        _consensus(res, meta, early, windows, pe),
        _mismatch(res, meta, early, windows, pe, "rank", "short"),
        _mismatch(res, meta, early, windows, pe, "rank", "boundary"),
    ]


def _early(res: Results) -> tuple[np.ndarray, np.ndarray]:
    """Each regime's held-out change over its early window (theory's horizon, ``theory_window``;
    R/4 where there is none): (regime, gate, seed), and the windows in rounds."""
    h = res["heldout_acc"]  # (regime, gate, seed, round)
    R = h.shape[-1] - 1
    windows = np.array(
        [
            int(min(max(math.ceil(x), 1), R)) if math.isfinite(x) else max(R // 4, 1)
            for x in res["theory_window"]
        ]
    )
    early = np.stack([h[r, ..., windows[r]] - h[r, ..., 0] for r in range(h.shape[0])])
    return early, windows


def _index(res: Results, attr: str, name: str) -> int:
    return json.loads(res.attrs[attr]).index(name)


def _critical_mass(res: Results, r: int) -> tuple[float, float]:
    """Replay mass on the wrong type: the first-order critical value and theory's (2p-1)^2 one.

    Two prompt types (K = 2): the shared drift under replay mass m on type 2 (p_2 < 1/2) goes as
    (1 - m)(2 p_1 - 1) + m (2 p_2 - 1), < 0 iff m > (2 p_1 - 1) / ((2 p_1 - 1) + (1 - 2 p_2));
    self-dominated weights (2p - 1)^2 give m = f_2 (2 p_2 - 1)^2 / sum_t f_t (2 p_t - 1)^2.
    """
    mix = json.loads(res.attrs["config"])["regimes"][json.loads(res.attrs["regime_names"])[r]]
    mix = mix["mix"]
    (f1, p1), (f2, p2) = sorted(zip(mix["fractions"], mix["p"]), key=lambda t: -t[1])
    if not p1 > 0.5 > p2:
        return math.nan, math.nan
    d1, d2 = 2 * p1 - 1, 2 * p2 - 1
    return d1 / (d1 - d2), f2 * d2**2 / (f1 * d1**2 + f2 * d2**2)


def _mismatch_stat(early: np.ndarray, r: int, u: int, g: int, role: str) -> np.ndarray:
    """Per-seed statistics: (uniform, -gated) early changes for a mismatch; gated otherwise."""
    if role == "mismatch":
        return np.stack([early[r, u], -early[r, g]])
    return early[r, g][None]


def _mismatch(res, meta, early, windows, pilot_early, gate: str, role: str) -> Claim:
    short = gate.partition("/")[2] or gate
    if role == "mismatch":
        cid = "T3" if gate == "rank" else f"T3-{short}"
    else:
        cid = {"boundary": "T3-default", "short": "T3-short-horizon"}[role]
    how = "" if gate == "rank" else f" ({gate.replace('/', ' gate on ')} progress)"
    statement = {
        "boundary": "outside the self-dominated regime (default student, cross-dominated "
        f"progress) no direction mismatch is expected: progress-gated replay{how} does not "
        "turn uniform replay's early gain into a loss",
        "short": "self-dominated progress but DPO saturates the confidently-wrong prompts "
        "before the gate can see their self-term (theory's horizon < discovery time): no "
        f"direction mismatch is expected; progress-gated replay{how} does not turn uniform "
        "replay's early gain into a loss",
        "mismatch": "direction mismatch: with the heterogeneous verifier (85% p = 0.6, 15% "
        "p = 0.05) where the self-term dominates progress and the gate sees it before DPO "
        "saturates the confidently-wrong prompts, uniform replay gains held-out accuracy over "
        f"the early window while progress-gated replay{how} loses it",
    }[role]
    kind = "claim" if (role == "mismatch" and gate == "rank") else "boundary"
    r = json.loads(res.attrs["regime_roles"]).index(role)
    g, u = _index(res, "gate_names", gate), _index(res, "gate_names", "uniform")
    su, sg = np.sign(res["theory_mismatch_signs"][r])
    mu_, lou, hiu, _ = mean_ci(early[r, u], axis=0)
    mg, log_, hig, _ = mean_ci(early[r, g], axis=0)
    d, dlo, dhi, _ = mean_ci(early[r, g] - early[r, u], axis=0)
    m_star, m_theory = _critical_mass(res, r)
    decision = (
        f"{json.loads(res.attrs['regime_names'])[r]}: theory's self/cross ratio of the model's "
        f"loss progress {res['theory_self_cross'][r]:.3g} (min over prompt types; "
        f"self-dominated needs >> 1), horizon {res['theory_horizon'][r]:.3g} rounds vs the "
        f"gate's discovery time {res['theory_discovery'][r]:.3g} (mismatch needs horizon > "
        f"discovery), EMA memory {res['theory_memory_observations'][r]:.2g} self-observations "
        f"(needs >= 1); early window {int(windows[r])} rounds, {early.shape[-1]} paired seeds: "
        f"uniform {ci_text(mu_, lou, hiu, 100, ' pp')} (mismatch needs > 0), {gate} "
        f"{ci_text(mg, log_, hig, 100, ' pp')} (mismatch needs < 0), paired {gate} - uniform "
        f"{ci_text(d, dlo, dhi, 100, ' pp')}; theory's signs: E[2p-1] {su:+.0f}, "
        f"E[(2p-1)^3] {sg:+.0f}; first order, the gated drift is negative only if the replay "
        f"mass on the p = 0.05 type exceeds {m_star:.3g} (THEORY.md's (2p-1)^2 weights would "
        "give "
        + f"{m_theory:.3g}); "
        + (
            "holds if the mismatch is observed (theory's signs and both tests)"
            if role == "mismatch"
            else "holds if the gate does not lose more than the margin (non-inferiority)"
        )
    )
    test = MISMATCH_TEST if role == "mismatch" else NO_MISMATCH_TEST
    dd = decide(
        test,
        _mismatch_stat(early, r, u, g, role),
        None if pilot_early is None else _mismatch_stat(pilot_early, r, u, g, role),
    )
    if role == "mismatch" and not su > 0 > sg and dd["verdict"] == "holds":
        dd = {**dd, "verdict": "fails", "holds": False}  # theory's signs are part of the claim
    return powered_row(
        cid,
        statement,
        test,
        dd,
        theory=sg if role == "mismatch" else su,
        theory_text="sign of the gated drift, sign E[(2p-1)^3]; simulation: the worst tested "
        "early change (uniform's, or minus the gate's)"
        if role == "mismatch"
        else "no mismatch: sign E[2p-1] for every replay; simulation: the gate's early change",
        detail=decision,
        meta=meta,
        kind=kind,
    )


def _consensus(res, meta, early, windows, pilot_early, gate: str = "rank") -> Claim:
    cid = "T3-consensus"
    statement = (
        "with s -> 0 (shared block only, cross-dominated progress) the progress gate locks in "
        "the initial consensus: its early held-out change has uniform replay's sign and a "
        "larger size"
    )
    r = json.loads(res.attrs["regime_roles"]).index("consensus")
    g, u = _index(res, "gate_names", gate), _index(res, "gate_names", "uniform")
    mu_, lou, hiu, _ = mean_ci(early[r, u], axis=0)
    drift = float(res["theory_uniform_drift"][r])
    sign = float(np.sign(drift)) if drift != 0 else float(np.sign(mu_))
    m, lo, hi, _ = mean_ci(sign * (early[r, g] - early[r, u]), axis=0)
    decision = (
        f"{json.loads(res.attrs['regime_names'])[r]}: theory's first-round drift of uniform "
        f"replay {100 * drift:+.3g} pp/round (sign {sign:+.0f}: the consensus), self/cross "
        f"ratio {res['theory_self_cross'][r]:.3g}; early window {int(windows[r])} rounds (the "
        f"short-horizon regime's horizon), {early.shape[-1]} paired seeds: uniform "
        f"{ci_text(mu_, lou, hiu, 100, ' pp')} (must have theory's sign), sign-adjusted "
        f"{gate} minus uniform {ci_text(m, lo, hi, 100, ' pp')} (must be > 0)"
    )
    stat = [sign * early[r, u], sign * (early[r, g] - early[r, u])]
    pstat = None
    if pilot_early is not None:
        pstat = [sign * pilot_early[r, u], sign * (pilot_early[r, g] - pilot_early[r, u])]
    dd = decide(CONSENSUS_TEST, np.stack(stat), None if pstat is None else np.stack(pstat))
    return powered_row(
        cid,
        statement,
        CONSENSUS_TEST,
        dd,
        theory=None,
        theory_text="sign: gate amplifies the consensus; simulation: the worst tested change "
        "(uniform's along the consensus, or the gate's excess over it)",
        detail=decision + "; tested: uniform's change along the consensus and the gate's "
        "paired excess over it, both > 0",
        meta=meta,
    )
