"""The loop's steps one at a time: pairs and their orientation (L0), the batch draw, the
verifier's output checks, the per-sample log (audit fields), checkpoints that cannot run code."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.checkpoint import Checkpointer
from empirical.data import synthetic_task
from empirical.pairs import make_pairs
from empirical.steps import draw_batch, sample_records, score_step


def test_pairs_orientation_and_void_L0():
    samples = [[(1,), (2,), (3,)]] * 4
    texts = [["A", "B", "C"], ["A", "B", "A"], ["B", "A", "C"], ["B", "C", "D"]]
    scores = np.array([[3.0, 1.0, 2.0], [2.0, 1.0, 0.5], [1.0, 0.0, 2.0], [0.0, 1.0, 2.0]])
    correct = np.array([[1, 0, 0], [1, 0, 1], [0, 1, 0], [0, 0, 0]], float)
    p = make_pairs(samples, texts, scores, correct)
    # q0: best A (right) vs worst B; q1: best A vs worst A (same text: void);
    # q2: best C (wrong) vs worst A (right answer): wrong; q3: both ends wrong: un-oriented
    assert p.right.tolist() == [True, False, False, False]
    assert p.void.tolist() == [False, True, False, False]
    assert p.wrong.tolist() == [False, False, True, False]
    assert p.counts == {"right": 1, "wrong": 1, "unoriented": 1, "void": 1}
    assert p.live.tolist() == [0, 2, 3]
    assert p.chosen == [(1,), (3,), (3,)] and p.rejected == [(2,), (2,), (1,)]
    np.testing.assert_allclose(p.margins, [2.0, 0.0, 2.0, 2.0])


def test_draw_batch_counts_follow_P():
    P = np.array([0.5, 0.0, 0.25, 0.25])
    c = draw_batch(P, 40000, np.random.default_rng(0))
    assert c.sum() == 40000 and c[1] == 0
    np.testing.assert_allclose(c / 40000, P, atol=0.01)


class _Bad:
    def __init__(self, out):
        self.out = out

    def score(self, q, answers, rng):
        return self.out(len(answers))


def test_score_step_refuses_bad_verifier_output():
    qs = synthetic_task(2, 0)
    texts = [["A", "B"], ["C", "D"]]
    s, c = score_step(_Bad(lambda n: np.arange(n, dtype=float)), qs, texts, None)
    assert s.shape == c.shape == (2, 2)
    assert c.sum(1).tolist() == [int(q.answer in "AB") for q in qs[:1]] + [
        int(qs[1].answer in "CD")
    ]
    with pytest.raises(ValueError, match="non-finite"):
        score_step(_Bad(lambda n: np.full(n, np.nan)), qs, texts, None)
    with pytest.raises(ValueError, match="shape"):
        score_step(_Bad(lambda n: np.zeros(n + 1)), qs, texts, None)


def test_sample_records_carry_audit_fields():
    qs = synthetic_task(2, 0)
    texts = [["A", "B"], ["A", "A"]]
    scores = np.array([[1.0, 0.0], [0.3, 0.2]])
    correct = np.array([[1, 0], [1, 1]], float)
    p = make_pairs([[(1,), (2,)]] * 2, texts, scores, correct)
    recs = sample_records(4, qs, texts, scores, correct, p)
    assert len(recs) == 4
    for r in recs:
        assert {"question_id", "candidate_id", "score", "label", "round"} <= set(r)
    assert [r["end"] for r in recs] == ["chosen", "rejected", None, None]  # q1 void


def test_checkpoint_loads_with_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    ck = Checkpointer(tmp_path)
    ck.save(3, {"trainable": {"w": torch.ones(2)}}, {"log": []})

    class Evil:
        def __reduce__(self):
            return (print, ("ran code",))

    ck.save(4, {"trainable": {"w": torch.ones(2)}, "evil": Evil()}, {"log": []})
    t, path = ck.latest()
    assert t == 4 and not (tmp_path / "ckpt-0003").exists()
    assert torch.equal(ck.load(path, "trainable")["w"], torch.ones(2))
    with pytest.raises(Exception, match="[Ww]eights only"):
        ck.load(path, "evil")


def test_truncated_checkpoint_and_temp_files(tmp_path):
    torch = pytest.importorskip("torch")
    ck = Checkpointer(tmp_path)
    ck.save(2, {"trainable": {"w": torch.ones(1000)}}, {"log": []})
    _, path = ck.latest()
    f = path / "trainable.pt"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(ValueError, match="unreadable"):
        ck.load(path, "trainable")
    (tmp_path / ".tmp-ckpt-0003").mkdir()
    (tmp_path / ".log.jsonl.abc123.jsonl").write_text("half")
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / ".round-0003.jsonl.x1.jsonl").write_text("half")
    assert ck.clean_temp() == 3
    assert not any(p.name.startswith(".") for p in tmp_path.rglob("*"))
    assert (path / "state.json").is_file()
