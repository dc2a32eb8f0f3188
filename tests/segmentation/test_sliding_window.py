"""Sliding-window segmentation and overlap labelling.

Golden values are worked out by hand in the comments; the real-data checks
recount windows and relabel them with pandas and a plain Python loop that does
not use automl.segmentation.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.data import Capture, Dataset, Segment, load_dataset
from automl.errors import ConfigError
from automl.segmentation import SlidingWindow, Windows, label_windows

CLASSES = ["NoActivity", "hook", "jab"]


def _capture(name: str, n: int, n_ch: int = 2, offset: float = 0.0) -> Capture:
    # Sample i, channel c holds offset + 10*i + c, so every value names its place.
    data = offset + 10.0 * np.arange(n)[:, None] + np.arange(n_ch)[None, :]
    return Capture(name, data.astype(np.float32))


@pytest.fixture()
def tiny() -> Dataset:
    """Three captures of 2 channels: 10, 3 (shorter than the window) and 4 samples."""
    return Dataset(
        name="tiny",
        channels=("a", "b"),
        sample_rate_hz=100.0,
        captures=[_capture("c0", 10), _capture("c1", 3, offset=1000), _capture("c2", 4, offset=2000)],
        segments=[
            Segment("c0", "NoActivity", 0, 3),
            Segment("c0", "jab", 3, 7),        # length 4
            Segment("c0", "NoActivity", 7, 10),
            Segment("c1", "hook", 0, 3),       # capture too short: no window
            Segment("c2", "hook", 1, 4),       # length 3
        ],
    )


# -- window starts, count and contents ------------------------------------


def test_tiny_dataset_starts_count_and_contents(tiny):
    # window_size 4, slide 3:
    #   c0 (10 samples): starts 0, 3, 6 (6 + 4 = 10 <= 10; 9 + 4 = 13 > 10)
    #   c1 (3 samples):  shorter than the window -> none
    #   c2 (4 samples):  start 0 only
    w = SlidingWindow(window_size=4, slide=3).transform(tiny)
    assert isinstance(w, Windows)
    assert len(w) == 4
    assert w.X.shape == (4, 4, 2) and w.X.dtype == np.float32
    assert w.start.tolist() == [0, 3, 6, 0]
    assert w.capture.tolist() == [0, 0, 0, 2]
    assert w.capture_names == ["c0", "c1", "c2"]
    assert w.groups().tolist() == ["c0", "c0", "c0", "c2"]
    assert w.classes == CLASSES
    assert w.y.dtype == np.int64 and w.capture.dtype == np.int64 and w.start.dtype == np.int64
    caps = {c.name: c for c in tiny.captures}
    for i in range(len(w)):
        cap = caps[w.capture_names[w.capture[i]]]
        np.testing.assert_array_equal(w.X[i], cap.data[w.start[i]:w.start[i] + 4])
    # Spot value: window 1 (c0, start 3), sample 2 -> row 5, channel b -> 10*5 + 1.
    assert w.X[1, 2, 1] == 51.0
    # Labels, window [s, s+4), rule 2*overlap >= min(4, segment length):
    #   c0 [0,4): jab [3,7) overlap 1, need min(4,4)=4 -> 2 < 4 -> NoActivity
    #   c0 [3,7): overlap 4 -> jab
    #   c0 [6,10): overlap 1 -> NoActivity
    #   c2 [0,4): hook [1,4) overlap 3, need min(4,3)=3 -> 6 >= 3 -> hook
    assert w.y.tolist() == [0, 2, 0, 1]


def test_slide_one_and_window_equal_to_capture(tiny):
    # slide 1, window 10: only c0 is long enough, exactly one window at 0.
    w = SlidingWindow(10, 1).transform(tiny)
    assert w.start.tolist() == [0] and w.capture.tolist() == [0]
    np.testing.assert_array_equal(w.X[0], tiny.captures[0].data)
    # slide 1, window 3: c0 has 10-3+1 = 8, c1 1, c2 2 windows.
    w = SlidingWindow(3, 1).transform(tiny)
    assert len(w) == 8 + 1 + 2
    assert w.start.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 1]


def test_slide_larger_than_window_skips_samples(tiny):
    # window 2, slide 5 on c0 (10 samples): starts 0, 5 (10 + 2 > 10 stops);
    # c1 (3): start 0; c2 (4): start 0.
    w = SlidingWindow(2, 5).transform(tiny)
    assert w.start.tolist() == [0, 5, 0, 0]
    assert w.capture.tolist() == [0, 0, 1, 2]
    np.testing.assert_array_equal(w.X[1], tiny.captures[0].data[5:7])


def test_every_capture_shorter_than_window_gives_empty_windows(tiny):
    w = SlidingWindow(window_size=11, slide=1).transform(tiny)
    assert len(w) == 0
    assert w.X.shape == (0, 11, 2) and w.X.dtype == np.float32
    assert w.y.shape == (0,) and w.capture.shape == (0,) and w.start.shape == (0,)
    assert w.classes == CLASSES and w.capture_names == ["c0", "c1", "c2"]


def test_explicit_classes_and_take(tiny):
    # With classes given, "hook" is not a class: its segments are ignored.
    w = SlidingWindow(4, 3).transform(tiny, classes=["NoActivity", "jab"])
    assert w.classes == ["NoActivity", "jab"]
    assert w.y.tolist() == [0, 1, 0, 0]
    sub = w.take(w.y == 1)
    assert len(sub) == 1 and sub.start.tolist() == [3] and sub.capture.tolist() == [0]
    np.testing.assert_array_equal(sub.X[0], w.X[1])


def test_segments_of_other_captures_do_not_leak():
    # Two captures of 8 samples; the only segment belongs to "b".
    ds = Dataset("t", ("x",), 10.0, [_capture("a", 8, 1), _capture("b", 8, 1)], [Segment("b", "jab", 0, 8)])
    w = SlidingWindow(4, 4).transform(ds)
    assert w.capture.tolist() == [0, 0, 1, 1]
    assert w.y.tolist() == [0, 0, 1, 1]


# -- the labelling rule -----------------------------------------------------


def _label(starts, window_size, segments, classes=CLASSES):
    return label_windows(np.asarray(starts), window_size, segments, classes).tolist()


def test_label_threshold_against_window_length():
    # Long jab [0,20), window 10: need = min(10, 20) = 10 -> overlap >= 5.
    #   [0,10) overlap 10 -> jab; [15,25) overlap 5 -> 10 >= 10 -> jab (exactly half);
    #   [16,26) overlap 4 -> 8 < 10 -> background; [30,40) overlap 0 -> background.
    seg = [Segment("c", "jab", 0, 20)]
    assert _label([0, 15, 16, 30], 10, seg) == [2, 2, 0, 0]


def test_label_threshold_against_segment_length():
    # Short hook [10,14) (4 samples), window 10: need = min(10, 4) = 4 -> overlap >= 2.
    #   [8,18) overlap 4 (whole event) -> hook; [12,22) overlap 2 -> 4 >= 4 -> hook;
    #   [13,23) overlap 1 -> 2 < 4 -> background; [0,10) overlap 0 -> background.
    seg = [Segment("c", "hook", 10, 14)]
    assert _label([8, 12, 13, 0], 10, seg) == [1, 1, 0, 0]


def test_label_whole_short_event_inside_long_window():
    # The docstring's case: a 200-sample window holding a whole 110-sample punch.
    # overlap 110, need min(200, 110) = 110 -> 220 >= 110 -> labelled, although
    # 110 < 200 / 2 would fail a rule measured against the window only.
    seg = [Segment("c", "jab", 50, 160)]
    assert _label([0], 200, seg) == [2]


def test_label_largest_overlap_wins():
    # Window [0,10): jab [0,3) overlap 3, hook [3,10) overlap 7 -> hook
    # (need min(10, 7) = 7, 14 >= 7).
    segs = [Segment("c", "jab", 0, 3), Segment("c", "hook", 3, 10)]
    assert _label([0], 10, segs) == [1]
    assert _label([0], 10, segs[::-1]) == [1]  # segment order does not matter


def test_label_tie_between_different_labels_is_background():
    # Window [0,10): jab [0,5) and hook [5,10) overlap 5 each, each enough
    # (need min(10, 5) = 5) -> a tie of different labels -> background.
    segs = [Segment("c", "jab", 0, 5), Segment("c", "hook", 5, 10)]
    assert _label([0], 10, segs) == [0]
    assert _label([0], 10, segs[::-1]) == [0]


def test_label_tie_between_same_labels_keeps_label():
    # Two jab segments tied at 5 samples each -> jab.
    segs = [Segment("c", "jab", 0, 5), Segment("c", "jab", 5, 10)]
    assert _label([0], 10, segs) == [2]


def test_label_tie_where_one_segment_is_not_enough_is_background():
    # Window [0,10): jab [0,4) overlap 4 (need 4: enough); hook [6,100) overlap 4
    # (need 10: not enough). Still a tie for the largest overlap -> background,
    # whichever segment comes first.
    segs = [Segment("c", "jab", 0, 4), Segment("c", "hook", 6, 100)]
    assert _label([0], 10, segs) == [0]
    assert _label([0], 10, segs[::-1]) == [0]


def test_label_same_label_tie_does_not_depend_on_segment_order():
    # Window [0,10): jab [0,4) overlap 4 (need min(10, 4) = 4: enough) and jab
    # [6,100) overlap 4 (need 10: not enough). Both tie for the largest overlap
    # with the same label, and the window covers the whole short jab -> jab.
    # The docstring says segments come in "any order", so both orders must agree.
    a, b = Segment("c", "jab", 0, 4), Segment("c", "jab", 6, 100)
    assert _label([0], 10, [a, b]) == [2]
    assert _label([0], 10, [b, a]) == [2]


def test_label_only_the_largest_overlap_is_judged():
    # Window [0,10): hook [0,3) overlap 3 would be enough on its own (need 3),
    # but jab [6,100) has the larger overlap 4 and fails (need 10, 8 < 10)
    # -> background, as the docstring says ("the segment with the largest overlap ... if").
    segs = [Segment("c", "hook", 0, 3), Segment("c", "jab", 6, 100)]
    assert _label([0], 10, segs) == [0]


def test_label_ignores_background_and_unknown_segments():
    # A NoActivity segment with a bigger overlap neither wins nor ties;
    # "cross" is not a class and is ignored.
    segs = [Segment("c", "NoActivity", 0, 6), Segment("c", "jab", 6, 10), Segment("c", "cross", 0, 10)]
    # jab overlap 4, need min(10, 4) = 4 -> jab.
    assert _label([0], 10, segs) == [2]
    assert _label([0], 10, [Segment("c", "NoActivity", 0, 10)]) == [0]


def test_label_no_windows_or_no_segments():
    assert label_windows(np.zeros(0, np.int64), 10, [Segment("c", "jab", 0, 5)], CLASSES).shape == (0,)
    out = label_windows(np.array([0, 5]), 10, [], CLASSES)
    assert out.tolist() == [0, 0] and out.dtype == np.int64


# -- invalid parameters -----------------------------------------------------


@pytest.mark.parametrize("name", ["window_size", "slide"])
@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", None])
def test_invalid_parameter_names_itself(tiny, name, bad):
    kwargs = {"window_size": 4, "slide": 2, name: bad}
    with pytest.raises(ConfigError, match=rf"'{name}' parameter of SlidingWindow.*Got {re.escape(repr(bad))}"):
        SlidingWindow(**kwargs).transform(tiny)


def test_numpy_integers_are_accepted(tiny):
    w = SlidingWindow(np.int64(4), np.int32(3)).transform(tiny)
    assert w.start.tolist() == [0, 3, 6, 0]


# -- the real boxing recordings ---------------------------------------------


def _runs(labels: np.ndarray) -> list[tuple[str, int, int]]:
    """(label, start, end) of each run of equal labels."""
    runs, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((str(labels[start]), start, i))
            start = i
    return runs


def _reference_label(s: int, w: int, runs, classes: list[str]) -> int:
    """Plain-loop restatement of the documented labelling rule."""
    best, best_labels, best_ok = 0, set(), False
    for lab, a, b in runs:
        if lab == classes[0] or lab not in classes:
            continue
        ov = max(0, min(s + w, b) - max(s, a))
        if ov > best:
            best, best_labels, best_ok = ov, {lab}, 2 * ov >= min(w, b - a)
        elif ov == best and ov > 0:
            best_labels.add(lab)
            best_ok = best_ok or 2 * ov >= min(w, b - a)
    if best == 0 or len(best_labels) != 1 or not best_ok:
        return 0
    return classes.index(best_labels.pop())


@pytest.fixture(scope="module")
def boxing(boxing_dir: Path):
    return load_dataset(boxing_dir)


def test_real_data_window_count(boxing, boxing_dir):
    files = sorted(boxing_dir.glob("*.csv"))
    rows = {f.stem: len(pd.read_csv(f)) for f in files}
    expected = sum((n - 100) // 50 + 1 for n in rows.values() if n >= 100)
    w = SlidingWindow(window_size=100, slide=50).transform(boxing)
    assert len(w) == expected == 1256  # 1256 with the 14 recordings of 2023-10
    per_capture = np.bincount(w.capture, minlength=len(w.capture_names))
    for name, count in zip(w.capture_names, per_capture):
        assert count == (rows[name] - 100) // 50 + 1, name


def test_real_data_contents_and_labels(boxing, boxing_dir):
    w = SlidingWindow(window_size=100, slide=50).transform(boxing)
    channels = list(boxing.channels)
    assert set(channels) == {"accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"}
    for ci, name in enumerate(w.capture_names):
        df = pd.read_csv(boxing_dir / f"{name}.csv")
        values = df[channels].to_numpy(np.float32)
        runs = _runs(df["label"].to_numpy())
        idx = np.flatnonzero(w.capture == ci)
        for i in idx:
            s = int(w.start[i])
            np.testing.assert_array_equal(w.X[i], values[s:s + 100])
        expected = [_reference_label(int(w.start[i]), 100, runs, w.classes) for i in idx]
        assert w.y[idx].tolist() == expected, name
    # Every class occurs on the real data.
    assert set(np.unique(w.y).tolist()) == {0, 1, 2, 3}

