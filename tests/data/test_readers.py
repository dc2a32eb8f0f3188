"""Tests of automl.data readers: real boxing data, golden tiny files, every bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.data import (
    Dataset,
    Segment,
    load_dataset,
    read_canonical,
    read_labelled_csv_folder,
)
from automl.data._time import MAX_JITTER, interval_stats
from automl.errors import ConfigError, DataError

HEADER = "timestamp,seconds_elapsed,accZ,accY,accX,gyrZ,gyrY,gyrX,label,hand"

# Golden file, worked out by hand: 8 samples 10 ms apart (100 Hz);
# label runs NoActivity[0,2) jab[2,5) NoActivity[5,6) hook[6,8).
TINY_A = f"""\
{HEADER}
1000000000,0.00,9.8,0.1,0.2,0.01,0.02,0.03,NoActivity,left
1010000000,0.01,9.7,0.1,0.2,0.01,0.02,0.03,NoActivity,left
1020000000,0.02,12.0,3.0,1.0,0.50,0.60,0.70,jab,left
1030000000,0.03,13.0,4.0,2.0,0.40,0.50,0.60,jab,left
1040000000,0.04,11.0,2.0,1.5,0.30,0.40,0.50,jab,left
1050000000,0.05,9.8,0.1,0.2,0.01,0.02,0.03,NoActivity,left
1060000000,0.06,8.0,-2.0,3.0,-0.5,0.1,0.2,hook,left
1070000000,0.07,7.0,-3.0,4.0,-0.6,0.2,0.3,hook,left
"""

# Second capture: starts with a punch, one sample dropped between rows 4 and 5
# (a 20 ms gap is not jitter), runs hook[0,3) NoActivity[3,5).
TINY_B = f"""\
{HEADER}
5000000000,0.00,1,2,3,4,5,6,hook,right
5010000000,0.01,1,2,3,4,5,6,hook,right
5020000000,0.02,1,2,3,4,5,6,hook,right
5040000000,0.04,1,2,3,4,5,6,NoActivity,right
5050000000,0.05,1,2,3,4,5,6,NoActivity,right
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _rows(labels: list[str], *, period_ns: int = 10_000_000, hand: str = "left") -> str:
    """A boxing-format CSV with one row per label, evenly spaced."""
    lines = [HEADER]
    for i, lab in enumerate(labels):
        t = i * period_ns
        lines.append(f"{t},{t / 1e9:.6f},{i}.5,1,2,3,4,5,{lab},{hand}")
    return "\n".join(lines) + "\n"


def _assert_names(exc: pytest.ExceptionInfo, *parts: str) -> str:
    msg = str(exc.value)
    for part in parts:
        assert part in msg, f"{part!r} not in message: {msg}"
    assert "\n" not in msg
    return msg


# --------------------------------------------------------------------------- #
# Real data
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def boxing(boxing_dir: Path) -> Dataset:
    return load_dataset(boxing_dir)


def test_boxing_counts(boxing: Dataset) -> None:
    assert boxing.name == "boxing-punches"
    assert len(boxing.captures) == 14
    assert sum(c.n_samples for c in boxing.captures) == 63_940
    counts = Counter(s.label for s in boxing.segments)
    assert counts == {"jab": 89, "uppercut": 104, "hook": 99, "NoActivity": 304}
    assert boxing.labels() == ["NoActivity", "hook", "jab", "uppercut"]
    assert boxing.channels == ("accZ", "accY", "accX", "gyrZ", "gyrY", "gyrX")
    assert boxing.sample_rate_hz == pytest.approx(100.53, abs=0.02)


def test_boxing_captures(boxing: Dataset) -> None:
    names = boxing.capture_names()
    assert names == sorted(names)
    assert names[0] == "acc_gyr_experiment_all_left"
    by_name = {c.name: c for c in boxing.captures}
    right = by_name["acc_gyr_experiment_all_right"]
    # the data README: the hand column says left in the file named right
    assert right.metadata == {"file": "acc_gyr_experiment_all_right.csv", "hand": "left"}
    assert by_name["acc_gyr_experiment_jab_right_fast"].metadata["hand"] == "right"
    assert right.n_samples == 5182
    assert right.data.dtype == np.float32 and right.data.shape == (5182, 6)
    # first data row of acc_gyr_experiment_all_right.csv (row 2), accZ..gyrX
    np.testing.assert_allclose(
        right.data[0], [11.15338897705078, 3.614645957946777, 1.5236101150512695,
                        -0.1155777797102928, 0.8069140315055847, 0.137947678565979], rtol=1e-6
    )


