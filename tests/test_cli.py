"""The ``automl`` command: durations, exit codes and one-line errors (typer's CliRunner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app, parse_duration
from automl.errors import ConfigError

SPACES = Path(__file__).resolve().parents[1] / "search_spaces"
runner = CliRunner()


# -- parse_duration ---------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("8h", 8 * 3600),          # 28800
    ("20m", 20 * 60),          # 1200
    ("1h30m", 3600 + 30 * 60),  # 5400
    ("90s", 90),
    ("90", 90),                # bare number = seconds
    ("1h30m15s", 3600 + 1800 + 15),
    ("1h 30m", 5400),
    ("1.5h", 5400),
    ("0.5m", 30),
    (" 2m ", 120),
])
def test_parse_duration(text, seconds):
    value = parse_duration(text)
    assert value == seconds and isinstance(value, float)


def test_parse_duration_none():
    assert parse_duration(None) is None


@pytest.mark.parametrize("text", ["", "   ", "abc", "h", "m", "s", "10x", "-5m", "30s20m", "1d", "5 m", "1,5h"])
def test_parse_duration_rejects(text):
    with pytest.raises(ConfigError, match="is not of the form 8h, 20m, 1h30m or 90s") as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


# -- commands ---------------------------------------------------------------


def _one_line_error(result) -> str:
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_report_unknown_study_exits_1(tmp_path):
    result = runner.invoke(app, ["report", "--study", "nope", "--root", str(tmp_path)])
    assert result.exit_code == 1, result.output
    line = _one_line_error(result)
    assert "no study 'nope'" in line
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing created for a missing study


def test_status_unknown_study_exits_1(tmp_path):
    result = runner.invoke(app, ["status", "--study", "nope", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "no study 'nope'" in _one_line_error(result)


def test_bad_study_name_is_usage_error(tmp_path):
    result = runner.invoke(app, ["report", "--study", "../up", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "'study' parameter" in _one_line_error(result)


def test_search_needs_data_or_dataset(tmp_path):
    result = runner.invoke(app, ["search", "--study", "s", "--space", str(SPACES / "basic-motions.yaml"),
                                 "--root", str(tmp_path), "--no-progress"])
    assert result.exit_code == 2, result.output
    line = _one_line_error(result)
    assert "--data" in line and "--dataset" in line
    assert list(tmp_path.iterdir()) == []  # refused before any study folder is made


def test_search_bad_space_exits_2_naming_key(tmp_path):
    space = tmp_path / "bad.yaml"
    space.write_text("segmentation:\n  window_size: {low: 100, high: 20}\n  slide: 10\n")
    root = tmp_path / "studies"
    result = runner.invoke(app, ["search", "--study", "s", "--dataset", "basic-motions", "--space", str(space),
                                 "--root", str(root), "--no-progress"])
    assert result.exit_code == 2, result.output
    line = _one_line_error(result)
    assert str(space) in line
    assert "segmentation.window_size" in line
    assert "high (20.0) must be >= low (100.0)" in line
    assert not root.exists()


def test_search_bad_timeout_exits_2(tmp_path):
    result = runner.invoke(app, ["search", "--study", "s", "--dataset", "basic-motions",
                                 "--space", str(SPACES / "basic-motions.yaml"), "--timeout", "soon",
                                 "--root", str(tmp_path), "--no-progress"])
    assert result.exit_code == 2
    assert "'soon' is not of the form" in _one_line_error(result)


def test_debug_shows_the_exception(tmp_path):
    result = runner.invoke(app, ["--debug", "report", "--study", "nope", "--root", str(tmp_path)])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "StudyError"
    # The flag does not stick to later invocations.
    result = runner.invoke(app, ["report", "--study", "nope", "--root", str(tmp_path)])
    assert result.exit_code == 1
    _one_line_error(result)


def test_missing_required_option_is_usage_error():
    result = runner.invoke(app, ["search", "--study", "s"])
    assert result.exit_code == 2
    assert "--space" in result.output


def test_help_lists_verbs():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("search", "status", "report", "export"):
        assert verb in result.stdout


def test_export_unknown_trial_names_it(tmp_path):
    import optuna
    from optuna.trial import create_trial

    from automl.search import open_storage, study_dir

    folder = study_dir(tmp_path, "s")
    folder.mkdir(parents=True)
    st = optuna.create_study(study_name="s", storage=open_storage(folder),
                             directions=["maximize", "minimize", "minimize", "minimize"])
    for f1 in (0.5, 0.6, 0.7):
        st.add_trial(create_trial(values=[f1, 2000.0, 1000.0, 0.5]))
    out = tmp_path / "fw"
    for trial in ("7", "3", "-1"):
        result = runner.invoke(app, ["export", "--study", "s", "--trial", trial, "--root", str(tmp_path),
                                     "--out", str(out)])
        assert result.exit_code == 1, result.output
        assert _one_line_error(result) == f"error: study 's' has no trial {int(trial)} (its trials are numbered 0 to 2)"
    assert not out.exists()


def test_search_needs_a_budget(tmp_path):
    from automl.search import SearchRequest, run_search

    with pytest.raises(ConfigError, match="needs a budget"):
        run_search(SearchRequest(study="s", space_path=SPACES / "basic-motions.yaml", dataset="basic-motions",
                                 root=tmp_path, trials=None, timeout_s=None))
    assert list(tmp_path.iterdir()) == []
