"""The named students and the one theta0 sampler (theory.student), checked independently."""

import math

import numpy as np
import pytest

import theory


@pytest.mark.parametrize("name", ["default", "second"])
def test_theta0_policies_mean_is_heldout_accuracy0(name):
    """E[pi_0] over theta0_policies' draws equals the deterministic quadrature of T1's
    heldout_accuracy0 (a different computation: Laplace transform of the softmax)."""
    spec = theory.get_student(name)
    pi = theory.theta0_policies(spec, 200_000, seed=1)
    assert pi.shape == (200_000, spec.K)
    assert np.allclose(pi.sum(1), 1.0) and np.all(pi >= 0)
    se = pi[:, 0].std(ddof=1) / math.sqrt(len(pi))
    assert abs(pi[:, 0].mean() - theory.heldout_accuracy0(spec.K, spec.mu, spec.b)) <= 4 * se


def test_theta0_policies_seeded_and_accepts_overrides():
    spec = theory.get_student("default")
    a = theory.theta0_policies(spec, 64, seed=3)
    assert np.array_equal(a, theory.theta0_policies(spec, 64, seed=3))
    assert not np.array_equal(a, theory.theta0_policies(spec, 64, seed=4))
    # a mapping with overridden fields: b = 0 gives the uniform policy
    flat = theory.theta0_policies({**spec.fields(), "b": 0.0, "K": 3}, 8)
    assert np.allclose(flat, 1 / 3)
    with pytest.raises(ValueError, match="M"):
        theory.theta0_policies(spec, 0)


def test_students_and_checks():
    assert set(theory.STUDENTS) == {"default", "second"}
    with pytest.raises(ValueError, match="student must be one of"):
        theory.get_student("third")
    st = theory.check_student(theory.get_student("second"))
    assert st["K"] == 6 and st["d_s"] == 16
    with pytest.raises(ValueError, match="K"):
        theory.check_student({**st, "K": 1})
    with pytest.raises(ValueError, match="N"):
        theory.check_student(st, need_n=True)


def test_gates_are_one_list():
    assert theory.GATES == ("uniform", "threshold", "rank", "proportional", "margin")
    assert theory.check_gate("rank") == "rank"
    with pytest.raises(ValueError, match="gate must be one of"):
        theory.check_gate("bogus")
    with pytest.raises(ValueError, match="progress must be one of"):
        theory.check_progress("trained")  # a reading of theory, not a gate signal of the model


@pytest.mark.parametrize("bad", [math.inf, math.nan, 2.5, "x", True, 1e400])
def test_check_int_refuses_non_integers_with_one_message(bad):
    with pytest.raises(ValueError, match="n must be an integer"):
        theory.check_int("n", bad, 2)
