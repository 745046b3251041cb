"""Fixtures of the paper tests: synthetic results files and deciding an experiment's rows."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.figures import synthetic
from tests.paper.helpers import reproduce_quick


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    """Every sweep's synthetic results file (tests/figures/synthetic.py), shared read-only."""
    return synthetic.write_all(tmp_path_factory.mktemp("synth"))


@pytest.fixture
def own(synth, tmp_path) -> Path:
    """A private copy of the synthetic results, for tests that edit them."""
    return Path(shutil.copytree(synth, tmp_path / "own"))


@pytest.fixture(scope="session")
def quick_reproduce(tmp_path_factory) -> dict:
    """One ``selfdpo reproduce --quick`` into a temporary folder, shared by the slow tests that
    read its output (end to end, the TeX build, the ladder's report): a cold run compiles every
    sweep program (about 10 minutes on 2 cores), so it runs once per test session.
    ``SELFDPO_QUICK_OUT=DIR`` uses an existing output folder instead (its process is not run).

    Returns ``{"out": folder, "proc": CompletedProcess or None, "seconds": wall or None}``.
    """
    given = os.environ.get("SELFDPO_QUICK_OUT")
    if given:
        out = Path(given)
        assert (out / "paper" / "main.tex").is_file(), f"SELFDPO_QUICK_OUT={given}: no paper/"
        return {"out": out, "proc": None, "seconds": None}
    out = tmp_path_factory.mktemp("reproduce")
    tic = time.time()
    proc = reproduce_quick(out)
    return {"out": out, "proc": proc, "seconds": time.time() - tic}
