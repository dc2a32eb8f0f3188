"""Threshold segmentation, detection signals, quantile thresholds and trigger diagnostics.

The vectorised ThresholdWindow is checked against a plain sample-by-sample
streaming loop (``_reference_stream``, written from the documented semantics
and not using automl.segmentation), on random configurations and on real data;
small cases are worked out by hand in the comments.
"""

from __future__ import annotations

import re
from collections import deque

import numpy as np
import pytest

from automl.data import Capture, Dataset, Segment, load_dataset
from automl.errors import ConfigError
from automl.segmentation import (
    SlidingWindow,
    ThresholdWindow,
    TriggerDiagnostics,
    Windows,
    column_sources,
    detection_signal,
    label_windows,
    threshold_from_quantile,
    trigger_diagnostics,
)

F32 = np.float32


# -- the reference: one sample at a time, as kp_segment.h ---------------------


def _reference_stream(data, sources, mode, detection_window, threshold, lookback, slide, window_size):
    """(starts, windows, detection) of the documented streaming algorithm.

    float32 scalars throughout; the std is the two-pass loop of the C code.
    """
    thr = F32(threshold)
    history: list = []                 # column values so far
    ring: deque = deque(maxlen=window_size)
    pending: deque = deque()
    next_allowed = 0
    starts, windows, detection = [], [], []
    bound = (window_size - 1 - lookback) // slide + 1
    for t in range(data.shape[0]):
        row = data[t]
        ring.append(row.copy())
        if len(sources) == 1:
            v = F32(row[sources[0]])
        else:
            a, b, c = (F32(row[i]) for i in sources)
            v = F32(np.sqrt((a * a + b * b) + c * c))
        history.append(v)
        if mode == "absolute":
            d = F32(abs(v))
        elif t >= detection_window - 1:
            xs = history[-detection_window:]
            s = F32(0)
            for x in xs:
                s = F32(s + x)
            mean = F32(s / F32(detection_window))
            q = F32(0)
            for x in xs:
                e = F32(x - mean)
                q = F32(q + e * e)
            d = F32(np.sqrt(F32(q / F32(detection_window))))
        else:
            d = None
        detection.append(np.nan if d is None else d)
        if d is not None and d > thr and t >= next_allowed:
            next_allowed = t + slide
            if t >= lookback:
                pending.append(t - lookback)
                assert len(pending) <= bound, "documented pending bound exceeded"
        if pending and pending[0] + window_size - 1 == t:
            s0 = pending.popleft()
            starts.append(s0)
            windows.append(np.array(ring))
    return starts, windows, np.array(detection, np.float32)


def _ds(captures, channels, segments=(), rate=10.0) -> Dataset:
    return Dataset("t", tuple(channels), rate, list(captures), list(segments))


# -- hand-worked examples ------------------------------------------------------

X12 = np.array([0, 5, -6, 0, 6, 7, 0, 0, 0, 9, 0, 8], np.float32)[:, None]


@pytest.mark.parametrize(
    "window_size,lookback,slide,threshold,expected",
    [
        # |x| > 4 at t = 1, 2, 4, 5, 9, 11. slide 3: triggers 1 (next 4), 4 (next 7), 9 (next 12);
        # 2, 5 and 11 fall in refractory periods. lookback 1 -> starts 0, 3, 8; [8, 12) fits 12 samples.
        (4, 1, 3, 4.0, [0, 3, 8]),
        # lookback 2: trigger 1 would start at -1 -> dropped, but it still blocks t = 2
        # (else t = 2 would give start 0). Starts 2, 7.
        (4, 2, 3, 4.0, [2, 7]),
        # W 5: the window of trigger 9, [8, 13), runs past sample 11 -> dropped.
        (5, 1, 3, 4.0, [0, 3]),
        # slide 1: every sample above triggers; W 2, lookback 0: [11, 13) dropped.
        (2, 0, 1, 4.0, [1, 2, 4, 5, 9]),
        # Strict '>': |5| > 5 is False. Above: 2, 4, 5, 9, 11. slide 3: 2 (next 5), 5 (next 8), 9.
        (4, 1, 3, 5.0, [1, 4, 8]),
    ],
)
def test_absolute_mode_hand_worked(window_size, lookback, slide, threshold, expected):
    ds = _ds([Capture("c", X12)], ["x"])
    seg = ThresholdWindow(window_size, "x", threshold, mode="absolute", lookback=lookback, slide=slide)
    w = seg.transform(ds)
    assert w.start.tolist() == expected
    assert w.capture.tolist() == [0] * len(expected)
    for i, s in enumerate(expected):
        np.testing.assert_array_equal(w.X[i], X12[s:s + window_size])
    ref, _, _ = _reference_stream(X12, (0,), "absolute", 1, threshold, lookback, slide, window_size)
    assert ref == expected


