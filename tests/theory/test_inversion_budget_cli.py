"""T5 (confidence inversion), T6 (compute cap) and the ``selfdpo predict`` command."""

import json
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import erf

import theory
from theory.cli import main


def test_T5_damage_symbolic():
    derived, closed = theory.damage_expr()
    assert sp.simplify((derived - closed).rewrite(sp.erf)) == 0


def test_T5_paper_example_inverts():
    d_conf = theory.damage_rate(0.23, 3.0)
    d_rand = theory.damage_rate(0.08, 0.1)
    assert d_conf > d_rand > 0
    assert theory.inverts(0.23, 3.0, 0.08, 0.1)
    assert theory.inverts(0.23, 3.0, 0.08, 0.1, gate="proportional")
    assert not theory.inverts(0.08, 0.1, 0.23, 3.0)  # verifier 1 must be the more accurate


def test_T5_example_by_monte_carlo_of_pairs():
    """Independent check: simulated wrong-minus-right pair rate is larger for (0.23, 3)."""
    rng = np.random.default_rng(12)
    reps = 200_000
    rates = {}
    for alpha, kappa in ((0.23, 3.0), (0.08, 0.1)):
        vc = rng.random(reps) < alpha
        vi = rng.random(reps) >= alpha
        d = kappa * ((2 * vc - 1) - (2 * vi - 1)) + math.sqrt(2) * rng.standard_normal(reps)
        rates[(alpha, kappa)] = -np.sign(d)  # +1 for a wrong-oriented mixed pair
        se = rates[(alpha, kappa)].std(ddof=1) / math.sqrt(reps)
        assert abs(rates[(alpha, kappa)].mean() - theory.damage_rate(alpha, kappa)) <= 4 * se
    assert rates[(0.23, 3.0)].mean() > rates[(0.08, 0.1)].mean()


@given(st.floats(0.0, 0.49), st.floats(0.0, 0.49), st.floats(0, 5), st.floats(0, 5))
def test_T5_inversion_condition(a1, a2, k1, k2):
    inv = theory.inverts(a1, k1, a2, k2)
    expected = a2 < a1 and (1 - 2 * a1) * erf(k1) > (1 - 2 * a2) * erf(k2)
    assert inv == expected
    if a2 < a1:
        ks = theory.inversion_kappa(a1, a2, k2)
        if math.isfinite(ks):
            assert theory.damage_rate(a1, ks) == pytest.approx(theory.damage_rate(a2, k2), abs=1e-9)
            assert theory.inverts(a1, ks + 1e-3, a2, k2) or k2 == 0
            assert not theory.inverts(a1, max(ks - 1e-3, 0.0), a2, k2)
        else:
            assert not theory.inverts(a1, 50.0, a2, k2)


def test_T5_kappa_to_zero_and_margin_gate():
    assert theory.damage_rate(np.array([0.0, 0.2, 0.4]), 0.0).tolist() == [0.0, 0.0, 0.0]
    ks = theory.inversion_kappa(0.23, 0.08, 0.1, gate="margin")
    dm = lambda a, k: theory.damage_rate(a, k, theory.gate_amplification(a, k, "margin"))
    assert dm(0.23, ks) == pytest.approx(dm(0.08, 0.1), rel=1e-8)
    with pytest.raises(ValueError, match="alpha2"):
        theory.inversion_kappa(0.1, 0.2, 1.0)
    with pytest.raises(ValueError, match="alpha1"):
        theory.inversion_kappa(0.6, 0.2, 1.0)


def test_T6_marginal_gain_symbolic():
    g, dg, C = theory.gain_rate_expr()
    law = dict(alpha0=0.6, alpha_inf=0.85, gamma_a=0.4, kappa0=0.2, gamma_k=0.6, C0=1.0)
    subs = {s: law[s.name] for s in dg.free_symbols if s.name in law}
    f = sp.lambdify(C, dg.subs(subs), "mpmath")
    for c in (1.5, 3.7, 50.0):
        assert float(f(c)) == pytest.approx(theory.marginal_gain(c, **law), rel=1e-10)
        h = 1e-5 * c
        fd = (theory.gain_rate(c + h, **law) - theory.gain_rate(c - h, **law)) / (2 * h)
        assert fd == pytest.approx(theory.marginal_gain(c, **law), rel=1e-6)


@given(st.floats(1e-4, 1e-1))
def test_T6_compute_cap(eps):
    cap = theory.compute_cap(eps)
    grid = cap * np.logspace(1e-6, 6, 200)
    assert np.all(theory.marginal_gain(grid) < eps)
    if cap > 1.0:
        assert theory.marginal_gain(cap) == pytest.approx(eps, rel=1e-6)
    # saturation: gain bounded by 2 alpha_inf - 1, increasing
    g = theory.gain_rate(np.logspace(0, 8, 50))
    assert np.all(np.diff(g) > 0) and g[-1] < 2 * 0.9 - 1


def test_T6_student_saturation_and_invalid():
    assert theory.student_mixed_mass(1.0) == 0.0
    assert theory.student_mixed_mass(0.5) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="epsilon"):
        theory.compute_cap(0.0)
    with pytest.raises(ValueError, match="C"):
        theory.gain_rate(0.5)


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
