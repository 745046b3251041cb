"""Best-vs-worst pairs from one round's scored samples (paper/model.md, Pairs).

y_w is the highest-scored sample, y_l the lowest; the pair is void when both ends are the same
answer text. Orientation against the rubric: right if c(y_w) = 1 > c(y_l), wrong if
c(y_w) = 0 < c(y_l), un-oriented otherwise (L0's pair channel: the measured share of right
pairs among mixed ones is the empirical a_pair).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Pairs", "make_pairs"]


@dataclass(frozen=True)
class Pairs:
    """One round's pairs over the N train questions.

    Attributes:
        iw, il: (N,) index of the chosen (best) and rejected (worst) sample.
        void: (N,) both ends are the same answer (no update, no progress observation).
        right, wrong: (N,) rubric orientation of non-void pairs.
        margins: (N,) score gap s_w - s_l (0 for void pairs).
        live: (L,) indices of the non-void questions, in order.
        chosen, rejected: (L,) completions (token ids) of the live pairs' ends.
    """

    iw: np.ndarray
    il: np.ndarray
    void: np.ndarray
    right: np.ndarray
    wrong: np.ndarray
    margins: np.ndarray
    live: np.ndarray
    chosen: list[tuple[int, ...]]
    rejected: list[tuple[int, ...]]

    @property
    def counts(self) -> dict[str, int]:
        """Numbers of right, wrong, un-oriented and void pairs."""
        return {
            "right": int(self.right.sum()),
            "wrong": int(self.wrong.sum()),
            "unoriented": int((~self.void & ~self.right & ~self.wrong).sum()),
            "void": int(self.void.sum()),
        }


def make_pairs(
    samples: Sequence[Sequence[tuple[int, ...]]],
    texts: Sequence[Sequence[str]],
    scores: np.ndarray,
    correct: np.ndarray,
) -> Pairs:
    """Pairs from (N, n) scores and rubric labels of the decoded samples ``texts``."""
    scores = np.asarray(scores, dtype=float)
    correct = np.asarray(correct, dtype=float)
    N = scores.shape[0]
    rows = np.arange(N)
    iw, il = scores.argmax(1), scores.argmin(1)
    void = np.array([texts[x][iw[x]] == texts[x][il[x]] for x in range(N)], dtype=bool)
    cw, cl = correct[rows, iw], correct[rows, il]
    right = ~void & (cw > cl)
    wrong = ~void & (cw < cl)
    margins = np.where(void, 0.0, scores[rows, iw] - scores[rows, il])
    live = np.flatnonzero(~void)
    return Pairs(
        iw=iw,
        il=il,
        void=void,
        right=right,
        wrong=wrong,
        margins=margins,
        live=live,
        chosen=[tuple(samples[x][iw[x]]) for x in live],
        rejected=[tuple(samples[x][il[x]]) for x in live],
    )
