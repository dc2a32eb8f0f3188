"""Event-level metrics against hand-worked cases (see automl/metrics/_events.py for the rules)."""

from __future__ import annotations

import numpy as np
import pytest

from automl.data import Capture, Dataset, Segment
from automl.errors import ConfigError
from automl.metrics import event_metrics, window_event_metrics
from automl.segmentation import SlidingWindow, ThresholdWindow

CLASSES = ["NoActivity", "jab", "hook"]
BG, JAB, HOOK = 0, 1, 2


def test_hand_worked_one_capture():
    # 1200 samples at 10 Hz, window 10. Labelled: jab [100,130), hook [300,320), jab [500,520), hook [700,720).
    segs = [Segment("a", "jab", 100, 130), Segment("a", "hook", 300, 320), Segment("a", "jab", 500, 520),
            Segment("a", "hook", 700, 720), Segment("a", "NoActivity", 0, 100)]
    windows = [
        (95, JAB), (105, JAB), (115, JAB),  # touch/overlap -> one jab detection [95,125): matches jab 100 (tp)
        (0, BG), (200, BG),                 # background predictions: no detection
        (300, JAB),                         # jab [300,310) on a hook: fp, overlaps a labelled event -> not a false trigger
        (495, JAB), (505, BG), (510, JAB),  # the background window splits: jab [495,505) and jab [510,520);
                                            # overlaps with jab [500,520): 5 and 10 -> [510,520) is the tp,
                                            # [495,505) an fp (not a false trigger)
        (900, HOOK),                        # hook [900,910): nothing there -> fp and false trigger
        (955, HOOK), (950, HOOK),           # hook [950,965) (merged, given out of order): fp, one false trigger
    ]
    rng = np.random.default_rng(1)
    order = rng.permutation(len(windows))  # window order must not matter (no equal starts here)
    st = np.array([windows[i][0] for i in order])
    pr = np.array([windows[i][1] for i in order])
    m = event_metrics({"a": st}, {"a": pr}, 10, segs, CLASSES, 10.0, {"a": 1200})
    # Detections: jab [95,125), [300,310), [495,505), [510,520); hook [900,910), [950,965) -> 6.
    # tp 2 (jab 100, jab 500), fp 4, fn 2 (hook 300, hook 700).
    assert (m["tp"], m["fp"], m["fn"]) == (2, 4, 2)
    assert m["n_detections"] == 6 and m["n_events"] == 4
    assert m["precision"] == pytest.approx(1 / 3)
    assert m["recall"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(2 / 5)  # 2 (1/3)(1/2) / (5/6)
    # Background: 1200 - (30 + 20 + 20 + 20) = 1110 samples = 111 s = 1.85 min; 2 false triggers.
    assert m["false_triggers"] == 2
    assert m["background_minutes"] == pytest.approx(1.85)
    assert m["false_triggers_per_minute"] == pytest.approx(2 / 1.85)
    assert m["per_class"] == {
        "jab": {"recall": 1.0, "tp": 2, "support": 2, "detections": 4},
        "hook": {"recall": 0.0, "tp": 0, "support": 2, "detections": 2},
    }


def test_one_detection_spanning_two_events_matches_one():
    # jab [0,20) and jab [30,40); windows 5, 15, 25 (W 10) merge into jab [5,35):
    # overlaps 15 and 5 -> matched to jab [0,20); jab [30,40) missed.
    segs = [Segment("c", "jab", 0, 20), Segment("c", "jab", 30, 40)]
    m = event_metrics({"c": [5, 15, 25]}, {"c": [JAB] * 3}, 10, segs, CLASSES, 100.0, {"c": 100})
    assert (m["tp"], m["fp"], m["fn"]) == (1, 0, 1)
    assert m["false_triggers"] == 0


def test_greedy_tie_goes_to_the_earlier_labelled_event():
    # jab A [0,10), jab B [20,30). d1 = windows 5, 15 -> [5,25): overlap 5 with A and 5 with B (tie).
    # d2 = window 27 -> [27,37) (27 > 25: a gap, not merged): overlap 3 with B only.
    # Greedy: (5, A, d1) first (tie -> earlier labelled event), then (3, B, d2) -> tp 2.
    # (Breaking the tie towards B would leave d2 nothing: tp 1.)
    segs = [Segment("c", "jab", 20, 30), Segment("c", "jab", 0, 10)]  # given out of order
    m = event_metrics({"c": [27, 15, 5]}, {"c": [JAB, JAB, JAB]}, 10, segs, CLASSES, 100.0, {"c": 100})
    assert (m["tp"], m["fp"], m["fn"]) == (2, 0, 0)
    assert m["precision"] == m["recall"] == m["f1"] == 1.0


def test_touching_spans_do_not_overlap_and_classes_break_runs():
    # jab [10,20). Window [0,10) jab only touches it: no overlap -> fp + false trigger, jab missed.
    # Windows 30 jab, 35 hook, 40 jab: the hook splits the jabs -> 3 detections, all false triggers.
    segs = [Segment("c", "jab", 10, 20)]
    m = event_metrics({"c": [0, 30, 35, 40]}, {"c": [JAB, JAB, HOOK, JAB]}, 10, segs, CLASSES, 60.0, {"c": 3600})
    assert (m["tp"], m["fp"], m["fn"]) == (0, 4, 1)
    assert m["false_triggers"] == 4
    # background 3590 samples at 60 Hz = 3590 / 3600 min
    assert m["false_triggers_per_minute"] == pytest.approx(4 / (3590 / 3600))
    assert m["precision"] == m["recall"] == m["f1"] == 0.0


def test_several_captures_and_a_capture_without_windows():
    # Capture "a": jab [0,10) detected. Capture "b" (no windows): hook [5,15) missed.
    # Segments of capture "z" (not evaluated) and of label "cross" (not a class) are ignored.
    segs = [Segment("a", "jab", 0, 10), Segment("b", "hook", 5, 15), Segment("z", "jab", 0, 10),
            Segment("a", "cross", 50, 60)]
    m = event_metrics({"a": [0]}, {"a": [JAB]}, 10, segs, CLASSES, 1.0, {"a": 60, "b": 60})
    assert (m["tp"], m["fp"], m["fn"]) == (1, 0, 1)
    assert m["per_class"]["hook"] == {"recall": 0.0, "tp": 0, "support": 1, "detections": 0}
    # background: (60 - 10) + (60 - 10) = 100 s
    assert m["background_minutes"] == pytest.approx(100 / 60)
    assert m["false_triggers_per_minute"] == 0.0


def test_nothing_detected_nothing_labelled():
    m = event_metrics({"a": np.zeros(0, np.int64)}, {"a": np.zeros(0, np.int64)}, 10, [], CLASSES, 10.0, {"a": 600})
    assert (m["tp"], m["fp"], m["fn"], m["false_triggers"]) == (0, 0, 0, 0)
    assert m["precision"] == m["recall"] == m["f1"] == 0.0
    assert m["background_minutes"] == pytest.approx(1.0)


def test_window_event_metrics_for_sliding_and_threshold_windows():
    # Capture of 40 samples, jab [10,20), hook [25,35).
    x = np.zeros((40, 1), np.float32)
    x[12] = x[27] = 5.0
    segs = [Segment("c", "jab", 10, 20), Segment("c", "hook", 25, 35)]
    ds = Dataset("t", ("x",), 10.0, [Capture("c", x)], segs)
    # Sliding W 10, slide 5: starts 0 5 10 15 20 25 30; true labels (overlap rule, need min(10,10) = 10 -> >= 5):
    # [0,10) bg, [5,15) jab (5), [10,20) jab, [15,25) jab (5), [20,30) hook (5), [25,35) hook, [30,40) hook (5).
    w = SlidingWindow(10, 5).transform(ds, ["NoActivity", "jab", "hook"])
    assert w.y.tolist() == [0, 1, 1, 1, 2, 2, 2]
    m = window_event_metrics(w, w.y, ds)  # perfect window predictions -> perfect events
    assert (m["tp"], m["fp"], m["fn"]) == (2, 0, 0) and m["n_detections"] == 2
    # Threshold: triggers 12 and 27, lookback 2 -> windows [10,20) and [25,35); predict both "jab".
    t = ThresholdWindow(10, "x", 1.0, mode="absolute", lookback=2, slide=10).transform(ds, ["NoActivity", "jab", "hook"])
    assert t.start.tolist() == [10, 25] and t.y.tolist() == [1, 2]
    m = window_event_metrics(t, np.array([1, 1]), ds)
    assert (m["tp"], m["fp"], m["fn"], m["false_triggers"]) == (1, 1, 1, 0)
    with pytest.raises(ConfigError, match="1 predictions for 2 windows"):
        window_event_metrics(t, np.array([1]), ds)


def test_bad_inputs_are_named():
    with pytest.raises(ConfigError, match="starts has 2 windows but predicted has 1"):
        event_metrics({"a": [0, 5]}, {"a": [1]}, 10, [], CLASSES, 10.0, {"a": 100})
    with pytest.raises(ConfigError, match=r"predicted class indices must be in \[0, 3\)"):
        event_metrics({"a": [0]}, {"a": [3]}, 10, [], CLASSES, 10.0, {"a": 100})
    with pytest.raises(ConfigError, match="same captures"):
        event_metrics({"a": [0]}, {"b": [1]}, 10, [], CLASSES, 10.0, {"a": 100})
    with pytest.raises(ConfigError, match="no length in n_samples"):
        event_metrics({"a": [0]}, {"a": [1]}, 10, [], CLASSES, 10.0, {"b": 100})
