"""Shared test fixtures."""

import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def boxing_dir() -> Path:
    """The real boxing-punches recordings (14 CSVs), outside the repo; skip if absent."""
    path = Path(__file__).resolve().parents[2] / "shared/data/boxing-punches"
    if not path.is_dir():
        pytest.skip(f"real data not found at {path}")
    return path


# Shared non-test helper modules (e.g. firmware_parity.py) are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
