"""Shared test fixtures."""

import os
import shutil
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


def missing(what: str) -> None:
    """Skip the test for a missing tool or data set, except under CI=true, where it fails (house rule)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI=true: a missing tool or data set is a failure)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def chromium():
    """A function ``profile_dir -> argv`` of headless chromium; skips the test when chromium is absent."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        missing("chromium is not installed")

    def argv(profile: Path) -> list[str]:
        # No network side channels, a fresh profile, console messages on stderr.
        return [path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]

    return argv


@pytest.fixture(scope="session")
def require():
    """A function ``(*tools) -> None`` that skips the test when a tool is not on PATH (fails under CI=true)."""

    def check(*tools: str) -> None:
        absent = [t for t in tools if shutil.which(t) is None]
        if absent:
            missing(f"not on PATH: {', '.join(absent)}")

    return check
