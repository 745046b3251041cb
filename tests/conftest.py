"""Shared test settings: fixed seeds, headless plotting, offline model hub."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from hypothesis import settings  # noqa: E402

settings.register_profile(
    "ci", deadline=None, derandomize=True, max_examples=40, database=None, print_blob=True
)
settings.load_profile("ci")
