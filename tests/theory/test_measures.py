"""L0-sel / T1 in each measure: rubric accuracy as verdict, pair and selection accuracy.

Checked against independent Monte Carlo of the verifier and student (plain numpy, not using
theory), against a second derivation (n = 2 selection from L0; the noiseless limit by exact
enumeration), and at the special cases (alpha = 1/2 or kappa = 0: chance; alpha = 1,
kappa -> inf: 1).
"""

import itertools
import json
import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

import theory
from tests.theory.cli import main
from theory.measures import (
    equivalent_alpha,
    measure_range,
    measure_threshold,
    measure_value,
    pair_measure,
    random_scorer_level,
    read_rubric_accuracy,
    selection_accuracy,
    side,
)

# ---------------------------------------------------------------- independent Monte Carlo ----


def _mc_selection_samples(rng, alpha, kappa, n, p, K, reps):
    """Top-scored of n samples is correct, among reps with >= 1 correct sample (numpy only)."""
    if K is None:  # every incorrect sample a distinct answer with its own frozen verdict
        v0 = rng.random(reps) < alpha
        is_c = rng.random((reps, n)) < p
        v = np.where(is_c, v0[:, None], rng.random((reps, n)) >= alpha)
    else:  # candidate 0 correct; incorrect samples uniform over options 1..K-1
        verdict = rng.random((reps, K)) < alpha  # True = verdict agrees with the rubric
        verdict_is_yes = verdict.copy()
        verdict_is_yes[:, 1:] = ~verdict[:, 1:]
        y = np.where(rng.random((reps, n)) < p, 0, rng.integers(1, K, size=(reps, n)))
        is_c = y == 0
        v = np.take_along_axis(verdict_is_yes, y, axis=1)
    score = kappa * (2.0 * v - 1.0) + rng.standard_normal((reps, n))
    top = score.argmax(1)
    keep = is_c.any(1)
    hit = is_c[np.arange(reps), top][keep]
    return hit.astype(float)


def _mc_selection_options(rng, alpha, kappa, K, reps):
    """K options scored once each, option 0 correct: is it the top-scored one? (numpy only)."""
    agree = rng.random((reps, K)) < alpha
    yes = agree.copy()
    yes[:, 1:] = ~agree[:, 1:]
    score = kappa * (2.0 * yes - 1.0) + rng.standard_normal((reps, K))
    return (score.argmax(1) == 0).astype(float)


def _check_mc(hits, q, k=4.0):
    se = math.sqrt(max(q * (1 - q), 0.0) / hits.size) + 1.0 / hits.size  # SE under the null
    assert abs(hits.mean() - q) <= k * se, (hits.mean(), q, se)


_BIG = 1e6  # in the simulation, kappa = 1e6 is the noiseless limit (eps only breaks ties)


@given(
    st.floats(0, 1),
    st.one_of(st.floats(0, 6), st.just(math.inf)),
    st.integers(2, 12),
    st.floats(0.05, 0.95),
    st.one_of(st.none(), st.integers(2, 8)),
)
def test_L0sel_n_samples_monte_carlo(alpha, kappa, n, p, K):
    rng = np.random.default_rng(11)
    hits = _mc_selection_samples(rng, alpha, min(kappa, _BIG), n, p, K, 30_000)
    _check_mc(hits, selection_accuracy(alpha, kappa, n=n, K=K, p_correct=p))


@given(st.floats(0, 1), st.one_of(st.floats(0, 6), st.just(math.inf)), st.integers(2, 12))
def test_L0sel_K_options_monte_carlo(alpha, kappa, K):
    rng = np.random.default_rng(12)
    hits = _mc_selection_options(rng, alpha, min(kappa, _BIG), K, 30_000)
    _check_mc(hits, selection_accuracy(alpha, kappa, K=K))


