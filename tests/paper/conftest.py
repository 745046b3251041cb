"""Fixtures of the paper tests: synthetic results files and deciding an experiment's rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.figures import synthetic


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    """Every sweep's synthetic results file (tests/figures/synthetic.py), shared read-only."""
    return synthetic.write_all(tmp_path_factory.mktemp("synth"))


@pytest.fixture
def own(synth, tmp_path) -> Path:
    """A private copy of the synthetic results, for tests that edit them."""
    return Path(shutil.copytree(synth, tmp_path / "own"))
