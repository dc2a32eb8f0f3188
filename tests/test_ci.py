"""The CI hook of tests/conftest.py: under CI=true a skip is a failure; otherwise it stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize("ci, expected", [("true", "1 failed, 1 passed, 1 error"), ("", "1 passed, 2 skipped")])
def test_a_skip_fails_under_ci(tmp_path, ci, expected):
    (tmp_path / "test_needs_tools.py").write_text(textwrap.dedent("""
        import shutil
        import pytest

        @pytest.mark.skipif(shutil.which("no-such-compiler") is None, reason="no-such-compiler not on PATH")
        def test_marked():
            pass

        def test_called():
            pytest.skip("data set not found")

        def test_fine():
            pass
    """))
    env = dict(os.environ, CI=ci, PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path)], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert expected in done.stdout, done.stdout + done.stderr
    if ci:
        assert "no-such-compiler not on PATH" in done.stdout and "CI=true: a missing compiler" in done.stdout