def test_L0sel_study_setting_monte_carlo_tight():
    """The issue's example setting (K = 4, n = 4, p = 0.3) at a sub-threshold verifier."""
    rng = np.random.default_rng(13)
    for alpha, kappa in ((0.15, 2.0), (0.3, 0.7), (0.8, 1.5)):
        hits = _mc_selection_samples(rng, alpha, kappa, 4, 0.3, 4, 400_000)
        _check_mc(hits, selection_accuracy(alpha, kappa, n=4, K=4, p_correct=0.3))


# ---------------------------------------------------------------- second derivations ---------


@given(st.floats(0, 1), st.floats(0, 8), st.floats(0.02, 0.98))
def test_L0sel_n2_from_L0(alpha, kappa, p):
    """n = 2, free-form: both correct -> top correct; one each -> top correct iff the pair is
    oriented right, which is L0's a_pair (exact for n = 2)."""
    a_pair = theory.pair_accuracy(alpha, kappa)
    expect = (p * p + 2 * p * (1 - p) * a_pair) / (1 - (1 - p) ** 2)
    got = selection_accuracy(alpha, kappa, n=2, p_correct=p)
    assert got == pytest.approx(expect, abs=1e-9)


def _noiseless_enumeration(alpha, n, p, K):
    """kappa = inf by exact enumeration: verdict patterns x sample compositions, uniform ties."""
    num = 0.0
    if K is None:  # classes: correct, incorrect-yes, incorrect-no
        for v0, pv in ((1, alpha), (0, 1 - alpha)):
            q = (p, (1 - p) * (1 - alpha), (1 - p) * alpha)
            for c in itertools.product(range(n + 1), repeat=3):
                if sum(c) != n or c[0] == 0:
                    continue
                pr = math.factorial(n) / math.prod(math.factorial(i) for i in c)
                pr *= math.prod(qi**ci for qi, ci in zip(q, c))
                high = (c[0] if v0 else 0) + c[1]
                if high == 0:  # all low: uniform among all n
                    num += pv * pr * c[0] / n
                elif v0:
                    num += pv * pr * c[0] / high
        return num / (1 - (1 - p) ** n)
    r = (1 - p) / (K - 1)
    for verdicts in itertools.product((0, 1), repeat=K):  # 1 = says "correct"
        pv = (alpha if verdicts[0] else 1 - alpha) * math.prod(
            (1 - alpha) if v else alpha for v in verdicts[1:]
        )
        probs = [p] + [r] * (K - 1)
        for ys in itertools.product(range(K), repeat=n):
            if 0 not in ys:
                continue
            pr = math.prod(probs[y] for y in ys)
            levels = [verdicts[y] for y in ys]
            top = max(levels)
            idx = [i for i, lv in enumerate(levels) if lv == top]
            num += pv * pr * sum(ys[i] == 0 for i in idx) / len(idx)
    return num / (1 - (1 - p) ** n)


@pytest.mark.parametrize("K", [None, 2, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.2, 0.5, 0.9, 1.0])
def test_L0sel_noiseless_limit_by_enumeration(alpha, K):
    n, p = 3, 0.35
    expect = _noiseless_enumeration(alpha, n, p, K)
    assert selection_accuracy(alpha, math.inf, n=n, K=K, p_correct=p) == pytest.approx(
        expect, abs=1e-12
    )
    # the quadrature converges to the closed-form limit
    assert selection_accuracy(alpha, 40.0, n=n, K=K, p_correct=p) == pytest.approx(expect, abs=1e-9)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 1.0])
def test_L0sel_K_options_noiseless_by_enumeration(alpha):
    K = 4
    tot = 0.0
    for yes in itertools.product((0, 1), repeat=K):
        pv = (alpha if yes[0] else 1 - alpha) * math.prod(
            alpha if not v else 1 - alpha for v in yes[1:]
        )
        top = [i for i in range(K) if yes[i] == max(yes)]
        tot += pv * (0 in top) / len(top)
    assert selection_accuracy(alpha, math.inf, K=K) == pytest.approx(tot, abs=1e-12)
    assert selection_accuracy(alpha, 40.0, K=K) == pytest.approx(tot, abs=1e-9)


