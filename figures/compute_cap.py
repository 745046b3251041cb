"""Diminishing returns and the verifier compute cap (T6).

Reads sweep ``cap``: ``heldout_acc`` over (compute, seed, round) for verifiers whose
(``alpha``, ``kappa``) over (compute,) follow theory's power law in verifier compute, theory's
``theory_gain`` over (compute,) (the gain rate per round), and attrs ``epsilon`` (the marginal
gain per unit compute that sets the cap) and ``theory_cap`` (theory's cap in compute units).
The simulated gain rate is the first round's held-out change (the quantity theory's first-order
rate predicts); the mean change per round over the early window R/4 is drawn too, to show how
DPO's saturation bends it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from figures._common import band, cli, colour, load, mean_ci, save, setup_matplotlib

STEM = "compute_cap"


def gain_rate(h: np.ndarray, window: int | None = None) -> np.ndarray:
    """Held-out gain per round over the early window R_e = R // 4 (at least 1 round)."""
    r_e = max((h.shape[-1] - 1) // 4, 1) if window is None else int(window)
    return (h[..., r_e] - h[..., 0]) / r_e


def marginal(compute: np.ndarray, gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Finite-difference marginal gain per unit compute at the midpoints (geometric)."""
    c = np.asarray(compute, dtype=float)
    mid = np.sqrt(c[1:] * c[:-1])
    return mid, np.diff(gain, axis=-1) / np.diff(c)


def main(results_dir: str, out_dir: str) -> list[Path]:
    """Left: gain rate vs compute. Right: marginal gain per unit compute, epsilon and the cap."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "cap")
    c = res.coords["compute"]
    h = res["heldout_acc"]
    g = 100.0 * gain_rate(h, window=1)  # (compute, seed), pp in round 1
    g_early = 100.0 * gain_rate(h)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(7.6, 3.1))
    band(ax, c, g.T, color=colour(0), label="simulated, round 1 (95% CI)", marker="o", ms=3)
    ax.plot(
        c,
        g_early.mean(axis=1),
        color=colour(0),
        ls=":",
        lw=1,
        label="simulated, mean over rounds 1..R/4",
    )
    if "theory_gain" in res.data:
        ax.plot(
            c,
            100.0 * res["theory_gain"],
            color=colour(1),
            ls="--",
            label="theory, first order (T1/T6)",
        )
    ax.set_xscale("log")
    ax.set_xlabel("verifier compute c (relative units)")
    ax.set_ylabel("held-out gain rate (pp per round)")
    ax.set_title("diminishing returns above threshold")
    ax.legend(loc="best", frameon=False)

    mid, dg = marginal(c, g.T)  # (seed, compute-1)
    m, lo, hi, _ = mean_ci(dg, axis=0)
    ax2.plot(mid, m, color=colour(0), marker="o", ms=3, label="simulated, round 1 (95% CI)")
    ax2.fill_between(mid, lo, hi, color=colour(0), alpha=0.2, linewidth=0)
    if "theory_gain" in res.data:
        _, dth = marginal(c, 100.0 * res["theory_gain"])
        ax2.plot(mid, dth, color=colour(1), ls="--", label="theory")
    eps = res.attrs.get("epsilon")
    if eps is not None:
        ax2.axhline(100.0 * float(eps), color=colour(2), lw=1, ls=":", label="ε")
    cap = res.attrs.get("theory_cap")
    if cap is not None and np.isfinite(float(cap)):
        for a in (ax, ax2):
            a.axvline(float(cap), color=colour(3), lw=1, ls="-.")
        ax2.plot([], [], color=colour(3), ls="-.", label="theory's compute cap")
    ax2.set_xscale("log")
    ax2.set_xlabel("verifier compute c (relative units)")
    ax2.set_ylabel("marginal gain (pp per round per unit c)")
    ax2.set_title("T6: the verifier compute cap")
    ax2.legend(loc="best", frameon=False)
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
