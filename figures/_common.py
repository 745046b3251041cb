"""Shared pieces of the figure scripts: palette, loading results files, seed intervals, saving.

Every figure script reads results files only (never runs the simulator). A results folder is
the ``--out`` folder of ``selfdpo reproduce``: it holds ``manifest.json`` (sweep name -> results
file) and ``sweeps/<name>-<hash>.nc``. A folder without a manifest is searched for
``<name>.nc`` or ``sweeps/<name>-*.nc``, so a hand-made results file works too.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from sim.files import atomic_write, atomic_write_json
from sim.results import Results, read_results
from sim.stats import mean_ci, t_quantile  # noqa: F401  (re-exported for the scripts)

MANIFEST = "manifest.json"

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
DIVERGING_CMAP = "RdBu"  # ColorBrewer diverging map marked colour-blind safe
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")


def colour(i: int) -> str:
    """The i-th colour of the palette (cycling)."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def write_manifest(results_dir: str | os.PathLike, entries: dict[str, dict]) -> Path:
    """Write ``manifest.json``: sweep name -> {``file`` (relative path) or ``error``, ...}."""
    return atomic_write_json(Path(results_dir) / MANIFEST, entries)


def read_manifest(results_dir: str | os.PathLike) -> dict[str, dict]:
    """The manifest of ``results_dir`` ({} when there is none)."""
    path = Path(results_dir) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {}


def results_path(results_dir: str | os.PathLike, name: str) -> Path:
    """Path of the results file of sweep ``name`` in ``results_dir``.

    Raises:
        FileNotFoundError: no results file for ``name`` is there.
    """
    root = Path(results_dir)
    entries = read_manifest(root)
    if entries:
        entry = entries.get(name) or {}
        if entry.get("file"):
            path = root / entry["file"]
            if path.is_file():
                return path
        if entry.get("error"):
            raise FileNotFoundError(f"sweep {name!r} was not run: {entry['error']}")
    direct = root / f"{name}.nc"
    if direct.is_file():
        return direct
    hits = sorted((root / "sweeps").glob(f"{name}-*.nc"), key=lambda p: p.stat().st_mtime)
    if hits:
        return hits[-1]
    raise FileNotFoundError(f"no results file for sweep {name!r} in {root}")


def load(results_dir: str | os.PathLike, name: str) -> Results:
    """Read the results file of sweep ``name`` (see :func:`results_path`)."""
    return read_results(results_path(results_dir, name))


def names(res: Results, coord: str) -> list[str]:
    """Labels of an integer-indexed categorical coordinate (JSON attr ``<coord>_names``)."""
    raw = res.attrs.get(f"{coord}_names")
    if raw is None:
        return [str(v) for v in res.coords[coord]]
    return list(json.loads(raw))


def band(ax, x, samples: np.ndarray, *, color: str, label: str, axis: int = 0, **kw) -> None:
    """Line of the seed mean with a shaded 95% t-interval band."""
    m, lo, hi, _ = mean_ci(samples, axis=axis)
    ax.plot(x, m, color=color, label=label, **kw)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)


def setup_matplotlib() -> None:
    """Headless backend and a readable, consistent style."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    matplotlib.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "font.size": 9,
            "axes.titlesize": 9,
            "axes.labelsize": 9,
            "legend.fontsize": 7.5,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "pdf.fonttype": 42,
        }
    )


def save(fig, out_dir: str | os.PathLike, stem: str) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.pdf`` in ``out_dir`` (atomically); close it."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = out / f"{stem}.{ext}"
        atomic_write(path, lambda p, ext=ext: fig.savefig(p, format=ext, bbox_inches="tight"))
        paths.append(path)
    plt.close(fig)
    return paths


def cli(main: Callable[[str, str], list[Path]], argv: Sequence[str] | None = None) -> int:
    """``python -m figures.<name> [RESULTS_DIR [OUT_DIR]]`` (defaults: results, results/figures)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 2 or any(a in ("-h", "--help") for a in args):
        sys.stderr.write("usage: python -m figures.<name> [RESULTS_DIR [OUT_DIR]]\n")
        return 2
    results_dir = args[0] if args else "results"
    out_dir = args[1] if len(args) > 1 else str(Path(results_dir) / "figures")
    try:
        paths = main(results_dir, out_dir)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        return 2
    for p in paths:
        print(p)
    return 0


def config_of(res: Results) -> dict:
    """The sweep's configuration (attr ``config``, JSON) as a dict; empty if absent."""
    raw = res.attrs.get("config")
    return json.loads(raw) if raw else {}
