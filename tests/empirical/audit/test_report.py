"""Audit report (audit/report.py): theory's verdict per verifier and the ranking (T1, T5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erf

from empirical import audit
from tests.empirical.audit.synthetic import generate


def _damage_T5(alpha, kappa):
    """THEORY.md T5 closed form, uniform replay: (1 - 2 alpha)(2 Phi(sqrt2 kappa) - 1)."""
    return (1 - 2 * alpha) * erf(kappa)


def _groups(specs, m, seed):
    out = []
    for i, (name, alpha, kappa) in enumerate(specs):
        s, c, _ = generate(alpha, kappa, m, seed + i, loc=float(i), scale=1.0 + i)
        out.append(
            audit.ScoreGroup(
                name, "mmmu", c.astype(np.int8), np.ones(m), s, s**2, n_questions=m // 4
            )
        )
    return out


def test_T5_ranking_confident_sub_threshold_below_near_random():
    """alpha=0.23, kappa=3 harms more than alpha=0.08, kappa=0.1 (T5): it ranks last."""
    specs = [("confident", 0.23, 3.0), ("near-random", 0.08, 0.1), ("good", 0.8, 1.5)]
    assert _damage_T5(0.23, 3.0) > _damage_T5(0.08, 0.1) > 0 > _damage_T5(0.8, 1.5)
    rows = audit.audit_table(_groups(specs, 2000, 100), gate="uniform")
    assert [r.verifier for r in rows] == ["good", "near-random", "confident"]
    assert [r.rank for r in rows] == [1, 2, 3]
    by = {r.verifier: r for r in rows}
    assert by["good"].side == "above" and by["good"].drift_sign == 1
    assert by["confident"].side == "below" and by["confident"].drift_sign == -1
    assert by["near-random"].drift_sign == -1
    # Point drift equals theory's T1 rate at the estimates (uniform replay).
    f = by["confident"].fit
    assert by["confident"].drift_rate == pytest.approx(-0.5 * _damage_T5(f.alpha, f.kappa))


def test_T5_no_inversion_when_confidence_is_not_enough_higher():
    """A more accurate sub-threshold verifier that is only slightly more confident harms less."""
    specs = [("accurate-meek", 0.4, 0.3), ("inaccurate-confident", 0.1, 2.0)]
    assert _damage_T5(0.1, 2.0) > _damage_T5(0.4, 0.3)
    rows = audit.audit_table(_groups(specs, 2000, 200), gate="uniform")
    assert [r.verifier for r in rows] == ["accurate-meek", "inaccurate-confident"]


def test_gate_amplification_enters_the_rate():
    specs = [("confident", 0.23, 3.0)]
    g = _groups(specs, 500, 300)
    u = audit.audit_table(g, gate="uniform")[0]
    p = audit.audit_table(g, gate="proportional")[0]
    r = audit.audit_table(g, gate="rank")[0]
    a = u.fit.alpha
    assert p.gate_amplification == pytest.approx(1 / (a**2 + (1 - a) ** 2))
    assert p.drift_rate == pytest.approx(u.drift_rate * p.gate_amplification)
    assert math.isnan(r.gate_amplification) and r.drift_rate == pytest.approx(u.drift_rate)
    assert any("no closed-form amplification" in n for n in r.notes)


def test_straddling_interval_says_label_more_and_labels_needed_scale():
    """alpha near 1/2 with few labels: 'cannot tell'; labels_needed = m (h / |alpha - 1/2|)^2."""
    g = _groups([("unsure", 0.56, 1.0)], 200, 400)
    row = audit.audit_table(g)[0]
    f = row.fit
    assert row.side == "cannot tell: label more"
    assert f.alpha_ci[0] < 0.5 < f.alpha_ci[1]
    half = (f.alpha - f.alpha_ci[0]) if f.alpha > 0.5 else (f.alpha_ci[1] - f.alpha)
    assert row.labels_needed == math.ceil(200 * (half / abs(f.alpha - 0.5)) ** 2)
    assert row.labels_needed > 200


def test_labels_needed_roughly_decides_on_a_fresh_sample():
    """Labelling the suggested number of candidates (x2 for margin) decides the side."""
    g = _groups([("unsure", 0.62, 1.2)], 150, 500)
    row = audit.audit_table(g)[0]
    assert row.side == "cannot tell: label more"
    need = 2 * row.labels_needed
    big = _groups([("unsure", 0.62, 1.2)], need, 600)
    assert audit.audit_table(big)[0].side == "above"
