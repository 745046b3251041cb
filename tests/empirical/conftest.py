"""Fixtures for the empirical tests: one tiny Qwen-VL student saved to disk per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    torch.set_num_threads(1)  # tiny matrices; threads only add contention on 2 shared cores
    from empirical.tiny import build_tiny_student

    return build_tiny_student(tmp_path_factory.mktemp("tiny") / "student", seed=0)
