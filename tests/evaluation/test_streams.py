"""Deployment streams: whole events, real background, cuts in the middle of gaps, cross-faded joins."""

from __future__ import annotations

import numpy as np
import pytest

from automl.data import Capture, Dataset, Segment
from automl.evaluation import deployment_streams


def _capture(name: str, label: str, events: list[tuple[int, int]], n: int, level: float) -> tuple[Capture, list]:
    data = np.full((n, 1), level, np.float32)
    for a, b in events:
        data[a:b, 0] = level + 100.0 + a  # each event recognisable by its samples
    return Capture(name, data), [Segment(name, label, a, b) for a, b in events]


def _dataset(*parts) -> Dataset:
    caps, segs = [], []
    for cap, s in parts:
        caps.append(cap)
        segs += s
    return Dataset("d", ("x",), 100.0, caps, segs)


def test_single_class_captures_are_cut_in_gap_middles_and_mixed():
    jab = _capture("jab", "jab", [(10, 20), (40, 50)], 60, 0.0)
    hook = _capture("hook", "hook", [(5, 15), (31, 41), (41, 45)], 50, 1.0)  # the last two touch: never split
    ds = _dataset(jab, hook)
    out = deployment_streams(ds, seed=0, name="s", crossfade=0)
    (stream,) = out.captures
    assert stream.name == "s" and stream.metadata == {"assembled_from": "jab,hook"}
    # Cuts: jab at (20 + 40) // 2 = 30 -> chunks [0, 30), [30, 60); hook at (15 + 31) // 2 = 23 ->
    # [0, 23), [23, 50) (31-41 and 41-45 stay together). Every sample is kept once.
    assert stream.n_samples == 60 + 50
    events = sorted(out.segments, key=lambda s: s.start)
    assert [s.label for s in events].count("jab") == 2 and [s.label for s in events].count("hook") == 3
    for s in events:  # every event is a whole event of its source capture
        src = {"jab": jab[0].data, "hook": hook[0].data}[s.label]
        first = float(stream.data[s.start, 0])
        a = int(first - 100.0 - (0.0 if s.label == "jab" else 1.0))
        assert np.array_equal(stream.data[s.start:s.end], src[a:a + s.length])


def test_joins_are_straight_lines_inside_background_and_keep_the_timing():
    a = _capture("a", "jab", [(20, 30), (60, 70)], 80, 0.0)
    b = _capture("b", "hook", [(20, 30), (60, 70)], 80, 10.0)
    out = deployment_streams(_dataset(a, b), seed=3, name="s", crossfade=4)
    (stream,) = out.captures
    # Cuts at 45 in both captures: 4 chunks of 45 or 35 samples; nothing added or removed.
    assert stream.n_samples == 160
    x = stream.data[:, 0]
    events = sorted(out.segments, key=lambda s: s.start)
    assert len(events) == 4
    for e in events:
        assert np.all(x[e.start:e.end] >= 100.0)  # untouched event samples
    # Seed 3 orders the chunks b[45:80), b[0:45), a[45:80), a[0:45): each join puts the 10- or 15-sample
    # background after one event before the 20- or 15-sample background of the next, so every gap is
    # 10 + 20 or 15 + 15 = 30 samples: the recordings' own gap, the timing a vote or a refractory time sees.
    assert [(e.label, e.start, e.end) for e in events] == [("hook", 15, 25), ("hook", 55, 65), ("jab", 95, 105),
                                                           ("jab", 135, 145)]
    # Between events of different sessions the background runs in a straight line over 2 + 2 samples.
    assert any(p.label != n.label for p, n in zip(events[:-1], events[1:]))
    for prev, nxt in zip(events[:-1], events[1:]):
        if prev.label == nxt.label:
            continue
        lo, hi = (0.0, 10.0) if prev.label == "jab" else (10.0, 0.0)
        gap = x[prev.end:nxt.start]
        ramp = gap[(gap != lo) & (gap != hi)]
        assert ramp.tolist() == pytest.approx([lo + (hi - lo) * k / 5 for k in range(1, 5)])


def test_mixed_and_event_free_captures_are_kept_as_they_are():
    mixed_cap = Capture("mixed", np.zeros((50, 1), np.float32))
    mixed = (mixed_cap, [Segment("mixed", "jab", 5, 10), Segment("mixed", "hook", 20, 30)])
    quiet = (Capture("quiet", np.zeros((40, 1), np.float32)), [Segment("quiet", "NoActivity", 0, 40)])
    jab = _capture("jab", "jab", [(10, 20)], 30, 0.0)
    hook = _capture("hook", "hook", [(10, 20)], 30, 0.0)
    out = deployment_streams(_dataset(mixed, quiet, jab, hook), seed=0, name="s")
    assert out.capture_names() == ["mixed", "quiet", "s"]
    assert out.captures[0] is mixed_cap
    # Only one event class among the single-class captures: nothing to mix.
    only_jab = _dataset(_capture("j1", "jab", [(10, 20)], 30, 0.0), _capture("j2", "jab", [(5, 9)], 30, 0.0))
    assert deployment_streams(only_jab, name="s") is only_jab
    with pytest.raises(ValueError, match="already a capture name"):
        deployment_streams(_dataset(jab, hook), name="jab")


def test_the_chunk_order_follows_the_seed():
    parts = [_capture(f"c{i}", lab, [(10, 20), (40, 50)], 60, float(i)) for i, lab in enumerate(["jab", "hook", "cross"])]
    one = deployment_streams(_dataset(*parts), seed=1, name="s", crossfade=0)
    again = deployment_streams(_dataset(*parts), seed=1, name="s", crossfade=0)
    other = deployment_streams(_dataset(*parts), seed=2, name="s", crossfade=0)
    assert np.array_equal(one.captures[0].data, again.captures[0].data)
    assert not np.array_equal(one.captures[0].data, other.captures[0].data)


def test_the_stream_keeps_the_data_sets_declared_sensor_groups_and_rate():
    # A declared group (data.sensors) whose names no prefix rule would guess: the threshold segmenter's
    # "imuMag" must still exist on the validation stream.
    jab, hook = _capture("jab", "jab", [(10, 20)], 30, 0.0), _capture("hook", "hook", [(10, 20)], 30, 0.0)
    ds = Dataset("d", ("u", "v", "w"), 100.0, [Capture(c.name, np.repeat(c.data, 3, axis=1)) for c, _ in (jab, hook)],
                 jab[1] + hook[1], sensors={"imu": ["u", "v", "w"]}, resample_hz=100.0)
    out = deployment_streams(ds, seed=0, name="s")
    assert out.capture_names() == ["s"]
    assert out.sensors == {"imu": ("u", "v", "w")} and out.resample_hz == 100.0