def test_boxing_segments_tile_every_capture(boxing: Dataset) -> None:
    n = {c.name: c.n_samples for c in boxing.captures}
    by_capture: dict[str, list[Segment]] = {}
    for s in boxing.segments:
        by_capture.setdefault(s.capture, []).append(s)
    assert set(by_capture) == set(n)
    for name, segs in by_capture.items():
        assert segs[0].start == 0 and segs[-1].end == n[name]
        for a, b in zip(segs, segs[1:]):
            assert a.end == b.start and a.label != b.label
    punch = [s.length for s in boxing.segments if s.label != "NoActivity"]
    assert (min(punch), max(punch)) == (45, 243)


def test_boxing_timing(boxing_dir: Path) -> None:
    """Every real file: ~100.5 Hz, robust jitter < 0.2 %, while std/median is not usable."""
    for file in sorted(boxing_dir.glob("*.csv")):
        dt = np.diff(pd.read_csv(file, usecols=["timestamp"])["timestamp"].to_numpy()) * 1e-9
        median, jitter, gaps = interval_stats(dt)
        assert 1 / median == pytest.approx(100.53, abs=0.02), file.name
        assert jitter < 0.002 < MAX_JITTER, file.name
        assert 30 <= gaps <= 54, file.name  # rows cut out at label changes
        assert np.std(dt) / median > 0.3, file.name  # why gaps are excluded from the jitter


def test_boxing_split_and_no_writes(boxing_dir: Path, boxing: Dataset) -> None:
    before = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in boxing_dir.iterdir())
    load_dataset(boxing_dir)
    after = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in boxing_dir.iterdir())
    assert before == after
    train, test = boxing.split("acc_gyr_experiment_all_*")
    assert len(train.captures) == 12 and len(test.captures) == 2


def test_boxing_channel_subset(boxing_dir: Path) -> None:
    ds = read_labelled_csv_folder(boxing_dir, channels=["accX", "accY", "accZ"])
    assert ds.channels == ("accX", "accY", "accZ")
    assert ds.captures[1].data[0, 0] == pytest.approx(1.5236101150512695)


# --------------------------------------------------------------------------- #
# Golden tiny labelled folder
# --------------------------------------------------------------------------- #


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    _write(tmp_path / "tiny" / "b_capture.csv", TINY_B)
    _write(tmp_path / "tiny" / "a_capture.csv", TINY_A)
    _write(tmp_path / "tiny" / "notes.txt", "not a capture")
    return tmp_path / "tiny"


def test_tiny_golden_segments(tiny_dir: Path) -> None:
    ds = read_labelled_csv_folder(tiny_dir)
    assert ds.name == "tiny"
    assert ds.capture_names() == ["a_capture", "b_capture"]
    assert ds.segments == [
        Segment("a_capture", "NoActivity", 0, 2),
        Segment("a_capture", "jab", 2, 5),
        Segment("a_capture", "NoActivity", 5, 6),
        Segment("a_capture", "hook", 6, 8),
        Segment("b_capture", "hook", 0, 3),
        Segment("b_capture", "NoActivity", 3, 5),
    ]
    assert ds.sample_rate_hz == pytest.approx(100.0)
    assert ds.background == "NoActivity"
    assert ds.labels() == ["NoActivity", "hook", "jab"]


def test_tiny_golden_data_and_metadata(tiny_dir: Path) -> None:
    ds = load_dataset(tiny_dir)
    a, b = ds.captures
    assert ds.channels == ("accZ", "accY", "accX", "gyrZ", "gyrY", "gyrX")
    assert a.data.dtype == np.float32 and a.data.shape == (8, 6)
    np.testing.assert_array_equal(a.data[2], np.float32([12.0, 3.0, 1.0, 0.5, 0.6, 0.7]))
    np.testing.assert_array_equal(a.data[:, 0], np.float32([9.8, 9.7, 12, 13, 11, 9.8, 8, 7]))
    assert a.metadata == {"file": "a_capture.csv", "hand": "left"}
    assert b.metadata == {"file": "b_capture.csv", "hand": "right"}


