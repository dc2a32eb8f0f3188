"""Every failure a user can cause or meet is one ``error:`` line with the path involved and an exit code.

Walks the cases of issue 17: read-only and full file systems (real tmpfs mounts
when the tests run as root, as in CI), ``--root`` a file, ``--out`` onto study
files or folders, a damaged journal, bad space files, an unexpected exception,
and the exit code 3 when nothing fits the budget.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial
from typer.testing import CliRunner

from automl.cli import app
from automl.search import open_storage, study_dir

optuna.logging.set_verbosity(optuna.logging.WARNING)
runner = CliRunner()
SPACE = Path(__file__).resolve().parent / "search" / "tiny_space.yaml"
TARGET = {"name": "cortex-m4f-80mhz", "flash_bytes": 65536, "ram_bytes": 16384, "latency_ms": 10.0}


def _one_line(result, code: int) -> str:
    """The single stderr line of a failed command (no traceback), after checking the exit code."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0][len("error: "):]


def _study(root: Path, feasible: bool = True, name: str = "s") -> Path:
    """A study folder with three complete trials (feasible or all over budget) and one failed trial."""
    folder = study_dir(root, name)
    st = optuna.create_study(study_name=name, storage=open_storage(folder),
                             directions=["maximize", "minimize", "minimize", "minimize"])
    st.set_user_attr("target", TARGET)
    st.set_user_attr("objective_names", ["macro_f1", "flash_bytes", "ram_bytes", "latency_ms"])
    over = 0.0 if feasible else 1000.0
    for i, f1 in enumerate((0.6, 0.7, 0.8)):
        flash = 20000.0 + 10000 * i + over * 100
        st.add_trial(create_trial(values=[0.0 if over else f1, flash, 4000.0, 2.0],
                                  constraints={"flash_over_budget_bytes": flash - 65536},
                                  user_attrs={"infeasible": not feasible, "duration_s": 1.0}))
    st.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "RuntimeError: boom"}))
    return folder


