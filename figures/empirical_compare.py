"""The real loop against theory: measured vs predicted pair orientation and drift per verifier.

Reads only the comparison report JSON that ``selfdpo empirical tiny --out DIR`` or
``selfdpo empirical run --seeds ... --out DIR`` writes (``DIR/report.json``): either
``{"verifiers": [row, ...]}`` (tiny) or one row (run --seeds). A row has ``verifier`` and
``pooled``: per quantity ``mean``, ``ci`` (95% run-to-run t-interval over seeds) and ``values``
(one per seed). Left: L0, measured round-1 pair orientation against the predicted a_pair
(diagonal: agreement; the 1/2 lines: T1's threshold). Right: T1, measured held-out drift per
round against the predicted drift factor 2 a_pair - 1 (theory: the same sign, and a drift
proportional to the factor across verifiers).

``python -m figures.empirical_compare REPORT_DIR_OR_JSON [OUT_DIR]``
"""

from __future__ import annotations

import json
from pathlib import Path

from figures._common import cli, colour, save, setup_matplotlib

STEM = "empirical_compare"
MARKERS = ("o", "s", "^", "D", "v", "P")


def read_rows(path: str | Path) -> list[dict]:
    """The verifier rows of a report (a folder holding report.json, or the JSON file)."""
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    if not p.is_file():
        raise FileNotFoundError(f"no comparison report at {p}")
    rep = json.loads(p.read_text())
    rows = rep["verifiers"] if "verifiers" in rep else [rep]
    if not rows or any("pooled" not in r or "verifier" not in r for r in rows):
        raise ValueError(f"{p} is not an empirical comparison report")
    return rows


def _errorbar(ax, predicted: dict, measured: dict, mk: str, c, label: str) -> bool:
    """Measured against predicted, with both intervals; False when either value is missing."""
    x, xe = _point(predicted)
    y, ye = _point(measured)
    if x is None or y is None:
        return False
    ax.errorbar(
        x,
        y,
        xerr=None if xe is None else [[xe[0]], [xe[1]]],
        yerr=None if ye is None else [[ye[0]], [ye[1]]],
        fmt=mk,
        color=c,
        capsize=3,
        label=label,
    )
    return True


def _point(iv: dict) -> tuple[float | None, list[float] | None]:
    """(mean, [below, above] error-bar lengths) of a pooled quantity (None when missing)."""
    m = iv.get("mean")
    lo, hi = (iv.get("ci") or [None, None])[:2]
    if m is None:
        return None, None
    if lo is None or hi is None:
        return m, None
    return m, [m - lo, hi - m]


def main(report: str, out_dir: str) -> list[Path]:
    """Two panels (pair orientation, drift); error bars are 95% run-to-run t-intervals."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    rows = read_rows(report)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 4.0))
    for i, r in enumerate(rows):
        p, c, mk = r["pooled"], colour(i), MARKERS[i % len(MARKERS)]
        seeds = r.get("seeds", len(p["a_pair_measured"].get("values", [])))
        label = f"{r['verifier']} ({seeds} seeds)"
        _errorbar(ax1, p["a_pair_predicted"], p["a_pair_measured"], mk, c, label)
        if _errorbar(ax2, p["drift_factor_predicted"], p["drift_per_round"], mk, c, label):
            xs = p["drift_factor_predicted"].get("values") or []
            ys = p["drift_per_round"].get("values") or []
            if len(xs) == len(ys):
                ax2.scatter(xs, ys, s=10, color=c, alpha=0.4, marker=mk, linewidths=0)
    ax1.plot([0, 1], [0, 1], color="0.5", lw=0.8, ls="--")
    for f in (ax1.axhline, ax1.axvline):
        f(0.5, color="0.7", lw=0.8, ls=":")
    ax1.set_xlim(0, 1)
    ax1.set_ylim(0, 1)
    ax1.set_xlabel("predicted a_pair (L0 at the fitted α̂, κ̂)")
    ax1.set_ylabel("measured pair orientation, round 1")
    ax1.set_title("Pair orientation: measured vs predicted")
    ax1.legend(loc="upper left", frameon=False, fontsize=7)
    ax2.axhline(0, color="0.7", lw=0.8, ls=":")
    ax2.axvline(0, color="0.7", lw=0.8, ls=":")
    ax2.set_xlabel("predicted drift factor 2 a_pair − 1 (T1)")
    ax2.set_ylabel("measured held-out drift per round")
    ax2.set_title("Drift: sign and size against theory")
    fig.suptitle("Self-DPO on a real student: bars are 95% run-to-run intervals over seeds")
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