def test_varying_text_column_is_ignored_and_columns_reordered(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", "t,x,y,note,label\n0,1,2,hi,A\n0.5,3,4,ho,A\n1.0,5,6,hu,B\n")
    _write(tmp_path / "b.csv", "t,label,y,x\n0,A,20,10\n0.5,A,40,30\n")
    ds = read_labelled_csv_folder(tmp_path, background="A")
    assert ds.channels == ("x", "y")
    np.testing.assert_array_equal(ds.captures[1].data, np.float32([[10, 20], [30, 40]]))
    assert ds.captures[0].metadata == {"file": "a.csv"}
    assert ds.sample_rate_hz == pytest.approx(2.0)
    assert ds.labels() == ["A", "B"]


def test_custom_label_column_and_blank_lines(tmp_path: Path) -> None:
    _write(tmp_path / "c.csv", "time,v,activity\n0,1,walk\n\n0.1,2,walk\n0.2,3,sit\n\n")
    ds = read_labelled_csv_folder(tmp_path, label_column="activity")
    assert ds.segments == [Segment("c", "walk", 0, 2), Segment("c", "sit", 2, 3)]
    np.testing.assert_array_equal(ds.captures[0].data[:, 0], np.float32([1, 2, 3]))


def test_channels_parameter_checked(tiny_dir: Path) -> None:
    with pytest.raises(ConfigError, match="'channels'"):
        read_labelled_csv_folder(tiny_dir, channels=["accX", "label"])
    with pytest.raises(ConfigError, match="'channels'"):
        read_labelled_csv_folder(tiny_dir, channels=[])


# --------------------------------------------------------------------------- #
# Bad labelled folders: one DataError naming file, row and column
# --------------------------------------------------------------------------- #

GOOD = _rows(["NoActivity", "NoActivity", "jab", "jab", "NoActivity"])


def _replace_cell(text: str, row: int, column: str, value: str) -> str:
    """Set the cell at 1-based file row ``row`` (header = 1) of ``column``."""
    lines = text.splitlines()
    cols = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[cols.index(column)] = value
    lines[row - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "row", "column", "phrase"),
    [
        (_replace_cell(GOOD, 4, "accX", "abc"), 4, "accX", "non-numeric value 'abc'"),
        (_replace_cell(GOOD, 3, "gyrY", ""), 3, "gyrY", "empty cell"),
        (_replace_cell(GOOD, 5, "accZ", "NaN"), 5, "accZ", "not a finite number"),
        (_replace_cell(GOOD, 2, "gyrZ", "inf"), 2, "gyrZ", "not a finite number"),
        (_replace_cell(GOOD, 6, "label", ""), 6, "label", "empty cell"),
        (_replace_cell(GOOD, 4, "seconds_elapsed", "0.005"), 4, "seconds_elapsed", "strictly increase"),
        (_replace_cell(GOOD, 3, "seconds_elapsed", "x"), 3, "seconds_elapsed", "non-numeric value 'x'"),
        (GOOD.replace(",label,", ",activity,"), 1, "label", "missing column 'label'"),
        (HEADER.replace(",accX", ",accZ") + "\n", 1, "accZ", "appears twice"),
    ],
    ids=["non-numeric", "empty", "nan", "inf", "empty-label", "time-order", "bad-time", "no-label", "dup-col"],
)
def test_bad_labelled_cell(tmp_path: Path, text: str, row: int, column: str, phrase: str) -> None:
    _write(tmp_path / "ok.csv", GOOD)
    bad = _write(tmp_path / "zz_bad.csv", text)
    with pytest.raises(DataError) as exc:
        read_labelled_csv_folder(tmp_path)
    _assert_names(exc, str(bad), f"row {row}", f"column {column!r}", phrase)


def test_empty_capture_header_only(tmp_path: Path) -> None:
    bad = _write(tmp_path / "empty.csv", HEADER + "\n")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(bad), "row 2", "empty capture", "row 1")


def test_empty_file(tmp_path: Path) -> None:
    bad = _write(tmp_path / "void.csv", "")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(bad), "row 1", "empty")


def test_ragged_row(tmp_path: Path) -> None:
    lines = GOOD.splitlines()
    lines[3] += ",extra"
    bad = _write(tmp_path / "ragged.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(bad), "row 4", "11 cells", "10 columns")


def test_row_of_empty_cells_is_reported(tmp_path: Path) -> None:
    lines = GOOD.splitlines()
    lines.insert(3, "," * 9)  # becomes row 4
    bad = _write(tmp_path / "holes.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(bad), "row 4", "column 'accZ'", "empty cell")


def test_no_time_column(tmp_path: Path) -> None:
    bad = _write(tmp_path / "notime.csv", "x,label\n1,A\n2,A\n")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(bad), "row 1", "no time column", "seconds_elapsed")


def test_no_channel_column(tmp_path: Path) -> None:
    bad = _write(tmp_path / "nochan.csv", "t,label,who\n0,A,me\n1,A,me\n")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(bad), "row 1", "no numeric channel column")


