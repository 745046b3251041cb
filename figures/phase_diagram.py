"""Phase diagram (T1): final change of held-out accuracy over (alpha, kappa), theory's threshold.

Reads sweep ``phase``: ``heldout_acc`` over (alpha, kappa, seed, round) and, when present,
``theory_threshold`` over kappa (the alpha at which theory's a_pair = 1/2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures._common import (
    DIVERGING_CMAP,
    cli,
    config_of,
    load,
    mean_ci,
    save,
    setup_matplotlib,
)

STEM = "phase_diagram"


def main(results_dir: str, out_dir: str) -> list[Path]:
    """Draw the phase diagram from ``results_dir`` into ``out_dir`` (PNG + PDF)."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "phase")
    alpha, kappa = res.coords["alpha"], res.coords["kappa"]
    h = res["heldout_acc"]  # (alpha, kappa, seed, round)
    delta = 100.0 * (h[..., -1] - h[..., 0])
    m, lo, hi, _ = mean_ci(delta, axis=2)
    lim = float(np.nanmax(np.abs(m))) or 1.0

    fig, ax = plt.subplots(figsize=(4.6, 3.5))
    mesh = ax.pcolormesh(
        alpha, kappa, m.T, cmap=DIVERGING_CMAP, vmin=-lim, vmax=lim, shading="nearest"
    )
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("final Δ held-out accuracy (percentage points)")
    pos = kappa > 0  # at kappa = 0 every change is noise around 0: no contour there
    if len(alpha) > 1 and pos.sum() > 1:
        ax.contour(alpha, kappa[pos], m[:, pos].T, levels=[0.0], colors="black", linewidths=1.2)
    ax.plot([], [], color="black", lw=1.2, label="simulation: zero contour (seed mean, κ > 0)")
    undecided = (lo <= 0) & (hi >= 0)
    aa, kk = np.meshgrid(alpha, kappa, indexing="ij")
    ax.scatter(
        aa[undecided], kk[undecided], s=4, color="0.3", marker=".", label="95% CI contains 0"
    )
    if "theory_threshold" in res.data:
        ax.plot(
            res["theory_threshold"],
            kappa,
            ls="--",
            color="#E69F00",
            lw=1.6,
            label="theory (T1): a_pair = 1/2",
        )
    ax.set_xlabel("verifier rubric accuracy α (fraction of verdicts correct)")
    ax.set_ylabel("verifier confidence κ (score SNR, unitless)")
    n_seeds = h.shape[2]
    rounds = h.shape[-1] - 1
    gate = config_of(res).get("gate", "?")
    ax.set_title(f"Held-out change after {rounds} rounds ({n_seeds} seeds, {gate} replay)")
    ax.legend(loc="upper left", frameon=True, framealpha=0.85)
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
