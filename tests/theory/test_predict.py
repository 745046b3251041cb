"""The verdict (theory.predict) and its command (theory.commands), with bad input."""

import argparse
import json
import sys

import pytest

import theory
from theory import commands


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, as the root dispatcher prints
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def main(argv: list[str]) -> int:
    """What the root dispatcher (paper.cli) does with theory's commands: run, or one line + 2."""
    parser = _Parser(prog="selfdpo")
    commands.register(parser.add_subparsers(dest="command", parser_class=_Parser))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:  # UsageError is a ValueError
        sys.stderr.write(f"selfdpo {args.command}: error: {' '.join(str(exc).split())}\n")
        return 2


def test_cli_predict_json_below_threshold(capsys):
    assert main(["predict", "--alpha", "0.3", "--kappa", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["side"] == "below" and out["drift_sign"] == -1
    assert out["a_pair"] == pytest.approx(theory.pair_accuracy(0.3, 2.0))
    # rank gate: no closed form for the model's loss progress nor the trained-pair reading
    assert out["gate_amplification"] is None and out["gate_amplification_trained_pair"] is None
    assert "gate_amplification_loss_progress" not in out


def test_predict_proportional_gate_loss_vs_trained_pair():
    out = theory.predict(0.3, 2.0, gate="proportional")
    assert out["gate_amplification"] == pytest.approx(1 / (0.3**2 + 0.7**2))
    assert out["gated_drift_rate"] == pytest.approx(out["drift_rate"] / (0.3**2 + 0.7**2))
    assert out["gate_amplification_trained_pair"] == 1.0


def test_cli_predict_table(capsys):
    assert main(["predict", "--alpha", "0.8", "--kappa", "1", "--gate", "proportional"]) == 0
    text = capsys.readouterr().out
    assert "above" in text and "IMPROVE" in text


@pytest.mark.parametrize(
    "argv, word",
    [
        (["--alpha", "1.5", "--kappa", "2"], "alpha"),
        (["--alpha", "0.5", "--kappa", "-2"], "kappa"),
        (["--alpha", "0.5", "--kappa", "2", "--n", "1"], "n"),
        (["--alpha", "0.5", "--kappa", "2", "--gate", "bogus"], "gate"),
    ],
)
def test_cli_predict_bad_input(capsys, argv, word):
    assert main(["predict", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and word in err and "Traceback" not in err


def test_predict_at_threshold_and_rank_null():
    out = theory.predict(0.5, 2.0)
    assert out["side"] == "at" and out["drift_sign"] == 0
    assert out["gate_amplification"] is None
    assert theory.predict(0.7, 1.0, n=4, gate="uniform")["side"] == "above"


_STUDENT = dict(d_s=2, K=3, mu=1.0, s=1.0, b=0.5)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: theory.damage_rate(2.0, 1.0), "alpha"),
        (lambda: theory.gated_pair_accuracy(0.3, -1.0), "kappa"),
        (lambda: theory.drift_rate(0.3, 1.0, eta=-1.0), "eta"),
        (lambda: theory.drift_rate(0.3, 1.0, gate="nope"), "gate"),
        (lambda: theory.pair_outcome_probs(0.3, 1.0, n=0), "n"),
        (lambda: theory.compute_cap(0.0), "epsilon"),
        (lambda: theory.effective_replay_size([-1.0, 2.0]), "w"),
        (lambda: theory.mismatch_signs([1.5], [1.0]), "p"),
        (lambda: theory.mismatch_horizon(1.0, eta=0.1), "p"),
        (lambda: theory.first_round_heldout_drift(2.0, 1.0, _STUDENT), "alpha"),
        (lambda: theory.first_round_heldout_drift(0.3, 1.0, {**_STUDENT, "K": 1}), "K"),
        (lambda: theory.first_round_train_drift(0.3, 1.0, _STUDENT), "N"),
        (lambda: theory.predict(0.3, 1.0, n=3, p_correct=1.0), "p_correct"),
        (lambda: theory.best_worst_class_probs([0.5, 0.6], [0.0, 1.0], 3), "sum to 1"),
        (lambda: theory.inverts(0.3, 1.0, 1.2, 1.0), "alpha2"),
    ],
)
def test_invalid_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