# ---------------------------------------------------------------- special cases --------------


@given(
    st.floats(0, 1),
    st.integers(2, 40),
    st.floats(0.01, 0.99),
    st.one_of(st.none(), st.integers(2, 9)),
)
def test_T1_kappa0_is_random_pick(alpha, n, p, K):
    rp = p / (1 - (1 - p) ** n)
    assert selection_accuracy(alpha, 0.0, n=n, K=K, p_correct=p) == pytest.approx(rp, abs=1e-10)
    assert random_scorer_level("selection", n=n, K=K, p_correct=p) == pytest.approx(rp, abs=1e-10)
    assert selection_accuracy(alpha, 0.0, K=n) == pytest.approx(1 / n, abs=1e-10)


@given(st.one_of(st.floats(0, 20), st.just(math.inf)), st.integers(2, 30))
def test_T1_K_options_threshold_is_one_over_K(kappa, K):
    assert selection_accuracy(0.5, kappa, K=K) == pytest.approx(1 / K, abs=1e-10)
    assert measure_threshold("selection", K=K, kappa=kappa) == pytest.approx(1 / K, abs=1e-10)


@given(st.integers(2, 30), st.floats(0.01, 0.99), st.one_of(st.none(), st.integers(2, 9)))
def test_L0sel_perfect_verifier_is_one(n, p, K):
    assert selection_accuracy(1.0, math.inf, n=n, K=K, p_correct=p) == pytest.approx(1.0, abs=1e-12)
    assert selection_accuracy(1.0, 12.0, n=n, K=K, p_correct=p) == pytest.approx(1.0, abs=1e-9)
    assert selection_accuracy(1.0, 12.0, K=n) == pytest.approx(1.0, abs=1e-9)
    # the perfectly inverted verifier picks a correct answer only when all samples are correct
    low = selection_accuracy(0.0, math.inf, n=n, K=K, p_correct=p)
    assert low == pytest.approx(p**n / (1 - (1 - p) ** n), rel=1e-9, abs=1e-300)


def test_T1_verdict_and_pair_thresholds():
    for kappa in (0.0, 0.3, 2.0, math.inf):
        assert measure_threshold("verdict", kappa=kappa) == 0.5
        assert measure_threshold("pair", kappa=kappa) == pytest.approx(0.5, abs=1e-12)
        assert measure_threshold("pair", n=5, p_correct=0.3, kappa=kappa) == pytest.approx(
            0.5, abs=1e-9
        )


# ---------------------------------------------------------------- properties -----------------

_SETTINGS = st.sampled_from(
    [
        ("selection", {"n": 4, "K": 4, "p_correct": 0.3}),
        ("selection", {"n": 8, "p_correct": 0.15}),
        ("selection", {"n": 3, "K": 2, "p_correct": 0.6}),
        ("selection", {"K": 5}),
        ("pair", {}),
        ("pair", {"n": 4, "p_correct": 0.4}),
    ]
)


@given(_SETTINGS, st.one_of(st.floats(0.05, 10), st.just(math.inf)))
def test_L0sel_increasing_in_alpha(setting, kappa):
    measure, kw = setting
    a = np.linspace(0, 1, 41)
    v = measure_value(a, np.full(41, kappa), measure, **kw)
    assert v.shape == (41,)
    assert np.all(np.diff(v) > 0)


@given(st.integers(2, 20), st.floats(0.02, 0.9), st.one_of(st.none(), st.integers(2, 8)))
def test_T1_selection_threshold_moves_from_random_pick_to_noiseless(n, p, K):
    """The n-sample threshold is monotone in kappa, from the random pick at kappa = 0 to the
    noiseless value; with free-form answers (K = None) it falls."""
    ks = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, math.inf])
    thr = selection_accuracy(np.full(ks.shape, 0.5), ks, n=n, K=K, p_correct=p)
    d = np.diff(thr)
    assert np.all(d <= 1e-12) or np.all(d >= -1e-12)
    if K is None:
        assert np.all(d <= 1e-12)
    rp = p / (1 - (1 - p) ** n)
    assert thr[0] == pytest.approx(rp, abs=1e-10)
    lo, hi = measure_threshold("selection", n=n, K=K, p_correct=p)
    assert lo == pytest.approx(min(rp, thr[-1]), abs=1e-10)
    assert hi == pytest.approx(max(rp, thr[-1]), abs=1e-10)


