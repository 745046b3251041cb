"""The replay gates and progress signals of THEORY.md, and the gates' default hyper-parameters.

This is the one definition: the simulator (``sim``), the numpy reference, the empirical loop and
the CLI all take the names and defaults from here.
"""

from __future__ import annotations

from types import MappingProxyType

GATES = ("uniform", "threshold", "rank", "proportional", "margin")
PROGRESS = ("loss", "reward")

# lam: EMA weight of the smoothed progress S; tau: threshold of the ``threshold`` gate;
# temperature: T of the ``rank`` gate (weights (1/rank)^(1/T)); staleness: the rank gate's
# staleness mixture weight.
GATE_DEFAULTS = MappingProxyType({"lam": 0.3, "tau": 0.0, "temperature": 1.0, "staleness": 0.1})


def check_gate(gate: str) -> str:
    """Return ``gate`` or raise ValueError naming the allowed gates."""
    if gate not in GATES:
        raise ValueError(f"gate must be one of {', '.join(GATES)}, got {gate!r}")
    return gate


def check_progress(progress: str) -> str:
    """Return ``progress`` or raise ValueError naming the allowed progress signals."""
    if progress not in PROGRESS:
        raise ValueError(f"progress must be one of {', '.join(PROGRESS)}, got {progress!r}")
    return progress
