"""One experiment per claim: its sweep spec, its run on sim's engine, its decision rule.

Each module has ``SWEEP`` (its results file's name), ``ROWS`` (the claim ids it decides),
``spec(quick) -> dict`` (the sweep's JSON-able parameters), ``run(params, bar) -> (coords,
data, attrs)`` (the results file's contents) and ``claims(results, meta) -> list[Claim]``.
A module writes and reads its own results layout; the figures read the same files.
"""

from paper.experiments import (
    gate_noise,
    l0_pairs,
    ladder,
    replication,
    t1_drift,
    t1_phase,
    t1_threshold,
    t2_agated,
    t2_trajectory,
    t2_variance,
    t2b_neff,
    t3_mismatch,
    t4_silent,
    t5_inversion,
    t6_cap,
)

EXPERIMENTS = (
    l0_pairs,
    t1_drift,
    t1_phase,
    t1_threshold,
    t2_variance,
    t2_trajectory,
    t2_agated,
    t2b_neff,
    t3_mismatch,
    t4_silent,
    t5_inversion,
    gate_noise,
    t6_cap,
    replication,
    ladder,
)

__all__ = ["EXPERIMENTS"]
