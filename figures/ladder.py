"""The verifier ladder: per (rung, task, student) the simulated change against theory and the
target-task rubric accuracy; the silent regression on MMMU; confidence inversion by reading.

Reads sweep ``ladder`` (layout in paper/experiments/ladder/): ``delta`` (cell, seed),
``heldout_acc`` (cell, seed, round), ``loss_trained`` (cell, seed, step), per-cell ``cell_task``,
``cell_rung``, ``cell_student``, ``cell_main``, ``capability``, ``alpha``, ``kappa``,
``selection``, ``threshold``, ``theory_change``; attrs ``tasks``, ``students``, ``R``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from figures._common import cli, colour, load, mean_ci, save, setup_matplotlib

STEM = "ladder"
MARKERS = {"default": "o", "second": "s"}


def theory_scale(theory: np.ndarray, sim: np.ndarray) -> float:
    """Least-squares c in sim ~ c * theory (first-order sizes overshoot; the sign is the claim)."""
    ok = np.isfinite(theory) & np.isfinite(sim)
    den = float(np.sum(theory[ok] ** 2))
    return float(np.sum(theory[ok] * sim[ok]) / den) if den > 0 else float("nan")


def main(results_dir: str, out_dir: str) -> list[Path]:
    """Four panels: change by rung and task; change vs target-task rubric accuracy; MMMU
    held-out and DPO loss over rounds; damage by rung under the two readings of 8-23%."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "ladder")
    tasks = json.loads(res.attrs["tasks"])
    students = json.loads(res.attrs["students"])
    R = int(res.attrs["R"])
    task, rung = res["cell_task"].astype(int), res["cell_rung"].astype(int)
    stu, main_ = res["cell_student"].astype(int), res["cell_main"].astype(bool)
    d = 100.0 * res["delta"]  # (cell, seed) pp
    m, lo, hi, _ = mean_ci(d, axis=1)
    th = 100.0 * res["theory_change"]
    scale = theory_scale(th[main_], m[main_])

    fig, axes = plt.subplots(2, 2, figsize=(9.0, 6.6))
    ax = axes[0, 0]
    for t, name in enumerate(tasks):
        for s, sname in enumerate(students):
            idx = np.where((task == t) & (stu == s))[0]
            if idx.size == 0 or name == "MMMU-verdict":
                continue
            idx = idx[np.argsort(rung[idx])]
            x = rung[idx] + 1 + (s - 0.5) * 0.12
            ax.errorbar(
                x,
                m[idx],
                yerr=[m[idx] - lo[idx], hi[idx] - m[idx]],
                color=colour(t),
                marker=MARKERS.get(sname, "o"),
                ms=4,
                lw=1,
                capsize=2,
                mfc=colour(t) if s == 0 else "white",
                label=f"{name}" if s == 0 else None,
            )
            ax.plot(x, scale * th[idx], color=colour(t), ls="--", lw=0.8)
    ax.axhline(0, color="0.6", lw=0.8, ls=":")
    ax.set_xticks(range(1, 5))
    ax.set_xlabel("verifier rung (general capability)")
    ax.set_ylabel(f"Δ held-out after R = {R} rounds (pp)")
    ax.set_title(
        f"simulated (95% CI; filled {students[0]}, open {students[-1]}); "
        f"dashed: theory × {scale:.2f}"
    )
    ax.legend(loc="best", frameon=False)

    ax = axes[0, 1]
    margin = res["selection"] - res["threshold"]
    for t, name in enumerate(tasks):
        for s, sname in enumerate(students):
            idx = np.where((task == t) & (stu == s) & main_)[0]
            if idx.size:
                ax.scatter(
                    margin[idx],
                    m[idx],
                    color=colour(t),
                    marker=MARKERS.get(sname, "o"),
                    facecolors=colour(t) if s == 0 else "white",
                    s=22,
                    label=name if s == 0 else None,
                )
    ax.axhline(0, color="0.6", lw=0.8, ls=":")
    ax.axvline(0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("target-task selection accuracy − its threshold (T1)")
    ax.set_ylabel("Δ held-out (pp)")
    ax.set_title("the side of the threshold on the target task decides the sign")
    ax.legend(loc="best", frameon=False)

    ax = axes[1, 0]
    ax2 = ax.twinx()
    mmmu = tasks.index("MMMU")
    h, loss = res["heldout_acc"], res["loss_trained"]
    for r in range(4):
        idx = np.where((task == mmmu) & (stu == 0) & (rung == r))[0]
        if idx.size == 0:
            continue
        i = idx[0]
        rounds = np.arange(h.shape[-1])
        ax.plot(
            rounds, 100.0 * (h[i] - h[i][:, :1]).mean(0), color=colour(r), label=f"rung {r + 1}"
        )
        smooth = np.convolve(loss[i].mean(0), np.ones(5) / 5, mode="valid")  # 5-round mean
        ax2.plot(rounds[3 : 3 + smooth.size], smooth, color=colour(r), ls=":", lw=0.9)
    ax.axvline(R, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("round")
    ax.set_ylabel("Δ held-out (pp), solid")
    ax2.set_ylabel("DPO loss on trained pairs (5-round mean), dotted")
    ax.set_title(f"MMMU, {students[0]}: regression while the DPO loss falls (R dashed)")
    ax.legend(loc="lower left", frameon=False)

    ax = axes[1, 1]
    for k, name in enumerate(("MMMU", "MMMU-verdict")):
        if name not in tasks:
            continue
        idx = np.where((task == tasks.index(name)) & (stu == 0))[0]
        idx = idx[np.argsort(rung[idx])]
        ax.errorbar(
            rung[idx] + 1,
            -m[idx],
            yerr=[hi[idx] - m[idx], m[idx] - lo[idx]],
            color=colour(k + 4),
            marker="o",
            ms=4,
            capsize=2,
            label="8-23% = selection accuracy" if k == 0 else "8-23% = verdict accuracy α",
        )
        for i in idx:
            ax.annotate(
                f"α {res['alpha'][i]:.2f}, sel {res['selection'][i]:.2f}",
                (rung[i] + 1, -m[i]),
                fontsize=6,
                xytext=(4, -9 if k == 0 else 4),
                textcoords="offset points",
            )
    ax.set_xticks(range(1, 5))
    ax.set_xlabel("verifier rung (confidence κ rises)")
    ax.set_ylabel("damage = −Δ held-out (pp)")
    ax.set_title(f"MMMU, {students[0]}: inversion only in the verdict reading")
    ax.legend(loc="best", frameon=False)
    fig.suptitle("The verifier ladder: four rungs, three tasks, two students")
    fig.tight_layout()
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
