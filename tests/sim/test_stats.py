"""sim.stats: intervals, agreement, crossings, bootstrap (checked against known cases)."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from sim import stats


def test_mean_ci_matches_scipy_t_interval():
    x = np.array([0.1, 0.4, 0.35, 0.8, 0.2])
    m, lo, hi, se = stats.mean_ci(x)
    ref = sps.t.interval(0.95, df=4, loc=x.mean(), scale=sps.sem(x))
    assert (lo, hi) == pytest.approx(ref) and m == pytest.approx(x.mean())


def test_mean_ci_covers_the_mean_about_95_percent():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 6))
    _, lo, hi, _ = stats.mean_ci(x, axis=1)
    cover = np.mean((lo < 0) & (hi > 0))
    assert abs(cover - 0.95) < 3 * math.sqrt(0.95 * 0.05 / 4000)


def test_agreement_combines_theory_monte_carlo_error():
    rng = np.random.default_rng(0)
    sim = 0.5 + 0.01 * rng.standard_normal((1, 8))
    tight = stats.agreement(sim, np.array([0.6]))
    loose = stats.agreement(sim, np.array([0.6]), theory_se=np.array([0.1]))
    assert tight["max_z"] > tight["k"] and loose["max_z"] < loose["k"]


def test_critical_k_is_at_least_three_and_grows_with_tests():
    assert stats.critical_k(1000, 1) == 3.0
    assert stats.critical_k(8, 100) > stats.critical_k(8, 10) > 3.0


def test_crossing_interpolates_and_flags_no_crossing():
    a = np.array([0.0, 0.5, 1.0])
    assert stats.crossing(a, np.array([-1.0, -0.5, 0.5])) == pytest.approx(0.75)
    assert stats.crossing(a, np.array([1.0, 2.0, 3.0])) == -math.inf
    assert stats.crossing(a, np.array([-1.0, -2.0, -3.0])) == math.inf


def test_bootstrap_crossing_interval_contains_a_clean_crossing():
    rng = np.random.default_rng(1)
    alphas = np.linspace(0, 1, 11)
    delta = (alphas - 0.5)[:, None] + 0.02 * rng.standard_normal((11, 16))
    est, lo, hi = stats.bootstrap_crossing(alphas, delta, 0.95)
    assert lo <= 0.5 <= hi and abs(est - 0.5) < 0.05


def test_window_means_split_the_last_axis():
    x = np.arange(8.0)[None]
    np.testing.assert_allclose(stats.window_means(x, 4), [[0.5, 2.5, 4.5, 6.5]])


def test_power_one_sided_matches_monte_carlo():
    rng = np.random.default_rng(2)
    n, eff = 12, 0.5
    x = rng.normal(eff, 1.0, (20000, n))
    t = x.mean(1) / (x.std(1, ddof=1) / np.sqrt(n))
    mc = np.mean(t > sps.t.ppf(0.95, n - 1))
    assert stats.power_one_sided(eff, 1.0, n) == pytest.approx(mc, abs=4 * np.sqrt(0.25 / 20000))


@pytest.mark.parametrize("true", [0.0, 0.3])
def test_power_tost_matches_monte_carlo(true):
    rng = np.random.default_rng(3)
    n, margin = 10, 0.8
    x = rng.normal(true, 1.0, (20000, n))
    mc = stats.tost(x, margin)["equivalent"].mean()
    expect = stats.power_tost(margin, 1.0, n, true=true)
    assert expect == pytest.approx(mc, abs=4 * np.sqrt(0.25 / 20000))


def test_seeds_for_power_is_the_smallest_n_reaching_the_target():
    f = lambda n: stats.power_one_sided(0.5, 1.0, n)
    n = stats.seeds_for_power(f)
    assert f(n) >= 0.9 > f(n - 1)
    # the normal-approximation formula ((z_.95 + z_.9) / 0.5)^2 = 34.3 is a lower bound
    assert 34 <= n <= 38
    assert stats.seeds_for_power(lambda n: 0.0, n_max=50) == 51


def test_tost_declares_equivalence_only_inside_the_margin():
    x = np.array([[0.01, -0.02, 0.0, 0.015, -0.005, 0.01]])
    assert stats.tost(x, 0.1)["equivalent"][0]
    assert not stats.tost(x, 0.01)["equivalent"][0]
    assert not stats.tost(x + 0.2, 0.1)["equivalent"][0]