def test_T1_selection_threshold_below_half_for_weak_students():
    """The study's setting: 2B/3B students at ~30% accuracy on a 4-option task."""
    for K in (None, 3, 4, 5):
        lo, hi = measure_threshold("selection", n=4, K=K, p_correct=0.3)
        assert 0.35 < lo <= hi < 0.41


@settings(max_examples=15)  # the n > 2 pair's hull needs one L0 quadrature per kappa
@given(_SETTINGS, st.floats(0.01, 0.99), st.one_of(st.floats(0.1, 10), st.just(math.inf)))
def test_T1_equivalent_alpha_inverts_measure(setting, alpha, kappa):
    measure, kw = setting
    val = measure_value(alpha, kappa, measure, **kw)
    back = equivalent_alpha(val, measure, kappa=kappa, **kw)
    slope = (
        measure_value(min(alpha + 1e-4, 1), kappa, measure, **kw)
        - measure_value(max(alpha - 1e-4, 0), kappa, measure, **kw)
    ) / 2e-4
    assert abs(back - alpha) <= 1e-9 / max(slope, 1e-6) + 1e-9
    lo, hi = equivalent_alpha(val, measure, **kw)
    assert lo - 1e-6 <= alpha <= hi + 1e-6
    s = side(val, measure, kappa=kappa, **kw)
    assert s == ("above" if alpha > 0.5 + 1e-6 else "below" if alpha < 0.5 - 1e-6 else s)


def _dense_hull(value, kw):
    """Brute force: alpha(kappa) by brentq on 400 kappas in [1e-3, 1e3] plus inf."""
    out = []
    for kappa in list(np.geomspace(1e-3, 1e3, 400)) + [math.inf]:

        def f(a, kappa=kappa):
            return selection_accuracy(a, kappa, **kw) - value

        if f(0.0) <= 0 <= f(1.0) and f(1.0) - f(0.0) > 1e-9:
            out.append(brentq(f, 0, 1, xtol=1e-12))
    return min(out), max(out)


@pytest.mark.parametrize(
    "value,kw",
    [
        (0.15, {"n": 4, "K": 4, "p_correct": 0.3}),
        (0.6, {"n": 4, "K": 4, "p_correct": 0.3}),
        (0.37, {"n": 4, "p_correct": 0.3}),
        (0.15, {"K": 4}),
    ],
)
def test_T1_equivalent_alpha_hull_matches_dense_scan(value, kw):
    lo, hi = equivalent_alpha(value, "selection", **kw)
    dlo, dhi = _dense_hull(value, kw)
    # the dense scan approaches the 0 / 1 end only as kappa nears the edge of reach
    assert lo <= dlo + 1e-6 and hi >= dhi - 1e-6
    if value < random_scorer_level("selection", **kw):
        assert lo == 0.0 and hi == pytest.approx(dhi, abs=1e-6)
    else:
        assert hi == 1.0 and lo == pytest.approx(dlo, abs=1e-6)


def test_T1_issue_example_below_threshold():
    r = read_rubric_accuracy(0.15, "selection", n=4, K=4, p_correct=0.3)
    assert r["side"] == "below"
    lo, hi = r["threshold"]
    assert 0.15 < lo <= hi < 0.5
    assert r["equivalent_alpha"][0] == 0.0 and 0.15 < r["equivalent_alpha"][1] < 0.5
    # the study's whole range 8-23% is sub-threshold in this setting
    for v in (0.08, 0.23):
        assert side(v, "selection", n=4, K=4, p_correct=0.3) == "below"


