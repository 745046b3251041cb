"""``selfdpo empirical tiny --json``: the end-to-end CPU run over 3 seeds. T1: theory's
predicted sign (alpha_hat, kappa_hat fitted on the run's own round-1 samples, through L0's
a_pair) is the sign of the measured held-out change in every seed for the above- and
below-threshold verifiers, and the above-threshold change's 95% run-to-run interval excludes 0;
L0: the measured pair orientation agrees with the predicted a_pair; T4: DPO steps lower the loss
of their own pairs whatever the verifier."""

from __future__ import annotations

import json

import pytest

from empirical.commands import main


@pytest.mark.slow
def test_tiny_json_over_seeds_matches_theory_T1_L0_T4(capsys):
    assert main(["empirical", "tiny", "--json", "--seeds", "0,1,2", "--quiet"]) == 0
    res = json.loads(capsys.readouterr().out)
    rows = {r["verifier"]: r for r in res["verifiers"]}
    assert len(rows) == 3 and res["seeds"] == [0, 1, 2]
    for s in res["start"]:
        assert 0.3 <= s["heldout_p_correct"] <= 0.8  # a middling student
    above, below = rows["synthetic:0.9:2"], rows["synthetic:0.2:2"]
    assert above["predicted_sign_firm"] == 1 and below["predicted_sign_firm"] == -1
    for r in (above, below):
        assert r["seeds"] == 3
        # every seed moves the way theory says (3/3: chance 1/8 if the sign were a coin flip)
        assert r["sign_in_every_seed"] == r["predicted_sign_firm"]
        assert r["measured_sign"] in (0, r["predicted_sign_firm"])  # the interval never says -
        p = r["pooled"]
        alpha = float(r["verifier"].split(":")[1])
        assert abs(p["alpha_hat"]["mean"] - alpha) < 0.1
        # L0: measured round-1 orientation of mixed pairs vs theory's a_pair at the fit
        assert abs(p["a_pair_measured"]["mean"] - p["a_pair_predicted"]["mean"]) < 0.1
        for run in r["runs"]:
            assert run["dpo_loss"]["step_drop_mean"] > 0  # T4: each step lowers its pairs' loss
            assert set(run["measures"]) == {"verdict", "pair", "selection"}
            assert run["train"]["step_norm"] == "batch"
    assert above["measured_sign"] == 1  # its 95% interval over seeds excludes 0
    near = rows["synthetic:0.5:0.05"]
    assert near["predicted_sign_firm"] == 0  # CI straddles the threshold
    assert res["seconds"] < 600
