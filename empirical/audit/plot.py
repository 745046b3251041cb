"""The audit's plot: each verifier on theory's (alpha, kappa) phase diagram with its intervals.

Matplotlib's own defaults (colour cycle) and the figures' diverging map name, so the audit needs
no palette of its own; a bare ``Figure`` (no pyplot) keeps no global state.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from empirical.audit.report import KAPPA_EVAL_MAX, PLOT_SUFFIXES, AuditRow
from sim.files import atomic_write
from theory import drift_rate
from theory.util import UsageError

__all__ = ["plot_phase"]

_CMAP = "RdBu"  # diverging and colour-blind safe; positive drift (gain) is blue
_MARKERS = "osD^vP*Xh<>"


def plot_phase(
    rows: Sequence[AuditRow], path: str | os.PathLike, *, n: int = 2, gate: str = "uniform"
) -> Path:
    """Draw each verifier on the (alpha, kappa) phase diagram with its interval bars.

    Background: theory's drift rate (T1 times the gate's T2 amplification; uniform replay's
    when the gate has no closed form, e.g. rank), sign and size on a diverging colour map
    centred at 0, and the alpha = 1/2 threshold line. PNG or PDF by the file's suffix; written
    atomically.
    """
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot file must end in .png or .pdf, got {path.name!r}")
    kmax = 1.0
    for r in rows:
        hi = r.fit.kappa_ci[1]
        kmax = max(kmax, r.fit.kappa, hi if math.isfinite(hi) else r.fit.kappa)
    kmax = min(kmax * 1.15, KAPPA_EVAL_MAX)
    A, K = np.meshgrid(np.linspace(0, 1, 201), np.linspace(0, kmax, 161))
    Z = np.asarray(drift_rate(A, K, n=n, gate=gate), float)
    shown = gate
    if not np.all(np.isfinite(Z)):
        Z, shown = np.asarray(drift_rate(A, K, n=n), float), "uniform"
    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.add_subplot()
    lim = float(np.abs(Z).max()) or 1.0
    # Raster background (imshow): a vector mesh makes PDFs slow and heavy.
    mesh = ax.imshow(
        Z,
        extent=(0.0, 1.0, 0.0, kmax),
        origin="lower",
        aspect="auto",
        cmap=_CMAP,
        vmin=-lim,
        vmax=lim,
        interpolation="bilinear",
    )
    fig.colorbar(mesh, ax=ax, label=f"predicted drift rate (T1, {shown} replay)")
    ax.axvline(0.5, color="black", lw=1.2, ls="--", label="threshold alpha = 1/2")
    for i, r in enumerate(rows):
        f = r.fit
        k_hi = f.kappa_ci[1] if math.isfinite(f.kappa_ci[1]) else kmax
        ax.errorbar(
            f.alpha,
            f.kappa,
            xerr=[[f.alpha - f.alpha_ci[0]], [f.alpha_ci[1] - f.alpha]],
            yerr=[[f.kappa - f.kappa_ci[0]], [k_hi - f.kappa]],
            fmt=_MARKERS[i % len(_MARKERS)],  # marker shape: a second cue beside colour
            mec="black",
            mew=0.8,
            ms=8,
            capsize=3,
            label=f"#{r.rank} {r.verifier} / {r.task}",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, kmax)
    ax.set_xlabel("rubric accuracy alpha")
    ax.set_ylabel("confidence kappa")
    ax.set_title(f"Verifier audit on the (alpha, kappa) phase diagram (n = {n})")
    # Legend below the axes so it never hides a verifier.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=7, frameon=False)
    fmt = path.suffix.lower()[1:]
    atomic_write(path, lambda p: fig.savefig(p, format=fmt, dpi=150, bbox_inches="tight"))
    return path
