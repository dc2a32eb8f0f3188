"""Shared test fixtures, and CI that proves what it claims.

Under ``CI=true`` (set by ``.ci/run``, and by CI services) every skip is a
failure: a test that needs a compiler, QEMU, chromium, the data set, a tmpfs
mount or the PostgreSQL server and does not find it must not leave the run
green. Locally, without ``CI``, such tests skip with their reason.
"""

import os
import shutil
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