def test_requested_channel_missing(tiny_dir: Path) -> None:
    with pytest.raises(DataError) as exc:
        read_labelled_csv_folder(tiny_dir, channels=["accX", "magX"])
    _assert_names(exc, "a_capture.csv", "row 1", "column 'magX'", "missing column")


def test_single_sample(tmp_path: Path) -> None:
    bad = _write(tmp_path / "one.csv", _rows(["A"]))
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(bad), "row 2", "column 'seconds_elapsed'", "at least 2 samples")


def test_jittery_capture_is_resampled_onto_a_uniform_clock(tmp_path: Path) -> None:
    # intervals 10, 10, 10, 14, 6, 10 ms, all regular (<= 15 ms): std 2.31 ms / median 10 ms = 23.1 % jitter.
    # accZ is the time in ms, so linear interpolation onto the 10 ms clock gives 0, 10, ..., 60 exactly
    # (rate 1 / 10 ms = 100 Hz: no polyphase step).
    times_ms = [0, 10, 20, 30, 44, 50, 60]
    text = HEADER + "\n" + "".join(f"{t * 1_000_000},{t / 1000},{t},2,3,4,5,6,A,left\n" for t in times_ms)
    _write(tmp_path / "jittery.csv", text)
    ds = load_dataset(tmp_path)
    assert ds.sample_rate_hz == pytest.approx(100.0) and ds.resample_hz == pytest.approx(100.0)
    np.testing.assert_allclose(ds.captures[0].data[:, 0], [0, 10, 20, 30, 40, 50, 60], atol=1e-4)
    assert ds.segments == [Segment("jittery", "A", 0, 7)]
    assert any("jittery.csv has a sample timing jitter of 23.1%" in n and "row 6" in n and "--resample-hz" in n
               for n in ds.notes), ds.notes


def test_dropped_samples_are_not_jitter() -> None:
    dt = np.array([0.01] * 20 + [0.03] + [0.0101, 0.0099] * 5)
    median, jitter, gaps = interval_stats(dt)
    assert median == pytest.approx(0.01)
    assert gaps == 1
    assert jitter == pytest.approx(np.std([0.01] * 20 + [0.0101, 0.0099] * 5) / 0.01)
    assert jitter < 0.01