@contextlib.contextmanager
def _mounted(path: Path, size: str, read_only: bool = False):
    """A real tmpfs of ``size`` at ``path`` (remounted read-only if asked); skipped where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def _fill(path: Path) -> None:
    """Fill the file system of ``path`` to the last byte."""
    with open(path / ".filler", "wb", buffering=0) as fh:
        for block in (1 << 16, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * block)


# -- read-only and full file systems --------------------------------------------------------------


def test_read_only_study_folder(tmp_path):
    with _mounted(tmp_path / "ro", "8m") as root:
        folder = _study(root)
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        before = (folder / "journal.log").read_bytes()
        status = runner.invoke(app, ["status", "--study", "s", "--root", str(root)])
        assert status.exit_code == 0 and "3 complete, 1 failed" in status.stdout  # readers do not write
        line = _one_line(runner.invoke(app, ["report", "--study", "s", "--root", str(root), "--no-timeline"]), 1)
        assert line == f"{folder / 'report.html'}: Read-only file system"
        line = _one_line(runner.invoke(app, ["search", "--study", "s", "--root", str(root), "--dataset",
                                             "basic-motions", "--space", str(SPACE), "--no-progress"]), 1)
        assert line == f"{folder / 'search.lock'}: Read-only file system"
        assert (folder / "journal.log").read_bytes() == before


def test_full_disk_while_reporting_leaves_nothing_half_written(tmp_path):
    folder = _study(tmp_path)
    with _mounted(tmp_path / "full", "256k") as disk:
        _fill(disk)
        out = disk / "r.html"
        line = _one_line(runner.invoke(app, ["report", "--study", "s", "--root", str(tmp_path), "--out", str(out),
                                             "--no-timeline"]), 1)
        assert line == f"{out}: No space left on device"
        assert sorted(p.name for p in disk.iterdir()) == [".filler"]  # no temp file left behind
    assert (folder / "journal.log").is_file()


def test_full_disk_while_appending_to_the_journal(tmp_path):
    with _mounted(tmp_path / "full", "1m") as root:
        folder = _study(root)
        size = (folder / "journal.log").stat().st_size
        _fill(root)
        from automl.search import load_study

        st, _ = load_study(root, "s")
        with pytest.raises(OSError) as info:
            st.set_user_attr("note", "x" * 5000)
        assert info.value.filename == str(folder / "journal.log")
        assert (folder / "journal.log").stat().st_size == size  # the failed write was cut back
        (root / ".filler").unlink()
        status = runner.invoke(app, ["status", "--study", "s", "--root", str(root)])
        assert status.exit_code == 0 and status.stderr == ""


# -- paths the user types --------------------------------------------------------------------------


def test_root_that_is_a_file(tmp_path):
    a_file = tmp_path / "studies"
    a_file.write_text("not a folder")
    line = _one_line(runner.invoke(app, ["status", "--study", "s", "--root", str(a_file)]), 1)
    assert line.startswith("no study 's'")
    line = _one_line(runner.invoke(app, ["search", "--study", "s", "--root", str(a_file), "--dataset",
                                         "basic-motions", "--space", str(SPACE), "--no-progress"]), 1)
    assert line == f"{a_file / 's'}: Not a directory" or line.startswith(f"{a_file}")
    assert a_file.read_text() == "not a folder"


@pytest.mark.parametrize("target", ["journal.log", "artifacts/trial-0/model.tflite", "search.lock", "x/y.html"])
def test_report_never_writes_into_the_study(tmp_path, target):
    folder = _study(tmp_path)
    (folder / "artifacts" / "trial-0").mkdir(parents=True)
    (folder / "artifacts" / "trial-0" / "model.tflite").write_bytes(b"model")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    line = _one_line(runner.invoke(app, ["report", "--study", "s", "--root", str(tmp_path), "--out",
                                         str(folder / target), "--no-timeline"]), 2)
    assert line.startswith(f"--out {str(folder / target)!r} is inside the study folder {str(folder)!r}")
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_report_out_a_folder_or_a_foreign_file(tmp_path):
    _study(tmp_path)
    line = _one_line(runner.invoke(app, ["report", "--study", "s", "--root", str(tmp_path), "--out", "/",
                                         "--no-timeline"]), 2)
    assert line.startswith("--out '/' holds the study folder")
    (tmp_path / "out").mkdir()
    line = _one_line(runner.invoke(app, ["report", "--study", "s", "--root", str(tmp_path), "--out",
                                         str(tmp_path / "out"), "--no-timeline"]), 2)
    assert line == f"--out {str(tmp_path / 'out')!r} is a folder; give the page's file name, e.g. " \
                   f"{str(tmp_path / 'out' / 'report.html')!r}"
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    line = _one_line(runner.invoke(app, ["report", "--study", "s", "--root", str(tmp_path), "--out", str(notes),
                                         "--no-timeline"]), 2)
    assert line.startswith(f"Refusing to replace {str(notes)!r}: it is not a page written by automl")
    assert notes.read_text() == "mine"
    ok = runner.invoke(app, ["report", "--study", "s", "--root", str(tmp_path), "--no-timeline"])
    assert ok.exit_code == 0 and ok.stdout.strip().endswith("report.html")  # the default place works


@pytest.mark.parametrize("target", ["artifacts", "artifacts/trial-1", ".", ".."])
def test_export_never_writes_into_or_over_the_study(tmp_path, target):
    folder = _study(tmp_path)
    (folder / "artifacts" / "trial-1").mkdir(parents=True)
    (folder / "artifacts" / "trial-1" / "model.tflite").write_bytes(b"model")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    out = folder / target
    result = runner.invoke(app, ["export", "--study", "s", "--root", str(tmp_path), "--trial", "1", "--out",
                                 str(out), "--overwrite"])
    line = _one_line(result, 2)
    assert line.startswith(f"--out {str(out)!r} ")
    assert "is inside the study folder" in line or "holds the study folder" in line
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


# -- damaged journal, bad space files, unexpected errors --------------------------------------------


def test_a_damaged_journal_line_names_file_and_line(tmp_path):
    folder = _study(tmp_path)
    journal = folder / "journal.log"
    lines = journal.read_bytes().split(b"\n")
    lines[2] = b"\0\0garbage" + lines[2][:10]
    journal.write_bytes(b"\n".join(lines))
    for args in (["status"], ["report", "--no-timeline"], ["export", "--trial", "0", "--out", str(tmp_path / "fw")]):
        line = _one_line(runner.invoke(app, [*args, "--study", "s", "--root", str(tmp_path)]), 1)
        assert line.startswith(f"{journal}: line 3 (byte ") and "is not a journal record" in line, line


def test_bad_space_files_exit_2(tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"name: caf\xe9\nsegmentation: {window_size: 50, slide: 25}\n")
    nan = tmp_path / "nan.yaml"
    nan.write_text("segmentation: {window_size: 50, slide: 25}\nfeatures:\n  k: {low: .nan, high: 8}\n")
    for space, expected in ((latin1, f"{latin1}: not UTF-8 text (byte 9: invalid continuation byte)"),
                            (nan, f"{nan}: key 'features.k.low': Input should be a finite number (got nan)")):
        line = _one_line(runner.invoke(app, ["search", "--study", "s", "--root", str(tmp_path / "r"), "--dataset",
                                             "basic-motions", "--space", str(space), "--no-progress"]), 2)
        assert line == expected
    assert not (tmp_path / "r").exists()


def test_an_unexpected_exception_is_one_line_and_debug_shows_it(tmp_path, monkeypatch):
    _study(tmp_path)
    import automl.search

    def broken(*args, **kw):
        raise KeyError("a bug")

    monkeypatch.setattr(automl.search, "final_summary", broken)  # what status calls to read a study
    line = _one_line(runner.invoke(app, ["status", "--study", "s", "--root", str(tmp_path)]), 1)
    assert line == "KeyError: 'a bug' (run with --debug for the traceback)"
    result = runner.invoke(app, ["--debug", "status", "--study", "s", "--root", str(tmp_path)])
    assert isinstance(result.exception, KeyError)


# -- exit code 3: nothing fits the budget ------------------------------------------------------------


def test_nothing_fits_the_budget_exits_3_in_report_pick_and_export_knee(tmp_path):
    _study(tmp_path, feasible=False)
    result = runner.invoke(app, ["report", "--study", "s", "--root", str(tmp_path), "--no-timeline"])
    assert result.exit_code == 3 and result.stdout.strip().endswith("report.html")  # the report is written
    assert result.stderr == ("error: none of the 3 complete trials of study 's' fits the budgets of cortex-m4f-80mhz "
                             "(flash ≤ 65,536 B, RAM ≤ 16,384 B, latency ≤ 10 ms)\n")
    result = runner.invoke(app, ["report", "--study", "s", "--root", str(tmp_path), "--no-timeline",
                                 "--pick", "F1>=0"])
    assert result.exit_code == 3
    assert "pick 'F1>=0': No feasible trial satisfies 'F1>=0' (0 feasible trials" in result.stdout
    assert "automl export" not in result.stdout  # no over-budget, untrained trial is offered
    line = _one_line(runner.invoke(app, ["export", "--study", "s", "--root", str(tmp_path), "--trial", "recommended",
                                         "--out", str(tmp_path / "fw")]), 3)
    assert line.endswith("; there is no trial to recommend")
    assert not (tmp_path / "fw").exists()
    feasible_root = tmp_path / "ok"
    _study(feasible_root)
    result = runner.invoke(app, ["report", "--study", "s", "--root", str(feasible_root), "--no-timeline"])
    assert result.exit_code == 0 and result.stderr == ""


@pytest.mark.parametrize("argv, code, line", [
    (["check", "--data", ".", "--space", "search_spaces/basic-motions.yaml", "--format", "csv"], 2,
     "The '--format' parameter (fmt) must be one of auto, label-column, canonical, per-file, folders, dcli, label-studio. "
     "Got 'csv' instead."),
    (["search", "--study", "s", "--dataset", "basic-motions", "--space", "search_spaces/basic-motions.yaml",
      "--workers", "0"], 2, None),
])
def test_bad_option_values_found_by_a_new_user(argv, code, line, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    result = runner.invoke(app, [*argv, *(["--root", str(tmp_path)] if argv[0] == "search" else [])])
    assert result.exit_code == code, result.output
    if line is not None:
        assert _one_line(result, code) == line
    else:  # click's own usage error names the option and its range
        assert "Invalid value for '--workers': Input should be greater than or equal to 1" in result.stderr
    assert not (tmp_path / "s").exists()
