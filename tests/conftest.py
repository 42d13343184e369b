"""Shared fixtures: the read-only data folder and small seeded models (test fixtures, never shipped)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
#: Slow tests run a short version of themselves in CI (CI=true) or with VSTYLE_SHORT=1.
SHORT = os.environ.get("VSTYLE_SHORT", "") == "1" or os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data relative to the project root (skips the test if absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
