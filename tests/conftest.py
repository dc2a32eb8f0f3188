"""Shared test fixtures, and CI that proves what it claims.

Under ``CI=true`` (set by ``.ci/run``, and by CI services) every skip is a
failure: a test that needs a compiler, QEMU, chromium, the data set, a tmpfs
mount or the PostgreSQL server and does not find it must not leave the run
green. Locally, without ``CI``, such tests skip with their reason.
"""

import os
import sys
from pathlib import Path

import pytest

#: True when the suite runs as CI (``CI`` set to 1, true or yes, as CI services and .ci/run do).
CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under ``CI=true`` a skipped test is reported failed, with its skip reason."""
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"{reason}\nCI=true: a missing compiler, emulator, browser, data set or service is a "
                           "failure, not a skip (install it, or run without CI=true to skip)")


@pytest.fixture(scope="session")
def boxing_dir() -> Path:
    """The real boxing-punches recordings (14 CSVs), outside the repo; skip if absent (a failure under CI)."""
    path = Path(__file__).resolve().parents[2] / "shared/data/boxing-punches"
    if not path.is_dir():
        pytest.skip(f"real data not found at {path}")
    return path


# Shared non-test helper modules (e.g. firmware_parity.py) are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
