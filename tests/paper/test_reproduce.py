"""The reproduce build: plan, cache (code hash and checksum), output folder checks."""

import os
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from paper import reproduce as rp
from paper.experiments import EXPERIMENTS, ladder, t1_drift, t1_phase, t6_cap
from sim.results import read_results, write_results
from theory.util import UsageError


def test_sweep_hash_depends_on_params_and_code_not_on_key_order():
    h = rp.sweep_hash("phase", {"a": 1, "b": [1, 2]}, "code1")
    assert h == rp.sweep_hash("phase", {"b": [1, 2], "a": 1}, "code1")
    assert h != rp.sweep_hash("phase", {"a": 2, "b": [1, 2]}, "code1")
    assert h != rp.sweep_hash("phase", {"a": 1, "b": [1, 2]}, "code2")
    assert h != rp.sweep_hash("pairs", {"a": 1, "b": [1, 2]}, "code1")
    assert len(h) == 16


def test_code_fingerprint_is_per_experiment_and_follows_its_file(tmp_path, monkeypatch):
    a, b = rp.code_fingerprint(t1_drift), rp.code_fingerprint(t6_cap)
    assert a != b and a == rp.code_fingerprint(t1_drift)
    copy = tmp_path / "t1_drift.py"
    copy.write_text(open(t1_drift.__file__).read() + "\n# edited\n")
    monkeypatch.setattr(t1_drift, "__file__", str(copy))
    assert rp.code_fingerprint(t1_drift) != a


def test_a_package_experiment_is_hashed_with_every_module_of_its_package(tmp_path):
    """ladder is a package: a change in any of its modules must miss the cache."""
    folder = Path(ladder.__file__).parent
    on_disk = sorted(folder / f for f in os.listdir(folder) if f.endswith(".py"))
    assert len(on_disk) > 1 and rp.experiment_sources(ladder) == on_disk
    # a stand-in package in tmp_path: edit one submodule, then add one
    pkg = tmp_path / "exp"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("SWEEP = 'exp'\n")
    (pkg / "rows.py").write_text("X = 1\n")
    exp = ModuleType("exp")
    exp.__file__, exp.__path__ = str(pkg / "__init__.py"), [str(pkg)]
    first = rp.code_fingerprint(exp)
    assert rp.code_fingerprint(exp) == first
    (pkg / "rows.py").write_text("X = 2\n")
    second = rp.code_fingerprint(exp)
    assert second != first
    (pkg / "report.py").write_text("Y = 1\n")
    assert rp.code_fingerprint(exp) not in (first, second)
    # a plain module's neighbours are not its code
    flat = ModuleType("flat")
    flat.__file__ = str(pkg / "rows.py")
    before = rp.code_fingerprint(flat)
    (pkg / "report.py").write_text("Y = 2\n")
    assert rp.code_fingerprint(flat) == before


def test_plan_has_every_experiment_and_quick_is_smaller():
    quick, full = rp.plan(True), rp.plan(False)
    assert [e for e, _ in quick] == [e for e, _ in full] == list(EXPERIMENTS)
    assert len({e.SWEEP for e in EXPERIMENTS}) == len(EXPERIMENTS)
    pq, pf = dict(quick)[t1_phase], dict(full)[t1_phase]
    assert pq["rounds"] < pf["rounds"]
    assert len(pq["alphas"]) * len(pq["kappas"]) < len(pf["alphas"]) * len(pf["kappas"])


class _Toy:
    SWEEP = "toy"
    __file__ = t1_drift.__file__


def _runner(calls):
    def run(params, bar):
        calls.append(params)
        return ({"x": np.arange(3)}, {"y": (("x",), np.ones(3) * params["v"])}, {})

    return run


def test_ensure_sweep_reuses_a_file_whose_hash_and_checksum_match(tmp_path):
    calls = []
    p1, r1 = rp.ensure_sweep(tmp_path, _Toy, {"v": 2.0}, runner=_runner(calls))
    p2, r2 = rp.ensure_sweep(tmp_path, _Toy, {"v": 2.0}, runner=_runner(calls))
    assert (r1, r2) == (False, True) and p1 == p2 and len(calls) == 1
    p3, r3 = rp.ensure_sweep(tmp_path, _Toy, {"v": 3.0}, runner=_runner(calls))
    assert not r3 and p3 != p1 and len(calls) == 2


