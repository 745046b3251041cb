"""Replication (T1): the same signs of held-out change on a second student.

Reads sweep ``replication``: ``heldout_acc`` over (student, alpha, kappa, seed, round) with
student labels in attr ``student_names``.
"""

from __future__ import annotations

from pathlib import Path

from figures._common import (
    LINESTYLES,
    band,
    cli,
    colour,
    config_of,
    load,
    names,
    save,
    setup_matplotlib,
)

STEM = "replication"


def main(results_dir: str, out_dir: str) -> list[Path]:
    """Final held-out change vs alpha, one colour per student, one line style per kappa."""
    setup_matplotlib()
    import matplotlib.pyplot as plt

    res = load(results_dir, "replication")
    students = names(res, "student")
    alphas, kappas = res.coords["alpha"], res.coords["kappa"]
    h = res["heldout_acc"]
    delta = 100.0 * (h[..., -1] - h[..., 0])  # (student, alpha, kappa, seed)
    fig, ax = plt.subplots(figsize=(4.6, 3.3))
    for s, student in enumerate(students):
        for j, k in enumerate(kappas):
            band(
                ax,
                alphas,
                delta[s, :, j].T,
                color=colour(s),
                ls=LINESTYLES[j % 4],
                marker="o",
                ms=3,
                label=f"{student} student, κ = {k:g}",
            )
    ax.axhline(0, color="0.6", lw=0.8, ls=":")
    ax.axvline(0.5, color="0.3", lw=1, ls="--", label="theory's threshold α = 1/2")
    ax.set_xlabel("verifier rubric accuracy α (fraction of verdicts correct)")
    ax.set_ylabel("final Δ held-out accuracy (percentage points)")
    gate = config_of(res).get("gate", "?")
    ax.set_title(
        f"Replication on a second student\n({h.shape[3]} seeds, {gate} replay; bands: 95% CI)"
    )
    ax.legend(loc="best", frameon=False, fontsize=6.5)
    return save(fig, out_dir, STEM)


if __name__ == "__main__":
    raise SystemExit(cli(main))
