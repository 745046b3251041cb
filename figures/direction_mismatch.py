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
    """One panel per regime (held-out change), plus replay weight on wrong-oriented pairs."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "mismatch")
    regimes, gates = names(res, "regime"), names(res, "gate")
    h = res["heldout_acc"]
    by_type = "wrong_type_mass" in res.data
    fw = res["wrong_type_mass"] if by_type else res["frac_wrong"]
    rounds, steps = res.coords["round"], res.coords["step"]
    n_r = len(regimes)
    fig, axes = plt.subplots(1, n_r + 1, figsize=(3.4 * (n_r + 1), 3.4), squeeze=False)
    for r, regime in enumerate(regimes):
        ax = axes[0, r]
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
        ax.set_title(textwrap.fill(regime, 34), fontsize="small")
        ax.set_xlabel("round")
        ax.set_ylabel("Δ held-out accuracy (percentage points)")
        ax.legend(loc="best", frameon=False, fontsize="x-small")
    ax = axes[0, n_r]
    for g, gate in enumerate(gates):  # the first (self-dominated) regime: T3's setting
        band(
            ax,
            steps,
            fw[0, g],
            color=colour(g),
            ls=LINESTYLES[g % len(LINESTYLES)],
            label=f"{gate} replay",
        )
    ax.set_xlabel("round")
    what = "the confidently-wrong prompt type" if by_type else "wrong-oriented pairs"
    ax.set_ylabel("replay mass (fraction)")
    ax.set_title(textwrap.fill(f"replay mass on {what}, {regimes[0]}", 40), fontsize="small")
    ax.legend(loc="best", frameon=False, fontsize="x-small")
    fig.suptitle(
        f"T3: heterogeneous verifier, uniform vs progress-gated replay "
        f"({h.shape[2]} seeds; bands: 95% CI)"
    )
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