def test_triggers_include_dropped_ones():
    seg = ThresholdWindow(4, "x", 4.0, mode="absolute", lookback=2, slide=3)
    assert seg.triggers(X12, ["x"]).tolist() == [1, 4, 9]
    assert seg.starts(X12, ["x"]).tolist() == [2, 7]


def test_std_mode_hand_worked_overlapping_windows():
    # D = 2: d[t] = population std of (x[t-1], x[t]) = |x[t] - x[t-1]| / 2, undefined at t = 0.
    # x = 0 0 0 4 0 0 0 0 -> d = nan 0 0 2 2 0 0 0. Threshold 1, slide 1: triggers 3, 4.
    # W 3, lookback 1 -> windows [2, 5) and [3, 6): overlapping, both pending at t = 4.
    x = np.array([0, 0, 0, 4, 0, 0, 0, 0], np.float32)[:, None]
    d = detection_signal(x, ["x"], "x", "std", 2)
    assert np.isnan(d[0]) and d[1:].tolist() == [0, 0, 2, 2, 0, 0, 0]
    w = ThresholdWindow(3, "x", 1.0, mode="std", detection_window=2, lookback=1, slide=1).transform(_ds([Capture("c", x)], ["x"]))
    assert w.start.tolist() == [2, 3]
    np.testing.assert_array_equal(w.X[:, :, 0], [[0, 4, 0], [4, 0, 0]])


def test_std_detection_window_longer_than_capture_never_triggers():
    x = np.arange(5, dtype=np.float32)[:, None]
    assert np.isnan(detection_signal(x, ["x"], "x", "std", 6)).all()
    w = ThresholdWindow(2, "x", -1.0, mode="std", detection_window=6, slide=1).transform(_ds([Capture("c", x)], ["x"]))
    assert len(w) == 0 and w.X.shape == (0, 2, 1) and w.X.dtype == np.float32


def test_magnitude_column_uses_three_channels_in_channel_order():
    # accMag of (3, 4, 0) is 5, of (1, 2, 2) is 3; gyr/other channels are ignored.
    data = np.array([[3, 9, 4, 0], [1, 9, 2, 2]], np.float32)
    ch = ["accX", "gyrA", "AccY", "accz"]
    assert column_sources(ch, "accMag") == (0, 2, 3)
    assert detection_signal(data, ch, "accMag", "absolute").tolist() == [5.0, 3.0]
    # An exact channel name wins over the magnitude rule.
    assert column_sources(["accMag", "accX"], "accMag") == (0,)


def test_labels_follow_label_windows():
    # jab [3, 7): window [2, 6) overlaps 3, need min(4, 4) = 4 -> 6 >= 4 -> jab.
    x = np.array([0, 0, 0, 9, 0, 0, 0, 0, 0, 0], np.float32)[:, None]
    ds = _ds([Capture("c", x)], ["x"], [Segment("c", "jab", 3, 7)])
    w = ThresholdWindow(4, "x", 1.0, mode="absolute", lookback=1).transform(ds)
    assert w.start.tolist() == [2] and w.y.tolist() == [1] and w.classes == ["NoActivity", "jab"]
    assert isinstance(w, Windows)


# -- against the streaming reference -----------------------------------------

