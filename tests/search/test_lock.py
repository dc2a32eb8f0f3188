"""One driver per study: the search lock refuses a second search and takes over a dead one's lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app
from automl.errors import StudyError
from automl.search._storage import LOCK_FILE, driver_lock, lock_owner

SPACE = Path(__file__).with_name("tiny_space.yaml")


def _hold_lock(folder: Path) -> subprocess.Popen:
    """Another process holding the study's lock until its stdin closes."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from automl.search._storage import driver_lock
        with driver_lock(Path({str(folder)!r}), "s"):
            print("held", flush=True)
            sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_driver_is_refused_naming_the_first(tmp_path):
    proc = _hold_lock(tmp_path)
    try:
        owner = lock_owner(tmp_path)
        assert owner["pid"] == proc.pid and owner["host"] == socket.gethostname()
        with pytest.raises(StudyError) as info:
            with driver_lock(tmp_path, "s"):
                pass
        text = str(info.value)
        assert text.startswith(f"study 's' is already being searched by pid {proc.pid} on host "
                               f"{socket.gethostname()} (started ")
        assert f"(lock {tmp_path / LOCK_FILE})" in text
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert lock_owner(tmp_path) is None  # released at exit
    with driver_lock(tmp_path, "s"):
        assert lock_owner(tmp_path)["pid"] == os.getpid()


def test_the_lock_of_a_killed_search_is_taken_over(tmp_path, capsys):
    proc = _hold_lock(tmp_path)
    proc.kill()  # SIGKILL: no clean-up ran, the owner record stays in the file
    proc.wait(timeout=30)
    assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == proc.pid
    assert lock_owner(tmp_path) is None
    with driver_lock(tmp_path, "s"):
        assert lock_owner(tmp_path)["pid"] == os.getpid()
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {tmp_path / LOCK_FILE}: taking over the lock of a search that stopped "
                          f"without releasing it (pid {proc.pid} on host {socket.gethostname()}")


def test_cli_search_on_a_running_study_exits_1_and_writes_nothing(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "journal.log").write_bytes(b"")
    proc = _hold_lock(folder)
    try:
        result = CliRunner().invoke(app, ["search", "--study", "s", "--dataset", "basic-motions", "--space",
                                          str(SPACE), "--root", str(tmp_path), "--trials", "2", "--no-progress"])
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: study 's' is already being searched by pid {proc.pid} on host "
                           f"{socket.gethostname()} (started ")
    assert line.endswith("wait for that run to end, or stop it with Ctrl-C, before starting another")
    assert result.stdout == ""  # refused before the data is read and summarised
    assert (folder / "journal.log").read_bytes() == b""
    assert sorted(p.name for p in folder.iterdir()) == ["journal.log", LOCK_FILE]
