"""Synthetic V(alpha, kappa) (THEORY.md): frozen verdicts, rubric accuracy alpha and score
signal kappa within standard errors; spec parsing; the rubric oracle."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.data import Question, synthetic_task
from empirical.verifiers import (
    OracleVerifier,
    SyntheticVerifier,
    make_verifier,
    parse_verifier_spec,
)


def test_verdicts_frozen_scores_fresh():
    q = synthetic_task(1, 0)[0]
    v = SyntheticVerifier(0.3, 1.5, seed=4)
    rng = np.random.default_rng(0)
    verdicts = [[v.verdict(q, a) for a in "ABCD"] for _ in range(3)]
    assert verdicts[0] == verdicts[1] == verdicts[2]
    s1, s2 = v.score(q, list("ABCD"), rng), v.score(q, list("ABCD"), rng)
    assert not np.allclose(s1, s2)  # noise is fresh per call
    # common random numbers: the same U for every alpha, so verdicts are monotone in alpha
    for a_lo, a_hi in [(0.2, 0.6), (0.6, 0.95)]:
        lo, hi = SyntheticVerifier(a_lo, 1, seed=4), SyntheticVerifier(a_hi, 1, seed=4)
        for a in "ABCD":
            right_lo = lo.verdict(q, a) == int(a == q.answer)
            right_hi = hi.verdict(q, a) == int(a == q.answer)
            assert right_hi or not right_lo


@pytest.mark.parametrize("alpha, kappa", [(0.9, 2.0), (0.2, 1.0), (0.5, 0.3)])
def test_alpha_and_kappa_statistics_within_se(alpha, kappa):
    qs = [Question(f"q{i}", "p", [], "A", "letter", ["a", "b", "c", "d"]) for i in range(1500)]
    v = SyntheticVerifier(alpha, kappa, seed=11)
    rng = np.random.default_rng(1)
    agree, s_v1, s_v0 = [], [], []
    for q in qs:
        ans = list("ABCD")
        ver = np.array([v.verdict(q, a) for a in ans])
        c = np.array([a == q.answer for a in ans], int)
        agree.extend(ver == c)
        s = v.score(q, ans, rng)
        s_v1.extend(s[ver == 1])
        s_v0.extend(s[ver == 0])
    agree = np.array(agree, float)
    se = np.sqrt(alpha * (1 - alpha) / agree.size)
    assert abs(agree.mean() - alpha) <= 4 * se
    s_v1, s_v0 = np.array(s_v1), np.array(s_v0)
    se_gap = np.sqrt(s_v1.var() / s_v1.size + s_v0.var() / s_v0.size)
    assert abs((s_v1.mean() - s_v0.mean()) - 2 * kappa) <= 4 * se_gap
    # noise around the verdict's mean is N(0, 1): its variance within 4 SE of 1
    resid = np.concatenate([s_v1 - kappa, s_v0 + kappa])
    assert abs(resid.var() - 1.0) <= 4 * np.sqrt(2.0 / resid.size)


def test_oracle_is_the_rubric():
    q = synthetic_task(1, 0)[0]
    s = OracleVerifier().score(q, list("ABCD"), np.random.default_rng(0))
    assert "ABCD"[int(np.argmax(s))] == q.answer


@pytest.mark.parametrize(
    "spec, msg",
    [
        ("synthetic:1.2:1", "alpha must be in"),
        ("synthetic:-0.1:1", "alpha must be in"),
        ("synthetic:0.5:-1", "kappa must be in"),
        ("synthetic:0.5", "synthetic:ALPHA:KAPPA"),
        ("synthetic:a:b", "needs numbers"),
        ("judge:", "needs a path"),
        ("gpt", "must be"),
    ],
)
def test_bad_specs(spec, msg):
    with pytest.raises(ValueError, match=msg):
        parse_verifier_spec(spec)


def test_good_specs():
    assert parse_verifier_spec("synthetic:0.25:3") == ("synthetic", {"alpha": 0.25, "kappa": 3.0})
    assert parse_verifier_spec("oracle") == ("oracle", {})
    assert parse_verifier_spec("judge:/x/y") == ("judge", {"path": "/x/y"})
    assert isinstance(make_verifier("oracle"), OracleVerifier)


def test_judge_scores_log_odds_of_yes(tiny_path):
    """The VLM judge (a second local checkpoint): score = log p(yes) - log(1 - p(yes)) of its
    next token, deterministic (a frozen judge is wrong the same way when asked twice)."""
    import torch

    from empirical.student import collate, load_student
    from empirical.verifiers import JUDGE_PROMPT, JudgeVerifier

    judge = JudgeVerifier(load_student(tiny_path, device="cpu", trainable=False))
    q = synthetic_task(1, 5)[0]
    rng = np.random.default_rng(0)
    s1 = judge.score(q, list("ABCD"), rng)
    s2 = judge.score(q, list("ABCD"), rng)
    assert s1.shape == (4,) and np.all(np.isfinite(s1))
    np.testing.assert_allclose(s1, s2, rtol=1e-6)
    # recompute the first one by hand from the full next-token distribution
    prompt = judge.judge.encode(
        JUDGE_PROMPT.format(question=" ".join(q.prompt.split()), answer="A"), q.images
    )
    with torch.no_grad():
        logits = judge.judge.model(**collate(judge.judge, [prompt])).logits[0, -1]
    p_yes = torch.softmax(logits.double(), -1)[judge.yes_ids].sum().item()
    assert s1[0] == pytest.approx(np.log(p_yes) - np.log1p(-p_yes), abs=1e-4)


def test_plugin_verifiers(tmp_path, monkeypatch):
    """--verifier module:callable: a function, a class or an object with .score."""
    from empirical.verifiers import load_plugin

    (tmp_path / "team_verifier.py").write_text(
        "import numpy as np\n"
        "def score(question, answers, rng):\n"
        "    return [float(a == question.answer) for a in answers]\n"
        "class Scorer:\n"
        "    def score(self, question, answers, rng):\n"
        "        return np.full(len(answers), 2.0)\n"
        "INSTANCE = Scorer()\n"
        "NOT_CALLABLE = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    q = synthetic_task(1, 0)[0]
    rng = np.random.default_rng(0)
    f = make_verifier("team_verifier:score")
    assert f.score(q, [q.answer, "Z"], rng).tolist() == [1.0, 0.0]
    assert "team_verifier:score" in repr(f)
    for name in ("Scorer", "INSTANCE"):
        assert make_verifier(f"team_verifier:{name}").score(q, ["A"], rng).tolist() == [2.0]
    with pytest.raises(ValueError, match="has no"):
        load_plugin("team_verifier", "missing")
    with pytest.raises(ValueError, match="neither"):
        load_plugin("team_verifier", "NOT_CALLABLE")
    assert parse_verifier_spec("team_verifier:score")[0] == "plugin"