def test_T1_side_undetermined_between_kappa_dependent_thresholds():
    lo, hi = measure_threshold("selection", n=4, p_correct=0.3)
    mid = 0.5 * (lo + hi)
    assert side(mid, "selection", n=4, p_correct=0.3) == "undetermined"
    assert side(mid, "selection", n=4, p_correct=0.3, kappa=0.2) == "below"
    assert side(mid, "selection", n=4, p_correct=0.3, kappa=8.0) == "above"


# ---------------------------------------------------------------- input and cost -------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: equivalent_alpha(0.005, "selection", n=4, K=4, p_correct=0.3),
        lambda: equivalent_alpha(0.999, "selection", n=4, K=4, p_correct=0.3, kappa=1.0),
        lambda: equivalent_alpha(0.6, "selection", n=4, p_correct=0.3, kappa=0.0),
        lambda: equivalent_alpha(1.2, "pair"),
        lambda: equivalent_alpha(0.3, "selection"),
        lambda: equivalent_alpha(0.3, "selection", n=4),
        lambda: equivalent_alpha(0.3, "selection", K=4, p_correct=0.3),
        lambda: equivalent_alpha(0.3, "verdict", K=4),
        lambda: equivalent_alpha(0.3, "pair", K=4),
        lambda: equivalent_alpha(0.3, "pair", p_correct=0.4),
        lambda: equivalent_alpha(0.3, "rubric"),
        lambda: selection_accuracy(0.5, -1.0, K=3),
        lambda: selection_accuracy(0.5, 1.0, n=4, K=1, p_correct=0.3),
    ],
)
def test_bad_input_one_line(call):
    with pytest.raises(ValueError) as e:
        call()
    assert "\n" not in str(e.value) and str(e.value)


def test_value_outside_measure_names_the_range():
    with pytest.raises(ValueError, match=r"outside \[0\.01"):
        equivalent_alpha(0.005, "selection", n=4, K=4, p_correct=0.3)


def test_bounded_cost_large_kappa_and_n():
    t0 = time.perf_counter()
    for kappa in (1e3, 1e8, 1e15):
        v = selection_accuracy(0.3, kappa, n=10**7, p_correct=0.2)
        assert v == pytest.approx(
            selection_accuracy(0.3, math.inf, n=10**7, p_correct=0.2), abs=1e-6
        )
        assert selection_accuracy(0.3, kappa, K=10**6) >= 0
        assert pair_measure(0.3, kappa) == pytest.approx(0.3, abs=1e-12)
    equivalent_alpha(0.2, "selection", n=10**6, p_correct=0.01)
    assert time.perf_counter() - t0 < 10.0


def test_verdict_is_alpha_and_range():
    assert measure_value(0.37, 5.0, "verdict") == 0.37
    assert equivalent_alpha(0.37, "verdict") == (0.37, 0.37)
    assert measure_range("selection", K=4) == pytest.approx((0.0, 1.0), abs=1e-12)


def test_T1_value_near_chance_allows_alpha_one():
    """Just off the random-scorer level the value is met at alpha = 1 (or 0) by a weak scorer,
    and, the thresholds here lying on one side of it, only by alphas on one side of 1/2."""
    kw = {"n": 4, "K": 4, "p_correct": 0.3}  # threshold falls with kappa from the random pick
    rp = random_scorer_level("selection", **kw)
    lo, hi = equivalent_alpha(rp + 1e-6, "selection", **kw)
    assert hi == 1.0 and 0.5 < lo < 0.51
    lo, hi = equivalent_alpha(0.25 - 1e-6, "selection", K=4)  # threshold 1/4 at every kappa
    assert lo == 0.0 and 0.49 < hi < 0.5


# ---------------------------------------------------------------- selfdpo predict ------------


_ISSUE = ["--rubric-accuracy", "0.15", "--measure", "selection", "--K", "4", "--n", "4"]


