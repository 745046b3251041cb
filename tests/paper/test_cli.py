"""The root dispatcher ``selfdpo`` (paper/cli.py)."""

import subprocess
import sys

import pytest

from paper.cli import build_parser, main


def test_every_command_is_registered():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"predict", "simulate", "sweep", "bench", "reproduce", "audit", "empirical"} <= set(
        sub.choices
    )


def test_help_imports_neither_jax_nor_torch():
    code = (
        "import sys; from paper.cli import build_parser; build_parser(); "
        "print('jax' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_bad_out_is_one_line_and_exit_2(tmp_path, capsys):
    f = tmp_path / "a-file"
    f.write_text("x")
    assert main(["reproduce", "--quick", "--out", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_bad_jobs_is_one_line_and_exit_2_before_any_work(tmp_path, capsys, jobs):
    out = tmp_path / "out"
    assert main(["reproduce", "--quick", "--out", str(out), "--jobs", jobs]) == 2
    err = capsys.readouterr().err.strip()
    assert "--jobs" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_the_paper_layer_is_not_imported_by_lower_layers():
    code = (
        "import sys, theory, sim, sim.commands, figures, figures._common; "
        "print(any(m == 'paper' or m.startswith('paper.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
