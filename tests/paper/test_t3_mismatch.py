"""T3's experiment: decision rules on synthetic results, and the regimes on the simulator."""

import numpy as np
import pytest

import sim
from paper.experiments import common, t3_mismatch
from tests.figures import synthetic
from tests.paper.helpers import decide, edit


def test_T3_rows_and_kinds(synth):
    rows = decide(t3_mismatch, synth)
    t3 = rows["T3"]
    assert t3.holds and t3.kind == "claim"
    assert "self/cross ratio of the model's loss progress 13.7" in t3.decision
    assert "discovery time" in t3.decision and "EMA memory 1.7" in t3.decision
    for cid in ("T3-proportional", "T3-reward", "T3-default", "T3-short-horizon"):
        assert rows[cid].holds and rows[cid].kind == "boundary"
    assert rows["T3-consensus"].holds and rows["T3-consensus"].kind == "claim"


def test_T3_windows_are_each_regimes_own(synth):
    from sim.results import read_results

    early, windows = t3_mismatch._early(read_results(synth / "mismatch.nc"))
    R = synthetic.R
    assert list(windows) == [R // 2, R // 4, R // 4, R // 4] and early.shape[:2] == (4, 4)


def test_T3_fails_without_a_mismatch(own):
    def flip(h):  # the rank gate gains in the self-dominated regime
        h[0, 1] = 0.45 + (h[0, 1] - 0.45) * -1.0
        return h

    edit(own / "mismatch.nc", "heldout_acc", flip)
    assert not decide(t3_mismatch, own)["T3"].holds


def test_T3_no_mismatch_rows_fail_if_a_mismatch_appears(own):
    def flip(h):
        h[3, 1] = 0.45 - (h[3, 1] - 0.45) * 2.0
        h[1, 1] = 0.45 - (h[1, 1] - 0.45) * 2.0
        return h

    edit(own / "mismatch.nc", "heldout_acc", flip)
    rows = decide(t3_mismatch, own)
    assert not rows["T3-default"].holds and not rows["T3-short-horizon"].holds


def test_prompt_types_realise_each_pair_accuracy():
    """L0 with alpha in {0, 1}: a_pair = Phi(sqrt2 kappa) or 1 - Phi(sqrt2 kappa)."""
    import theory

    alphas, kappas = t3_mismatch.prompt_types(t3_mismatch.MIX)
    for a, k, p in zip(alphas, kappas, t3_mismatch.MIX["p"]):
        assert float(theory.pair_accuracy(a, k)) == pytest.approx(p, abs=1e-9)


def _early(regime: str, gates, seeds=128):
    """Held-out change over theory's horizon in a regime of REGIMES, per gate (the engine)."""
    reg = next(r for r in t3_mismatch.REGIMES.values() if r["role"] == regime)
    over = t3_mismatch._overrides(reg)
    fields = common.model_fields("default", **over)
    horizon = t3_mismatch.horizon(reg["mix"], fields)
    disc = theory_discovery(fields)
    a_x, k_x = sim.heterogeneous_verifier(
        reg["mix"]["fractions"], *t3_mismatch.prompt_types(reg["mix"]), int(fields["N"])
    )
    window = int(np.ceil(horizon))
    early = {}
    for g in gates:
        cfg = common.base_config("default", gate=g, rounds=t3_mismatch.ROUNDS, **over)
        h = common.grid(cfg, {"alpha": a_x[None], "kappa": k_x[None]}, range(seeds)).heldout_acc
        early[g] = h[0, :, window] - h[0, :, 0]
    return horizon, disc, early


def theory_discovery(fields):
    import theory

    return theory.gate_discovery(
        N=int(fields["N"]),
        B=int(fields["B"]),
        mixed=t3_mismatch.mixed_at_theta0(fields),
        lam=fields["lam"],
    )


def _below(x, z=3.0):
    return x.mean() + z * x.std(ddof=1) / np.sqrt(x.size) < 0


def _above(x, z=3.0):
    return x.mean() - z * x.std(ddof=1) / np.sqrt(x.size) > 0


@pytest.mark.slow
def test_T3_direction_mismatch_in_the_long_horizon_regime():
    """Regime chosen by theory: self-dominated, horizon (124 rounds) > discovery (32), EMA
    memory >= 1. Uniform gains over the horizon; the rank and proportional gates lose."""
    horizon, disc, early = _early("mismatch", ("uniform", "rank", "proportional"))
    assert horizon > disc["discovery_rounds"] and disc["memory_observations"] >= 1
    assert _above(early["uniform"])
    assert _below(early["rank"]) and _below(early["proportional"])
    assert _below(early["rank"] - early["uniform"])


@pytest.mark.slow
def test_T3_no_mismatch_when_the_horizon_is_shorter_than_discovery():
    horizon, disc, early = _early("short", ("uniform", "rank"))
    assert horizon < disc["discovery_rounds"]
    assert _above(early["uniform"])
    assert not _below(early["rank"])
