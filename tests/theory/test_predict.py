"""The verdict (theory.predict) and its command (theory.commands), with bad input."""

import contextlib
import io
import json
import math
import time
import warnings

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import theory
from tests.theory.cli import main


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


def _strict_json(text: str):
    """json.loads that refuses NaN / Infinity (not JSON)."""

    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--n", "1e9"], r"n must be an integer in [2, 10000], got 1000000000"),
        (["--n", "1e7"], r"n must be an integer in [2, 10000], got 10000000"),
        (["--n", "2.5"], r"n must be an integer in [2, 10000], got 2.5"),
        (["--n", "inf"], r"n must be an integer in [2, 10000], got inf"),
        (["--n", "3", "--kappa", "inf"], r"kappa must be a finite number in [0, inf), got inf"),
        (["--kappa", "inf", "--json"], r"kappa must be a finite number in [0, inf), got inf"),
        (["--kappa", "nan"], r"kappa must be a finite number in [0, inf), got nan"),
        (["--alpha=-inf"], r"alpha must be a finite number in [0, 1], got -inf"),
        (["--p-correct", "1"], r"p_correct must be a finite number in (0, 1), got 1"),
    ],
)
def test_predict_refuses_bad_input_with_one_line(capsys, extra, message):
    """Issue 14: each of these gave a traceback, a hang or invalid JSON."""
    start = time.perf_counter()
    assert main(["predict", "--alpha", "0.3", "--kappa", "1", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert message in captured.err and "Traceback" not in captured.err
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    "extra",
    [
        ["--n", "3", "--kappa", "1e308"],
        ["--n", "3", "--kappa", "1e6"],
        ["--n", "3", "--kappa", "1000"],
        ["--n", "10000", "--kappa", "2"],
        ["--gate", "margin", "--kappa", "1e300"],
        ["--gate", "margin", "--kappa", "5e-324"],
    ],
)
def test_predict_large_inputs_answer_quickly_in_strict_json(capsys, extra):
    """Issue 14: `--n 3 --kappa 1000` took 66 s and 20 GiB; now a bounded quadrature."""
    start = time.perf_counter()
    assert main(["predict", "--alpha", "0.3", "--kappa", "1", *extra, "--json"]) == 0
    out = _strict_json(capsys.readouterr().out)
    assert time.perf_counter() - start < 20  # about 0.5 s on one core
    assert 0 <= out["a_pair"] <= 1 and out["side"] in ("below", "at")  # "at": kappa ~ 0
    for key in ("drift_rate", "damage_rate"):
        assert math.isfinite(out[key])


_HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e308", "1e-320", "-0", "", "x", "1e9", "1e400"]),
)


@settings(max_examples=150, deadline=None)
@given(
    alpha=st.one_of(st.floats(0, 1).map(repr), _HOSTILE),
    kappa=st.one_of(st.floats(0, 1e308).map(repr), st.floats(0, 50).map(repr), _HOSTILE),
    n=st.one_of(st.integers(2, 10_000).map(str), st.integers(2, 12).map(str), _HOSTILE),
    gate=st.one_of(st.sampled_from(theory.GATES), st.text(max_size=8)),
    p_correct=st.one_of(st.floats(0, 1).map(repr), _HOSTILE),
    as_json=st.booleans(),
)
def test_predict_fuzz_exit_0_or_2_never_a_traceback_strict_json(
    alpha, kappa, n, gate, p_correct, as_json
):
    """Issue 14's fuzz test for `predict`: any argument text gives exit 0 (valid output, strict
    JSON) or exit 2 (one line on stderr), within seconds; any other exception fails the test."""
    argv = ["predict", f"--alpha={alpha}", f"--kappa={kappa}", f"--n={n}", f"--gate={gate}"]
    argv += [f"--p-correct={p_correct}"] + (["--json"] if as_json else [])
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numerical warning would be printed to the user
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    assert time.perf_counter() - start < 20
    assert rc in (0, 2)
    event(f"exit {rc}")
    if rc == 2:
        assert out.getvalue() == "" and err.getvalue().count("\n") == 1
    else:
        assert err.getvalue() == ""
        if as_json:
            assert isinstance(_strict_json(out.getvalue()), dict)
