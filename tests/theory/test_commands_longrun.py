"""`selfdpo predict --rounds R --student S`: T1-long's full-run threshold next to T1's exact one."""

from __future__ import annotations

import json

import pytest

from tests.theory.cli import main


def _predict(argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``selfdpo predict ARGV`` (the root dispatcher's way)."""
    rc = main(["predict", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_T1_long_cli_reports_both_thresholds_and_the_final_change(capsys):
    rc, out, _ = _predict(["--alpha", "0.5", "--kappa", "2", "--rounds", "200", "--json"], capsys)
    d = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    assert rc == 0
    assert d["threshold_first_round"] == 0.5
    # T1-long: fitting the frozen verdict pattern moves the default student's crossing above 1/2
    assert d["threshold_full_run"] - 2 * d["threshold_full_run_error"] > 0.5
    # at alpha = 1/2 (first-round drift exactly 0) the full run loses held-out accuracy
    assert d["delta_heldout"] + 2 * d["delta_heldout_error"] < 0
    assert d["long_run_gate"] == "uniform" and d["student"] == "default"


def test_T1_long_cli_without_rounds_has_no_long_run_keys(capsys):
    _, out, _ = _predict(["--alpha", "0.3", "--kappa", "2", "--json"], capsys)
    assert "threshold_full_run" not in json.loads(out)


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--rounds", "0"], "rounds"),
        (["--rounds", "5000"], "rounds"),
        (["--student", "third"], "student"),
        (["--rounds", "10", "--n", "3"], "n = 2"),
    ],
)
def test_T1_long_cli_refuses_what_the_theory_does_not_cover(extra, match, capsys):
    rc, out, err = _predict(["--alpha", "0.3", "--kappa", "2", *extra], capsys)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("selfdpo predict: error:") and match in err