CHANNELS = ["accX", "accY", "accZ", "gyrX"]


def _random_case(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(150, 400))
    data = rng.normal(0, 1, (n, 4))
    for c in rng.integers(0, n, size=6):  # bursts
        data[c:c + 15] += rng.normal(0, 6, (len(data[c:c + 15]), 4))
    data = np.round(data * 100).astype(np.float32)  # counts-like values
    window_size = int(rng.integers(1, 60))
    return dict(
        data=data,
        window_size=window_size,
        lookback=int(rng.integers(0, window_size)),
        slide=int(rng.integers(1, 80)),
        mode=str(rng.choice(["absolute", "std"])),
        detection_window=int(rng.integers(1, 30)),
        column=str(rng.choice(CHANNELS + ["accMag"])),
        q=float(rng.uniform(0.5, 0.99)),
    )


@pytest.mark.parametrize("seed", range(40))
def test_matches_streaming_reference_random(seed):
    p = _random_case(seed)
    data = p["data"]
    short = data[: max(p["window_size"] - 1, 1)]  # a capture too short for any window
    ds = _ds([Capture("a", data), Capture("b", short), Capture("c", data[::-1].copy())], CHANNELS)
    thr = threshold_from_quantile(ds, p["column"], p["mode"], p["detection_window"], p["q"])
    seg = ThresholdWindow(p["window_size"], p["column"], thr, mode=p["mode"], detection_window=p["detection_window"],
                          lookback=p["lookback"], slide=p["slide"])
    w = seg.transform(ds)
    src = column_sources(CHANNELS, p["column"])
    for ci, cap in enumerate(ds.captures):
        ref_starts, ref_windows, ref_det = _reference_stream(
            cap.data, src, p["mode"], p["detection_window"], thr, p["lookback"], p["slide"], p["window_size"])
        d = detection_signal(cap.data, CHANNELS, p["column"], p["mode"], p["detection_window"])
        np.testing.assert_array_equal(d.view(np.uint32), ref_det.view(np.uint32))  # bit for bit (NaN too)
        mine = w.capture == ci
        assert w.start[mine].tolist() == ref_starts
        if ref_windows:
            np.testing.assert_array_equal(w.X[mine], np.stack(ref_windows))


@pytest.fixture(scope="module")
def boxing(boxing_dir):
    return load_dataset(boxing_dir)


@pytest.mark.parametrize(
    "column,mode,dw,q,lookback,slide",
    [("accMag", "std", 10, 0.9, 30, 60), ("gyrMag", "absolute", 1, 0.9, 20, 25), ("accX", "std", 20, 0.85, 0, 40)],
)
def test_matches_streaming_reference_real_capture(boxing, column, mode, dw, q, lookback, slide):
    ds = boxing.subset(["acc_gyr_experiment_all_right"])
    seg = ThresholdWindow.from_quantile(ds, q, 120, column, mode=mode, detection_window=dw, lookback=lookback, slide=slide)
    w = seg.transform(ds)
    cap = ds.captures[0]
    ref_starts, ref_windows, _ = _reference_stream(
        cap.data, column_sources(ds.channels, column), mode, dw, seg.threshold, lookback, slide, 120)
    assert len(ref_starts) >= 20
    assert w.start.tolist() == ref_starts
    np.testing.assert_array_equal(w.X, np.stack(ref_windows))
    assert w.y.tolist() == label_windows(w.start, 120, ds.segments, w.classes).tolist()


def test_real_data_windows_catch_most_punches(boxing):
    seg = ThresholdWindow.from_quantile(boxing, 0.8, 120, "accMag", mode="std", detection_window=10, lookback=30, slide=60)
    w = seg.transform(boxing)
    diag = trigger_diagnostics(boxing, w)
    assert diag.n_events == sum(s.label != "NoActivity" for s in boxing.segments) == 292
    assert diag.n_windows == len(w) and diag.false_triggers == int((w.y == 0).sum())
    assert diag.missed_events <= 0.05 * diag.n_events  # 1 of 292 with the recordings of 2023-10
    assert set(np.unique(w.y).tolist()) == {0, 1, 2, 3}
    assert diag.minutes == pytest.approx(sum(c.n_samples for c in boxing.captures) / boxing.sample_rate_hz / 60)