def test_different_rates_are_resampled_to_the_lowest(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", _rows(["A"] * 5, period_ns=10_000_000))
    _write(tmp_path / "b.csv", _rows(["A"] * 5, period_ns=10_600_000))  # 94.34 Hz: 6 % slower
    ds = load_dataset(tmp_path)
    slow = 1e9 / 10_600_000
    assert ds.sample_rate_hz == pytest.approx(slow) and ds.resample_hz == pytest.approx(slow)
    assert any("a.csv is sampled at 100 Hz but b.csv at 94.34 Hz" in n for n in ds.notes), ds.notes
    # b is already at the target rate: its samples are kept (interpolated at their own times)
    np.testing.assert_allclose(ds.captures[1].data[:, 0], [0.5, 1.5, 2.5, 3.5, 4.5], rtol=1e-6)
    # a: 40 ms at 94.34 Hz is floor(0.04 * 94.34) + 1 = 4 samples; its one segment covers them all
    assert ds.captures[0].n_samples == 4 and ds.segments[0] == Segment("a", "A", 0, 4)
    _write(tmp_path / "b.csv", _rows(["A"] * 5, period_ns=10_400_000))  # 4 % apart: one rate, as recorded
    ds = load_dataset(tmp_path)
    assert ds.sample_rate_hz == pytest.approx((100 + 1e9 / 10_400_000) / 2) and ds.resample_hz is None


def test_inconsistent_channels(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.csv", GOOD)
    lines = [",".join(line.split(",")[:7] + line.split(",")[8:]) for line in GOOD.splitlines()]  # drop gyrX
    second = _write(tmp_path / "b.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(second), str(first), "row 1", "column 'gyrX'", "inconsistent channel columns")


def test_extra_channel_in_second_file(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.csv", "t,x,label\n0,1,A\n1,2,A\n")
    second = _write(tmp_path / "b.csv", "t,x,z,label\n0,1,3,A\n1,2,3,A\n")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(second), str(first), "row 1", "column 'z'", "inconsistent channel columns")


def test_missing_folder_and_no_csv(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path / "nope")
    _assert_names(exc, str(tmp_path / "nope"), "folder not found")
    file = _write(tmp_path / "x.csv", GOOD)
    with pytest.raises(DataError) as exc:
        load_dataset(file)
    _assert_names(exc, str(file), "not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    _write(empty / "readme.txt", "hello")
    with pytest.raises(DataError) as exc:
        read_labelled_csv_folder(empty)
    _assert_names(exc, str(empty), "no CSV files")


def test_not_utf8(tmp_path: Path) -> None:
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"t,x,label\n0,1,caf\xe9\n")
    with pytest.raises(DataError) as exc:
        load_dataset(tmp_path)
    _assert_names(exc, str(bad), "UTF-8")


# --------------------------------------------------------------------------- #
# Canonical format
# --------------------------------------------------------------------------- #

WALK = "t,accX,accY,accZ\n0.00,1,2,3\n0.02,4,5,6\n0.04,7,8,9\n0.06,1,1,1\n0.08,2,2,2\n0.10,3,3,3\n"
RUN = "t,accX,accY,accZ\n0.00,9,9,9\n0.02,8,8,8\n0.04,7,7,7\n0.06,6,6,6\n0.08,5,5,5\n"
LABELS = "capture,label,start,end\nwalk_01,walk,1,4\nrun_01,run,0,5\nwalk_01,walk,4,6\n"
METADATA = "capture,subject,height\nrun_01,s2,\nwalk_01,s1,180\n"


@pytest.fixture
def canon(tmp_path: Path) -> Path:
    root = tmp_path / "canon"
    _write(root / "captures" / "walk_01.csv", WALK)
    _write(root / "captures" / "run_01.csv", RUN)
    _write(root / "labels.csv", LABELS)
    _write(root / "metadata.csv", METADATA)
    return root


def test_canonical_golden(canon: Path) -> None:
    ds = read_canonical(canon)
    assert ds.name == "canon"
    assert ds.capture_names() == ["run_01", "walk_01"]
    assert ds.channels == ("accX", "accY", "accZ")
    assert ds.sample_rate_hz == pytest.approx(50.0)
    assert ds.segments == [
        Segment("run_01", "run", 0, 5),
        Segment("walk_01", "walk", 1, 4),
        Segment("walk_01", "walk", 4, 6),
    ]
    run, walk = ds.captures
    assert walk.data.shape == (6, 3) and walk.data.dtype == np.float32
    np.testing.assert_array_equal(walk.data[1], np.float32([4, 5, 6]))
    assert run.metadata == {"file": "run_01.csv", "subject": "s2"}
    assert walk.metadata == {"file": "walk_01.csv", "subject": "s1", "height": "180"}
    assert ds.labels() == ["NoActivity", "run", "walk"]


def test_load_dataset_picks_canonical(canon: Path) -> None:
    ds = load_dataset(canon, channels=["accZ"])
    assert ds.channels == ("accZ",)
    assert len(ds.segments) == 3
    (canon / "metadata.csv").unlink()
    assert read_canonical(canon).captures[1].metadata == {"file": "walk_01.csv"}


@pytest.mark.parametrize(
    ("labels", "row", "column", "phrase"),
    [
        (LABELS + "jog_01,run,0,2\n", 5, "capture", "unknown capture 'jog_01'"),
        (LABELS + "run_01,run,3,3\n", 5, "end", "end 3 <= start 3"),
        (LABELS.replace("walk_01,walk,4,6", "walk_01,walk,4,7"), 4, "end", "segment outside the capture"),
        (LABELS.replace("walk_01,walk,1,4", "walk_01,walk,-1,4"), 2, "start", "segment outside the capture"),
        (LABELS.replace("walk_01,walk,1,4", "walk_01,walk,1.5,4"), 2, "start", "not a whole number"),
        (LABELS.replace("run_01,run,0,5", "run_01,run,0,five"), 3, "end", "non-numeric value 'five'"),
        (LABELS.replace("run_01,run,0,5", "run_01,run,,5"), 3, "start", "empty cell"),
        (LABELS.replace("run_01,run,0,5", "run_01,,0,5"), 3, "label", "empty cell"),
        (LABELS.replace("walk_01,walk,4,6", "walk_01,walk,3,6"), 4, "start", "overlaps"),
        ("capture,label,start\nrun_01,run,0\n", 1, "end", "missing column 'end'"),
    ],
    ids=["unknown", "end<=start", "end>n", "start<0", "fraction", "non-numeric", "empty", "empty-label",
         "overlap", "missing-col"],
)
def test_bad_labels_csv(canon: Path, labels: str, row: int, column: str, phrase: str) -> None:
    bad = _write(canon / "labels.csv", labels)
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, str(bad), f"row {row}", f"column {column!r}", phrase)


def test_overlap_names_both_rows(canon: Path) -> None:
    _write(canon / "labels.csv", LABELS.replace("walk_01,walk,4,6", "walk_01,walk,0,2"))
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, "row 2", "row 4", "overlaps")  # 0..2 (row 4) sorts first, 1..4 (row 2) overlaps it


def test_labels_without_rows(canon: Path) -> None:
    bad = _write(canon / "labels.csv", "capture,label,start,end\n")
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, str(bad), "row 2", "no segments")


