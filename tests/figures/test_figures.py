"""Figure scripts, claims decisions and the reproduce cache on small synthetic results files.

None of these runs the simulator: the results files come from tests/figures/synthetic.py.
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from figures import FIGURES
from sim import claims as claims_mod
from sim import reproduce as rp
from sim.results import read_results, write_results
from tests.figures import synthetic
from theory.util import UsageError


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    return synthetic.write_all(tmp_path_factory.mktemp("synth"))


@pytest.mark.parametrize("name", FIGURES)
def test_figure_script_writes_png_and_pdf(synth, tmp_path, name):
    module = importlib.import_module(f"figures.{name}")
    paths = module.main(str(synth), str(tmp_path))
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:4] == b"\x89PNG"
    assert paths[1].read_bytes()[:4] == b"%PDF"


def test_figure_cli_reports_missing_results_in_one_line(tmp_path, capsys):
    from figures import phase_diagram
    from figures._common import cli

    assert cli(phase_diagram.main, [str(tmp_path / "nothing-here")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "phase" in err


def test_results_path_prefers_manifest_and_explains_unrun_sweeps(tmp_path):
    from figures._common import results_path

    synthetic.write_all(tmp_path)
    (tmp_path / "sweeps").mkdir()
    moved = tmp_path / "sweeps" / "phase-abc.nc"
    (tmp_path / "phase.nc").rename(moved)
    manifest = {
        "phase": {"file": "sweeps/phase-abc.nc"},
        "variance": {"file": None, "error": "no T2 yet"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert results_path(tmp_path, "phase") == moved
    with pytest.raises(FileNotFoundError, match="no T2 yet"):
        results_path(tmp_path, "variance")


# ------------------------------------------------------------------ claims decisions ---------


def test_every_claim_is_decided_on_synthetic_results(synth):
    claims = claims_mod.evaluate(synth)
    assert [c.id for c in claims] == list(claims_mod.CLAIM_IDS)
    for c in claims:
        d = c.to_dict()
        assert {"id", "statement", "theory", "sim", "sim_ci", "holds", "decision"} <= set(d)
        assert isinstance(d["holds"], bool) and d["decision"]


def test_l0_claim_holds_when_simulation_matches_the_closed_form(synth):
    assert claims_mod.claim_l0(synth, general_n=False).holds


def test_l0_claim_fails_when_simulation_is_biased(tmp_path):
    # same synthetic truth shifted by 0.1: far outside any SE-based tolerance
    root = synthetic.write_all(tmp_path, pair_bias=0.1)
    c = claims_mod.claim_l0(root, general_n=False)
    assert not c.holds
    assert c.sim - c.theory == pytest.approx(0.1, abs=0.03)


def test_agreement_combines_theory_monte_carlo_error():
    rng = np.random.default_rng(0)
    sim = 0.5 + 0.01 * rng.standard_normal((1, 8))
    tight = claims_mod.agreement(sim, np.array([0.6]))
    loose = claims_mod.agreement(sim, np.array([0.6]), theory_se=np.array([0.1]))
    assert tight["max_z"] > tight["k"]
    assert loose["max_z"] < loose["k"]


def test_critical_k_is_at_least_three_and_grows_with_tests():
    assert claims_mod.critical_k(1000, 1) == 3.0
    assert claims_mod.critical_k(8, 100) > claims_mod.critical_k(8, 10) > 3.0


def test_crossing_interpolates_and_flags_no_crossing():
    a = np.array([0.0, 0.5, 1.0])
    assert claims_mod.crossing(a, np.array([-1.0, -0.5, 0.5])) == pytest.approx(0.75)
    assert claims_mod.crossing(a, np.array([1.0, 2.0, 3.0])) == -math.inf
    assert claims_mod.crossing(a, np.array([-1.0, -2.0, -3.0])) == math.inf


def test_bootstrap_crossing_interval_contains_a_clean_crossing():
    rng = np.random.default_rng(1)
    alphas = np.linspace(0, 1, 11)
    delta = (alphas - 0.5)[:, None] + 0.02 * rng.standard_normal((11, 16))
    est, lo, hi = claims_mod.bootstrap_crossing(alphas, delta, 0.95)
    assert lo <= 0.5 <= hi and abs(est - 0.5) < 0.05


def test_claims_writers_list_every_claim(synth, tmp_path):
    claims = claims_mod.evaluate(synth)
    j, m = claims_mod.write_claims(tmp_path, claims)
    rows = json.loads(j.read_text())
    assert [r["id"] for r in rows] == list(claims_mod.CLAIM_IDS)
    text = m.read_text()
    for c in claims:
        assert f"| {c.id} |" in text
    table, macros = claims_mod.write_paper_tables(tmp_path / "gen", claims)
    assert table.read_text().count(r"\\") == len(claims) + 1  # header + one row per claim
    assert r"\newcommand{\claimTfiveHolds}" in macros.read_text()


def test_tex_escape():
    assert claims_mod.tex_escape("a_b 5% & #1 {x}") == r"a\_b 5\% \& \#1 \{x\}"


# ------------------------------------------------------------------ reproduce plumbing -------


def test_sweep_hash_depends_on_params_and_code_not_on_key_order():
    h = rp.sweep_hash("phase", {"a": 1, "b": [1, 2]}, "code1")
    assert h == rp.sweep_hash("phase", {"b": [1, 2], "a": 1}, "code1")
    assert h != rp.sweep_hash("phase", {"a": 2, "b": [1, 2]}, "code1")
    assert h != rp.sweep_hash("phase", {"a": 1, "b": [1, 2]}, "code2")
    assert h != rp.sweep_hash("pairs", {"a": 1, "b": [1, 2]}, "code1")
    assert len(h) == 16


def test_plan_covers_every_runner_and_quick_is_smaller():
    quick, full = rp.plan(True), rp.plan(False)
    assert [s.name for s in quick] == [s.name for s in full] == list(rp.RUNNERS)
    for q, f in zip(quick, full):
        if q.name in ("variance", "mismatch"):
            # T2's numpy experiment and T3's paired comparisons (128 seeds from a power
            # calculation, 200 rounds for the 124-round window) run at one size in both modes
            assert q.hash() == f.hash()
        else:
            assert q.hash() != f.hash()
    assert quick[0].params["seeds"] <= full[0].params["seeds"]
    assert quick[0].params["rounds"] < full[0].params["rounds"]
    assert len(quick[0].params["alphas"]) * len(quick[0].params["kappas"]) < len(
        full[0].params["alphas"]
    ) * len(full[0].params["kappas"])


def test_ensure_sweep_reuses_a_file_whose_hash_matches(tmp_path):
    calls = []

    def fake_runner(params, bar):
        calls.append(params)
        return ({"x": np.arange(3)}, {"y": (("x",), np.ones(3) * params["v"])}, {})

    runners = {"toy": fake_runner}
    sweep = rp.Sweep("toy", {"v": 2.0, "seeds": 3})
    p1, reused1 = rp.ensure_sweep(tmp_path, sweep, "fp", runners=runners)
    p2, reused2 = rp.ensure_sweep(tmp_path, sweep, "fp", runners=runners)
    assert (reused1, reused2) == (False, True) and p1 == p2 and len(calls) == 1
    assert p1.name == f"toy-{sweep.hash('fp')}.nc"
    # another configuration or another code version -> another file, run again
    p3, reused3 = rp.ensure_sweep(
        tmp_path, rp.Sweep("toy", {"v": 3.0, "seeds": 3}), "fp", runners=runners
    )
    p4, reused4 = rp.ensure_sweep(tmp_path, sweep, "fp2", runners=runners)
    assert not reused3 and not reused4 and len({p1, p3, p4}) == 3 and len(calls) == 3


def test_check_out_dir_rejects_a_file_and_an_unwritable_path(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    with pytest.raises(UsageError, match="--out"):
        rp.check_out_dir(f)
    with pytest.raises(UsageError, match="not writable"):
        rp.check_out_dir(f / "sub")
    assert rp.check_out_dir(tmp_path / "new" / "dir").is_dir()


def test_cli_bad_out_is_one_line_and_exit_2(tmp_path, capsys):
    from theory.cli import main

    f = tmp_path / "a-file"
    f.write_text("x")
    assert main(["reproduce", "--quick", "--out", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err


def test_reproduce_and_figure_modules_do_not_import_jax():
    import subprocess
    import sys

    figs = ", ".join(f"figures.{name}" for name in FIGURES)
    code = f"import sys, sim.reproduce, sim.claims, {figs}; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_t2_claims_tell_the_two_progress_readings_apart(synth):
    # synthetic truth: the trained-pair progress exceeds the fresh-pair one by 0.004 (the
    # variance term); each reading agrees with its own prediction and not with the other's
    fresh = claims_mod.claim_variance(synth, pair="fresh")
    trained = claims_mod.claim_variance(synth, pair="trained")
    assert fresh.holds and trained.holds
    assert (fresh.kind, trained.kind) == ("claim", "boundary")  # trained: counter-example row
    assert "newest pair, after the update" in fresh.statement
    assert "counter-example" in trained.statement
    assert "the other form (trained) the mean z is -" in fresh.decision
    assert "the other form (fresh) the mean z is +" in trained.decision
    assert "df = 19" in fresh.decision and "slope" in fresh.decision


@pytest.fixture
def own(synth, tmp_path) -> Path:
    """A private copy of the synthetic results (for tests that edit them)."""
    import shutil

    return Path(shutil.copytree(synth, tmp_path / "own"))


def _edit(path, name, fn):
    res = read_results(path)
    dims, arr = res.data[name]
    res.data[name] = (dims, fn(arr.copy()))
    write_results(path, res.coords, res.data, res.attrs)


def test_t2_fails_on_one_prompt_far_from_its_prediction(own):
    # one prompt's batch means shifted by 10 of their SDs: the per-prompt rule must catch it
    def shift(b):
        b[:, 3] += 10 * 0.002
        return b

    _edit(own / "variance.nc", "measured_fresh_batches", shift)
    c = claims_mod.claim_variance(own, pair="fresh")
    assert not c.holds and "max |z|" in c.decision


def test_t2_fails_when_the_slope_is_off(own):
    # every prompt 25% above its prediction: per-prompt z's stay small-ish, the slope does not
    _edit(own / "variance.nc", "measured_fresh_batches", lambda b: b * 1.25)
    c = claims_mod.claim_variance(own, pair="fresh")
    assert not c.holds


def test_t3_rows_and_kinds(synth):
    t3 = claims_mod.claim_mismatch(synth)
    assert t3.holds and t3.kind == "claim"
    assert "self/cross ratio of the model's loss progress 13.7" in t3.decision
    assert "confidently-wrong prompt type" in t3.decision
    for gate in ("proportional", "rank/reward"):
        c = claims_mod.claim_mismatch(synth, gate=gate)
        assert c.holds and c.kind == "boundary"
    assert "discovery time" in t3.decision and "EMA memory 1.7" in t3.decision
    # default student and short horizon: no mismatch observed, as theory expects (boundary rows)
    d = claims_mod.claim_mismatch(synth, role="boundary")
    assert d.holds and d.kind == "boundary" and d.id == "T3-default"
    sh = claims_mod.claim_mismatch(synth, role="short")
    assert sh.holds and sh.kind == "boundary" and sh.id == "T3-short-horizon"
    # each regime's own window: R/2 rounds for the mismatch regime, R/4 for the others
    _, _, early, windows = claims_mod._mismatch(synth)
    R = synthetic.R
    assert list(windows) == [R // 2, R // 4, R // 4, R // 4] and early.shape[:2] == (4, 4)
    cons = claims_mod.claim_consensus(synth)
    assert cons.holds and cons.kind == "claim"


def test_t3_fails_without_a_mismatch(own):
    # the rank gate gains in the self-dominated regime: no mismatch, T3 fails
    def flip(h):
        h[0, 1] = 0.45 + (h[0, 1] - 0.45) * -1.0
        return h

    _edit(own / "mismatch.nc", "heldout_acc", flip)
    assert not claims_mod.claim_mismatch(own).holds


def test_t3_default_fails_if_a_mismatch_appears_there(own):
    def flip(h):
        h[3, 1] = 0.45 - (h[3, 1] - 0.45) * 2.0
        h[1, 1] = 0.45 - (h[1, 1] - 0.45) * 2.0
        return h

    _edit(own / "mismatch.nc", "heldout_acc", flip)
    assert not claims_mod.claim_mismatch(own, role="boundary").holds
    assert not claims_mod.claim_mismatch(own, role="short").holds


def test_boundary_rows_do_not_count_in_the_headline(synth):
    rows = claims_mod.evaluate(synth)
    kinds = {c.id: c.kind for c in rows}
    assert kinds["T4-rank"] == kinds["T2-trained"] == kinds["T3-default"] == "boundary"
    assert kinds["T3"] == kinds["T2"] == kinds["T4"] == "claim"
    md = claims_mod.claims_markdown(rows)
    main = [c for c in rows if c.kind == "claim"]
    assert f"{sum(c.holds for c in main)} of {len(main)} claims hold" in md
    assert "| T4-rank | boundary |" in md


def test_progress_experiment_matches_both_first_order_forms():
    """T2 in the numpy experiment: fresh pair ~ E||G||^2 - tr Sigma, trained ~ + tr Sigma."""
    fields = {"N": 32, "K": 4, "d_s": 4, "B": 8, "beta": 1.0, "mu": 1.0, "s": 1.0, "b": 1.0}
    out = rp.progress_experiment(0.8, 1.5, fields, seed=3, draws=3000, eta=0.02)
    for pair in ("fresh", "trained"):
        se = np.sqrt(out[f"measured_{pair}_se"] ** 2 + out[f"predicted_{pair}_se"] ** 2)
        z = (out[f"measured_{pair}"] - out[f"predicted_{pair}"]) / se
        assert np.max(np.abs(z)) < claims_mod.critical_k(3000, 32)
    # the variance term separates the two readings: trained - fresh = eta tr Sigma / N > 0
    gap = out["predicted_trained"] - out["predicted_fresh"]
    assert np.allclose(gap, 0.02 * out["trace_sigma"] / 32)
    z_gap = (out["measured_trained"] - out["predicted_fresh"]) / out["measured_trained_se"]
    assert np.mean(z_gap) > 3


def test_exact_t2_moments_match_their_monte_carlo_estimates():
    """The exact pair-law moments (predicted_*) agree with the sampled ones within their SE."""
    fields = {"N": 32, "K": 4, "d_s": 4, "B": 8, "beta": 1.0, "mu": 1.0, "s": 1.0, "b": 1.0}
    out = rp.progress_experiment(0.3, 2.0, fields, seed=5, draws=2000, eta=0.02)
    for pair in ("fresh", "trained"):
        assert np.all(out[f"predicted_{pair}_se"] == 0.0)
        diff = out[f"predicted_{pair}"] - out[f"predicted_{pair}_mc"]
        z = diff / out[f"predicted_{pair}_mc_se"]
        assert np.max(np.abs(z)) < claims_mod.critical_k(2000, 32)
    # the exact second moment exceeds ||mu||^2 by tr Sigma >= 0
    assert np.all(out["trace_sigma"] >= 0)


def test_mismatch_runner_reproduces_sim_runs_and_type_mass():
    """T3's runner (which also records replay mass per prompt type) equals sim.run_seeds."""
    import sim

    a_x, k_x = rp.mismatch_verifier(rp.MISMATCH_MIX, 20)
    cfg = sim.make_config(a_x, k_x, gate="rank", N=20, K=2, s=5.0, rounds=4)
    traj, mass = rp.mismatch_runs(cfg, 2, a_x == 0.0)
    ref = sim.run_seeds(cfg, [0, 1])
    for name in ("heldout_acc", "train_acc", "frac_wrong", "n_eff"):
        np.testing.assert_allclose(getattr(traj, name), getattr(ref, name), rtol=1e-6, atol=1e-9)
    assert mass.shape == (2, 4) and np.all((mass >= 0) & (mass <= 1 + 1e-9))
    # round 1 replays uniformly: mass = the wrong type's share of the prompts
    np.testing.assert_allclose(mass[:, 0], np.mean(a_x == 0.0), atol=1e-6)
