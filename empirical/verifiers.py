"""Verifiers that score a student's answers: synthetic V(alpha, kappa), a VLM judge, the rubric.

``SyntheticVerifier`` is THEORY.md's V(alpha, kappa) around the task rubric: a frozen verdict
v(x, y) = c(x, y) with probability alpha, drawn once per (question, answer) (here from a hash of
(seed, qid, answer), so asked twice it is wrong the same way, and the same uniform U serves every
alpha: common random numbers as in paper/model.md), and a score kappa (2 v - 1) + eps with
eps ~ N(0, 1) fresh per call. ``JudgeVerifier`` asks a second local VLM "is this answer
correct?" and scores the log-odds of "yes". ``OracleVerifier`` is the rubric itself.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from empirical.data import Question, normalise_text, rubric
from empirical.student import collate, load_student
from empirical.vision_cache import compute_image_features, vision_is_frozen


def _uniform(seed: int, qid: str, answer: str) -> float:
    """A fixed U(0, 1) per (seed, question, answer): the frozen verdict's random number."""
    h = hashlib.sha256(f"{seed}\x1f{qid}\x1f{normalise_text(answer)}".encode()).digest()
    return int.from_bytes(h[:8], "little") / 2.0**64


@dataclass(frozen=True)
class SyntheticVerifier:
    """V(alpha, kappa): frozen verdicts with rubric accuracy alpha, score SNR kappa."""

    alpha: float
    kappa: float
    seed: int = 0

    def verdict(self, question: Question, answer: str) -> int:
        """v(x, y): the rubric with probability alpha, its negation otherwise (frozen)."""
        c = int(rubric(question, answer))
        return c if _uniform(self.seed, question.qid, answer) < self.alpha else 1 - c

    def score(
        self, question: Question, answers: Sequence[str], rng: np.random.Generator
    ) -> np.ndarray:
        """Scores kappa (2 v - 1) + eps of one question's answers (eps fresh per call)."""
        v = np.array([self.verdict(question, a) for a in answers], dtype=float)
        return self.kappa * (2.0 * v - 1.0) + rng.standard_normal(len(answers))


@dataclass(frozen=True)
class OracleVerifier:
    """The rubric as a verifier: score 1 for a correct answer, 0 otherwise (ties broken by rng)."""

    def score(
        self, question: Question, answers: Sequence[str], rng: np.random.Generator
    ) -> np.ndarray:
        c = np.array([float(rubric(question, a)) for a in answers])
        return c + 1e-6 * rng.standard_normal(len(answers))


JUDGE_PROMPT = (
    "Question : {question}\nProposed answer : {answer}\n"
    "Is the proposed answer correct ? Answer yes or no ."
)


class JudgeVerifier:
    """A second local VLM: score = log-odds of "yes" as its next token after the judge prompt."""

    def __init__(self, judge: Any, batch_size: int = 8, prompt: str = JUDGE_PROMPT):
        self.judge = judge
        self.batch_size = batch_size
        self.prompt = prompt
        self._features: dict[str, list] = {}  # question id -> its images' features (CPU)
        tok = judge.tokenizer
        self.yes_ids = self._first_ids(tok, ("yes", "Yes", " yes", " Yes"))
        if not self.yes_ids:
            raise ValueError("judge tokenizer has no token for 'yes'")

    def __repr__(self) -> str:
        return f"JudgeVerifier({self.judge.path!r}, prompt={self.prompt!r})"

    @staticmethod
    def _first_ids(tok: Any, words: Sequence[str]) -> list[int]:
        ids = set()
        for w in words:
            enc = tok(w, add_special_tokens=False)["input_ids"]
            if enc and tok.unk_token_id not in enc[:1]:
                ids.add(int(enc[0]))
        return sorted(ids)

    def score(
        self, question: Question, answers: Sequence[str], rng: np.random.Generator
    ) -> np.ndarray:
        import torch

        q = re.sub(r"\s+", " ", question.prompt)
        prompts = [
            self.judge.encode(self.prompt.format(question=q, answer=a), question.images)
            for a in answers
        ]
        out = []
        model = self.judge.model
        feats = None
        if prompts and prompts[0].pixel_values is not None and self.judge.vision_cache:
            if vision_is_frozen(model):
                # the question's images are the same for every answer and every round
                if question.qid not in self._features:
                    f = compute_image_features(self.judge, model, prompts[0])
                    self._features[question.qid] = [x.cpu() for x in f]
                feats = [x.to(self.judge.device) for x in self._features[question.qid]]
        with torch.no_grad():
            for s in range(0, len(prompts), self.batch_size):
                chunk = prompts[s : s + self.batch_size]
                batch = collate(
                    self.judge, chunk, image_features=None if feats is None else feats * len(chunk)
                )
                logits = model(**batch, logits_to_keep=1).logits[:, -1].float()
                logp = torch.log_softmax(logits, -1)
                lp_yes = torch.logsumexp(logp[:, self.yes_ids], -1)
                # log-odds log p / (1 - p), stable for p near 0 or 1
                out.append((lp_yes - torch.log1p(-lp_yes.exp().clamp(max=1 - 1e-7))).cpu())
        return torch.cat(out).numpy().astype(float)


