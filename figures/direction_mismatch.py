"""Direction mismatch (T3): uniform vs progress-gated replay with a heterogeneous verifier.

Reads sweep ``mismatch``: ``heldout_acc`` over (regime, gate, seed, round) and
``wrong_type_mass`` (replay mass on the confidently-wrong prompt type; older files:
``frac_wrong``, mass on wrong-oriented pairs) over (regime, gate, seed, step), with labels in
attrs ``regime_names`` (the mismatch regime first, then the others) and ``gate_names``
(``uniform`` and progress gates), and each regime's early window in ``theory_window`` (older
files: ``theory_horizon`` of the first regime).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from figures._common import LINESTYLES, band, cli, colour, load, names, save, setup_matplotlib

STEM = "direction_mismatch"


def main(results_dir: str, out_dir: str) -> list[Path]:
    """One panel per regime (held-out change) and one of replay mass, three panels a row."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "mismatch")
    regimes, gates = names(res, "regime"), names(res, "gate")
    h = res["heldout_acc"]
    by_type = "wrong_type_mass" in res.data
    fw = res["wrong_type_mass"] if by_type else res["frac_wrong"]
    rounds, steps = res.coords["round"], res.coords["step"]
    n_r = len(regimes)
    # At most three panels a row (the paper sets this figure at text width, about 6.5 in);
    # a spare slot in the last row holds the one legend.
    n_panels = n_r + 1
    ncols = min(3, n_panels)
    nrows = -(-n_panels // ncols)
    spare = nrows * ncols > n_panels
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.0, 2.5 * nrows), squeeze=False)
    flat = list(axes.ravel())
    for r, regime in enumerate(regimes):
        ax = flat[r]
        for g, gate in enumerate(gates):
            band(
                ax,
                rounds,
                100.0 * (h[r, g] - h[r, g][:, :1]),
                color=colour(g),
                label=f"{gate} replay",
                ls=LINESTYLES[g % len(LINESTYLES)],
            )
        ax.axhline(0, color="0.6", lw=0.8, ls=":")
        window = "theory_window" if "theory_window" in res.data else "theory_horizon"
        if window in res.data:  # T3's early window: theory's horizon (per regime if stored)
            hz = float(res[window][r if window == "theory_window" else 0])
            if 0 < hz < rounds[-1]:
                ax.axvline(hz, color="0.5", lw=0.8, ls="--")
        ax.set_title(textwrap.fill(f"({'abcdefgh'[r]}) {regime}", 36), fontsize="x-small")
        ax.set_xlabel("round", fontsize="small")
        ax.set_ylabel("Δ held-out acc. (pp)", fontsize="small")
        ax.tick_params(labelsize="x-small")
    ax = flat[n_r]
    for g, gate in enumerate(gates):  # the first (self-dominated) regime: T3's setting
        band(
            ax,
            steps,
            fw[0, g],
            color=colour(g),
            ls=LINESTYLES[g % len(LINESTYLES)],
            label=f"{gate} replay",
        )
    ax.set_xlabel("round", fontsize="small")
    what = "the confidently-wrong type" if by_type else "wrong-oriented pairs"
    ax.set_ylabel("replay mass", fontsize="small")
    ax.tick_params(labelsize="x-small")
    ax.set_title(
        textwrap.fill(f"({'abcdefgh'[n_r]}) replay mass on {what}, regime (a)", 36),
        fontsize="x-small",
    )
    handles, labels = flat[0].get_legend_handles_labels()
    for extra in flat[n_panels:]:
        extra.axis("off")
    if spare:
        flat[n_panels].legend(handles, labels, loc="center", frameon=False, fontsize="small")
    else:
        flat[0].legend(loc="best", frameon=False, fontsize="xx-small")
    fig.suptitle(
        f"T3: heterogeneous verifier, uniform vs progress-gated replay "
        f"({h.shape[2]} seeds; bands: 95% CI)",
        fontsize="small",
    )
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
