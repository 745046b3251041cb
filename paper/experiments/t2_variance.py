"""T2 (variance theorem): the model's ``loss`` progress against eta <mu_x, sum_y w_y mu_y>.

Sweep ``variance``: at theta0, per prompt, the simulator's own measurement
(``sim.progress_moments``: one step with weights w = 1/N on fresh pairs, progress on a further
independent fresh pair) against the first-order prediction eta (w (E||G||^2 - tr Sigma_x) +
cross) built by theory.expected_progress from moments of G_x estimated on independent draws.

Results layout (written and read here only), per prompt (all seeds' prompts concatenated):
``measured_fresh`` and ``_se`` (the measurement), ``predicted_fresh`` and ``_se`` (the mean and
standard error over ``moment_batches`` independent batches of moment draws, each corrected for
the plug-in bias of ||mu||^2), ``second_moment``, ``trace_sigma``, ``cross`` (eta times the
cross-term), ``seed_of_prompt``.
"""

from __future__ import annotations

import json
import math

import numpy as np

import sim
import theory
from paper.claims import Claim, Test, decide, powered_row
from paper.experiments import common
from sim.results import Results
from sim.stats import critical_k

SWEEP = "variance"
ROWS = ("T2",)
# pre-registered: per run, the total measured progress over its prompts within 10% of the total
# predicted (TOST); every prompt within k standard errors (Bonferroni) is required as well
T2_TEST = Test("equivalent", 0.1, 0.2, "%", 100.0)


def spec(quick: bool) -> dict:
    """The sweep's parameters (the same in both modes: T2 is cheap and needs its size)."""
    # eta small: the O(eta^2) remainder is negligible; runs (seeds) of 128 prompts each
    return dict(
        alpha=0.7,
        kappa=1.0,
        student="default",
        eta=0.01,
        draws=8000 if quick else 16000,
        moment_batches=8,
        pilot=2,
        min_seeds=3,
        max_seeds=4 if quick else 8,
    )


def _moments(config, run_key, key, draws: int) -> dict:
    return sim.progress_moments(config, key, draws, run_key=run_key)


def run(p: dict, bar: common.Bar) -> common.Payload:
    """Measured and predicted progress per prompt for each run (seed)."""
    import jax  # lazy: keys for sim's measurement

    cfg = common.base_config(
        p["student"], alpha=p["alpha"], kappa=p["kappa"], rounds=1, eta=p["eta"]
    )
    eta, nb = float(p["eta"]), int(p["moment_batches"])
    per_batch = p["draws"] // nb
    out: dict[str, list] = {
        k: []
        for k in (
            "measured_fresh",
            "measured_fresh_se",
            "predicted_fresh",
            "predicted_fresh_se",
            "second_moment",
            "trace_sigma",
            "cross",
            "seed_of_prompt",
        )
    }
    for seed in common.seed_range(p["seeds"]):
        bar(f"variance seed {seed}")
        run_key = jax.random.PRNGKey(seed)
        meas = _moments(cfg, run_key, jax.random.fold_in(run_key, 0), p["draws"])
        preds, seconds, traces, crosses = [], [], [], []
        for b in range(nb):
            m = _moments(cfg, run_key, jax.random.fold_in(run_key, 1 + b), per_batch)
            trace = m["trace_cov"] * per_batch / (per_batch - 1)  # unbiased tr Sigma_x
            w = m["weights"]
            # the cross-term runs through the shared block only (tabular coordinates are the
            # prompt's own); E||mu_hat||^2 = ||mu||^2 + tr Sigma / D: remove the plug-in bias
            ep = theory.expected_progress(m["mu_shared"], w, eta)
            mu_sq = (m["mu_shared"] ** 2).sum(1) + (m["mu_tabular"] ** 2).sum(1)
            preds.append(eta * w * (mu_sq - trace / per_batch) + ep["cross"])
            seconds.append(m["second_moment"])
            traces.append(trace)
            crosses.append(ep["cross"])
        preds = np.array(preds)
        out["measured_fresh"].append(meas["measured"])
        out["measured_fresh_se"].append(meas["measured_se"])
        out["predicted_fresh"].append(preds.mean(0))
        out["predicted_fresh_se"].append(preds.std(0, ddof=1) / math.sqrt(nb))
        out["second_moment"].append(np.mean(seconds, 0))
        out["trace_sigma"].append(np.mean(traces, 0))
        out["cross"].append(np.mean(crosses, 0))
        out["seed_of_prompt"].append(np.full(len(preds[0]), seed))
    data = {k: (("prompt",), np.concatenate(v)) for k, v in out.items()}
    return {"prompt": np.arange(len(data["measured_fresh"][1]))}, data, {}


def _stat(res: Results) -> np.ndarray:
    """(1, seed): per run, sum of measured progress over predicted, minus 1."""
    seeds = res["seed_of_prompt"].astype(int)
    meas, pred = res["measured_fresh"], res["predicted_fresh"]
    return np.array(
        [[meas[seeds == s].sum() / pred[seeds == s].sum() - 1.0 for s in np.unique(seeds)]]
    )


def claims(res: Results, meta: dict, pilot: Results | None = None) -> list[Claim]:
    """T2: the per-run total within the margin, and every prompt within k SE."""
    cid = "T2"
    statement = (
        "the model's loss progress (newest pair, after the update) is eta (second moment "
        "minus variance) of the preference gradient plus the cross-term, "
        "E[P_x] = eta (E w (E||G||^2 - tr Sigma_x) + cross) (THEORY.md's T2 form)"
    )
    cfg = json.loads(res.attrs["config"])
    pred, pse = res["predicted_fresh"], res["predicted_fresh_se"]
    meas, mse = res["measured_fresh"], res["measured_fresh_se"]
    z = (meas - pred) / np.sqrt(mse**2 + pse**2)
    n_p = len(pred)
    k = critical_k(int(cfg["moment_batches"]), n_p)
    d = decide(T2_TEST, _stat(res), None if pilot is None else _stat(pilot))
    per_prompt = bool(np.nanmax(np.abs(z)) <= k)
    if d["verdict"] == "holds" and not per_prompt:
        d = {**d, "verdict": "fails", "holds": False}
    detail = (
        f"{n_p} prompts (alpha={cfg['alpha']}, kappa={cfg['kappa']}, eta={cfg['eta']}; "
        f"measured by sim.progress_moments on {cfg['draws']} draws, predicted by "
        f"theory.expected_progress from moments of G_x on {cfg['draws']} independent draws in "
        f"{cfg['moment_batches']} batches); tested: the per-run ratio of total measured to total "
        f"predicted progress minus 1; also required: every prompt within k SE, max |z| = "
        f"{np.nanmax(np.abs(z)):.2f} vs k = {k:.2f} (Bonferroni over {n_p} prompts, at least 3) "
        f"({'met' if per_prompt else 'NOT met'}); mean z {np.mean(z):+.2f}; correlation "
        f"{np.corrcoef(pred, meas)[0, 1]:.3f}"
    )
    return [
        powered_row(
            cid,
            statement,
            T2_TEST,
            d,
            theory=0.0,
            theory_text="relative error of the predicted total progress",
            detail=detail,
            meta=meta,
        )
    ]
