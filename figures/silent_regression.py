"""Silent regression (T4): held-out accuracy and DPO loss against rounds, twin axes.

Reads sweep ``silent``: ``heldout_acc`` over (gate, verifier, seed, round), ``loss_trained``
over (gate, verifier, seed, step), gate labels in attr ``gate_names`` and the verifiers'
``alpha`` and ``kappa`` over (verifier,).
"""

from __future__ import annotations

from pathlib import Path

from figures._common import band, cli, colour, load, names, save, setup_matplotlib

STEM = "silent_regression"


def main(results_dir: str, out_dir: str) -> list[Path]:
    """A panel per (gate, verifier): held-out change (left axis), training DPO loss (right)."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "silent")
    gates = names(res, "gate")
    h = res["heldout_acc"]  # (gate, verifier, seed, round)
    loss = res["loss_trained"]  # (gate, verifier, seed, step)
    rounds = res.coords["round"]
    steps = res.coords["step"]
    n_g, n_v = h.shape[:2]
    fig, axes = plt.subplots(n_g, n_v, figsize=(3.8 * n_v, 2.9 * n_g), squeeze=False)
    for g, gate in enumerate(gates):
        for v in range(n_v):
            ax = axes[g, v]
            ax.spines["right"].set_visible(True)
            delta = 100.0 * (h[g, v] - h[g, v][:, :1])
            band(ax, rounds, delta, color=colour(0), label="Δ held-out accuracy")
            ax.axhline(0, color="0.6", lw=0.8, ls=":")
            ax.set_xlabel("round")
            ax.set_ylabel("Δ held-out acc. (pp)", color=colour(0))
            ax2 = ax.twinx()
            band(ax2, steps, loss[g, v], color=colour(1), label="DPO loss (trained pairs)", ls="--")
            ax2.set_ylabel("DPO loss, trained pairs (nats)", color=colour(1))
            a, k = float(res["alpha"][v]), float(res["kappa"][v])
            ax.set_title(f"{gate} replay: α = {a:g}, κ = {k:g}")
            lines = ax.get_lines()[:1] + ax2.get_lines()[:1]
            ax.legend(lines, [ln.get_label() for ln in lines], loc="lower left", frameon=False)
    fig.suptitle(f"T4: held-out accuracy and training DPO loss ({h.shape[2]} seeds; bands: 95% CI)")
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