# -- quantile thresholds -------------------------------------------------------


def test_threshold_from_quantile_pools_defined_values():
    a = np.array([1, 3, 3, 7], np.float32)[:, None]
    b = np.array([2, 2], np.float32)[:, None]
    ds = _ds([Capture("a", a), Capture("b", b)], ["x"])
    # absolute: values 1 3 3 7 2 2 -> sorted 1 2 2 3 3 7; median (linear) = 2.5; q 0 = 1; q 1 = 7.
    assert threshold_from_quantile(ds, "x", "absolute", 1, 0.5) == 2.5
    assert threshold_from_quantile(ds, "x", "absolute", 1, 0.0) == 1.0
    assert threshold_from_quantile(ds, "x", "absolute", 1, 1) == 7.0
    # std, D 2: a -> nan 1 0 2; b -> nan 0 -> values 1 0 2 0 -> sorted 0 0 1 2; q 0.5 = 0.5.
    assert threshold_from_quantile(ds, "x", "std", 2, 0.5) == 0.5
    seg = ThresholdWindow.from_quantile(ds, 0.5, 2, "x", mode="std", detection_window=2, slide=1)
    assert seg.threshold == 0.5 and seg.mode == "std" and seg.detection_window == 2


def test_threshold_from_quantile_is_a_float32_value(boxing):
    thr = threshold_from_quantile(boxing, "accMag", "absolute", 1, 0.9)
    assert float(np.float32(thr)) == thr
    values = np.concatenate([detection_signal(c.data, boxing.channels, "accMag", "absolute") for c in boxing.captures])
    assert np.mean(values > np.float32(thr)) == pytest.approx(0.1, abs=0.005)


@pytest.mark.parametrize("q", [-0.1, 1.5, "0.5", None, float("nan"), True])
def test_threshold_from_quantile_rejects_bad_q(q):
    ds = _ds([Capture("a", np.ones((3, 1), np.float32))], ["x"])
    with pytest.raises(ConfigError, match=r"'q' parameter of threshold_from_quantile"):
        threshold_from_quantile(ds, "x", "absolute", 1, q)


def test_threshold_from_quantile_without_defined_values():
    ds = _ds([Capture("a", np.ones((3, 1), np.float32))], ["x"])
    with pytest.raises(ConfigError, match="shorter than detection_window=5"):
        threshold_from_quantile(ds, "x", "std", 5, 0.5)


# -- invalid parameters --------------------------------------------------------


@pytest.fixture()
def small() -> Dataset:
    return _ds([Capture("c", np.zeros((20, 4), np.float32))], CHANNELS)


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"window_size": 0}, "'window_size' parameter of ThresholdWindow must be an int >= 1"),
        ({"window_size": 2.5}, "'window_size' parameter"),
        ({"slide": 0}, "'slide' parameter of ThresholdWindow must be an int >= 1"),
        ({"slide": True}, "'slide' parameter"),
        ({"lookback": 10}, r"'lookback' parameter .* 0 <= lookback < window_size \(10\).*Got 10"),
        ({"lookback": -1}, "'lookback' parameter"),
        ({"mode": "mean"}, r"'mode' parameter must be one of \['absolute', 'std'\]. Got 'mean'"),
        ({"detection_window": 0}, "'detection_window' parameter must be an int >= 1"),
        ({"threshold": float("inf")}, "'threshold' parameter of ThresholdWindow must be a finite number"),
        ({"threshold": "3"}, "'threshold' parameter"),
        ({"column": "accW"}, r"'column' parameter must be one of the channels .*Got 'accW'"),
        # one gyr* channel is no sensor group (Dataset.sensors), so there is no gyrMag
        ({"column": "gyrMag"}, r"'column' parameter must be one of the channels .*sensor magnitude \['accMag'\]"),
    ],
)
def test_invalid_parameters_name_themselves(small, kwargs, pattern):
    params = {"window_size": 10, "column": "accX", "threshold": 1.0, "mode": "std", "detection_window": 3,
              "lookback": 2, "slide": 5}
    params.update(kwargs)
    with pytest.raises(ConfigError, match=pattern):
        ThresholdWindow(**params).transform(small)