@pytest.mark.parametrize(
    ("metadata", "row", "phrase"),
    [
        (METADATA + "jog_01,s3,170\n", 4, "unknown capture 'jog_01'"),
        (METADATA + "run_01,s3,170\n", 4, "already has metadata in row 2"),
        (METADATA + ",s3,170\n", 4, "empty cell"),
    ],
    ids=["unknown", "duplicate", "empty"],
)
def test_bad_metadata_csv(canon: Path, metadata: str, row: int, phrase: str) -> None:
    bad = _write(canon / "metadata.csv", metadata)
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, str(bad), f"row {row}", "column 'capture'", phrase)


def test_metadata_without_capture_column(canon: Path) -> None:
    bad = _write(canon / "metadata.csv", "name,subject\nrun_01,s1\n")
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, str(bad), "row 1", "column 'capture'", "missing column")


def test_canonical_bad_capture_cells(canon: Path) -> None:
    bad = _write(canon / "captures" / "walk_01.csv", WALK.replace("0.04,7,8,9", "0.04,7,eight,9"))
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, str(bad), "row 4", "column 'accY'", "non-numeric value 'eight'")
    _write(canon / "captures" / "walk_01.csv", WALK.replace("0.04,7,8,9", "0.04,7,,9"))
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, "walk_01.csv", "row 4", "column 'accY'", "empty cell")


def test_canonical_inconsistent_channels(canon: Path) -> None:
    bad = _write(canon / "captures" / "walk_01.csv", WALK.replace("accZ", "gyrZ"))
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, str(bad), str(canon / "captures" / "run_01.csv"), "row 1", "column 'accZ'",
                  "inconsistent channel columns")


def test_canonical_empty_capture(canon: Path) -> None:
    bad = _write(canon / "captures" / "walk_01.csv", "t,accX,accY,accZ\n")
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, str(bad), "row 2", "empty capture")


def test_canonical_missing_parts(canon: Path) -> None:
    (canon / "labels.csv").unlink()
    with pytest.raises(DataError) as exc:
        read_canonical(canon)
    _assert_names(exc, str(canon / "labels.csv"), "file not found")
    with pytest.raises(DataError) as exc:  # captures/ alone still means the canonical format
        load_dataset(canon)
    _assert_names(exc, str(canon / "labels.csv"), "file not found")
    (canon / "metadata.csv").unlink()
    with pytest.raises(DataError) as exc:  # a direct call says why there are no CSVs
        read_labelled_csv_folder(canon)
    _assert_names(exc, str(canon), "no CSV files", "labels.csv")

    other = canon.parent / "other"
    _write(other / "labels.csv", LABELS)
    with pytest.raises(DataError) as exc:
        read_canonical(other)
    _assert_names(exc, str(other / "captures"), "folder not found")
    (other / "captures").mkdir()
    with pytest.raises(DataError) as exc:
        read_canonical(other)
    _assert_names(exc, str(other / "captures"), "no CSV files")


def test_canonical_time_in_ns(tmp_path: Path) -> None:
    root = tmp_path / "ns"
    _write(root / "captures" / "c.csv", "timestamp,x\n1696408965909355500,1\n1696408965919355500,2\n"
                                        "1696408965929355500,3\n")
    _write(root / "labels.csv", "capture,label,start,end,comment\nc,tap,1,3,ignored\n")
    ds = load_dataset(root)
    assert ds.sample_rate_hz == pytest.approx(100.0, rel=1e-9)
    assert ds.segments == [Segment("c", "tap", 1, 3)]
