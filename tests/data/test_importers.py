"""Importers of other tools' formats: golden fixtures worked out by hand, one broken variant per error.

Fixtures (tests/data/fixtures/): capture CSVs of 20 rows (8-12 for per_file), columns
``time`` (s, 0.00, 0.02, ... -> 50 Hz), ``accX`` = offset + row index, ``accY`` = -accX,
``accZ`` = 9.8. ``walk_01`` has offset 0, ``run_01`` offset 100 (per_file: walk_02 offset 50).
Broken variants are made by editing a copy of a fixture in ``tmp_path``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from automl.data import (
    IMPORT_FORMATS,
    Dataset,
    Segment,
    detect_format,
    import_dataset,
    read_dcli,
    read_label_studio,
    read_per_file_labels,
)
from automl.errors import ConfigError, DataError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WALK_PATTERN = r"(?P<label>[a-z]+)_(?P<take>\d+)\.csv"


def _copy(name: str, tmp_path: Path) -> Path:
    """A copy of fixture folder ``name`` that a test may break."""
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def _edit_json(file: Path, change: Callable[[list], object]) -> Path:
    doc = json.loads(file.read_text())
    change(doc)
    file.write_text(json.dumps(doc, indent=1))
    return file


def _assert_names(exc: pytest.ExceptionInfo, *parts: str) -> str:
    msg = str(exc.value)
    for part in parts:
        assert part in msg, f"{part!r} not in message: {msg}"
    assert "\n" not in msg
    return msg


def _capture_csv(n: int, offset: int = 0, header: str = "time,accX,accY,accZ") -> str:
    rows = [header] + [f"{i * 0.02:.2f},{offset + i},{-offset - i},9.8" for i in range(n)]
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------- #
# SensiML .dcli: golden
# --------------------------------------------------------------------------- #

# tests/data/fixtures/dcli/project.dcli, session "Manual" (the first), SensiML end inclusive -> +1:
#   walk_01 (20 samples): walk 2..8 -> [2, 9), rest 9..12 -> [9, 13), walk 15..19 -> [15, 20)
#   run_01  (20 samples): run 12..17 and 0..9, listed out of order -> [0, 10), [12, 18)
DCLI_MANUAL = [
    Segment("walk_01", "walk", 2, 9),
    Segment("walk_01", "rest", 9, 13),
    Segment("walk_01", "walk", 15, 20),
    Segment("run_01", "run", 0, 10),
    Segment("run_01", "run", 12, 18),
]


def test_dcli_golden() -> None:
    ds = read_dcli(FIXTURES / "dcli" / "project.dcli")
    assert ds.name == "project"
    assert ds.capture_names() == ["walk_01", "run_01"]  # the file's order
    assert ds.segments == DCLI_MANUAL
    assert ds.channels == ("accX", "accY", "accZ")
    assert ds.sample_rate_hz == pytest.approx(50.0)
    walk, run = ds.captures
    assert walk.metadata == {"file": "walk_01.csv", "Subject": "U01", "Size": "Medium"}
    assert run.metadata == {"file": "run_01.csv", "Subject": "U02"}
    assert walk.data.dtype == np.float32 and walk.data.shape == (20, 3)
    np.testing.assert_array_equal(run.data[3], np.float32([103, -103, 9.8]))
    assert ds.labels() == ["NoActivity", "rest", "run", "walk"]


def test_dcli_other_session() -> None:
    ds = read_dcli(FIXTURES / "dcli" / "project.dcli", session="Auto")
    # Auto: walk 0..19 inclusive -> the whole capture; run_01 has no "Auto" session -> no segments
    assert ds.segments == [Segment("walk_01", "walk", 0, 20)]
    assert ds.capture_names() == ["walk_01", "run_01"]


def test_dcli_through_import_dataset(tmp_path: Path) -> None:
    assert import_dataset(FIXTURES / "dcli" / "project.dcli").segments == DCLI_MANUAL
    assert import_dataset(FIXTURES / "dcli").segments == DCLI_MANUAL  # a folder with one .dcli
    folder = _copy("dcli", tmp_path)
    (folder / "project.dcli").rename(folder / "project.DAI")  # Data Studio's new name, any case
    assert import_dataset(folder / "project.DAI").segments == DCLI_MANUAL
    (folder / "project.DAI").rename(folder / "project.json")  # sniffed by its structure
    assert detect_format(folder / "project.json") == "dcli"
    assert import_dataset(folder / "project.json", session="Manual").segments == DCLI_MANUAL


def test_dcli_label_group(tmp_path: Path) -> None:
    file = _copy("dcli", tmp_path) / "project.dcli"
    _edit_json(file, lambda d: d[1]["sessions"][0]["segments"].append(
        {"name": "Intensity", "value": "high", "start": 0, "end": 19}))
    assert read_dcli(file, label_group="Label").segments == DCLI_MANUAL
    high = read_dcli(file, label_group="Intensity").segments
    assert high == [Segment("run_01", "high", 0, 20)]
    with pytest.raises(DataError) as exc:
        read_dcli(file)
    _assert_names(exc, str(file), "entry [1].sessions[0].segments[2]", "field 'name'", "'Intensity'",
                  "label_group=")
    with pytest.raises(DataError) as exc:
        read_dcli(file, label_group="Colour")
    _assert_names(exc, str(file), "'Colour'", "['Label', 'Intensity']")


def test_dcli_captures_without_time_column(tmp_path: Path) -> None:
    folder = _copy("dcli", tmp_path)
    for name in ("walk_01.csv", "run_01.csv"):  # SensiML captures often have no time column
        lines = (folder / name).read_text().splitlines()
        (folder / name).write_text("\n".join(line.split(",", 1)[1] for line in lines) + "\n")
    ds = read_dcli(folder / "project.dcli", sample_rate_hz=50)
    assert ds.sample_rate_hz == 50.0 and ds.segments == DCLI_MANUAL and ds.channels == ("accX", "accY", "accZ")
    with pytest.raises(DataError) as exc:
        read_dcli(folder / "project.dcli")
    _assert_names(exc, str(folder / "walk_01.csv"), "row 1", "no time column", "--sample-rate")
    with pytest.raises(ConfigError, match="'sample_rate_hz'"):
        read_dcli(folder / "project.dcli", sample_rate_hz=-1)


def test_dcli_rate_disagrees_with_time_column() -> None:
    with pytest.raises(DataError) as exc:
        read_dcli(FIXTURES / "dcli" / "project.dcli", sample_rate_hz=100)
    _assert_names(exc, "walk_01.csv", "row 2", "column 'time'", "50 Hz", "100 Hz")


# --------------------------------------------------------------------------- #
# SensiML .dcli: one broken variant per error
# --------------------------------------------------------------------------- #


def _seg(entry: int, k: int, **fields: object) -> Callable[[list], None]:
    return lambda d: d[entry]["sessions"][0]["segments"][k].update(fields)


DCLI_BROKEN = [
    ("missing-file-name", lambda d: d[1].pop("file_name"), "entry [1]", "field 'file_name'", "missing key"),
    ("missing-sessions", lambda d: d[0].pop("sessions"), "entry [0]", "field 'sessions'", "missing key"),
    ("missing-end", lambda d: d[0]["sessions"][0]["segments"][1].pop("end"),
     "entry [0].sessions[0].segments[1]", "field 'end'", "missing key"),
    ("unknown-file", lambda d: d[1].update(file_name="run_09.csv"),
     "entry [1]", "field 'file_name'", "unknown capture file 'run_09.csv'"),
    ("repeated-file", lambda d: d[1].update(file_name="walk_01.csv"),
     "entry [1]", "field 'file_name'", "already entry [0]"),
    ("overlap", _seg(0, 1, start=8),  # 2..8 and 8..12 share sample 8 (ends inclusive)
     "entry [0].sessions[0].segments[1], field 'start'", "overlaps segment 2..8 of entry [0].sessions[0].segments[0]",
     "1 shared sample", "inclusive"),
    ("end-before-start", _seg(0, 2, start=15, end=14),
     "entry [0].sessions[0].segments[2]", "field 'end'", "end 14 < start 15"),
    ("end-equals-start", _seg(0, 2, start=15, end=15),
     "entry [0].sessions[0].segments[2]", "field 'end'", "end 15 == start 15"),
    ("end-beyond", _seg(1, 0, end=20),
     "entry [1].sessions[0].segments[0]", "field 'end'", "beyond capture 'run_01'", "last sample is 19"),
    ("negative-start", _seg(0, 0, start=-1),
     "entry [0].sessions[0].segments[0]", "field 'start'", "start -1 < 0"),
    ("seconds", _seg(0, 0, start=0.04, end=0.16),
     "entry [0].sessions[0].segments[0]", "field 'start'", "wrong units", "looks like a time in seconds"),
    ("text-start", _seg(0, 0, start="2"),
     "entry [0].sessions[0].segments[0]", "field 'start'", "string"),
    ("empty-label", _seg(0, 0, value=" "), "entry [0].sessions[0].segments[0]", "field 'value'", "empty"),
    ("segment-not-object", lambda d: d[0]["sessions"][0]["segments"].__setitem__(0, [2, 8]),
     "entry [0].sessions[0].segments[0]", "a list", "expected a segment"),
    ("metadata-no-value", lambda d: d[0]["metadata"][1].pop("value"),
     "entry [0].metadata[1]", "field 'value'", "missing key"),
    ("metadata-twice", lambda d: d[0]["metadata"][1].update(name="Subject"),
     "entry [0].metadata[1]", "field 'name'", "already given in [0].metadata[0]"),
    ("session-twice", lambda d: d[0]["sessions"][1].update(session_name="Manual"),
     "entry [0].sessions[1]", "field 'session_name'", "already [0].sessions[0]"),
    ("top-level-object", lambda d: d.__setitem__(slice(None), []), "entry (top level)", "empty list"),
]


@pytest.mark.parametrize(("change", "parts"), [(c, p) for _, c, *p in DCLI_BROKEN],
                         ids=[case[0] for case in DCLI_BROKEN])
def test_dcli_broken(tmp_path: Path, change: Callable[[list], None], parts: list[str]) -> None:
    file = _edit_json(_copy("dcli", tmp_path) / "project.dcli", change)
    with pytest.raises(DataError) as exc:
        read_dcli(file)
    _assert_names(exc, str(file), *parts)


def test_dcli_invalid_json(tmp_path: Path) -> None:
    file = _copy("dcli", tmp_path) / "project.dcli"
    file.write_text(file.read_text().replace('"start": 9,', '"start": 9'))  # line 13 of the fixture
    with pytest.raises(DataError) as exc:
        read_dcli(file)
    _assert_names(exc, str(file), "line 13 column 67", "invalid JSON", "Expecting ',' delimiter")


def test_dcli_not_a_list(tmp_path: Path) -> None:
    file = tmp_path / "one.dcli"
    file.write_text('{"file_name": "walk_01.csv"}')
    with pytest.raises(DataError) as exc:
        read_dcli(file)
    _assert_names(exc, str(file), "entry (top level)", "expected a list of file entries")


def test_dcli_unknown_session() -> None:
    file = FIXTURES / "dcli" / "project.dcli"
    with pytest.raises(DataError) as exc:
        read_dcli(file, session="Nope")
    _assert_names(exc, str(file), "no session 'Nope'", "['Manual', 'Auto']", "session=")


def test_dcli_bad_capture_csv_names_file_row_column(tmp_path: Path) -> None:
    folder = _copy("dcli", tmp_path)
    text = (folder / "run_01.csv").read_text().replace("0.08,104,", "0.08,abc,")
    (folder / "run_01.csv").write_text(text)
    with pytest.raises(DataError) as exc:
        read_dcli(folder / "project.dcli")
    _assert_names(exc, str(folder / "run_01.csv"), "row 6", "column 'accX'", "non-numeric value 'abc'")


# --------------------------------------------------------------------------- #
# Label Studio: golden
# --------------------------------------------------------------------------- #

# tests/data/fixtures/label_studio/export.json, time column 'time' (s), sample i at 0.02 * i;
# a region covers start <= t < end:
#   task 1 walk_01: walk 0.04..0.18 -> [2, 9); rest 0.18..0.30 -> [9, 15) (edge to edge: no overlap)
#   task 2 run_01:  run 0.10..0.38 -> [5, 19) (the 'choices' result is ignored)
#   task 3 (sit_01.csv, not present): no annotation -> skipped, file not read
# export_rows.json gives the same regions as row indices (no timeColumn) and a cancelled
# annotation first on task 2, which is skipped.
LS_SEGMENTS = [
    Segment("walk_01", "walk", 2, 9),
    Segment("walk_01", "rest", 9, 15),
    Segment("run_01", "run", 5, 19),
]


def test_label_studio_golden_time_column() -> None:
    ds = read_label_studio(FIXTURES / "label_studio" / "export.json")
    assert ds.name == "export"
    assert ds.capture_names() == ["walk_01", "run_01"]  # upload prefixes 4f3a2b1c- stripped
    assert ds.segments == LS_SEGMENTS
    assert ds.channels == ("accX", "accY", "accZ")
    assert ds.sample_rate_hz == pytest.approx(50.0)
    assert [c.metadata for c in ds.captures] == [
        {"file": "walk_01.csv", "task_id": "1", "export": "export"},
        {"file": "run_01.csv", "task_id": "2", "export": "export"},
    ]
    assert read_label_studio(FIXTURES / "label_studio" / "export.json", time_column="time").segments == LS_SEGMENTS


def test_label_studio_golden_row_index() -> None:
    file = FIXTURES / "label_studio" / "export_rows.json"
    assert read_label_studio(file, time_column=None).segments == LS_SEGMENTS
    assert import_dataset(file, fmt="label-studio", time_column=None).segments == LS_SEGMENTS


def test_label_studio_nanosecond_timestamps(tmp_path: Path) -> None:
    # 100 Hz, timestamp in ns from 5e9; region 5.02e9..5.05e9 -> samples 2, 3, 4
    rows = ["timestamp,accX"] + [f"{5_000_000_000 + i * 10_000_000},{i}" for i in range(8)]
    (tmp_path / "tap.csv").write_text("\n".join(rows) + "\n")
    region = {"start": 5_020_000_000, "end": 5_050_000_000, "timeserieslabels": ["tap"]}
    task = {"data": {"ts": "tap.csv"}, "annotations": [{"result": [{"type": "timeserieslabels", "value": region}]}]}
    (tmp_path / "ls.json").write_text(json.dumps([task]))
    ds = read_label_studio(tmp_path / "ls.json", time_column="timestamp")
    assert ds.segments == [Segment("tap", "tap", 2, 5)]
    assert ds.sample_rate_hz == pytest.approx(100.0) and ds.channels == ("accX",)


def test_label_studio_local_storage_reference_and_csv_dir(tmp_path: Path) -> None:
    folder = _copy("label_studio", tmp_path)
    (folder / "csv").mkdir()
    for name in ("walk_01.csv", "run_01.csv"):
        (folder / name).rename(folder / "csv" / name)
    _edit_json(folder / "export.json", lambda d: d[0]["data"].update(csv="/data/local-files/?d=imu%2Fwalk_01.csv"))
    ds = read_label_studio(folder / "export.json", csv_dir=folder / "csv")
    assert ds.segments == LS_SEGMENTS


def test_label_studio_empty_result_is_all_background(tmp_path: Path) -> None:
    file = _edit_json(_copy("label_studio", tmp_path) / "export.json",
                      lambda d: d[1]["annotations"][0].update(result=[]))
    ds = read_label_studio(file)
    assert ds.capture_names() == ["walk_01", "run_01"] and ds.segments == LS_SEGMENTS[:2]


# --------------------------------------------------------------------------- #
# Label Studio: one broken variant per error
# --------------------------------------------------------------------------- #


def _region(task: int, k: int, **fields: object) -> Callable[[list], None]:
    return lambda d: d[task]["annotations"][0]["result"][k]["value"].update(fields)


V00 = "entry [0].annotations[0].result[0].value"
V01 = "entry [0].annotations[0].result[1].value"

LS_BROKEN = [
    ("missing-data", lambda d: d[0].pop("data"), "entry [0]", "field 'data'", "missing key"),
    ("missing-annotations", lambda d: d[1].pop("annotations"), "entry [1]", "field 'annotations'", "missing key"),
    ("missing-end", lambda d: d[0]["annotations"][0]["result"][0]["value"].pop("end"), V00, "field 'end'",
     "missing key"),
    ("missing-labels", lambda d: d[0]["annotations"][0]["result"][1]["value"].pop("timeserieslabels"), V01,
     "field 'timeserieslabels'", "missing key"),
    ("unknown-file", lambda d: d[1]["data"].update(csv="/data/upload/1/9e8d7c6b-run_09.csv"),
     "entry [1].data", "field 'csv'", "unknown capture file", "'run_09.csv'"),
    ("repeated-file", lambda d: d[1]["data"].update(csv="walk_01.csv"),
     "entry [1].data", "field 'csv'", "same file (walk_01.csv) as task [0]"),
    ("overlap", _region(0, 1, start=0.16),  # walk [2, 9) and rest [8, 15) share sample 8
     V01 + ", field 'start'", "overlaps segment 0.04..0.18 of entry [0].annotations[0].result[0].value",
     "1 shared sample"),
    ("end-before-start", _region(0, 0, start=0.18, end=0.04), V00, "field 'end'", "end 0.04 < start 0.18"),
    ("instant", _region(0, 0, end=0.04, instant=True), V00, "field 'end'", "end 0.04 == start 0.04",
     "instant region"),
    ("no-sample", _region(0, 0, start=0.041, end=0.05), V00, "field 'end'", "covers no sample"),
    ("end-beyond", _region(1, 1, end=0.5), "entry [1].annotations[0].result[1].value", "field 'end'",
     "outside the time range 0..0.38 of column 'time'"),
    ("rows-not-seconds", _region(0, 0, start=2, end=9), V00, "field 'start'", "wrong units",
     "outside the time range", "look like sample indices", "time_column=None"),
    ("two-labels", _region(0, 1, timeserieslabels=["rest", "walk"]), V01, "field 'timeserieslabels'",
     "2 labels", "exactly one label"),
    ("date-text", _region(0, 0, start="2023-01-10T10:15:00.000Z"), V00, "field 'start'", "wrong units",
     "date/time text"),
    ("ambiguous-data", lambda d: d[0]["data"].update(csv2="other.csv"), "entry [0].data", "cannot tell",
     "data_key="),
    ("inline-data", lambda d: d[0].update(data={"ts": {"time": [0, 1], "accX": [1, 2]}}), "entry [0].data",
     "field 'ts'", "inline time series"),
    ("not-a-task", lambda d: d.__setitem__(0, "walk_01.csv"), "entry [0]", "a string", "expected a task"),
    ("nothing-labelled", lambda d: [t.update(annotations=[]) for t in d], "no task has an annotation"),
]


@pytest.mark.parametrize(("change", "parts"), [(c, p) for _, c, *p in LS_BROKEN],
                         ids=[case[0] for case in LS_BROKEN])
def test_label_studio_broken(tmp_path: Path, change: Callable[[list], None], parts: list[str]) -> None:
    file = _edit_json(_copy("label_studio", tmp_path) / "export.json", change)
    with pytest.raises(DataError) as exc:
        read_label_studio(file)
    _assert_names(exc, str(file), *parts)


def test_label_studio_seconds_when_rows_expected() -> None:
    file = FIXTURES / "label_studio" / "export.json"
    with pytest.raises(DataError) as exc:
        read_label_studio(file, time_column=None)
    _assert_names(exc, str(file), V00, "field 'start'", "wrong units", "0.04 is not a whole sample index",
                  "looks like a time in seconds", "fit column 'time' (0..0.38)", "time_column='time'")


def test_label_studio_rows_inside_a_long_time_range(tmp_path: Path) -> None:
    # 300 samples, 10 ms apart with +0.3 ms on even rows (times 0.0003, 0.0100, 0.0203, ... 2.9900):
    # rows 1..2 fit inside 0..2.99 s, but 1 and 2 are no sample times -> reported as row numbers
    rows = ["seconds_elapsed,accX"] + [f"{i * 0.01 + 0.0003 * (i % 2 == 0):.4f},{i}" for i in range(300)]
    (tmp_path / "long.csv").write_text("\n".join(rows) + "\n")
    region = {"start": 1, "end": 2, "timeserieslabels": ["walk"]}
    task = {"data": {"csv": "long.csv"}, "annotations": [{"result": [{"type": "timeserieslabels", "value": region}]}]}
    file = tmp_path / "ls.json"
    file.write_text(json.dumps([task]))
    with pytest.raises(DataError) as exc:
        read_label_studio(file)
    _assert_names(exc, str(file), "entry [0].annotations[0].result[0].value", "field 'start'", "wrong units",
                  "not sample times of column 'seconds_elapsed'", "time_column=None")
    assert read_label_studio(file, time_column=None).segments == [Segment("long", "walk", 1, 2)]
    # named explicitly: read as seconds, samples 1.0003 s (row 100) up to 2.0003 s (row 200)
    assert read_label_studio(file, time_column="seconds_elapsed").segments == [Segment("long", "walk", 100, 200)]


def test_label_studio_row_beyond_capture(tmp_path: Path) -> None:
    file = _edit_json(_copy("label_studio", tmp_path) / "export_rows.json", _region(0, 1, end=21))
    with pytest.raises(DataError) as exc:
        read_label_studio(file, time_column=None)
    _assert_names(exc, str(file), V01, "field 'end'", "end 21 is beyond capture 'walk_01' (20 rows")


def test_label_studio_invalid_json(tmp_path: Path) -> None:
    file = tmp_path / "export.json"
    file.write_text('[{"data": {"csv": "a.csv"}, "annotations": []}\n')
    with pytest.raises(DataError) as exc:
        read_label_studio(file)
    _assert_names(exc, str(file), "line 2", "invalid JSON")


def test_label_studio_missing_time_column(tmp_path: Path) -> None:
    file = FIXTURES / "label_studio" / "export.json"
    with pytest.raises(DataError) as exc:
        read_label_studio(file, time_column="ms")
    _assert_names(exc, "walk_01.csv", "row 1", "column 'ms'", "missing column", "time_column")
    with pytest.raises(ConfigError, match="'time_column'"):
        read_label_studio(file, time_column=3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# One label per file: golden
# --------------------------------------------------------------------------- #

# per_file/captures: run_01 (8 rows), walk_01 (12 rows), walk_02 (10 rows); sorted by name,
# each capture is one segment [0, n).
PER_FILE = [
    Segment("run_01", "run", 0, 8),
    Segment("walk_01", "walk", 0, 12),
    Segment("walk_02", "walk", 0, 10),
]


def test_per_file_pattern_golden() -> None:
    ds = read_per_file_labels(FIXTURES / "per_file" / "captures", pattern=WALK_PATTERN)
    assert ds.name == "captures"
    assert ds.segments == PER_FILE
    assert [c.metadata for c in ds.captures] == [
        {"file": "run_01.csv", "take": "01"},
        {"file": "walk_01.csv", "take": "01"},
        {"file": "walk_02.csv", "take": "02"},
    ]
    assert ds.labels() == ["NoActivity", "run", "walk"] and ds.sample_rate_hz == pytest.approx(50.0)
    # the stem is tried too, so the extension may be left out of the pattern
    stem_only = read_per_file_labels(FIXTURES / "per_file" / "captures", pattern=r"(?P<label>[a-z]+)_\d+")
    assert stem_only.segments == PER_FILE


def test_per_file_mapping_golden(tmp_path: Path) -> None:
    ds = read_per_file_labels(FIXTURES / "per_file" / "captures", mapping=FIXTURES / "per_file" / "mapping.csv")
    assert ds.segments == PER_FILE
    assert [c.metadata["subject"] for c in ds.captures] == ["U01", "U01", "U02"]
    # the mapping may sit in the folder (it is not a capture) and name files without .csv
    folder = _copy("per_file", tmp_path) / "captures"
    text = (FIXTURES / "per_file" / "mapping.csv").read_text().replace("walk_02.csv", "walk_02")
    (folder / "labels.csv").write_text(text)
    ds = import_dataset(folder, mapping="labels.csv")
    assert ds.segments == PER_FILE


def test_per_file_broken_pattern_parameters() -> None:
    folder = FIXTURES / "per_file" / "captures"
    with pytest.raises(ConfigError, match="named group 'label'"):
        read_per_file_labels(folder, pattern=r"(?P<activity>[a-z]+)_\d+\.csv")
    with pytest.raises(ConfigError, match="valid regular expression"):
        read_per_file_labels(folder, pattern=r"(?P<label>[a-z+_\d+")
    with pytest.raises(ConfigError, match="exactly one"):
        read_per_file_labels(folder)
    with pytest.raises(ConfigError, match="exactly one"):
        read_per_file_labels(folder, pattern=WALK_PATTERN, mapping="x.csv")


def test_per_file_file_not_matched(tmp_path: Path) -> None:
    folder = _copy("per_file", tmp_path) / "captures"
    odd = folder / "Walk-03.csv"
    odd.write_text(_capture_csv(5))
    with pytest.raises(DataError) as exc:
        read_per_file_labels(folder, pattern=WALK_PATTERN)
    _assert_names(exc, str(odd), "'Walk-03.csv' does not match the pattern", repr(WALK_PATTERN))


def _broken_mapping(tmp_path: Path, text: str) -> tuple[Path, Path]:
    folder = _copy("per_file", tmp_path)
    (folder / "mapping.csv").write_text(text)
    return folder / "captures", folder / "mapping.csv"


MAPPING = (FIXTURES / "per_file" / "mapping.csv").read_text()


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (MAPPING.replace("walk_02.csv", "walk_09.csv"),
         ["row 3", "column 'file'", "unknown capture file 'walk_09.csv'"]),
        (MAPPING.replace("walk_02.csv,walk", "walk_01.csv,walk"), ["row 3", "column 'file'", "already", "row 2"]),
        (MAPPING.replace("run_01.csv,run", "run_01.csv, "), ["row 4", "column 'label'", "empty cell"]),
        (MAPPING.replace("file,label", "file,class"), ["row 1", "column 'label'", "missing column"]),
        ("file,label\n", ["row 2", "no rows"]),
    ],
    ids=["missing-file", "repeated-file", "empty-label", "no-label-column", "no-rows"],
)
def test_per_file_broken_mapping(tmp_path: Path, text: str, parts: list[str]) -> None:
    folder, mapping = _broken_mapping(tmp_path, text)
    with pytest.raises(DataError) as exc:
        read_per_file_labels(folder, mapping=mapping)
    _assert_names(exc, str(mapping), *parts)


def test_per_file_csv_not_in_mapping(tmp_path: Path) -> None:
    folder, mapping = _broken_mapping(tmp_path, MAPPING.replace("walk_02.csv,walk,U02\n", ""))
    with pytest.raises(DataError) as exc:
        read_per_file_labels(folder, mapping=mapping)
    _assert_names(exc, str(folder / "walk_02.csv"), "not listed in the mapping", str(mapping))


def test_per_file_mapping_not_found(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        read_per_file_labels(FIXTURES / "per_file" / "captures", mapping=tmp_path / "nope.csv")
    _assert_names(exc, str(tmp_path / "nope.csv"), "mapping file not found")


# --------------------------------------------------------------------------- #
# import_dataset: auto-detection, label column, canonical, option checks
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("path", "options", "fmt"),
    [
        ("dcli/project.dcli", {}, "dcli"),
        ("dcli", {}, "dcli"),
        ("label_studio/export.json", {}, "label-studio"),
        ("per_file/captures", {"pattern": WALK_PATTERN}, "per-file"),
        ("per_file/captures", {"mapping": "m.csv"}, "per-file"),
        ("label_column", {}, "label-column"),
        ("label_column/sit_01.csv", {}, "label-column"),
        ("canonical", {}, "canonical"),
    ],
)
def test_detect_format(path: str, options: dict, fmt: str) -> None:
    assert detect_format(FIXTURES / path, **options) == fmt


def test_import_label_column_and_canonical() -> None:
    ds = import_dataset(FIXTURES / "label_column", background="rest")
    # sit_01 labels: rest rest sit sit sit rest; sit_02: sit sit rest rest
    assert ds.segments == [
        Segment("sit_01", "rest", 0, 2), Segment("sit_01", "sit", 2, 5), Segment("sit_01", "rest", 5, 6),
        Segment("sit_02", "sit", 0, 2), Segment("sit_02", "rest", 2, 4),
    ]
    assert ds.labels() == ["rest", "sit"] and ds.channels == ("accX", "accY")
    canonical = import_dataset(FIXTURES / "canonical", fmt="canonical")
    assert canonical.segments == [Segment("tap_01", "tap", 1, 4)]
    assert import_dataset(FIXTURES / "canonical").segments == canonical.segments


def test_one_labelled_csv_is_a_dataset_of_one_capture(tmp_path: Path) -> None:
    # automl replay reads a single recording: the capture as read from its folder, labels included.
    one = import_dataset(FIXTURES / "label_column" / "sit_01.csv", background="rest")
    assert one.name == "sit_01" and one.capture_names() == ["sit_01"]
    assert one.segments == [Segment("sit_01", "rest", 0, 2), Segment("sit_01", "sit", 2, 5),
                            Segment("sit_01", "rest", 5, 6)]
    folder = import_dataset(FIXTURES / "label_column", background="rest")
    np.testing.assert_array_equal(one.captures[0].data, folder.captures[0].data)
    assert one.sample_rate_hz == pytest.approx(50.0)  # 0.02 s between rows
    # Without its label column the same file is an unlabelled capture, only when asked for.
    unlabelled = tmp_path / "field.csv"
    lines = (FIXTURES / "label_column" / "sit_01.csv").read_text().splitlines()
    col = lines[0].split(",").index("label")
    unlabelled.write_text("\n".join(",".join(c for i, c in enumerate(ln.split(",")) if i != col) for ln in lines))
    with pytest.raises(DataError) as exc:
        import_dataset(unlabelled)
    _assert_names(exc, str(unlabelled), "missing column 'label'")
    field = import_dataset(unlabelled, require_labels=False)
    assert field.segments == [] and field.captures[0].data.shape == one.captures[0].data.shape


def test_import_dataset_returns_datasets_for_every_format() -> None:
    assert set(IMPORT_FORMATS) == {"auto", "dcli", "label-studio", "per-file", "folders", "label-column", "canonical"}
    for path, options in [("dcli", {}), ("label_studio/export.json", {}), ("label_column", {}), ("canonical", {}),
                          ("per_file/captures", {"pattern": WALK_PATTERN})]:
        ds = import_dataset(FIXTURES / path, **options)
        assert isinstance(ds, Dataset) and ds.segments and all(s.end > s.start for s in ds.segments)


def test_import_dataset_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'--format' parameter \(fmt\) must be one of auto, "):
        import_dataset(FIXTURES / "dcli", fmt="sensiml")
    with pytest.raises(ConfigError) as exc:
        import_dataset(FIXTURES / "dcli" / "project.dcli", csv_dir="x")
    _assert_names(exc, "'dcli'", "['csv_dir']", "session", "time_column", "resample_hz")
    with pytest.raises(ConfigError, match="'label-column'"):
        import_dataset(FIXTURES / "label_column", session="x")


def test_import_dataset_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        import_dataset(tmp_path / "missing")
    _assert_names(exc, str(tmp_path / "missing"), "not found")
    odd = tmp_path / "labels.txt"
    odd.write_text("x")
    with pytest.raises(DataError) as exc:
        import_dataset(odd)
    _assert_names(exc, str(odd), "cannot tell the format", "'.txt'", "--format")
    folder = _copy("dcli", tmp_path)
    shutil.copy(folder / "project.dcli", folder / "other.dcli")
    with pytest.raises(DataError) as exc:
        import_dataset(folder, fmt="dcli")
    _assert_names(exc, str(folder), "exactly one", "other.dcli", "project.dcli")