def test_default_slide_is_window_size_and_numpy_ints_are_accepted():
    x = np.array([9, 9, 9, 9, 9, 9, 9], np.float32)[:, None]
    w = ThresholdWindow(np.int64(3), "x", np.float32(1), mode="absolute").transform(_ds([Capture("c", x)], ["x"]))
    assert w.start.tolist() == [0, 3]  # triggers 0, 3, 6; [6, 9) runs past sample 6


# -- trigger diagnostics -------------------------------------------------------


def test_trigger_diagnostics_hand_worked():
    # c0: 600 samples, c1: 300 samples, 10 Hz -> 900 samples = 1.5 minutes.
    # Events: c0 jab [100,130), hook [300,310), jab [400,430); c1 jab [50,80).
    # Windows (W 20) of c0, labels by the overlap rule:
    #   [95,115):  jab [100,130) overlap 15, need min(20, 30) = 20 -> 30 >= 20 -> jab   (catches jab 100)
    #   [295,315): hook overlap 10, need min(20, 10) = 10 -> hook                        (catches hook)
    #   [425,445): jab [400,430) overlap 5, need 20 -> 10 < 20 -> background (false trigger)
    #   [500,520): nothing -> background (false trigger)
    # Missed: jab [400,430) of c0 and jab [50,80) of c1 (no window) -> 2.
    segs = [Segment("c0", "jab", 100, 130), Segment("c0", "hook", 300, 310), Segment("c0", "jab", 400, 430),
            Segment("c0", "NoActivity", 0, 100), Segment("c1", "jab", 50, 80)]
    ds = _ds([Capture("c0", np.zeros((600, 1), np.float32)), Capture("c1", np.zeros((300, 1), np.float32))], ["x"], segs)
    classes = ds.labels()
    assert classes == ["NoActivity", "hook", "jab"]
    starts = np.array([95, 295, 425, 500])
    y = label_windows(starts, 20, segs, classes)
    assert y.tolist() == [2, 1, 0, 0]
    w = Windows(np.zeros((4, 20, 1), np.float32), y, np.zeros(4, np.int64), starts, classes, ["c0", "c1"])
    diag = trigger_diagnostics(ds, w)
    assert diag == TriggerDiagnostics(
        n_events=4, missed_events=2, false_triggers=2, n_windows=4, minutes=1.5,
        missed_per_minute=pytest.approx(4 / 3), false_triggers_per_minute=pytest.approx(4 / 3),
    )


def test_trigger_diagnostics_needs_the_labelled_class_and_enough_overlap():
    # One jab [0, 40). A window [0, 20) labelled jab overlaps 20, need min(20, 40) = 20 -> caught.
    # The same window wrongly labelled hook would not catch it.
    segs = [Segment("c", "jab", 0, 40)]
    ds = _ds([Capture("c", np.zeros((100, 1), np.float32))], ["x"], segs)
    classes = ["NoActivity", "hook", "jab"]
    for label, missed in [(2, 0), (1, 1)]:
        w = Windows(np.zeros((1, 20, 1), np.float32), np.array([label]), np.array([0]), np.array([0]), classes, ["c"])
        assert trigger_diagnostics(ds, w).missed_events == missed


def test_trigger_diagnostics_works_for_sliding_windows_and_checks_captures(boxing):
    w = SlidingWindow(100, 50).transform(boxing)
    diag = trigger_diagnostics(boxing, w)
    assert diag.false_triggers == int((w.y == 0).sum()) and diag.n_windows == 1256
    other = boxing.subset(boxing.capture_names()[:2])
    with pytest.raises(ConfigError, match=re.escape("capture(s) not in dataset")):
        trigger_diagnostics(other, w)
