"""Variance theorem (T2): measured progress against eta (E||G||^2 - tr Sigma), per prompt.

Reads sweep ``variance``: over (prompt,), ``predicted`` = eta (E||G_x||^2 - tr Sigma_x)
(estimated from fresh pairs; the self-term), ``measured`` (mean measured progress P_x) and
``measured_se`` (its standard error); optionally ``prompt_type`` (integer group) with labels in
attr ``prompt_type_names``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures._common import MARKERS, cli, colour, load, names, save, setup_matplotlib

STEM = "variance_theorem"


def main(results_dir: str, out_dir: str) -> list[Path]:
    """Scatter of measured vs predicted progress with 95% error bars and the identity line."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "variance")
    pred, meas = res["predicted"], res["measured"]
    se = res["measured_se"] if "measured_se" in res.data else np.zeros_like(meas)
    types = (
        res["prompt_type"].astype(int) if "prompt_type" in res.data else np.zeros(len(pred), int)
    )
    type_names = names(res, "prompt_type") if "prompt_type_names" in res.attrs else None

    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    lo = float(min(pred.min(), meas.min()))
    hi = float(max(pred.max(), meas.max()))
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot(
        [lo - pad, hi + pad],
        [lo - pad, hi + pad],
        color="0.4",
        lw=1,
        ls="--",
        label="identity (T2)",
    )
    for t in np.unique(types):
        sel = types == t
        label = type_names[t] if type_names and t < len(type_names) else "prompts"
        ax.errorbar(
            pred[sel],
            meas[sel],
            yerr=1.96 * se[sel],
            fmt=MARKERS[t % len(MARKERS)],
            ms=3,
            color=colour(t),
            alpha=0.8,
            lw=0.6,
            capsize=0,
            label=label,
        )
    ax.set_xlabel("η (E‖G_x‖² − tr Σ_x)  (loss units, nats per round)")
    ax.set_ylabel("measured progress P_x (nats per round)")
    ax.set_title("T2: progress is second moment minus variance\n(error bars: 95% CI)")
    ax.legend(loc="best", frameon=False)
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
