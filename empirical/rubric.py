"""The rubric c(x, y) of THEORY.md for benchmark questions: letters, numbers, normalised text.

Answer checkers read verbose answers the way the benchmarks' own scripts do: the LAST
"answer is X" / "answer: X" statement wins over anything said before it ("A triangle has three
sides, so the answer is C" -> C); without one, a bare option letter at the start ("B", "(B)",
"B. cat") or the last "(B)"; numbers come from the last "answer is" statement (else the last
number), with thousands separators, units, percent signs, LaTeX wrappers and simple fractions
read, compared within the question's tolerance (MathVista's precision).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "LETTERS",
    "Question",
    "extract_letter",
    "extract_number",
    "match_letter",
    "match_number",
    "match_text",
    "normalise_text",
    "rubric",
]

LETTERS = string.ascii_uppercase


@dataclass
class Question:
    """One rubric-labelled question.

    Attributes:
        qid: stable id (verifier verdicts are frozen per (qid, answer)).
        prompt: the text shown to the student (choices included).
        images: PIL images.
        answer: the gold answer: a letter for multiple choice, else a number or a string.
        kind: "letter", "number" or "text".
        choices: option texts for multiple choice (letters A, B, ... in order).
        tolerance: absolute tolerance for "number" answers.
        subject: the benchmark's subject or sub-task ("" if none).
    """

    qid: str
    prompt: str
    images: list = field(default_factory=list)
    answer: str = ""
    kind: str = "letter"
    choices: list[str] | None = None
    tolerance: float = 1e-6
    subject: str = ""


# "the answer is C", "Answer: (C)", "final answer: C", "answer is option C"
_ANSWER_IS = re.compile(
    r"answer\s*(?:is|:|=)?\s*(?:option\s*|choice\s*)?[:\-]?\s*(.+)", flags=re.IGNORECASE
)
# a bare leading letter: "B", "(B)", "B.", "B)", "B <|im_end|>", but not the article in "A cat"
_LEAD_LETTER = re.compile(r"^\(?([A-Z])\)?(?:[.:)]|\s*$|\s+[^A-Za-z\s])")
# after "answer is": "(b)", "C", "C.", "b." (a lower-case letter only when it cannot be a word)
_TAIL_LETTER = re.compile(r"\(([A-Za-z])\)|([A-Z])(?=[\s.,:;)!]|$)|([a-z])(?=[.,:;)!]|$)")
_PAREN_LETTER = re.compile(r"\(([A-Z])\)")


def _after_last_answer_is(text: str) -> str | None:
    """The text after the last "answer (is|:)" statement, or None."""
    starts = [m.start() for m in re.finditer(r"\banswer\b", text, flags=re.IGNORECASE)]
    for s in reversed(starts):
        m = _ANSWER_IS.match(text, s)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return None


def extract_letter(response: str, n_choices: int = 26) -> str | None:
    """The option letter a response gives, or None.

    Order: the last "answer is X" statement; a bare leading letter ("B", "(B)", "B. cat",
    "B)"); the last "(B)" anywhere. A letter beyond ``n_choices`` counts as no answer.
    """
    text = response.strip()
    tail = _after_last_answer_is(text)
    found = None
    if tail is not None:
        m = _TAIL_LETTER.match(tail)
        if m:
            found = next(g for g in m.groups() if g).upper()
    if found is None:
        m = _LEAD_LETTER.match(text) or re.match(r"^\(([A-Z])\)", text)
        if m:
            found = m.group(1)
    if found is None:
        hits = _PAREN_LETTER.findall(text)
        found = hits[-1] if hits else None
    if found is None or LETTERS.index(found) >= n_choices:
        return None
    return found


_NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+"
_FRAC = re.compile(rf"^\s*({_NUM})\s*/\s*({_NUM})")


def _to_float(s: str) -> float | None:
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return None


def _clean(text: str) -> str:
    """Drop LaTeX wrappers ($, \\boxed{}, \\text{}, \\frac{a}{b} -> a/b) and percent signs."""
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", text)
    text = re.sub(r"\\(?:boxed|text|mathrm|mbox)\{([^{}]*)\}", r"\1", text)
    return text.replace("$", " ").replace("%", " ")


def extract_number(response: str) -> float | None:
    """The number a response answers with: the first number of its last "answer is" statement
    (a fraction a/b read as a number), else the last number in it; None if there is none."""
    text = _clean(response)
    tail = _after_last_answer_is(text)
    if tail is not None:
        m = _FRAC.match(tail)
        if m:
            a, b = _to_float(m.group(1)), _to_float(m.group(2))
            if a is not None and b:
                return a / b
        first = re.search(_NUM, tail)
        if first:
            return _to_float(first.group(0))
    found = re.findall(_NUM, text)
    return _to_float(found[-1]) if found else None


def normalise_text(text: str) -> str:
    """Lowercase, drop punctuation, articles and extra spaces (SQuAD-style normalisation)."""
    text = text.lower().strip()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def match_letter(response: str, answer: str, choices: Sequence[str] | None = None) -> bool:
    """Multiple-choice rubric: the response's letter (or the exact option text) is the answer."""
    n = len(choices) if choices else 26
    letter = extract_letter(response, n)
    if letter is not None:
        return letter == answer.strip().strip("()").upper()
    if choices:
        k = LETTERS.index(answer.strip().strip("()").upper())
        return k < len(choices) and normalise_text(response) == normalise_text(choices[k])
    return False


def match_number(response: str, answer: str | float, tolerance: float = 1e-6) -> bool:
    """Numeric rubric: the response's answer number is within ``tolerance`` of the answer."""
    got = extract_number(response)
    want = _to_float(str(answer))
    if want is None or got is None or not math.isfinite(got):
        return False
    return abs(got - want) <= tolerance


def match_text(response: str, answer: str) -> bool:
    """Free-form rubric: equal after normalisation (the last "answer is" statement if any)."""
    tail = _after_last_answer_is(response)
    if tail is not None and normalise_text(tail) == normalise_text(answer):
        return True
    return normalise_text(response) == normalise_text(answer)


def rubric(question: Question, response: str) -> bool:
    """c(x, y): is ``response`` correct for ``question`` under its benchmark's rubric."""
    if question.kind == "letter":
        return match_letter(response, question.answer, question.choices)
    if question.kind == "number":
        return match_number(response, question.answer, question.tolerance)
    return match_text(response, question.answer)
