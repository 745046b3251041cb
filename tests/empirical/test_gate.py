"""The empirical loop's gate step against paper/model.md's gate (T2, T3: the gate semantics the
simulator and the loop share): the same fixed progress/void/margin/visit sequences give the same
replay distribution P every round, progress is observed before P is built, and ``loss`` progress
is the previous update's effect on the newest pair."""

from __future__ import annotations

import numpy as np
import pytest

import sim.reference
from empirical import gate as egate
from empirical.config import LoopConfig
from empirical.gate import gate_init, gate_update, gate_visit
from empirical.pairs import make_pairs
from empirical.steps import gate_step
from theory.gates import GATE_DEFAULTS, GATES


def _model_md_gate(gate, seq, *, lam, tau, T, rho):
    """paper/model.md written out independently: S <- (1-lam) S + lam P on non-void pairs
    from round 2 on, then P from S; st_x = t - last visit (t if never)."""
    N = seq[0]["progress"].size
    S = np.zeros(N)
    last = np.zeros(N)
    out = []
    for t, r in enumerate(seq, start=1):
        if t > 1:
            S = np.where(r["valid"], (1 - lam) * S + lam * r["progress"], S)
        if t == 1 or gate == "uniform":
            P = np.full(N, 1 / N)
        elif gate in ("threshold", "proportional", "margin"):
            w = {
                "threshold": (S > tau).astype(float),
                "proportional": np.maximum(S, 0.0),
                "margin": r["margins"],
            }[gate]
            P = w / w.sum() if w.sum() > 0 else np.full(N, 1 / N)
        else:
            rank = np.empty(N)
            # rank 1 = largest S; ties by index (a stable sort of -S)
            for k, x in enumerate(sorted(range(N), key=lambda i: (-S[i], i)), start=1):
                rank[x] = k
            h = (1 / rank) ** (1 / T)
            st = t - last
            P = (1 - rho) * h / h.sum() + rho * st / st.sum()
        out.append(P)
        last = np.where(r["counts"] > 0, t, last)
    return out


def _sequence(N=7, R=6, seed=0):
    rng = np.random.default_rng(seed)
    seq = []
    for _ in range(R):
        valid = rng.random(N) < 0.7
        seq.append(
            {
                "progress": rng.normal(0.0, 1.0, N),
                "valid": valid,
                "margins": np.where(valid, rng.exponential(1.0, N), 0.0),
                "counts": rng.multinomial(5, np.full(N, 1 / N)),
                "mean_score": rng.normal(size=N),
            }
        )
    # ties in S for the rank gate's tie-break: two prompts never observed
    for r in seq:
        r["valid"][[2, 5]] = False
    return seq


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("T", [GATE_DEFAULTS["temperature"], 0.3])
def test_gate_step_matches_model_md_T2(gate, T):
    seq = _sequence()
    hp = dict(lam=0.4, tau=0.05, T=T, rho=GATE_DEFAULTS["staleness"])
    want = _model_md_gate(gate, seq, **hp)
    state = gate_init(7)
    for t, (r, P_want) in enumerate(zip(seq, want), start=1):
        P, state = gate_update(
            state,
            gate,
            t,
            r["progress"],
            r["valid"],
            r["margins"],
            lam=hp["lam"],
            tau=hp["tau"],
            temperature=T,
            staleness_coef=hp["rho"],
        )
        np.testing.assert_allclose(P, P_want, rtol=0, atol=1e-12)
        assert P.sum() == pytest.approx(1.0)
        state = gate_visit(state, r["counts"], t, r["mean_score"])


def test_gate_code_is_the_numpy_reference():
    """No inline copy: the loop's gate functions are sim.reference's."""
    assert egate.replay_distribution is sim.reference.replay_distribution
    if hasattr(sim.reference, "observe_progress"):
        assert egate.observe_progress is sim.reference.observe_progress


def _pairs(N, void_mask):
    samples = [[(1,), (2,)] for _ in range(N)]
    texts = [["A", "A" if v else "B"] for v in void_mask]
    scores = np.tile([1.0, 0.0], (N, 1))
    correct = np.tile([1.0, 0.0], (N, 1))
    return make_pairs(samples, texts, scores, correct)


def test_progress_is_observed_before_P_is_built():
    """Round 2: progress seen only on question 3 -> the proportional gate replays question 3 in
    that same round (model.md's order; P built before the progress would still be uniform)."""
    N = 5
    pairs = _pairs(N, [False] * N)
    cfg = LoopConfig(gate="proportional", progress="loss")
    state = gate_init(N)
    P1, state = gate_step(state, cfg, 1, pairs, np.full(N, 0.7), None, np.zeros(N))
    np.testing.assert_allclose(P1, 1 / N)
    loss_now = np.full(N, 0.6)
    loss_prev = np.full(N, 0.6)
    loss_prev[3] = 0.9  # the last update lowered question 3's newest-pair loss by 0.3
    P2, state = gate_step(state, cfg, 2, pairs, loss_now, loss_prev, np.zeros(N))
    np.testing.assert_allclose(P2, np.eye(N)[3])
    assert state.S[3] == pytest.approx(cfg.lam * 0.3)


def test_void_pairs_leave_progress_unchanged():
    N = 4
    pairs = _pairs(N, [False, True, False, False])
    cfg = LoopConfig(gate="rank", progress="loss")
    state = gate_init(N)._replace(S=np.array([0.1, 0.2, 0.3, 0.4]))
    live = pairs.live  # [0, 2, 3]
    loss_prev = np.full(live.size, 1.0)
    _, new = gate_step(state, cfg, 3, pairs, np.zeros(live.size), loss_prev, np.zeros(N))
    assert new.S[1] == 0.2
    np.testing.assert_allclose(new.S[live], (1 - cfg.lam) * state.S[live] + cfg.lam * 1.0)


def test_loss_progress_of_the_first_update_starts_from_log2(tiny_path):
    """At round 2, theta_{t-2} = theta_0 = pi_ref, so every newest pair's loss before the last
    update is -log sigmoid(0) = log 2 exactly, whatever the pair (model.md's `loss` progress)."""
    torch = pytest.importorskip("torch")
    from empirical.checkpoint import trainable_state
    from empirical.data import synthetic_task
    from empirical.loop import _frozen_reference
    from empirical.steps import pair_losses
    from empirical.student import load_student

    st = load_student(tiny_path, device="cpu")
    theta0 = trainable_state(st.model)
    ref = _frozen_reference(st)
    with torch.no_grad():  # an "update": move every trainable weight
        for p in st.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    qs = synthetic_task(4, 0, split="pool")
    prompts = [st.encode(q.prompt, q.images) for q in qs]
    a = [(st.tokenizer.convert_tokens_to_ids(c),) for c in "ABCD"]
    samples = [
        [a[0] + (st.eos_token_ids[0],), a[k % 3 + 1] + (st.eos_token_ids[0],)] for k in range(4)
    ]
    texts = [["A", "BCD"[k % 3]] for k in range(4)]
    pairs = make_pairs(samples, texts, np.tile([1.0, 0.0], (4, 1)), np.tile([1.0, 0.0], (4, 1)))
    cfg = LoopConfig(beta=0.5, train_batch=4)
    out = pair_losses(st, ref, prompts, pairs, cfg, theta0)
    np.testing.assert_allclose(out["loss_prev"], np.log(2.0), atol=1e-6)
    assert np.all(np.abs(out["loss_now"] - np.log(2.0)) > 1e-4)  # the update moved them
    # the model's weights are back to theta_1 after the swap
    after = trainable_state(st.model)
    assert any(not torch.equal(after[k], theta0[k]) for k in theta0)
