"""Fuzz test of the ``selfdpo`` CLI (issue 14): hostile values for every command's options.

Each example runs ``paper.cli.main`` in-process in a fresh temporary working folder holding a
few fixtures (a folder, a text file, audit score files: BOM, gzip, nested, huge integers, ...)
and asserts the CLI's contract for bad input: exit 0 or 2; on exit 2 exactly one line on stderr
and no traceback (an exception escaping ``main`` fails the example); no file changed or created
but the output asked for, no temporary file left, /dev/null still a character device; strict
JSON (no NaN/Infinity tokens) on stdout whenever ``--json`` succeeded. Examples that must be
refused (one option surely invalid) also assert that no simulation or reproduce work started
(the engine's entry points are replaced by a tripwire) and exit 2. Every example is capped in
time (SIGALRM), valid runs are tiny (rounds <= 3, seeds <= 2) and live in the slow test.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from paper import cli

CAP_S = 30  # per example; a refusal takes well under a second once jax is imported

# values a careless or hostile user types for a number
HOSTILE = (
    "1e9",
    "1e23",
    "4294967296",
    "-1",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "",
    " ",
    "abc",
    "0x10",
    "1" + "0" * 400,
    "100000000000000000000000",
)
PATHS_BAD = ("", " ", "/dev/null", "adir", "afile.txt/x.nc", "/proc/no/such")
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    # no shrinking: the spaces are small and a capped (hanging) example would be rerun often
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


class Hang(BaseException):
    """An example ran past CAP_S (BaseException: the CLI's error handler must not catch it)."""


class WorkStarted(BaseException):
    """The engine was entered although the input should have been refused first."""


def _tripwire(*args, **kwargs):
    raise WorkStarted("work started before the input was refused")


@contextlib.contextmanager
def _cap(seconds: int) -> Iterator[None]:
    def on_alarm(signum, frame):
        raise Hang(f"example ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _fixtures(root: Path) -> None:
    """The files every example finds in its working folder."""
    (root / "adir").mkdir()
    (root / "afile.txt").write_text("not a results file\n")
    rows = [
        {
            "question_id": f"q{q}",
            "candidate_id": f"c{c}",
            "score": (q * 7 + c * 3) % 5 - 2.0,
            "label": int((q + c) % 2 == 0),
        }
        for q in range(6)
        for c in range(4)
    ]
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    (root / "ok.jsonl").write_text(lines)
    (root / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + lines.encode())
    (root / "z.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (root / "gz_named_plain.jsonl").write_bytes(gzip.compress(lines.encode()))
    (root / "dup.jsonl").write_text(lines + lines)
    (root / "nested.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    huge = dict(rows[0], score=int("9" * 400))
    (root / "hugeint.jsonl").write_text(lines + json.dumps(huge) + "\n")
    (root / "big.jsonl").write_text(lines.replace('"score": 1.0', '"score": 1e300'))
    (root / "nan.jsonl").write_text(lines.replace('"score": 1.0', '"score": NaN'))
    one_class = "".join(json.dumps(dict(r, label=1)) + "\n" for r in rows)
    (root / "oneclass.jsonl").write_text(one_class)
    (root / "scalar.jsonl").write_text("42\n")
    (root / "empty.jsonl").write_text("")
    (root / "binary.jsonl").write_bytes(bytes(range(256)) * 4)


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _strict_json(text: str) -> object:
    def no_constant(name: str) -> None:
        raise AssertionError(f"non-strict JSON token {name} in the output")

    return json.loads(text, parse_constant=no_constant)


def _invoke(argv: list[str], *, allowed: set[str] = frozenset(), must_refuse: bool = False):
    """Run ``selfdpo argv`` in a fresh working folder; check the contract; return (rc, out)."""
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="selfdpo-fuzz-") as d:
        root = Path(d)
        _fixtures(root)
        before = _snapshot(root)
        out, err = io.StringIO(), io.StringIO()
        os.chdir(root)
        try:
            with _cap(CAP_S), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    rc = cli.main(argv)
                except SystemExit as exc:  # argparse's errors
                    rc = exc.code if isinstance(exc.code, int) else 2
        finally:
            os.chdir(cwd)
        after = _snapshot(root)
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null was replaced"
        err_text = err.getvalue()
        assert rc in (0, 2), f"exit {rc} for {argv}: {err_text[-500:]}"
        assert "Traceback" not in err_text, err_text[-2000:]
        if rc == 2:
            lines = err_text.strip("\n").split("\n")
            assert len(lines) == 1 and lines[0], f"{argv}: stderr is not one line: {err_text!r}"
        if must_refuse:
            assert rc == 2, f"{argv} was accepted: {out.getvalue()[-300:]}"
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        ok = set()
        for a in allowed if rc == 0 else ():
            ok |= {str(p) for p in Path(a).parents if str(p) != "."} | {a}
        assert changed <= ok, f"{argv} (exit {rc}) changed {sorted(changed - ok)}"
        temps = [k for k in after if Path(k).name.startswith(".")]
        assert not temps, f"{argv} left temporary files {temps}"
        if rc == 0 and "--json" in argv:
            _strict_json(out.getvalue())
        return rc, out.getvalue()


def _num(valid: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(valid + HOSTILE)


def _opts(spec: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[str]]:
    """Optional ``--name value`` pairs from ``spec`` (each present or not)."""

    def build(chosen):
        argv = []
        for name, value in chosen:
            if value is not None:
                argv += [name, value]
        return argv

    return st.tuples(*(st.tuples(st.just(k), st.none() | v) for k, v in spec.items())).map(build)


def _one_bad(spec: dict[str, tuple[str, ...]]) -> st.SearchStrategy[list[str]]:
    """``[name, value]`` with ``value`` surely invalid for option ``name``."""
    return st.sampled_from(sorted(spec)).flatmap(
        lambda name: st.sampled_from(spec[name]).map(lambda bad: [name, bad])
    )


_REAL: dict[str, object] = {}


@pytest.fixture(autouse=True)
def _tripwires(monkeypatch):
    """Entering the engine or the reproduce pipeline raises WorkStarted (see must_refuse)."""
    import paper.reproduce
    import sim
    import sim.grid

    _REAL.setdefault("grid_runs", sim.grid.grid_runs)
    _REAL.setdefault("run_seeds", sim.run_seeds)
    monkeypatch.setattr(sim.grid, "grid_runs", _tripwire)
    monkeypatch.setattr(sim, "run_seeds", _tripwire)
    monkeypatch.setattr(paper.reproduce, "run_sweeps", _tripwire)


SIM_BAD = {
    "--rounds": ("1e9", "-1", "0", "nan", "", "1000000000", "4294967296"),
    "--seeds": ("1e9", "0", "-1", "1000000000", "100000000000000000000000"),
    "--seed0": ("1e23", "-1", "4294967296", "100000000000000000000000", "nan"),
    "--n": ("1", "0", "1e9", "1000000000", "inf"),
    "--gate": ("nope", ""),
    "--progress": ("nope",),
    "--student": ("nope",),
}
SIM_ANY = {
    "--rounds": _num(("1", "2", "3")),
    "--seeds": _num(("1", "2")),
    "--seed0": _num(("0", "4294967294", "4294967295")),
    "--n": _num(("2", "3")),
    "--gate": st.sampled_from(("rank", "uniform", "margin", "x")),
    "--progress": st.sampled_from(("loss", "reward", "x")),
    "--student": st.sampled_from(("default", "second", "x")),
}


@SETTINGS
@given(
    bad=_one_bad(SIM_BAD),
    rest=_opts(SIM_ANY),
    alpha=_num(("0", "0.5", "1")),
    kappa=_num(("0", "1", "1e4", "1e5")),
    js=st.booleans(),
)
def test_simulate_refuses_before_work(bad, rest, alpha, kappa, js):
    argv = ["simulate", "--alpha", alpha, "--kappa", kappa, *rest, *bad] + ["--json"] * js
    _invoke(argv, must_refuse=True)


@SETTINGS
@given(
    alpha=_num(("0", "0.5", "1")),
    kappa=st.sampled_from(("1e5", "1e8", "inf", "nan", "-1", "1e308")),
    rest=_opts(SIM_ANY),
)
def test_simulate_bad_verifier_refused(alpha, kappa, rest):
    _invoke(["simulate", "--alpha", alpha, "--kappa", kappa, *rest], must_refuse=True)


GRIDS = (
    "0:1:2",
    "0.5",
    "0,1",
    "0:1:1e7",
    "0:1:1e9",
    "0:1:0",
    "0:1:-3",
    "0:1:nan",
    "nan",
    "inf",
    "0:inf:3",
    "",
    ",",
    "1e308",
    "0:1:2.5",
    "0:1:10000000",
)
SWEEP_BAD = dict(
    SIM_BAD,
    **{
        "--out": PATHS_BAD,
        "--alphas": ("0:1:1e7", "nan", "2", "0:1:0"),
        "--kappas": ("1e5", "inf", "-1", "0:1:1e9"),
        "--shard": ("3/2", "-1/2", "a", "0/0", "1/1"),
    },
)


@SETTINGS
@given(
    bad=_one_bad(SWEEP_BAD),
    rest=_opts(SIM_ANY),
    alphas=st.sampled_from(GRIDS),
    kappas=st.sampled_from(GRIDS),
    out=st.sampled_from(("o.nc", "sub/o.nc") + PATHS_BAD),
)
def test_sweep_refuses_before_work(bad, rest, alphas, kappas, out):
    argv = ["sweep", "--alphas", alphas, "--kappas", kappas, "--out", out, *rest, *bad]
    _invoke(argv, must_refuse=True)


BENCH_BAD = {
    "--configs": ("0", "-1", "1e9", "100000000"),
    "--seeds": ("0", "1000000000"),
    "--rounds": ("0", "1000000000", "nan"),
    "--prompts": ("0", "1000000000", "inf"),
    "--reference-runs": ("0", "-1"),
    "--gate": ("nope",),
}
BENCH_ANY = {
    "--configs": _num(("1", "2")),
    "--seeds": _num(("1", "2")),
    "--rounds": _num(("1", "2")),
    "--prompts": _num(("4", "8")),
    "--reference-runs": _num(("1",)),
}


@SETTINGS
@given(bad=_one_bad(BENCH_BAD), rest=_opts(BENCH_ANY), pd=st.booleans(), js=st.booleans())
def test_bench_refuses_before_work(bad, rest, pd, js):
    argv = ["bench", *rest, *bad] + ["--phase-diagram"] * pd + ["--json"] * js
    _invoke(argv, must_refuse=True)


@SETTINGS
@given(
    parts=st.lists(
        st.sampled_from(("afile.txt", "missing.nc", "adir", "/dev/null", "")),
        min_size=1,
        max_size=3,
    ),
    out=st.sampled_from(("m.nc",) + PATHS_BAD),
)
def test_merge_refuses_bad_parts(parts, out):
    _invoke(["merge", *parts, "--out", out], must_refuse=True)


@SETTINGS
@given(
    out=st.sampled_from(("", " ", "/dev/null", "afile.txt", "afile.txt/sub", "/proc/no/such")),
    quick=st.booleans(),
)
def test_reproduce_refuses_bad_out(out, quick):
    _invoke(["reproduce", "--out", out, "--quiet"] + ["--quick"] * quick, must_refuse=True)


@SETTINGS
@given(
    alpha=_num(("0", "0.3", "0.5", "0.8", "1")),
    kappa=_num(("0", "1", "3", "40", "1000", "1e6")),
    rest=_opts(
        {
            "--n": _num(("2", "3", "4", "32", "33")),
            "--p-correct": _num(("0.5", "0.1", "0", "1")),
            "--gate": st.sampled_from(("rank", "uniform", "margin", "nope")),
        }
    ),
    js=st.booleans(),
)
def test_predict(alpha, kappa, rest, js):
    _invoke(["predict", "--alpha", alpha, "--kappa", kappa, *rest] + ["--json"] * js)


AUDIT_FILES = (
    "ok.jsonl",
    "bom.jsonl",
    "z.jsonl.gz",
    "gz_named_plain.jsonl",
    "dup.jsonl",
    "nested.jsonl",
    "hugeint.jsonl",
    "big.jsonl",
    "nan.jsonl",
    "oneclass.jsonl",
    "scalar.jsonl",
    "empty.jsonl",
    "binary.jsonl",
    "adir",
    "/dev/null",
    "missing",
    "",
)


@SETTINGS
@given(
    path=st.sampled_from(AUDIT_FILES),
    rest=_opts(
        {
            "--n": _num(("2", "4", "32", "33")),
            "--level": _num(("0.95", "0.5", "1", "0")),
            "--gate": st.sampled_from(("rank", "nope")),
            "--p-correct": _num(("0.5",)),
            "--loc": _num(("0",)),
            "--scale": _num(("1", "0")),
            "--plot": st.sampled_from(PATHS_BAD),
        }
    ),
    skip=st.booleans(),
    js=st.booleans(),
)
def test_audit(path, rest, skip, js):
    argv = ["audit", path, *rest] + ["--skip-bad"] * skip + ["--json"] * js
    _invoke(argv)


EMPIRICAL_BAD = {
    "--rounds": ("0", "-1", "1e9"),
    "--n": ("1", "0", "1e9"),
    "--lr": ("inf", "nan", "-1", "0"),
    "--beta": ("inf", "nan", "0"),
    "--temperature": ("inf", "nan", "0"),
    "--out": ("afile.txt", "/dev/null", ""),
    "--device": ("cuda:7", "nope"),
    "--verifier": ("synthetic:2:1", "synthetic:nan:1", "nope", "synthetic:0.5:inf"),
}


@SETTINGS
@given(bad=_one_bad(EMPIRICAL_BAD))
def test_empirical_run_refuses_before_work(bad):
    argv = [
        "empirical",
        "run",
        "--student",
        "adir",
        "--task",
        "synthetic",
        "--verifier",
        "synthetic:0.8:2",
        "--rounds",
        "1",
        "--out",
        "runs/r",
        "--device",
        "cpu",
        *bad,
    ]
    _invoke(argv, must_refuse=True)


@SETTINGS
@given(
    out=st.sampled_from(("afile.txt", "/dev/null", "")),
    rounds=st.sampled_from(("0", "-1", "1e9", "1")),
)
def test_empirical_tiny_refuses_bad_out(out, rounds):
    _invoke(["empirical", "tiny", "--out", out, "--rounds", rounds], must_refuse=True)


# ---- valid tiny runs: exit 0, strict JSON, only the output asked for is written -------------

VALID = settings(SETTINGS, max_examples=4)


@pytest.mark.slow
@VALID
@given(
    rounds=st.integers(1, 3),
    seeds=st.integers(1, 2),
    seed0=st.sampled_from((0, 2**32 - 2)),
    n=st.sampled_from((2, 3)),
    gate=st.sampled_from(("rank", "uniform", "margin")),
    kappa=st.sampled_from(("0", "1", "1e4")),
)
def test_simulate_tiny_valid_runs(monkeypatch, rounds, seeds, seed0, n, gate, kappa):
    import sim
    import sim.grid

    monkeypatch.setattr(sim.grid, "grid_runs", _REAL["grid_runs"])
    monkeypatch.setattr(sim, "run_seeds", _REAL["run_seeds"])
    argv = ["simulate", "--alpha", "0.7", "--kappa", kappa, "--rounds", str(rounds)]
    argv += ["--seeds", str(seeds), "--seed0", str(seed0), "--n", str(n), "--gate", gate]
    rc, out = _invoke(argv + ["--json"])
    assert rc == 0
    got = _strict_json(out)
    assert got["seeds"] == list(range(seed0, seed0 + seeds))  # no uint32 wrap
    assert len(got["heldout_acc"]) == rounds + 1


@pytest.mark.slow
@VALID
@given(
    alphas=st.sampled_from(("0:1:2", "0.5")),
    kappas=st.sampled_from(("1", "0,1e4")),
    out=st.sampled_from(("o.nc", "sub/dir/o.nc", "afile.txt")),
)
def test_sweep_tiny_valid_runs(monkeypatch, alphas, kappas, out):
    import sim.grid

    monkeypatch.setattr(sim.grid, "grid_runs", _REAL["grid_runs"])
    argv = ["sweep", "--alphas", alphas, "--kappas", kappas, "--out", out, "--quiet"]
    rc, _ = _invoke(argv + ["--rounds", "2", "--seeds", "2"], allowed={out})
    assert rc == 0


@pytest.mark.slow
def test_bench_tiny_valid_run(monkeypatch):
    import sim.grid

    monkeypatch.setattr(sim.grid, "grid_runs", _REAL["grid_runs"])
    argv = ["bench", "--configs", "2", "--seeds", "1", "--rounds", "2", "--prompts", "4"]
    rc, out = _invoke(argv + ["--reference-runs", "1", "--json"])
    assert rc == 0 and _strict_json(out)["runs"] == 2


# ---- the dispatcher: bad input is one line and exit 2, a bug keeps its traceback ----------


def _boom_parser(exc: BaseException):
    def build():
        parser = cli.OneLineParser(prog="selfdpo")
        sub = parser.add_subparsers(dest="command", parser_class=cli.OneLineParser)

        def raise_it(args):
            raise exc

        sub.add_parser("boom").set_defaults(func=raise_it)
        return parser

    return build


@pytest.mark.parametrize(
    "exc",
    [
        OverflowError("int too large to convert to float"),
        RecursionError("maximum recursion depth exceeded"),
        MemoryError(),
        FileNotFoundError(2, "No such file or directory", "x.jsonl"),
        OSError(28, "No space left on device", "o.nc"),
        RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 1.2e12 bytes"),
    ],
)
def test_bad_input_errors_are_one_line(monkeypatch, capsys, exc):
    monkeypatch.setattr(cli, "build_parser", _boom_parser(exc))
    assert cli.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("selfdpo boom: error: ")


@pytest.mark.parametrize("exc", [KeyError("x"), TypeError("bug"), RuntimeError("a bug")])
def test_bugs_keep_their_traceback(monkeypatch, exc):
    monkeypatch.setattr(cli, "build_parser", _boom_parser(exc))
    with pytest.raises(type(exc)):
        cli.main(["boom"])


def test_traceback_on_request(monkeypatch):
    monkeypatch.setattr(cli, "build_parser", _boom_parser(OverflowError("x")))
    monkeypatch.setenv("SELFDPO_TRACEBACK", "1")
    with pytest.raises(OverflowError):
        cli.main(["boom"])