def test_a_results_file_that_fails_its_checksum_is_recomputed_and_reported(tmp_path):
    calls, warnings = [], []
    path, _ = rp.ensure_sweep(tmp_path, _Toy, {"v": 2.0}, runner=_runner(calls))
    res = read_results(path)
    res.data["y"] = (("x",), np.array([1.0, 9.0, 1.0]))  # contents changed, attrs kept
    write_results(path, res.coords, res.data, res.attrs)
    assert rp.cache_state(path, res.attrs["config_hash"]) == "corrupt"
    _, reused = rp.ensure_sweep(
        tmp_path, _Toy, {"v": 2.0}, warn=warnings.append, runner=_runner(calls)
    )
    assert not reused and len(calls) == 2 and "checksum" in warnings[0]
    assert read_results(path)["y"].tolist() == [2.0, 2.0, 2.0]


def test_checksum_ignores_byte_order_but_not_values():
    c = {"x": np.arange(3)}
    d = {"y": (("x",), np.array([1.0, 2.0, 3.0]))}
    be = {"y": (("x",), np.array([1.0, 2.0, 3.0], dtype=">f8"))}
    assert rp.checksum(c, d) == rp.checksum(c, be)
    assert rp.checksum(c, d) != rp.checksum(c, {"y": (("x",), np.array([1.0, 2.0, 4.0]))})


def test_check_out_dir_rejects_a_file_and_an_unwritable_path(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    with pytest.raises(UsageError, match="--out"):
        rp.check_out_dir(f)
    with pytest.raises(UsageError, match="is not a folder"):
        rp.check_out_dir(f / "sub")
    assert rp.check_out_dir(tmp_path / "new" / "dir").is_dir()


def test_figure_modules_are_the_figures_package_list():
    from figures import FIGURES

    assert [m.STEM for m in rp.FIGURE_MODULES] == list(FIGURES)


def _tiny_plan() -> list:
    phase = {
        **t1_phase.spec(True),
        "alphas": [0.2, 0.8],
        "kappas": [1.0, 3.0],
        "rounds": 4,
        "pilot": 3,
        "min_seeds": 4,
        "max_seeds": 5,
    }
    cap = {**t6_cap.spec(True), "points": 2, "rounds": 4, "pilot": 3, "min_seeds": 4}
    return [(t1_phase, phase), (t6_cap, {**cap, "max_seeds": 5})]


def test_experiments_and_figures_in_worker_processes_equal_the_serial_run(tmp_path):
    """reproduce --jobs 2: the same manifest (plan order), results files equal number for
    number, the same figures; only the wall time may change."""
    plan = _tiny_plan()
    a, b = tmp_path / "serial", tmp_path / "workers"
    serial = rp.run_sweeps(a, plan, quiet=True)
    with rp.worker_pool(2) as pool:
        parallel = rp.run_sweeps(b, plan, quiet=True, pool=pool)
        drawn_b, missing_b = rp.draw_figures(b, quiet=True, pending=rp.submit_figures(b, pool))
    drawn_a, missing_a = rp.draw_figures(a, quiet=True)
    assert list(parallel) == list(serial) == [e.SWEEP for e, _ in plan]
    for name, entry in serial.items():
        other = parallel[name]
        assert {k: v for k, v in entry.items() if k != "seconds"} == {
            k: v for k, v in other.items() if k != "seconds"
        }
        for key in ("pilot_file", "file"):
            ra, rb = read_results(a / entry[key]), read_results(b / other[key])
            assert set(ra.data) == set(rb.data) and ra.attrs["checksum"] == rb.attrs["checksum"]
            for var in ra.data:
                np.testing.assert_array_equal(ra[var], rb[var], err_msg=f"{name} {var}")
    assert [p.relative_to(a) for p in drawn_a] == [p.relative_to(b) for p in drawn_b]
    # figures of experiments not run: reported, the same way
    assert missing_a and missing_a.keys() == missing_b.keys()
    assert [m.replace(str(a), str(b)) for m in missing_a.values()] == list(missing_b.values())
    assert {p.name for p in drawn_a} >= {"phase_diagram.png", "compute_cap.png"}
