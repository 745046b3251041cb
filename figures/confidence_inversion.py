"""Confidence inversion (T5): damage against alpha < 1/2 for several kappa, with T5's prediction.

Reads sweep ``inversion``: ``heldout_acc`` over (gate, alpha, kappa, seed, round) with gate
labels in attr ``gate_names`` (``uniform`` first), theory's ``theory_damage`` over
(alpha, kappa) (T5's damage rate, proportional to (1 - 2 alpha)(2 Phi(sqrt2 kappa) - 1)), and
the verifiers to compare in attr ``highlight`` (JSON list of [alpha, kappa]).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from figures._common import band, cli, colour, load, mean_ci, names, save, setup_matplotlib

STEM = "confidence_inversion"


def fitted_scale(pred: np.ndarray, observed: np.ndarray) -> float:
    """Least-squares c in observed ~ c * pred (T5 is a proportionality: one scale for all)."""
    pred, observed = np.ravel(pred), np.ravel(observed)
    ok = np.isfinite(pred) & np.isfinite(observed)
    denom = float(np.sum(pred[ok] ** 2))
    return float(np.sum(pred[ok] * observed[ok]) / denom) if denom > 0 else float("nan")


def main(results_dir: str, out_dir: str) -> list[Path]:
    """Left: final damage vs alpha (uniform replay). Right: worst drop, uniform vs gated."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "inversion")
    gates = names(res, "gate")
    alphas, kappas = res.coords["alpha"], res.coords["kappa"]
    h = res["heldout_acc"]  # (gate, alpha, kappa, seed, round)
    damage = -100.0 * (h[..., -1] - h[..., 0])  # percentage points lost
    worst = -100.0 * (h.min(axis=-1) - h[..., 0])
    g_u = gates.index("uniform") if "uniform" in gates else 0

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8.2, 3.2), gridspec_kw={"width_ratios": [3, 2]})
    m_u = damage[g_u].mean(axis=2)
    scale = fitted_scale(res["theory_damage"], m_u) if "theory_damage" in res.data else None
    for j, k in enumerate(kappas):
        band(
            ax,
            alphas,
            damage[g_u][:, j].T,
            color=colour(j),
            label=f"simulated, κ = {k:g}",
            marker="o",
            ms=3,
        )
        if scale is not None:
            ax.plot(alphas, scale * res["theory_damage"][:, j], color=colour(j), ls="--", lw=1)
    if scale is not None:
        ax.plot(
            [], [], color="0.3", ls="--", lw=1, label=f"T5 prediction (one scale, c={scale:.3g})"
        )
    ax.axhline(0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("verifier rubric accuracy α (failure regime α < 1/2)")
    ax.set_ylabel("damage = −final Δ held-out (percentage points)")
    ax.set_title(f"{gates[g_u]} replay, {h.shape[3]} seeds (bands: 95% CI)")
    ax.legend(loc="best", frameon=False)

    highlight = json.loads(res.attrs.get("highlight", "[]"))
    labels, width = [], 0.8 / max(len(gates), 1)
    for v, (a, k) in enumerate(highlight):
        i = int(np.argmin(np.abs(alphas - a)))
        j = int(np.argmin(np.abs(kappas - k)))
        labels.append(f"α={alphas[i]:g}, κ={kappas[j]:g}")
        for g, gname in enumerate(gates):
            mm, lo, hi, _ = mean_ci(worst[g, i, j], axis=0)
            ax2.bar(
                v + (g - (len(gates) - 1) / 2) * width,
                mm,
                width=width,
                color=colour(g),
                yerr=[[mm - lo], [hi - mm]],
                capsize=3,
                label=f"{gname} replay" if v == 0 else None,
            )
    ax2.set_xticks(range(len(labels)), labels)
    ax2.set_ylabel("worst drop = −min Δ held-out (pp)")
    ax2.set_title("amplification by the progress gate")
    ax2.legend(loc="best", frameon=False)
    fig.suptitle("T5: damage in the failure regime α < 1/2, against confidence κ")
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
