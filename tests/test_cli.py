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


# -- what the commands say (issue 18) ---------------------------------------


def _help(*argv: str) -> str:
    result = runner.invoke(app, [*argv, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_help_has_no_type_placeholders_and_says_the_defaults():
    # Item 6: "--workers ... default: all cores. [default: 0]" and flags shown as "--debug <bool>".
    for verb in ((), ("search",), ("status",), ("report",), ("export",), ("replay",)):
        text = _help(*verb)
        assert "<bool>" not in text, verb  # options that take a value still name its type (<int>, <path>)
    search = _help("search")
    workers = search[search.index("--workers"):search.index("--address")]
    assert "Default: all cores." in workers and "[default: 0]" not in workers
    assert "  --debug " in _help() and "  --overwrite " in _help("export")


def test_help_names_the_data_formats_and_the_target_profiles():
    from automl.cli import TARGETS
    from automl.cost import list_targets

    search = " ".join(_help("search").split())  # the words, however click wraps them
    assert ".dcli/.dai" in search and "Label Studio" in search and "canonical" in search
    assert tuple(list_targets()) == TARGETS  # the help's list of shipped profiles is complete
    assert f"Target profile: {', '.join(TARGETS)} (search_spaces/targets/), or a YAML path." in search


def test_report_help_shows_the_whole_pick_example():
    # Item 6: the rich help table cut the example off at the terminal width.
    assert "'F1>=0.9,flash<=16k,ram<=4k,latency<=5ms'" in _help("report")


def test_version():
    import automl

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"automl (tinyml-automl) {automl.__version__}\n"


def _journal_study(root: Path, name: str = "s"):
    """A journal study of 6 trials: trained ones with seed scores, one over budget (untrained), one failed."""
    import optuna
    from optuna.trial import TrialState, create_trial

    from automl.search import open_storage, study_dir

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # its handler may hold a closed CliRunner stream
    st = optuna.create_study(study_name=name, storage=open_storage(study_dir(root, name)),
                             directions=["maximize", "minimize", "minimize", "minimize"])
    st.set_user_attr("objective_names", ["event_f1", "flash_bytes", "ram_bytes", "latency_ms"])
    st.set_user_attr("target", {"name": "t", "flash_bytes": 65536, "ram_bytes": 16384, "latency_ms": 10.0})
    trained = [(0.70, 8000.0), (0.90, 12000.0), (0.89, 6000.0), (0.60, 3000.0)]
    for f1, flash in trained:  # RAM 1,000 of 16,384 B: flash is the budget each comes closest to
        st.add_trial(create_trial(values=[f1, flash, 1000.0, 1.0], user_attrs={
            "seed_scores": [f1 - 0.01, f1, f1 + 0.01], "f1_std": 0.01, "n_seeds": 3, "infeasible": False}))
    st.add_trial(create_trial(values=[0.0, 90000.0, 1000.0, 1.0], user_attrs={"infeasible": True}))
    st.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "TrialFailed: no windows"}))
    return st


def test_status_says_the_best_and_the_recommended_trial(tmp_path):
    # Item 8: status gave counts and a best F1 but no trial.
    _journal_study(tmp_path)
    result = runner.invoke(app, ["status", "--study", "s", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first == ("study 's': 5 complete (1 over budget, never trained), 1 failed, 0 running; Pareto size 3; "
                     "best event F1 within budget: trial 1 (event F1 0.9000)")
    # Noise = median seed sd 0.01: trials 1 (0.90) and 2 (0.89) are within it; trial 2 uses 9 % of the flash
    # budget (6,000 / 65,536 B), trial 1 18 %.
    assert second == ("recommended: trial 2 (event F1 0.890; estimated (cost model): flash 6,000 B, RAM 1,000 B, "
                      "latency 1.000 ms). "
                      "The cheapest trial (it uses at most 10% of any budget) of the 2 whose validation event F1, "
                      "averaged over 3 training seeds, is within the seed noise (0.010: the median standard deviation "
                      "of event F1 between training seeds) of the best (0.900).")


def test_search_summary_names_the_recommended_trial(tmp_path, monkeypatch):
    # Item 1: the search summary listed the Pareto trials but not the one to export.
    import automl.search
    from automl.search import SearchSummary, final_summary, load_study

    _journal_study(tmp_path)
    line = final_summary(*load_study(tmp_path, "s"))["recommendation"]  # what run_search puts in its summary
    monkeypatch.setattr(automl.search, "run_search", lambda req: SearchSummary(
        study_dir=tmp_path / "s", n_complete=5, n_failed=1, n_run=6, wall_s=12.0, pareto=[1, 2, 3],
        n_run_complete=5, recommendation=line, n_over_budget=1))
    result = runner.invoke(app, ["search", "--study", "s", "--root", str(tmp_path), "--dataset", "basic-motions",
                                 "--space", str(SPACES / "basic-motions.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("study 's': 5 complete (1 over budget, never trained), 1 failed (6 run now in 12 s; reached "
                        "--trials); Pareto trials: [1, 2, 3]")
    assert lines[1].startswith("recommended: trial 2 (event F1 0.890; estimated (cost model): flash 6,000 B, RAM "
                               "1,000 B, latency 1.000 ms). The cheapest trial")
    assert lines[-1] == (f"next: automl report --study s --root {tmp_path}; "
                         f"automl export --study s --root {tmp_path} --trial recommended --out build/firmware/s")


def test_printed_commands_keep_paths_with_spaces_one_word():
    """The "next:", replay and report export hints are shell lines a user pastes: a path with a space stays one word."""
    import shlex

    from automl.report import command_line

    line = command_line("export", "s", Path("my studies"), "--trial", "recommended", "--out", Path("build/fw dir"))
    assert line == "automl export --study s --root 'my studies' --trial recommended --out 'build/fw dir'"
    assert shlex.split(line)[4:6] == ["--root", "my studies"]
    assert command_line("report", "s", Path("studies")) == command_line("report", "s") == "automl report --study s"
