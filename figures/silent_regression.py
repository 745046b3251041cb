"""Silent regression (T4): held-out accuracy and DPO loss against rounds, twin axes.

Reads sweep ``silent``: ``heldout_acc`` over (verifier, seed, round), ``loss_trained`` over
(verifier, seed, step) and the verifiers' ``alpha`` and ``kappa`` over (verifier,).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures._common import band, cli, colour, config_of, load, save, setup_matplotlib

STEM = "silent_regression"


def main(results_dir: str, out_dir: str) -> list[Path]:
    """One panel per verifier: held-out change (left axis) and training DPO loss (right axis)."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "silent")
    h = res["heldout_acc"]  # (verifier, seed, round)
    loss = res["loss_trained"]  # (verifier, seed, step)
    rounds = res.coords["round"]
    steps = res.coords["step"]
    n_v = h.shape[0]
    fig, axes = plt.subplots(1, n_v, figsize=(3.6 * n_v, 3.0), squeeze=False)
    for v in range(n_v):
        ax = axes[0, v]
        ax.spines["right"].set_visible(True)
        delta = 100.0 * (h[v] - h[v][:, :1])
        band(ax, rounds, delta, color=colour(0), label="Δ held-out accuracy")
        ax.axhline(0, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel("round")
        ax.set_ylabel("Δ held-out accuracy (percentage points)", color=colour(0))
        ax2 = ax.twinx()
        band(ax2, steps, loss[v], color=colour(1), label="DPO loss (trained pairs)", ls="--")
        ax2.set_ylabel("DPO loss on trained pairs (nats)", color=colour(1))
        a, k = float(res["alpha"][v]), float(res["kappa"][v])
        verdict = "improving" if np.mean(delta[:, -1]) > 0 else "regressing"
        ax.set_title(f"α = {a:g}, κ = {k:g} ({verdict})")
        lines = ax.get_lines()[:1] + ax2.get_lines()[:1]
        ax.legend(lines, [ln.get_label() for ln in lines], loc="lower left", frameon=False)
    gate = config_of(res).get("gate", "?")
    fig.suptitle(
        f"T4: the DPO loss falls whether the student improves or regresses "
        f"({h.shape[1]} seeds, {gate} replay; bands: 95% CI)"
    )
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
