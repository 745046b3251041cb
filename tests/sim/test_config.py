"""Config validation and the heterogeneous verifier (no JAX compilation)."""

import json

import numpy as np
import pytest

import sim
from sim.config import config_dict, config_hash


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": 1.2}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"kappa": -1.0}, "kappa"),
        ({"n": 1}, "n"),
        ({"gate": "best"}, "gate"),
        ({"progress": "accuracy"}, "progress"),
        ({"student": "third"}, "student"),
        ({"eta": -1.0}, "eta"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_make_config_rejects_bad_input_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sim.make_config(**{"alpha": 0.5, "kappa": 1.0, **kwargs})


def test_make_config_per_prompt_arrays_and_shape_check():
    N = sim.make_config().N
    cfg = sim.make_config(np.full(N, 0.3), np.linspace(0, 2, N))
    assert np.shape(cfg.alpha) == (N,)
    with pytest.raises(ValueError, match="alpha"):
        sim.make_config(np.full(N + 1, 0.3), 1.0)


def test_students_differ_in_the_required_ways():
    a, b = sim.STUDENTS["default"], sim.STUDENTS["second"]
    for key in ("d_s", "K", "s"):
        assert a[key] != b[key]
    theory = pytest.importorskip("theory")
    acc = [theory.heldout_accuracy0(s["K"], s["mu"], s["b"]) for s in (a, b)]
    assert 0.4 <= acc[0] <= 0.5  # default starts at a middling accuracy
    assert abs(acc[0] - acc[1]) > 0.05  # second starts elsewhere


def test_heterogeneous_verifier_mixture():
    a, k = sim.heterogeneous_verifier([0.85, 0.15], [1.0, 0.0], [0.2, 1.2], 128)
    assert a.shape == k.shape == (128,)
    assert np.sum(a == 0.0) == round(0.15 * 128)
    assert set(np.unique(k)) == {0.2, 1.2}
    with pytest.raises(ValueError, match="fractions"):
        sim.heterogeneous_verifier([0.5, 0.6], [1, 0], [1, 1], 10)


def test_config_json_and_hash_are_stable():
    cfg = sim.make_config(0.3, 2.0, gate="uniform")
    d = config_dict(cfg)
    assert json.loads(json.dumps(d)) == d
    assert config_hash(cfg) == config_hash(sim.make_config(0.3, 2.0, gate="uniform"))
    assert config_hash(cfg) != config_hash(sim.make_config(0.3, 2.0, gate="rank"))