def test_T1_cli_rubric_accuracy_issue_example(capsys):
    assert main(["predict", *_ISSUE, "--p-correct", "0.3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["side"] == "below"
    lo, hi = out["threshold"]
    assert 0.15 < lo <= hi < 0.5  # the threshold in the selection measure, below 1/2
    a_lo, a_hi = out["equivalent_alpha"]
    assert a_lo == 0.0 and a_hi < 0.5
    # the equivalent alpha's upper end is a verifier that really has selection accuracy 0.15
    assert selection_accuracy(a_hi, math.inf, n=4, K=4, p_correct=0.3) == pytest.approx(
        0.15, abs=1e-4
    )


def test_T1_cli_rubric_accuracy_with_kappa_table(capsys):
    assert main(["predict", *_ISSUE, "--p-correct", "0.3", "--kappa", "2"]) == 0
    text = capsys.readouterr().out
    assert "below threshold" in text and "threshold (T1 in this measure)" in text


@pytest.mark.parametrize(
    "argv, word",
    [
        ([*_ISSUE, "--p-correct", "0.3", "--rubric-accuracy", "0.005"], "outside"),
        (_ISSUE, "p_correct"),
        (["--rubric-accuracy", "0.15", "--measure", "rubric"], "measure"),
        (["--rubric-accuracy", "0.15"], "--measure"),
        (["--rubric-accuracy", "0.4", "--measure", "verdict", "--alpha", "0.3"], "not both"),
        (["--rubric-accuracy", "0.4", "--measure", "pair", "--K", "4"], "K"),
        (["--alpha", "0.3"], "--kappa"),
        (["--alpha", "0.3", "--kappa", "1", "--K", "4"], "--K"),
        (["--rubric-accuracy", "0.7", "--measure", "selection", "--K", "4", "--kappa", "0"], "0"),
    ],
)
def test_cli_rubric_accuracy_bad_input_one_line(capsys, argv, word):
    assert main(["predict", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and word in err and "Traceback" not in err


def test_T1_pair_n4_inverse_and_hull():
    """The n > 2 pair measure (theory.l0_pairs' quadrature, one per kappa) inverts too."""
    kw = {"n": 4, "p_correct": 0.4}
    v = measure_value(0.3, 1.3, "pair", **kw)
    assert equivalent_alpha(v, "pair", kappa=1.3, **kw) == pytest.approx(0.3, abs=1e-6)
    lo, hi = equivalent_alpha(v, "pair", **kw)
    assert lo == 0.0 and 0.3 <= hi < 0.5
    assert side(v, "pair", **kw) == "below"


_NUMS = ("0", "0.15", "0.5", "0.99", "1", "-0.1", "1.5", "nan", "inf", "1e308", "x")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.sampled_from(_NUMS),
    measure=st.sampled_from(("verdict", "pair", "selection", "bogus")),
    extra=st.lists(
        st.sampled_from(
            [
                ("--K", "4"),
                ("--K", "1"),
                ("--K", "300"),
                ("--K", "2.5"),
                ("--n", "4"),
                ("--n", "2"),
                ("--n", "1"),
                ("--n", "4.5"),
                ("--n", "1e9"),
                ("--p-correct", "0.3"),
                ("--p-correct", "0"),
                ("--p-correct", "nan"),
                ("--kappa", "2"),
                ("--kappa", "0"),
                ("--kappa", "inf"),
                ("--kappa", "-1"),
                ("--alpha", "0.3"),
            ]
        ),
        max_size=4,
        unique_by=lambda kv: kv[0],
    ),
    js=st.booleans(),
)
def test_cli_rubric_accuracy_fuzz_exit_0_or_2_strict_json(capsys, value, measure, extra, js):
    argv = ["predict", "--rubric-accuracy", value, "--measure", measure]
    argv += [x for kv in extra for x in kv] + ["--json"] * js
    capsys.readouterr()  # read per example: the fixture is not reset between examples
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc in (0, 2), (argv, err)
    if rc == 2:
        assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    elif js:
        json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
