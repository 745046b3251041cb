"""Variance theorem (T2): measured progress against eta (E||G||^2 -/+ tr Sigma), per prompt.

Reads sweep ``variance`` (per prompt, at theta0, uniform replay): ``measured_fresh`` (the
model's ``loss`` progress: x's newest pair, drawn after the update, independent of the pairs the
update used) and ``measured_trained`` (progress on the pair just trained on: THEORY.md's literal
definition), with ``*_se``, and the first-order predictions ``predicted_fresh`` =
eta (E w (E||G||^2 - tr Sigma) + cross) (THEORY.md's T2 form, which the model's loss progress
follows) and ``predicted_trained`` = eta (E w E||G||^2 + cross) (the literal definition adds the
variance: a counter-example to THEORY.md's wording), with ``predicted_*_se``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures._common import cli, colour, load, save, setup_matplotlib

STEM = "variance_theorem"

PANELS = (
    (
        "fresh",
        "model's loss progress (newest pair, after the update)",
        "η (E w (E‖G‖² − tr Σ) + cross)  (nats)",
    ),
    (
        "trained",
        "progress on the trained pair (THEORY.md's literal\ndefinition: counter-example)",
        "η (E w E‖G‖² + cross)  (nats)",
    ),
)


def main(results_dir: str, out_dir: str) -> list[Path]:
    """Two panels of measured vs predicted progress with 95% error bars and the identity line."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "variance")
    panels = [p for p in PANELS if f"measured_{p[0]}" in res.data]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.6), squeeze=False)
    for i, (ax, (name, title, xlabel)) in enumerate(zip(axes[0], panels)):
        pred, meas = res[f"predicted_{name}"], res[f"measured_{name}"]
        se = res[f"measured_{name}_se"]
        lo = float(min(pred.min(), meas.min()))
        hi = float(max(pred.max(), meas.max()))
        pad = 0.05 * (hi - lo or 1.0)
        ax.plot(
            [lo - pad, hi + pad],
            [lo - pad, hi + pad],
            color="0.4",
            lw=1,
            ls="--",
            label="identity (first order)",
        )
        ax.errorbar(
            pred,
            meas,
            yerr=1.96 * se,
            xerr=1.96 * res[f"predicted_{name}_se"],
            fmt="o",
            ms=2.5,
            color=colour(i),
            alpha=0.6,
            lw=0.5,
            capsize=0,
            label=f"prompts (n = {len(pred)})",
        )
        r = np.corrcoef(pred, meas)[0, 1]
        ax.set_title(f"{title}\ncorrelation {r:.3f}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("measured progress P_x (nats)")
        ax.legend(loc="upper left", frameon=False)
    fig.suptitle("T2: per-prompt progress at θ0 vs second moment ∓ variance (95% error bars)")
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
