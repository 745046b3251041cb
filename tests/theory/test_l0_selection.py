"""L0-sel: selection accuracy for a student's exact answer distributions, and the checked
entry points of theory.l0_selection, against independent Monte Carlo and the K-option model."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory.l0_selection import (
    equivalent_alpha_policies,
    selection_accuracy_options,
    selection_accuracy_policies,
    selection_accuracy_samples,
)

_BIG = 1e6  # in the simulation, kappa = 1e6 is the noiseless limit (eps only breaks ties)


def _check_mc(hits, total, q, k=4.0):
    se = math.sqrt(max(q * (1 - q), 0.0) / total) + 1.0 / total  # SE under the null
    assert abs(hits / total - q) <= k * se, (hits / total, q, se)


def _policies(rng, M, K, b, mu=2.0):
    z = rng.standard_normal((M, K))
    z[:, 0] += mu
    e = np.exp(b * z - (b * z).max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _mc_selection_policies(rng, alpha, kappa, pi, n, reps_per):
    """Pooled selection accuracy by simulation: per question frozen verdicts, n samples."""
    M, K = pi.shape
    hits = total = 0
    for _ in range(reps_per):
        agree = rng.random((M, K)) < alpha
        yes = agree.copy()
        yes[:, 1:] = ~agree[:, 1:]
        cdf = np.cumsum(pi, 1)
        y = (rng.random((M, n, 1)) > cdf[:, None, :]).sum(-1).clip(0, K - 1)
        v = np.take_along_axis(yes, y, axis=1)
        score = kappa * (2.0 * v - 1.0) + rng.standard_normal((M, n))
        top = np.take_along_axis(y, score.argmax(1)[:, None], axis=1)[:, 0]
        keep = (y == 0).any(1)
        hits += int((top[keep] == 0).sum())
        total += int(keep.sum())
    return hits, total


@given(
    st.floats(0, 1),
    st.one_of(st.floats(0.05, 5), st.just(math.inf)),
    st.integers(2, 6),
    st.integers(2, 6),
    st.floats(0.1, 1.5),
)
def test_L0sel_policies_monte_carlo(alpha, kappa, n, K, b):
    rng = np.random.default_rng(21)
    pi = _policies(rng, 200, K, b)
    hits, total = _mc_selection_policies(rng, alpha, min(kappa, _BIG), pi, n, 100)
    q = selection_accuracy_policies(alpha, kappa, pi, n)
    _check_mc(hits, total, q)


@given(st.floats(0, 1), st.one_of(st.floats(0, 6), st.just(math.inf)), st.floats(0.05, 0.95))
def test_L0sel_policies_uniform_spread_is_the_K_model(alpha, kappa, p):
    """Identical questions with incorrect mass spread evenly: the K-given n-sample model."""
    K, n = 4, 5
    pi = np.array([[p] + [(1 - p) / (K - 1)] * (K - 1)] * 3)
    got = selection_accuracy_policies(alpha, kappa, pi, n)
    assert got == pytest.approx(selection_accuracy_samples(alpha, kappa, n, p, K), abs=1e-10)


@given(st.floats(0.02, 0.98), st.floats(0.3, 6))
def test_L0sel_policies_inverse(alpha, kappa):
    pi = _policies(np.random.default_rng(3), 300, 4, 0.45)
    v = selection_accuracy_policies(alpha, kappa, pi, 4)
    back = equivalent_alpha_policies(v, kappa, pi, 4)
    assert back == pytest.approx(alpha, abs=1e-6)
    with pytest.raises(ValueError, match="outside"):
        equivalent_alpha_policies(0.001, kappa, pi, 4)


def test_entry_points_check_arguments_and_broadcast():
    a = np.linspace(0, 1, 5)
    assert selection_accuracy_samples(a, 2.0, 4, 0.3).shape == (5,)
    assert selection_accuracy_options(a[:, None], np.array([0.5, math.inf]), 4).shape == (5, 2)
    for call in (
        lambda: selection_accuracy_samples(0.5, 1.0, 1, 0.3),
        lambda: selection_accuracy_samples(0.5, 1.0, 4, 1.0),
        lambda: selection_accuracy_samples(0.5, 1.0, 4, 0.3, K=1000),
        lambda: selection_accuracy_options(1.5, 1.0, 4),
        lambda: selection_accuracy_policies(0.5, 1.0, np.ones((3, 4)), 4),
        lambda: selection_accuracy_policies(0.5, 1.0, np.full((3, 13), 1 / 13), 4),
    ):
        with pytest.raises(ValueError):
            call()
