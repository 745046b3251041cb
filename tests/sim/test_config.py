"""Config validation and the heterogeneous verifier (no JAX compilation)."""

import dataclasses
import json
import subprocess
import sys

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
        assert getattr(a, key) != getattr(b, key)
    theory = pytest.importorskip("theory")
    acc = [theory.heldout_accuracy0(s.K, s.mu, s.b) for s in (a, b)]
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


def test_defaults_read_a_student_without_a_verifier():
    d = sim.defaults("second", N=64)
    spec = sim.STUDENTS["second"]
    assert (d["K"], d["d_s"], d["mu"], d["s"], d["b"], d["N"]) == (
        spec.K,
        spec.d_s,
        spec.mu,
        spec.s,
        spec.b,
        64,
    )
    assert "alpha" not in d and "kappa" not in d
    cfg = sim.make_config(0.4, 1.5, student="second", N=64)
    assert {k: v for k, v in config_dict(cfg).items() if k not in ("alpha", "kappa")} == d
    with pytest.raises(ValueError, match="student"):
        sim.defaults("third")


def test_config_splits_traced_params_from_static_shape():
    import jax

    cfg = sim.make_config(0.3, 2.0, N=40, B=8)
    leaves = jax.tree.leaves(cfg)
    assert len(leaves) == len(dataclasses.fields(sim.Params))  # every Params field is traced
    assert cfg.N == cfg.shape.N == 40 and cfg.alpha == cfg.params.alpha == 0.3
    d = config_dict(cfg)
    for key in ("B", "N", "N_h", "gate", "progress", "rounds", "n", "K", "d_s", "alpha", "eta"):
        assert key in d
    assert cfg.replace(eta=0.5, rounds=3).eta == 0.5
    with pytest.raises(ValueError, match="bogus"):
        cfg.replace(bogus=1)


def test_import_sim_does_not_import_jax():
    code = (
        "import sys, sim, sim.files, sim.reference, sim.results, sim.io, sim.commands; "
        "sim.STUDENTS; print('jax' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "False"
