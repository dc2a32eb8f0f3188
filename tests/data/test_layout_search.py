"""Each layout reaches a search (``automl check`` in the quick suite; a real search, report and export in the
slow one), or stops with one clear line and the documented exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layouts import write_label_column, write_label_studio, write_mbientlab  # noqa: E402  (tests/data/layouts.py)

runner = CliRunner()

SPACE = """\
name: layout
objective: window_f1
data:
{data}
segmentation: {{window_size: 40, slide: 20}}
features: {{families: {{Statistical: true}}, magnitude: true, k: 8, n_estimators: 10}}
model: {{n_layers: 1, units: 6, dropout: 0.0, learning_rate: 0.01, epochs: 6, batch_size: 64, patience: 3}}
quantization: int8
search: {{cv_folds: {folds}, population_size: 4, group_by: {group_by}}}
"""

LS_DATA = "  channels: {accX: gFx, accY: gFy, accZ: gFz}\n  test_where: {export: test}"
MBIENT_DATA = "  name_metadata: '(?P<subject>S\\d+)_'\n  test_where: {subject: S04}"


def _space(tmp_path: Path, data: str, folds: int = 2, group_by: str = "capture") -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE.format(data=data or "  background: NoActivity", folds=folds, group_by=group_by))
    return path


def _check(*args: str):
    return runner.invoke(app, ["check", *map(str, args)])


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layouts")
    return {
        "label-studio": write_label_studio(root / "ls"),
        "mbientlab": write_mbientlab(root / "mbient"),
        "seconds": write_label_column(root / "seconds", seconds_in_timestamp=True),
        "commas": write_label_column(root / "commas", decimal_commas=True),
    }


def test_label_studio_exports_reach_a_search(layouts, tmp_path):
    ls = layouts["label-studio"]
    r = _check("--space", _space(tmp_path, LS_DATA), "--data", ls / "train.json", "--data", ls / "test.json")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "8 captures (6 for training and validation, 2 held out)" in out
    assert "sensor groups: acc (accX, accY, accZ) -> accMag" in out
    assert "held out (--test-where export=test): test_00, test_01" in out
    assert "note: resampled every capture to the lowest capture rate" in out and "sample timing jitter" in out
    assert "training classes: shake 6" in out and "walk 6" in out and "unlabelled (NoActivity)" in out


def test_mbientlab_class_folders_group_by_subject(layouts, tmp_path):
    r = _check("--space", _space(tmp_path, MBIENT_DATA, group_by="subject"), "--data", layouts["mbientlab"])
    assert r.exit_code == 0, r.output
    assert "25 Hz, 6 channels accX, accY, accZ, gyrX, gyrY, gyrZ" in r.output
    assert "groups by subject: S01: 2 captures (Left Jab 1, Right Hook 1), S02: 2 captures" in r.output
    assert "held-out groups by subject: S04" in r.output
    folds = [ln for ln in r.output.splitlines() if ln.startswith("fold ")]
    assert len(folds) == 2 and all("2 captures" in f or "4 captures" in f for f in folds)  # whole subjects


def test_too_few_groups_stops_check_and_search_with_exit_2(layouts, tmp_path):
    space = _space(tmp_path, MBIENT_DATA, folds=4, group_by="subject")
    r = _check("--space", space, "--data", layouts["mbientlab"])
    assert r.exit_code == 2
    assert "problem: 'mbient' has 3 groups by 'subject' (S01, S02, S03), fewer than the 4 folds" in r.stderr
    r = runner.invoke(app, ["search", "--study", "s", "--root", str(tmp_path / "studies"), "--space", str(space),
                            "--data", str(layouts["mbientlab"]), "--trials", "1", "--no-progress"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.stderr.splitlines() == [r.stderr.strip()] and r.stderr.startswith("error: no trial could succeed:")
    assert not (tmp_path / "studies").exists()  # stopped before anything was written


@pytest.mark.parametrize("length, refused", [(255, False), (256, True)])
def test_a_class_name_the_firmware_cannot_carry_is_a_check_problem(tmp_path, length, refused):
    """Class names become C strings of the export: more than MAX_NAME_CHARS (255) is a problem of automl check."""
    folder = write_label_column(tmp_path / "long", captures=4)
    name = "w" * length
    for f in folder.glob("*.csv"):
        f.write_text(f.read_text().replace(",walk\n", f",{name}\n"))
    space = _space(tmp_path, "  test_glob: session_03")
    r = _check("--space", space, "--data", folder)
    if not refused:
        assert r.exit_code == 0, r.output
        return
    line = (f"problem: class name {'w' * 40!r}… is 256 characters long; class and channel names become C strings of "
            "the exported firmware and cells of the report: at most 255 (rename it in the data)")
    assert r.exit_code == 2 and line in r.stderr.splitlines()  # the search stops on it too: test_data_fingerprint


def test_timestamp_in_seconds_exit_1_then_time_unit(layouts, tmp_path):
    space = _space(tmp_path, "  test_glob: session_05")
    r = _check("--space", space, "--data", layouts["seconds"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "column 'timestamp'" in r.stderr and "use --time-unit s" in r.stderr and len(r.stderr.splitlines()) == 1
    r = _check("--space", space, "--data", layouts["seconds"], "--time-unit", "s")
    assert r.exit_code == 0, r.output
    assert "50 Hz, 6 channels" in r.output


def test_decimal_commas_keep_all_channels(layouts, tmp_path):
    r = _check("--space", _space(tmp_path, "  test_glob: session_05"), "--data", layouts["commas"])
    assert r.exit_code == 0, r.output
    assert "6 channels accX, accY, accZ, gyrX, gyrY, gyrZ" in r.output


def test_reader_options_the_format_does_not_take(layouts, tmp_path):
    r = _check("--space", _space(tmp_path, "  test_glob: session_05"), "--data", layouts["commas"],
               "--csv-dir", tmp_path)
    assert r.exit_code == 2 and "the 'label-column' format does not take csv_dir" in r.stderr


# --------------------------------------------------------------------------- slow: real searches
@pytest.fixture(scope="module")
def ray_once():
    """One local Ray for every search of this module (run_search leaves a running Ray up)."""
    import ray

    ray.init(num_cpus=1, include_dashboard=False, logging_level="WARNING", log_to_driver=False,
             runtime_env={"env_vars": {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                                       "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
                                       "RAY_AUTH_MODE": "disabled"}})
    yield
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["label-studio", "mbientlab", "commas"])
def test_layout_search_report_export(layouts, ray_once, tmp_path, case):
    """A 1-trial search on the layout, its report, and the export of its recommended trial."""
    from automl.search import SearchRequest, run_search

    data = {"label-studio": (LS_DATA, [layouts["label-studio"] / "train.json", layouts["label-studio"] / "test.json"],
                             "capture"),
            "mbientlab": (MBIENT_DATA, layouts["mbientlab"], "subject"),
            "commas": ("  test_glob: session_05", layouts["commas"], "capture")}[case]
    space = _space(tmp_path, data[0], group_by=data[2])
    # Every parameter is fixed: one configuration, so one trial (a second would repeat it and is never run).
    summary = run_search(SearchRequest(study=case, space_path=space, data=data[1], root=tmp_path / "studies",
                                       trials=1, workers=1, progress=False))
    assert summary.n_complete == 1, summary
    from automl.search import load_study

    attrs = load_study(tmp_path / "studies", case)[0].user_attrs
    if case == "mbientlab":  # the held-out subject S04, per held-out capture and as the list of groups
        assert attrs["test_groups"] == ["S04"]
        assert attrs["test_capture_groups"] == {n: "S04" for n in attrs["test_captures"]} and attrs["test_captures"]
    else:  # grouped by capture: no groups recorded
        assert attrs["test_groups"] is None and attrs["test_capture_groups"] is None
    log = (tmp_path / "studies" / case / "search.log").read_text()  # the data summary, before the first trial
    assert " Hz" in log and "channels acc" in log and log.index("sensor groups") < log.index("trial 0")
    r = runner.invoke(app, ["report", "--study", case, "--root", str(tmp_path / "studies")])
    assert r.exit_code == 0, r.output
    html = Path(r.output.strip().splitlines()[-1]).read_text()
    assert "sample rate" in html and "channels" in html
    r = runner.invoke(app, ["export", "--study", case, "--trial", "recommended", "--root", str(tmp_path / "studies"),
                            "--out", str(tmp_path / "fw")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "fw" / "kp.h").is_file()
