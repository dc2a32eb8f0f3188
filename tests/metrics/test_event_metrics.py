"""Device event metrics: golden counts on hand-built streams, and the matching against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from automl.data import Capture, Dataset, Segment
from automl.errors import ConfigError
from automl.metrics import device_event_metrics, window_device_metrics, window_device_metrics_by_capture
from automl.segmentation import SlidingWindow

CLASSES = ["NoActivity", "hook", "jab"]
HOOK, JAB = 1, 2


def m(starts, outputs, segments, w=50, rate=100.0, n=1000, **kw):
    return device_event_metrics({"c": starts}, {"c": outputs}, w, segments, CLASSES, rate, {"c": n}, **kw)


def test_duplicates_are_false_positives_not_false_activations():
    # Three jab outputs whose windows [80,130), [120,170), [160,210) all overlap the jab [100, 200).
    r = m([80, 120, 160], [JAB, JAB, JAB], [Segment("c", "jab", 100, 200)])
    assert (r["tp"], r["fp"], r["fn"], r["false_activations"]) == (1, 2, 0, 0)
    assert r["precision"] == pytest.approx(1 / 3) and r["recall"] == 1.0 and r["f1"] == pytest.approx(0.5)


def test_a_double_jab_is_two_true_positives_with_optimal_matching():
    # Output A [150, 250) overlaps jab 1 [100, 190) by 40 and jab 2 [200, 300) by 50; output B [260, 360)
    # overlaps only jab 2 (40). Largest-overlap-first greedy would pair A with jab 2 and leave B and jab 1
    # unmatched (1 TP); the one-to-one matching with the most pairs gives A-jab 1, B-jab 2.
    segs = [Segment("c", "jab", 100, 190), Segment("c", "jab", 200, 300)]
    r = m([150, 260], [JAB, JAB], segs, w=100)
    assert (r["tp"], r["fp"], r["fn"]) == (2, 0, 0) and r["f1"] == 1.0


def test_an_output_between_two_events_is_a_false_activation():
    segs = [Segment("c", "jab", 100, 200), Segment("c", "hook", 400, 500)]
    # jab at [180, 230): TP; hook at [250, 300): overlaps nothing: FP and false activation; the hook is missed.
    r = m([180, 250], [JAB, HOOK], segs)
    assert (r["tp"], r["fp"], r["fn"], r["false_activations"]) == (1, 1, 1, 1)
    assert r["per_class"]["hook"] == {"recall": 0.0, "precision": 0.0, "tp": 0, "support": 1, "detections": 1}
    assert r["per_class"]["jab"] == {"recall": 1.0, "precision": 1.0, "tp": 1, "support": 1, "detections": 1}


def test_wrong_class_on_an_event_is_a_false_positive_but_not_a_false_activation():
    r = m([120], [HOOK], [Segment("c", "jab", 100, 200)])
    assert (r["tp"], r["fp"], r["fn"], r["false_activations"]) == (0, 1, 1, 0)


def test_a_window_that_only_touches_the_event_does_not_match():
    # [50, 100) ends where the jab [100, 200) starts: no shared sample.
    r = m([50], [JAB], [Segment("c", "jab", 100, 200)])
    assert (r["tp"], r["fp"], r["fn"], r["false_activations"]) == (0, 1, 1, 1)


def test_background_unknown_and_suppressed_outputs_are_not_detections():
    r = m([0, 100, 120, 140], [0, -1, -2, -2], [Segment("c", "jab", 100, 200)])
    assert (r["tp"], r["fp"], r["fn"], r["n_detections"]) == (0, 0, 1, 0)


def test_empty_background_and_false_activations_per_hour():
    # 36,000 samples at 100 Hz = 0.1 h; one 1,000-sample jab -> 35,000 background samples = 350 s.
    segs = [Segment("c", "jab", 1000, 2000), Segment("c", "NoActivity", 0, 1000)]
    r = m([5000, 9000], [HOOK, JAB], segs, n=36000)
    assert r["false_activations"] == 2 and r["background_hours"] == pytest.approx(350 / 3600)
    assert r["false_activations_per_hour"] == pytest.approx(2 / (350 / 3600))
    quiet = device_event_metrics({"q": np.zeros(0, np.int64)}, {"q": np.zeros(0, np.int64)}, 50, [], CLASSES,
                                 100.0, {"q": 6000})
    assert (quiet["tp"], quiet["fp"], quiet["fn"], quiet["f1"], quiet["false_activations_per_hour"]) == (0, 0, 0, 0, 0)
    assert quiet["background_hours"] == pytest.approx(60 / 3600)


def test_a_capture_without_windows_has_only_misses():
    r = device_event_metrics({}, {}, 50, [Segment("b", "jab", 10, 60)], CLASSES, 100.0, {"b": 600})
    assert (r["tp"], r["fn"], r["recall"]) == (0, 1, 0.0)


def _brute_force(events, dets, w):
    """Most matched pairs over every one-to-one assignment (an independent check of the matching)."""
    def rec(i, used):
        if i == len(events):
            return 0
        best = rec(i + 1, used)  # event i unmatched
        for d, s in enumerate(dets):
            if d not in used and min(events[i][1], s + w) - max(events[i][0], s) > 0:
                best = max(best, 1 + rec(i + 1, used | {d}))
        return best

    return rec(0, frozenset())


def test_matching_finds_the_most_pairs_like_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(150):
        n_ev, n_det, w = int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(20, 120))
        starts = np.sort(rng.choice(np.arange(0, 900, 10), n_ev, replace=False))
        events = [(int(s), int(s + rng.integers(30, 90))) for s in starts]
        dets = [int(d) for d in rng.integers(0, 950, n_det)]
        r = m(dets, [JAB] * n_det, [Segment("c", "jab", a, b) for a, b in events], w=w, n=1100)
        assert r["tp"] == _brute_force(events, dets, w), (events, dets, w)


def test_window_device_metrics_of_perfect_sliding_windows_with_a_refractory_output():
    data = np.zeros((400, 1), np.float32)
    ds = Dataset("d", ("x",), 100.0, [Capture("c", data)], [Segment("c", "jab", 100, 200)])
    w = SlidingWindow(50, 25).transform(ds, CLASSES[:1] + ["jab"])
    assert w.y.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]  # starts 0, 25, ..., 350
    r = window_device_metrics(w, w.y, ds)  # every jab window emitted: 1 TP, 4 duplicates
    assert (r["tp"], r["fp"], r["fn"]) == (1, 4, 0)
    out = np.where(np.arange(len(w)) == 3, 1, np.where(w.y == 1, -2, 0))  # a refractory keeps the first only
    r = window_device_metrics(w, out, ds)
    assert (r["tp"], r["fp"], r["fn"], r["f1"]) == (1, 0, 0, 1.0)
    with pytest.raises(ConfigError, match="1 entries for 15 windows"):
        window_device_metrics(w, np.array([1]), ds)


def test_window_device_metrics_by_capture_scores_each_capture_alone():
    # Three captures at 100 Hz: "a" (400 samples, a jab at [100, 200)), "b" (400 samples, a hook at [100, 200)),
    # "z" (30 samples, a jab at [5, 25): shorter than a window, so it has no window). Windows of 50, slide 50.
    caps = [Capture("a", np.zeros((400, 1), np.float32)), Capture("b", np.zeros((400, 1), np.float32)),
            Capture("z", np.zeros((30, 1), np.float32))]
    segs = [Segment("a", "jab", 100, 200), Segment("b", "hook", 100, 200), Segment("z", "jab", 5, 25)]
    ds = Dataset("d", ("x",), 100.0, caps, segs)
    w = SlidingWindow(50, 50).transform(ds, CLASSES)
    assert w.capture_names == ["a", "b", "z"] and w.capture.tolist() == [0] * 8 + [1] * 8
    out = np.full(len(w), -2)
    out[2] = JAB  # a: [100, 150) on the jab: TP
    out[6] = JAB  # a: [300, 350) on nothing: FP and a false activation; b emits nothing: the hook is missed
    by = window_device_metrics_by_capture(w, out, ds)
    assert list(by) == ["a", "b", "z"]
    a, b, z = by["a"], by["b"], by["z"]
    assert (a["tp"], a["fp"], a["fn"], a["false_activations"]) == (1, 1, 0, 1)
    assert a["precision"] == 0.5 and a["recall"] == 1.0 and a["f1"] == pytest.approx(2 / 3)
    # Background: 300 of a's samples = 300 / 100 / 3600 h = 1/1200 h; one false activation: 1200 per hour.
    assert a["background_hours"] == pytest.approx(1 / 1200) and a["false_activations_per_hour"] == pytest.approx(1200)
    assert (b["tp"], b["fp"], b["fn"], b["f1"], b["false_activations_per_hour"]) == (0, 0, 1, 0.0, 0.0)
    assert (z["tp"], z["fp"], z["fn"], z["n_detections"]) == (0, 0, 1, 0)  # no window: only the miss
    pooled = window_device_metrics(w, out, ds)
    # Pooled: TP 1, FP 1, FN 2 -> P 1/2, R 1/3, F1 0.4; one false activation in 610 background samples.
    assert (pooled["tp"], pooled["fp"], pooled["fn"], pooled["n_events"]) == (1, 1, 2, 3)
    assert pooled["f1"] == pytest.approx(0.4)
    assert pooled["false_activations_per_hour"] == pytest.approx(1 / (610 / 100 / 3600))
    for key in ("tp", "fp", "fn", "n_events", "n_detections", "false_activations"):
        assert sum(m[key] for m in by.values()) == pooled[key]
    with pytest.raises(ConfigError, match="1 entries for 16 windows"):
        window_device_metrics_by_capture(w, np.array([1]), ds)


def test_bad_inputs_name_the_problem():
    with pytest.raises(ConfigError, match="class indices in \\[0, 3\\), -1 \\(unknown\\) or -2"):
        m([0], [3], [])
    with pytest.raises(ConfigError, match="same captures"):
        device_event_metrics({"a": [0]}, {"b": [1]}, 10, [], CLASSES, 10.0, {"a": 100})
    with pytest.raises(ConfigError, match="no length in n_samples"):
        device_event_metrics({"a": [0]}, {"a": [1]}, 10, [], CLASSES, 10.0, {"b": 100})
    with pytest.raises(ConfigError, match="starts has 2 windows but outputs has 1"):
        m([0, 5], [1], [])
    with pytest.raises(ConfigError, match="window_size"):
        m([0], [1], [], w=0)
