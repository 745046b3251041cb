"""``selfdpo empirical tiny --json``: the end-to-end CPU run. T1's predicted sign (from the
audited alpha_hat, kappa_hat through L0's a_pair) matches the measured held-out change for the
above- and below-threshold verifiers; T4: DPO steps lower the loss of their pairs for both."""

from __future__ import annotations

import json

import pytest

from empirical.commands import main


@pytest.mark.slow
def test_tiny_json_signs_match_theory_T1(capsys):
    assert main(["empirical", "tiny", "--json", "--seed", "0", "--quiet"]) == 0
    res = json.loads(capsys.readouterr().out)
    runs = {r["verifier"]: r for r in res["runs"]}
    assert len(runs) == 3
    start = res["start"]["heldout_p_correct"]
    assert 0.35 <= start <= 0.75  # a middling student
    above, below = runs["synthetic:0.9:2"], runs["synthetic:0.2:2"]
    assert above["predicted_sign_firm"] == 1 and below["predicted_sign_firm"] == -1
    for r in (above, below):
        # measured sign matches, by more than 3 held-out standard errors
        assert r["measured_sign"] == r["predicted_sign_firm"]
        assert abs(r["measured_change"]) > 3 * r["measured_change_se"]
        # the audit recovers the verifier within its CI
        alpha = float(r["verifier"].split(":")[1])
        assert r["alpha_ci"][0] <= alpha <= r["alpha_ci"][1]
        # T4 (first order): each DPO step lowers the loss of the pairs it trains on, whether
        # the run improves or regresses
        assert r["dpo_loss_step_drop_mean"] > 0  # each step lowers the loss of its own pairs
    near = runs["synthetic:0.5:0.05"]
    assert near["predicted_sign_firm"] == 0  # CI straddles the threshold
