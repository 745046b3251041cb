"""Scores drawn from THEORY.md's V(alpha, kappa), as the audit's model describes them.

A candidate with rubric label c gets a frozen verdict v (= c with probability alpha) and each
call scores it loc + scale * (kappa (2v - 1) + eps), eps ~ N(0, 1).
"""

from __future__ import annotations

import numpy as np


def generate(alpha, kappa, m, seed, *, loc=0.0, scale=1.0, repeats=1, p_correct=0.5):
    """m candidates of V(alpha, kappa); each scored ``repeats`` times with its frozen verdict."""
    rng = np.random.default_rng(seed)
    c = (rng.random(m) < p_correct).astype(int)
    v = np.where(rng.random(m) < alpha, c, 1 - c)
    cand = np.repeat(np.arange(m), repeats)
    eps = rng.standard_normal(m * repeats)
    s = loc + scale * (kappa * (2 * v[cand] - 1) + eps)
    return s, c[cand], cand
