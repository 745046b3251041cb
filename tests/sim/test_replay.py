"""Replay gates: the numpy reference (the empirical loop's gate code) and the JAX gates agree.

The JAX gate's ``update`` (EMA of progress, then P) is compared with the reference's
``observe_progress`` then ``replay_distribution`` on the same inputs (paper/model.md).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim import reference
from sim.replay import GateState, make_gate
from theory.gates import GATE_DEFAULTS, GATES

N = 16


def _inputs(seed: int, t: int):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=N) * (rng.random(N) < 0.8)  # some exact zeros and ties
    last = rng.integers(0, t, size=N)
    margins = np.where(rng.random(N) < 0.3, 0.0, np.abs(rng.normal(size=N)))
    return scores, last, margins


@given(seed=st.integers(0, 10_000), t=st.integers(1, 50), gate=st.sampled_from(GATES))
def test_reference_distribution_is_a_distribution(seed, t, gate):
    scores, last, margins = _inputs(seed, t)
    p = reference.replay_distribution(gate, scores, t - last, margins, t, tau=0.1)
    assert p.shape == (N,)
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    if t == 1:  # round 1 is uniform for every gate
        np.testing.assert_allclose(p, 1.0 / N)


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("hyper", [{}, {"tau": 0.1, "temperature": 0.5, "staleness": 0.2}])
def test_jax_gate_update_equals_reference_observe_then_replay(gate, hyper):
    cfg = sim.make_config(0.5, 1.0, gate=gate, N=N, lam=0.4, **hyper)
    g = make_gate(gate, cfg.params)
    h = {**GATE_DEFAULTS, **hyper}
    for seed in range(20):
        t = 1 + seed  # includes round 1 (uniform, S unchanged)
        scores, last, margins = _inputs(seed, t)
        rng = np.random.default_rng(100 + seed)
        progress = rng.normal(size=N).astype(np.float32)
        valid = rng.random(N) < 0.7
        state = GateState(
            jnp.asarray(scores, jnp.float32), jnp.asarray(last, jnp.int32), jnp.zeros(N)
        )
        p_jax, new = g.update(
            state,
            jnp.asarray(progress),
            jnp.asarray(valid),
            jnp.asarray(margins, jnp.float32),
            jnp.int32(t),
        )
        s_ref = reference.observe_progress(scores.astype(np.float32), progress, valid, t, 0.4)
        p_ref = reference.replay_distribution(
            gate,
            s_ref.astype(np.float32),
            t - last,
            margins.astype(np.float32),
            t,
            tau=h["tau"],
            temperature=h["temperature"],
            staleness_coef=h["staleness"],
        )
        np.testing.assert_allclose(np.asarray(new.score), s_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(p_jax), p_ref, rtol=2e-5, atol=1e-7)


def test_observe_progress_is_an_ema_that_skips_void_pairs_and_round_1():
    s = np.array([0.0, 1.0, -1.0])
    prog = np.array([1.0, 1.0, 1.0])
    valid = np.array([True, True, False])
    np.testing.assert_array_equal(reference.observe_progress(s, prog, valid, 1, 0.5), s)
    np.testing.assert_allclose(reference.observe_progress(s, prog, valid, 2, 0.5), [0.5, 1.0, -1.0])
    # lam = 1 forgets the past: S = the newest progress where observed
    np.testing.assert_allclose(reference.observe_progress(s, prog, valid, 9, 1.0), [1, 1, -1])


def test_reference_gate_defaults_are_theory_defaults():
    """The reference's keyword defaults equal theory.GATE_DEFAULTS (one definition)."""
    scores = np.array([0.3, -0.1, 0.2, 0.0])
    st_, m = np.array([1, 2, 3, 4]), np.zeros(4)
    got = reference.replay_distribution("rank", scores, st_, m, 5)
    want = reference.replay_distribution(
        "rank",
        scores,
        st_,
        m,
        5,
        tau=GATE_DEFAULTS["tau"],
        temperature=GATE_DEFAULTS["temperature"],
        staleness_coef=GATE_DEFAULTS["staleness"],
    )
    np.testing.assert_array_equal(got, want)
    cfg = sim.make_config()
    for k in ("lam", "tau", "temperature", "staleness"):
        assert getattr(cfg, k) == GATE_DEFAULTS[k]


def test_rank_gate_orders_by_score_and_mixes_staleness():
    scores = np.array([0.1, 0.5, -0.2, 0.5])
    p = reference.replay_distribution(
        "rank", scores, np.array([1, 1, 1, 9]), np.zeros(4), 5, temperature=1.0, staleness_coef=0.0
    )
    # ranks: x1 -> 1, x3 -> 2 (tie broken by index), x0 -> 3, x2 -> 4
    np.testing.assert_allclose(p, np.array([1 / 3, 1, 1 / 4, 1 / 2]) / (1 + 1 / 2 + 1 / 3 + 1 / 4))
    p_st = reference.replay_distribution(
        "rank", scores, np.array([1, 1, 1, 9]), np.zeros(4), 5, temperature=1.0, staleness_coef=1.0
    )
    np.testing.assert_allclose(p_st, np.array([1, 1, 1, 9]) / 12)


def test_threshold_and_proportional_fall_back_to_uniform():
    s = np.array([-1.0, -0.5, 0.0])
    for gate in ("threshold", "proportional"):
        p = reference.replay_distribution(gate, s, np.ones(3), np.zeros(3), 3, tau=0.0)
        np.testing.assert_allclose(p, 1 / 3)
    with pytest.raises(ValueError, match="gate"):
        reference.replay_distribution("best", s, np.ones(3), np.zeros(3), 3)


def test_ranks_break_ties_by_index():
    from sim.replay import ranks

    rng = np.random.default_rng(3)
    for n in (8, 128, 200, 300):  # unrolled, unrolled, uint8 comparison matrix, sort
        s = np.round(rng.normal(size=n), 1)  # many ties
        ahead = (s[None, :] > s[:, None]) | (
            (s[None, :] == s[:, None]) & (np.arange(n)[None, :] < np.arange(n)[:, None])
        )
        expected = 1 + ahead.sum(1)  # the definition, by comparisons
        got = np.asarray(ranks(jnp.asarray(s, jnp.float32)))
        np.testing.assert_array_equal(got, expected)
        # inside jit and vmap too
        batch = jnp.asarray(np.stack([s, s[::-1]]), jnp.float32)
        got_b = np.asarray(jax.jit(jax.vmap(ranks))(batch))
        np.testing.assert_array_equal(got_b[0], expected)
        np.testing.assert_array_equal(np.sort(got_b[1]), np.arange(1, n + 1))