_PLUGIN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def parse_verifier_spec(spec: str) -> tuple[str, dict]:
    """Parse ``synthetic:ALPHA:KAPPA``, ``judge:PATH``, ``oracle`` or ``module:callable``."""
    if spec == "oracle":
        return "oracle", {}
    if spec.startswith("judge:"):
        path = spec[len("judge:") :]
        if not path:
            raise ValueError("--verifier judge:PATH needs a path")
        return "judge", {"path": path}
    if spec.startswith("synthetic:"):
        parts = spec.split(":")
        if len(parts) != 3:
            raise ValueError(f"--verifier must be synthetic:ALPHA:KAPPA, got {spec!r}")
        try:
            alpha, kappa = float(parts[1]), float(parts[2])
        except ValueError as exc:
            raise ValueError(
                f"--verifier synthetic:ALPHA:KAPPA needs numbers, got {spec!r}"
            ) from exc
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"--verifier alpha must be in [0, 1], got {alpha:g}")
        if not kappa >= 0.0 or not np.isfinite(kappa):
            raise ValueError(f"--verifier kappa must be in [0, inf), got {kappa:g}")
        return "synthetic", {"alpha": alpha, "kappa": kappa}
    if _PLUGIN.match(spec):
        module, name = spec.split(":")
        return "plugin", {"module": module, "name": name}
    raise ValueError(
        "--verifier must be synthetic:ALPHA:KAPPA, judge:PATH, oracle or module:callable, "
        f"got {spec!r}"
    )


@dataclass(frozen=True)
class FunctionVerifier:
    """A plain scoring function ``f(question, answers, rng) -> scores`` as a verifier."""

    fn: Any
    spec: str

    def score(
        self, question: Question, answers: Sequence[str], rng: np.random.Generator
    ) -> np.ndarray:
        return np.asarray(self.fn(question, list(answers), rng), dtype=float)

    def __repr__(self) -> str:
        return f"FunctionVerifier({self.spec})"


def load_plugin(module: str, name: str) -> Any:
    """The verifier a ``module:callable`` spec names (a team's own, importable from sys.path).

    ``callable`` may be an object with a ``score(question, answers, rng)`` method, a class
    whose no-argument instance has one, or a function ``score(question, answers, rng)``
    returning one float per answer.
    """
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"--verifier {module}:{name}: cannot import {module} ({exc})") from exc
    obj: Any = mod
    for part in name.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"--verifier {module}:{name}: {module} has no {name}")
        obj = getattr(obj, part)
    if isinstance(obj, type):
        obj = obj()
    if callable(getattr(obj, "score", None)):
        return obj
    if callable(obj):
        return FunctionVerifier(obj, f"{module}:{name}")
    raise ValueError(f"--verifier {module}:{name} is neither a verifier nor a function")


def make_verifier(
    spec: str, *, seed: int = 0, device: str | None = None, judge_prompt: str | None = None
) -> Any:
    """Build the verifier a spec names (the judge is loaded frozen from its local path)."""
    kind, params = parse_verifier_spec(spec)
    if kind == "oracle":
        return OracleVerifier()
    if kind == "synthetic":
        return SyntheticVerifier(params["alpha"], params["kappa"], seed)
    if kind == "plugin":
        return load_plugin(params["module"], params["name"])
    judge = load_student(params["path"], device=device, trainable=False)
    return JudgeVerifier(judge, prompt=judge_prompt or JUDGE_PROMPT)
