"""Layouts people keep their data in, each read by hand-checked golden fixtures or stopped by one clear error.

Fixtures (tests/data/fixtures/), written from the formats' public documentation:

* ``label_studio_dates/``: a Label Studio time-series project exported twice.
  ``train.json``: the <TimeSeries> tag has ``timeFormat="%Y-%m-%d %H:%M:%S.%f"``,
  so the CSV's ``time`` column holds date-times and the region edges are
  date-time text (label-studio-frontend ``TimeSeriesRegion.serialize``).
  ``walk_01.csv``: 10 rows 10 ms apart from 2022-04-20 00:00:02.818.
  ``test.json``: ``timeFormat="%S.%f"``, edges like ``"10.012000"``;
  ``run_01.csv``: ``time`` 09.992000 .. 10.082000 (10 ms). Channels ``gFx,
  gFy, gFz`` (phyphox's g-force names).
* ``mbientlab/``: MetaBase CSVs (``epoch (ms), time (-08:00), elapsed (s),
  x-axis (g), ...``), one file per sensor, one folder per class; 25 Hz.
  Accelerometer: 6 samples from t = 0 ms, ``x = t / 1000``; gyroscope: 5
  samples from t = 20 ms, ``x = +-t / 10``.
* ``timestamp_seconds/``: a ``timestamp`` column in seconds at 25 Hz.
* ``decimal_commas/``: numbers with decimal commas, quoted in a
  comma-separated file (``a.csv``) and bare in a ``;``-separated one (``b.csv``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from automl.data import (
    Capture,
    Dataset,
    Segment,
    auto_counts_scale,
    capture_groups,
    detect_format,
    grouped_folds,
    import_dataset,
    parse_where,
    read_class_folders,
    read_dcli,
    read_label_studio,
    read_labelled_csv_folder,
    read_per_file_labels,
    split_held_out,
)
from automl.data._csv import CsvScan
from automl.data._resample import map_segments, resample, resample_ratio
from automl.errors import ConfigError, DataError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LS = FIXTURES / "label_studio_dates"
MBIENT = FIXTURES / "mbientlab"
S01 = "Left Jab/S01_MetaWear_2019-09-23T13.33.40.089_C5B6A2DC1B2C_1.4.4"
S02 = "Right Hook/S02_MetaWear_2019-09-23T13.33.40.089_C5B6A2DC1B2C_1.4.4"


def _assert_one_line(exc: pytest.ExceptionInfo, *parts: str) -> str:
    msg = str(exc.value)
    for part in parts:
        assert part in msg, f"{part!r} not in message: {msg}"
    assert "\n" not in msg
    return msg


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- #
# Label Studio: date-time and seconds-as-text axes, two exports
# --------------------------------------------------------------------------- #


def test_label_studio_date_time_axis_and_two_exports() -> None:
    ds = read_label_studio([LS / "train.json", LS / "test.json"])
    assert ds.capture_names() == ["walk_01", "run_01"]
    # walk_01: "...02.838000".."...02.878000" is [20 ms, 60 ms) from the first sample -> rows 2..5;
    # "...02.878000".."...02.908000" -> rows 6..8. run_01: "10.012000".."10.062000" -> 10.012 .. 10.052 = rows 2..6.
    assert ds.segments == [Segment("walk_01", "walk", 2, 6), Segment("walk_01", "rest", 6, 9),
                           Segment("run_01", "walk", 2, 7)]
    assert ds.sample_rate_hz == pytest.approx(100.0) and ds.resample_hz is None
    assert [c.metadata["export"] for c in ds.captures] == ["train", "test"]
    assert ds.channels == ("gFx", "gFy", "gFz") and ds.sensors == {}  # g-force names name no sensor
    assert detect_format(LS) == "label-studio"  # a folder of exports: read in name order (test, train)
    assert sorted(import_dataset(LS).segments, key=str) == sorted(ds.segments, key=str)
    assert detect_format([LS / "train.json", LS / "test.json"]) == "label-studio"
    train, test = split_held_out(ds, test_where=parse_where("export=test"))
    assert (train.capture_names(), test.capture_names()) == (["walk_01"], ["run_01"])


def test_label_studio_channels_renamed_into_a_sensor_group() -> None:
    ds = read_label_studio(LS / "train.json", channels={"accX": "gFx", "accY": "gFy", "accZ": "gFz"})
    assert ds.channels == ("accX", "accY", "accZ") and ds.sensors == {"acc": ("accX", "accY", "accZ")}
    np.testing.assert_array_equal(ds.captures[0].data[3], np.float32([0.03, -0.06, 1.3]))
    declared = read_label_studio(LS / "train.json", sensors={"phone": ["gFz", "gFx", "gFy"]})
    assert declared.sensors == {"phone": ("gFx", "gFy", "gFz")}  # channel order


def test_label_studio_text_edges_on_a_numeric_axis(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(LS, tmp_path / "ls"))
    doc = json.loads((folder / "test.json").read_text())
    doc[0]["annotations"][0]["result"][0]["value"]["start"] = "2022-04-20 00:00:10.012000"
    (folder / "test.json").write_text(json.dumps(doc))
    with pytest.raises(DataError) as exc:
        read_label_studio(folder / "test.json")
    _assert_one_line(exc, "test.json", "[0].annotations[0].result[0].value", "'start'", "wrong units",
                     "date/time text", "column 'time'", "--time-column")


def test_label_studio_references_stay_inside_the_data_folder(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.csv", "time,x\n0,TOPSECRET\n")
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(LS / "walk_01.csv", folder / "walk_01.csv")
    for reference, why in (("../secret.csv", "outside the data folder"), ("sub/../../secret.csv", "outside"),
                           (str(secret), "unknown capture file")):  # an absolute path is a URL: its name is looked up
        task = {"data": {"csv": reference}, "annotations": [{"result": []}]}
        (folder / "export.json").write_text(json.dumps([task]))
        with pytest.raises(DataError) as exc:
            read_label_studio(folder / "export.json")
        msg = _assert_one_line(exc, "export.json", "[0].data", "csv", why)
        assert "TOPSECRET" not in msg
    (folder / "export.json").write_text(json.dumps([{"data": {"csv": "/data/upload/1/walk_01.csv"},
                                                     "annotations": [{"result": []}]}]))
    assert read_label_studio(folder / "export.json").capture_names() == ["walk_01"]  # URL path: its name


def test_dcli_file_names_stay_inside_the_data_folder(tmp_path: Path) -> None:
    _write(tmp_path / "outside.csv", "time,x\n0,TOPSECRET\n0.1,2\n")
    folder = Path(shutil.copytree(FIXTURES / "dcli", tmp_path / "dcli"))
    for name in ("../outside.csv", str(tmp_path / "outside.csv")):
        doc = json.loads((folder / "project.dcli").read_text())
        doc[0]["file_name"] = name
        (folder / "project.dcli").write_text(json.dumps(doc))
        with pytest.raises(DataError) as exc:
            read_dcli(folder / "project.dcli")
        msg = _assert_one_line(exc, "project.dcli", "entry [0]", "'file_name'")
        assert "TOPSECRET" not in msg


# --------------------------------------------------------------------------- #
# MbientLab: one folder per class, one file per sensor
# --------------------------------------------------------------------------- #


def test_mbientlab_class_folders_merge_sensor_files() -> None:
    ds = read_class_folders(MBIENT, name_metadata=r"(?P<subject>S\d+)_")
    assert ds.capture_names() == [S01, S02]
    assert ds.channels == ("accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ")
    assert ds.sensors == {"acc": ("accX", "accY", "accZ"), "gyr": ("gyrX", "gyrY", "gyrZ")}
    # Common span: gyroscope 20..180 ms (5 samples) inside accelerometer 0..200 ms (4 samples there):
    # the gyroscope's clock; accX = t / 1000 interpolated at 20, 60, ..., 180 ms; gyrX = t / 10 as recorded.
    left = ds.captures[0].data
    np.testing.assert_allclose(left[:, 0], [0.02, 0.06, 0.10, 0.14, 0.18], atol=1e-6)
    np.testing.assert_array_equal(left[:, 3], np.float32([2, 6, 10, 14, 18]))
    np.testing.assert_array_equal(left[:, [1, 2, 4, 5]], np.float32([[0.5, 1, 2, -3]] * 5))
    assert ds.sample_rate_hz == pytest.approx(25.0)
    assert ds.segments == [Segment(S01, "Left Jab", 0, 5), Segment(S02, "Right Hook", 0, 5)]
    assert [c.metadata["subject"] for c in ds.captures] == ["S01", "S02"]
    assert detect_format(MBIENT) == "folders"
    assert any("2 recording(s) merged" in n for n in ds.notes)


def test_mbientlab_one_sensor_alone_keeps_its_time_columns_out(tmp_path: Path) -> None:
    folder = tmp_path / "acc"
    for f in MBIENT.rglob("*Accelerometer*.csv"):
        _write(folder / f.parent.name / f.name, f.read_text())
    ds = read_class_folders(folder)
    # epoch (ms), time (-08:00) and elapsed (s) are time columns, never channels; (g) names the accelerometer
    assert ds.channels == ("x-axis (g)", "y-axis (g)", "z-axis (g)")
    assert ds.sensors == {"acc": ds.channels} and ds.sample_rate_hz == pytest.approx(25.0)


def test_sensor_files_that_do_not_overlap(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(MBIENT, tmp_path / "m"))
    gyro = next(folder.rglob("S01*Gyroscope*.csv"))
    lines = gyro.read_text().splitlines()
    shifted = [lines[0]] + [f"{int(line.split(',', 1)[0]) + 60_000},{line.split(',', 1)[1]}" for line in lines[1:]]
    gyro.write_text("\n".join(shifted) + "\n")
    with pytest.raises(DataError) as exc:
        read_class_folders(folder)
    _assert_one_line(exc, "Accelerometer", "Gyroscope", "do not overlap in time", "wall clocks")


def test_label_map_names_recordings_and_sensors(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(MBIENT, tmp_path / "m"))
    rows = ["file,label,recording,sensor,subject"]
    for f in sorted(folder.rglob("*.csv")):
        rel = f.relative_to(folder).as_posix()
        sensor = "acc" if "Accelerometer" in f.name else "gyro"
        rows.append(f"{rel},{f.parent.name.split()[1].lower()},{f.name[:3]},{sensor},{f.name[:3]}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    ds = read_per_file_labels(folder, mapping=folder / "labels.csv")
    assert ds.capture_names() == ["S01", "S02"] and ds.labels() == ["NoActivity", "hook", "jab"]
    assert ds.channels[3] == "gyrX" and ds.captures[0].metadata["subject"] == "S01"
    rows.append("../escape.csv,jab,S03,acc,S03")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError) as exc:
        read_per_file_labels(folder, mapping=folder / "labels.csv")
    _assert_one_line(exc, "labels.csv", "row 6", "'file'", "outside the data folder")


# --------------------------------------------------------------------------- #
# Time units, decimal commas
# --------------------------------------------------------------------------- #


def test_timestamp_in_seconds_is_one_clear_error_then_reads_with_the_unit() -> None:
    folder = FIXTURES / "timestamp_seconds"
    with pytest.raises(DataError) as exc:
        read_labelled_csv_folder(folder)
    _assert_one_line(exc, "walk_01.csv", "column 'timestamp'", "2.5e+10 Hz", "looks like seconds, not nanoseconds",
                     "--time-unit s")
    ds = read_labelled_csv_folder(folder, time_unit="s")
    assert ds.sample_rate_hz == pytest.approx(25.0, rel=1e-5)
    assert ds.segments == [Segment("walk_01", "walk", 0, 3), Segment("walk_01", "rest", 3, 6)]
    assert ds.channels == ("accX", "accY", "accZ")


@pytest.mark.parametrize(("header", "step", "rate"), [
    ("epoch (ms)", "40", 25.0), ("elapsed (s)", "0.04", 25.0), ("time_us", "2500", 400.0),
    ("Time (s)", "0.001", 1000.0), ("timestamp", "10000000", 100.0), ("t", "0.1", 10.0),
])
def test_time_column_names_and_units(tmp_path: Path, header: str, step: str, rate: float) -> None:
    base = int(step) * 7 if step.isdigit() else 0
    rows = [f"{header},index,x,label"] + [f"{base + i * float(step) if '.' in step else base + i * int(step)},"
                                          f"{i},{i * 2},A" for i in range(5)]
    _write(tmp_path / "c.csv", "\n".join(rows) + "\n")
    ds = read_labelled_csv_folder(tmp_path)
    assert ds.sample_rate_hz == pytest.approx(rate) and ds.channels == ("x",)  # index is no channel


def test_date_time_column_and_implausible_rate(tmp_path: Path) -> None:
    rows = ["datetime,x,label"] + [f"2024-01-01T10:00:0{i}.000+02:00,{i},A" for i in range(5)]
    _write(tmp_path / "d" / "c.csv", "\n".join(rows) + "\n")
    ds = read_labelled_csv_folder(tmp_path / "d")
    assert ds.sample_rate_hz == pytest.approx(1.0)
    rows = ["datetime,x,label"] + [f"2024-01-0{i + 1}T10:00:00,{i},A" for i in range(5)]  # one sample a day
    _write(tmp_path / "e" / "c.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError) as exc:
        read_labelled_csv_folder(tmp_path / "e")
    _assert_one_line(exc, "c.csv", "column 'datetime'", "1.157e-05 Hz", "check the date-times")


def test_decimal_commas_keep_every_channel() -> None:
    ds = read_labelled_csv_folder(FIXTURES / "decimal_commas")
    assert ds.channels == ("accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ")
    np.testing.assert_array_equal(ds.captures[0].data[:, 2], np.float32([0.5, 0.6, 0.7, 0.8]))
    np.testing.assert_array_equal(ds.captures[0].data[0], np.float32([0.0287, -9.81, 0.5, 0.0012, -0.0034, 0.0101]))
    np.testing.assert_array_equal(ds.captures[1].data[0], np.float32([1.5, -9.7, 0.25, 0, -1.5, 2]))
    assert ds.sample_rate_hz == pytest.approx(100.0)
    assert ds.segments == [Segment("a", "rest", 0, 2), Segment("a", "jab", 2, 4), Segment("b", "jab", 0, 4)]


def test_unquoted_decimal_commas_are_one_clear_error(tmp_path: Path) -> None:
    _write(tmp_path / "c.csv", "t,x,y,label\n0,0,5,1,A\n")
    with pytest.raises(DataError) as exc:
        read_labelled_csv_folder(tmp_path)
    _assert_one_line(exc, "c.csv", "row 2", "5 cells", "4 columns", "decimal comma must be quoted")


def test_values_beyond_float32_are_reported(tmp_path: Path) -> None:
    _write(tmp_path / "c.csv", "t,x,label\n0,1,A\n0.1,1e39,A\n0.2,1,A\n")
    with pytest.raises(DataError) as exc:
        read_labelled_csv_folder(tmp_path)
    _assert_one_line(exc, "c.csv", "row 3", "column 'x'", "beyond the float32 range")


def test_errors_after_the_first_chunk_name_their_row(tmp_path: Path, monkeypatch) -> None:
    import automl.data._csv as csv_mod

    monkeypatch.setattr(csv_mod, "CHUNK_ROWS", 7)
    rows = ["t,x,label"] + [f"{i / 10},{i},{'A' if i < 12 else 'B'}" for i in range(30)]
    rows.insert(20, "")  # a blank line is skipped but counted
    _write(tmp_path / "ok" / "c.csv", "\n".join(rows) + "\n")
    ds = read_labelled_csv_folder(tmp_path / "ok")
    np.testing.assert_array_equal(ds.captures[0].data[:, 0], np.arange(30, dtype=np.float32))
    assert ds.segments == [Segment("c", "A", 0, 12), Segment("c", "B", 12, 30)]
    assert rows[26] == "2.4,24,B"  # data row 24 is file row 27: after the header and the blank line
    rows[26] = "2.4,oops,B"
    _write(tmp_path / "bad" / "c.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataError) as exc:
        read_labelled_csv_folder(tmp_path / "bad")
    _assert_one_line(exc, "row 27", "column 'x'", "non-numeric value 'oops'")


def test_scan_converts_columns_in_chunks(tmp_path: Path, monkeypatch) -> None:
    import automl.data._csv as csv_mod

    monkeypatch.setattr(csv_mod, "CHUNK_ROWS", 4)
    _write(tmp_path / "c.csv", "ts,v,who\n" + "".join(f"{10**18 + i},{i}.5,me\n" for i in range(10)))
    scan = CsvScan(tmp_path / "c.csv")
    out = scan.read({"ts": csv_mod.TIME, "v": csv_mod.NUMBER, "who": csv_mod.CONSTANT})
    assert out.times["ts"].dtype == np.int64 and out.times["ts"][-1] == 10**18 + 9  # exact, not float64
    assert out.numbers["v"].dtype == np.float32 and out.numbers["v"].tolist() == [i + 0.5 for i in range(10)]
    assert out.constants == {"who": "me"} and out.rows.tolist() == list(range(2, 12))


# --------------------------------------------------------------------------- #
# Resampling
# --------------------------------------------------------------------------- #


def test_resample_ratio() -> None:
    assert resample_ratio(100.0, 50.0) == (1, 2, 100.0)
    up, down, mid = resample_ratio(100.528, 50.0)  # the boxing rate
    assert (up, down, mid) == (1, 2, 100.0)
    assert resample_ratio(25.0, 100.0) == (4, 1, 25.0)
    up, down, mid = resample_ratio(417.3, 97.1)
    assert down <= 64 and abs(mid / 417.3 - 1) < 1 / (2 * 64**2) * 10


def test_resampled_sine_matches_the_sine() -> None:
    # 2 Hz sine sampled at 100.5 Hz with 1 % timing noise -> 50 Hz: the signal survives (far below 25 Hz);
    # a 40 Hz component (above the new Nyquist) is filtered out, not aliased.
    rng = np.random.default_rng(0)
    t = np.cumsum(np.full(1000, 1 / 100.5) * (1 + 0.01 * rng.standard_normal(1000))) - 1 / 100.5
    x = np.column_stack([np.sin(2 * np.pi * 2 * t), np.sin(2 * np.pi * 40 * t)]).astype(np.float32)
    y = resample(x, t, 100.5, 50.0)
    tau = np.arange(y.shape[0]) / 50.0
    assert y.shape[0] == int(t[-1] * 50) + 1
    inner = slice(20, -20)  # away from the filter's edges
    np.testing.assert_allclose(y[inner, 0], np.sin(2 * np.pi * 2 * tau[inner]), atol=0.01)
    assert np.abs(y[inner, 1]).max() < 0.05


def test_segments_follow_time_exactly() -> None:
    t = np.arange(10) * 0.01  # 100 Hz
    segs = [Segment("c", "A", 0, 3), Segment("c", "B", 3, 4), Segment("c", "A", 4, 10)]
    # to 50 Hz (samples at 0, 20, ..., 80 ms): A [0, 30) ms -> 0, 20 ms; B [30, 40) ms -> none (dropped);
    # A [40, 100) ms -> 40, 60, 80 ms.
    out, dropped = map_segments(segs, t, 50.0, 5)
    assert out == [Segment("c", "A", 0, 2), Segment("c", "A", 2, 5)] and dropped == 1
    # to 200 Hz: boundaries double
    out, dropped = map_segments(segs, t, 200.0, 19)
    assert out == [Segment("c", "A", 0, 6), Segment("c", "B", 6, 8), Segment("c", "A", 8, 19)] and dropped == 0


def test_resample_hz_option_reaches_every_reader() -> None:
    ds = read_class_folders(MBIENT, resample_hz=50)
    assert ds.sample_rate_hz == 50.0 and ds.resample_hz == 50.0
    assert ds.captures[0].n_samples == 9  # 160 ms at 50 Hz: floor(0.16 * 50) + 1
    assert ds.segments[0] == Segment(S01, "Left Jab", 0, 9)
    np.testing.assert_allclose(ds.captures[0].data[2:7, 1], 0.5, atol=1e-3)  # a constant channel stays constant
    with pytest.raises(ConfigError, match="'resample_hz' parameter must be a rate in Hz from 1 to 10000"):
        read_class_folders(MBIENT, resample_hz=0)


def test_boxing_resampled_to_50_hz(boxing_dir: Path) -> None:
    full = read_labelled_csv_folder(boxing_dir)
    ds = read_labelled_csv_folder(boxing_dir, resample_hz=50)
    assert ds.sample_rate_hz == 50.0 and ds.channels == full.channels
    # every segment survives (the shortest gap is 16 samples = 160 ms) and the spans still tile each capture
    assert len(ds.segments) == len(full.segments)
    for c in ds.captures:
        segs = [s for s in ds.segments if s.capture == c.name]
        assert segs[0].start == 0 and segs[-1].end == c.n_samples
        assert all(a.end == b.start for a, b in zip(segs, segs[1:]))
    name = "acc_gyr_experiment_all_left"
    a = next(c for c in full.captures if c.name == name)
    b = next(c for c in ds.captures if c.name == name)
    t = np.loadtxt(boxing_dir / f"{name}.csv", delimiter=",", skiprows=1, usecols=1)
    assert b.n_samples == int(np.floor((t[-1] - t[0]) * 50)) + 1  # the recording's span (gaps included) at 50 Hz
    assert abs(float(b.data[:, 0].mean()) - float(a.data[:, 0].mean())) < 0.1  # gravity's mean kept


# --------------------------------------------------------------------------- #
# Splits: held-out by metadata, folds grouped by metadata
# --------------------------------------------------------------------------- #


def _subjects(n_subjects: int = 4, per_subject: int = 3) -> Dataset:
    captures, segments = [], []
    for s in range(n_subjects):
        for k in range(per_subject):
            name = f"s{s}_take{k}"
            captures.append(Capture(name, np.zeros((20, 1), np.float32), {"subject": f"{s:02d}", "hand": "lr"[k % 2]}))
            segments += [Segment(name, "jab" if k % 2 == 0 else "hook", 2, 18)]
    return Dataset("subjects", ("x",), 10.0, captures, segments)


def test_folds_never_split_a_subject() -> None:
    ds = _subjects()
    folds = grouped_folds(ds, 3, seed=0, group_by="subject")
    groups = capture_groups(ds, "subject")
    seen = []
    for train, val in folds:
        assert {groups[n] for n in train}.isdisjoint({groups[n] for n in val})
        assert {s.label for s in ds.segments if s.capture in val} == {"hook", "jab"}  # stratified
        seen += val
    assert sorted(seen) == sorted(ds.capture_names())
    pairs = grouped_folds(ds, 4, seed=1, group_by=["subject", "hand"])
    assert all({(groups[n], ds.captures[ds.capture_names().index(n)].metadata["hand"]) for n in v}
               for _, v in pairs)


def test_fewer_groups_than_folds_and_missing_keys() -> None:
    ds = _subjects(n_subjects=2)
    with pytest.raises(DataError) as exc:
        grouped_folds(ds, 3, group_by="subject")
    _assert_one_line(exc, "2 groups by 'subject'", "00, 01", "fewer than the 3 folds", "lower search.cv_folds to 2")
    del ds.captures[4].metadata["subject"]
    with pytest.raises(DataError) as exc:
        grouped_folds(ds, 2, group_by="subject")
    _assert_one_line(exc, "capture 's1_take1'", "no metadata 'subject'", "['hand']", "name_metadata")
    with pytest.raises(ConfigError, match="'group_by'"):
        grouped_folds(ds, 2, group_by=[])


def test_test_where_selects_and_checks() -> None:
    ds = _subjects()
    assert parse_where(["subject=01,03", "hand=l"]) == {"subject": ["01", "03"], "hand": ["l"]}
    train, test = split_held_out(ds, test_where=parse_where("subject=01,03"))
    assert test.capture_names() == ["s1_take0", "s1_take1", "s1_take2", "s3_take0", "s3_take1", "s3_take2"]
    _, test = split_held_out(ds, test_glob="s1_*", test_where={"hand": ["r"]})
    assert test.capture_names() == ["s1_take1"]
    with pytest.raises(DataError) as exc:
        split_held_out(ds, test_where={"session": ["1"]})
    _assert_one_line(exc, "--test-where session=", "no capture", "['hand', 'subject']")
    with pytest.raises(DataError, match="matches none of the 12 captures"):
        split_held_out(ds, test_where={"subject": ["09"]})
    with pytest.raises(ConfigError, match="key=value"):
        parse_where("subject")


def test_class_only_in_held_out_captures_is_an_error() -> None:
    ds = _subjects()
    ds.segments.append(Segment("s3_take0", "uppercut", 0, 2))
    with pytest.raises(DataError) as exc:
        split_held_out(ds, test_where={"subject": ["03"]})
    _assert_one_line(exc, "class 'uppercut' occurs only in held-out captures (s3_take0)", "cannot learn it")


# --------------------------------------------------------------------------- #
# Counts scale with an outlier
# --------------------------------------------------------------------------- #


def _acc(values: np.ndarray) -> Dataset:
    caps = [Capture(f"c{i}", v.astype(np.float32), {"file": f"c{i}.csv"}) for i, v in enumerate(values)]
    return Dataset("o", ("accX", "accY", "accZ"), 100.0, caps, [])


def test_one_outlier_is_left_out_of_the_auto_scale() -> None:
    rng = np.random.default_rng(1)
    data = rng.uniform(-20, 20, size=(2, 2000, 3))
    data[1, 700, 2] = 1e30
    ds = _acc(data)
    peak = np.abs(np.delete(data.reshape(-1), 2000 * 3 + 700 * 3 + 2)).max()
    expected = 2.0 ** np.floor(np.log2(32767 / (1.25 * peak)))  # 1024 for a peak near 20
    assert auto_counts_scale(ds) == {"accX": expected, "accY": expected, "accZ": expected} and expected == 1024
    assert any("capture 'c1' (c1.csv), sample 700 (0-based), channel 'accZ': 1e+30" in n for n in ds.notes)
    data[0, 5, 0] = -3e28
    with pytest.raises(DataError) as exc:
        auto_counts_scale(_acc(data))
    _assert_one_line(exc, "capture 'c1' (c1.csv), sample 700", "channel 'accZ'", "1 more samples",
                     "data.sample_scale")


# --------------------------------------------------------------------------- #
# Folders: discovery and one class per folder
# --------------------------------------------------------------------------- #


def test_class_folders_list_what_they_skip(tmp_path: Path) -> None:
    for cls in ("walk", "run"):
        for k in range(2):
            _write(tmp_path / cls / f"day{k}" / f"{cls}{k}.csv", "t,ax,ay,az\n0,1,2,3\n0.1,1,2,3\n0.2,1,2,3\n")
    _write(tmp_path / "readme.txt", "notes")
    _write(tmp_path / "stray.csv", "t,ax\n0,1\n")
    _write(tmp_path / ".cache" / "x.csv", "t,ax\n0,1\n")
    ds = import_dataset(tmp_path)
    assert ds.capture_names() == ["run/day0/run0", "run/day1/run1", "walk/day0/walk0", "walk/day1/walk1"]
    assert ds.labels() == ["NoActivity", "run", "walk"]
    note = ds.notes[0]
    for part in ("found 4 CSV files in 4 folders", ".cache (hidden)", "readme.txt (not a .csv file)",
                 "stray.csv (not in a class folder)"):
        assert part in note, note


def test_flat_folder_without_label_column_says_how_to_label(tmp_path: Path) -> None:
    _write(tmp_path / "walk_01.csv", "t,x\n0,1\n0.1,2\n")
    with pytest.raises(DataError) as exc:
        import_dataset(tmp_path)
    _assert_one_line(exc, "walk_01.csv", "no 'label' column", "--label-pattern", "--label-map")
    ds = import_dataset(tmp_path, pattern=r"(?P<label>[a-z]+)_\d+\.csv")
    assert ds.segments == [Segment("walk_01", "walk", 0, 2)]
