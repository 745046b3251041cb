"""Pair accuracy (L0): closed form a_pair(alpha, kappa, n) against simulated orientation rates.

Reads sweep ``pairs``: ``pair_right`` and ``pair_wrong`` over (n, alpha, kappa, seed) (fractions
of train prompts whose first-round pair is right- / wrong-oriented) and theory's
``theory_pair_accuracy`` over (n, alpha, kappa_fine) (or over (n, alpha, kappa)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures._common import MARKERS, cli, colour, load, mean_ci, save, setup_matplotlib

STEM = "pair_accuracy"


def simulated_pair_accuracy(right: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    """Per-seed fraction of mixed pairs oriented correctly, right / (right + wrong)."""
    right = np.asarray(right, dtype=float)
    mixed = right + np.asarray(wrong, dtype=float)
    return np.divide(right, mixed, out=np.full_like(right, np.nan), where=mixed > 0)


def main(results_dir: str, out_dir: str) -> list[Path]:
    """Draw simulated vs closed-form pair accuracy, one panel per alpha, one colour per n."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "pairs")
    ns, alphas, kappas = res.coords["n"], res.coords["alpha"], res.coords["kappa"]
    acc = simulated_pair_accuracy(res["pair_right"], res["pair_wrong"])  # (n, a, k, seed)
    m, lo, hi, _ = mean_ci(acc, axis=3)
    fine = "kappa_fine" in res.coords and "theory_pair_accuracy" in res.data
    kx = res.coords["kappa_fine"] if fine else kappas

    fig, axes = plt.subplots(
        1, len(alphas), figsize=(2.6 * len(alphas) + 0.6, 3.0), sharey=True, squeeze=False
    )
    for j, a in enumerate(alphas):
        ax = axes[0, j]
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
        for i, n in enumerate(ns):
            c = colour(i)
            if "theory_pair_accuracy" in res.data:
                ax.plot(
                    kx,
                    res["theory_pair_accuracy"][i, j],
                    color=c,
                    lw=1.3,
                    label=f"L0 theory, n={int(n)}",
                )
            ax.errorbar(
                kappas,
                m[i, j],
                yerr=[m[i, j] - lo[i, j], hi[i, j] - m[i, j]],
                fmt=MARKERS[i % len(MARKERS)],
                ms=3.5,
                color=c,
                mfc="white",
                capsize=2,
                lw=0.9,
                label=f"simulated (95% CI), n={int(n)}",
            )
        ax.set_title(f"α = {a:g}")
        ax.set_xlabel("confidence κ (score SNR, unitless)")
        ax.set_ylim(0, 1)
    axes[0, 0].set_ylabel("pair accuracy a_pair\n(P[mixed pair oriented right])")
    axes[0, -1].legend(loc="best", frameon=False)
    n_seeds = acc.shape[3]
    fig.suptitle(f"L0: best-vs-worst pair orientation, closed form vs simulation ({n_seeds} seeds)")
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
