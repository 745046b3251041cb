"""The theory layer's contract: fast, jax-free import; imports nothing of ours above it."""

import ast
import pathlib
import subprocess
import sys

import theory

_ROOT = pathlib.Path(theory.__file__).parent


def test_import_theory_is_free_of_jax_sympy_and_upper_layers():
    code = (
        "import sys, theory; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('jax', 'sympy', 'torch', 'sim', 'empirical', 'figures', 'paper')]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_theory_modules_import_only_theory_and_stay_small():
    for f in _ROOT.glob("*.py"):
        text = f.read_text()
        assert len(text.splitlines()) <= 500, f.name
        for node in ast.walk(ast.parse(text)):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in ("sim", "empirical", "figures", "paper"), f.name


def test_public_names_are_exported():
    for name in theory.__all__:
        assert hasattr(theory, name), name
    for name in ("StudentSpec", "STUDENTS", "get_student", "GATES", "PROGRESS", "GATE_DEFAULTS"):
        assert name in theory.__all__
    assert "theta0_policies" in theory.__all__
