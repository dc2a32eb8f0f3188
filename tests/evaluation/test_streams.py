"""Deployment streams: whole events, real background, cuts in the middle of gaps, cross-faded joins."""

from __future__ import annotations

import numpy as np
import pytest

from automl.data import Capture, Dataset, Segment
from automl.evaluation import deployment_streams, turned


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


def _imu(n_caps: int = 3, n: int = 200) -> Dataset:
    """Captures with an acc and a gyr triad and one extra channel, random counts."""
    rng = np.random.default_rng(4)
    caps = [Capture(f"c{i}", np.round(rng.normal(0, 3000, (n, 7))).astype(np.float32), {"k": str(i)})
            for i in range(n_caps)]
    segs = [Segment(f"c{i}", "jab", 50, 90) for i in range(n_caps)]
    return Dataset("imu", ("ax", "ay", "az", "gx", "gy", "gz", "t"), 100.0, caps, segs,
                   sensors={"acc": ("ax", "ay", "az"), "gyr": ("gx", "gy", "gz")})


def _turn_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares rotation R with b ~ a @ R.T (Kabsch, via numpy's SVD: an independent solver)."""
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    return (u @ np.diag([1.0, 1.0, d]) @ vt).T


@pytest.mark.parametrize("max_deg", [10.0, 30.0, 90.0])
def test_turned_rotates_each_capture_within_the_angle_and_keeps_the_rest(max_deg):
    ds = _imu()
    out = turned(ds, max_deg, seed=7)
    angles = []
    for before, after in zip(ds.captures, out.captures):
        assert after.name == before.name and after.metadata == before.metadata
        np.testing.assert_array_equal(after.data[:, 6], before.data[:, 6])  # not in a sensor group
        assert np.array_equal(after.data, np.round(after.data))  # whole counts
        r_acc = _turn_of(before.data[:, :3].astype(np.float64), after.data[:, :3].astype(np.float64))
        r_gyr = _turn_of(before.data[:, 3:6].astype(np.float64), after.data[:, 3:6].astype(np.float64))
        np.testing.assert_allclose(r_acc, r_gyr, atol=1e-3)  # one rotation for the device's groups
        # Norms survive to the rounding (half a count per axis).
        np.testing.assert_allclose(np.linalg.norm(after.data[:, :3], axis=1),
                                   np.linalg.norm(before.data[:, :3], axis=1), atol=1.0)
        angles.append(np.degrees(np.arccos(np.clip((np.trace(r_acc) - 1) / 2, -1, 1))))
    assert max(angles) <= max_deg + 0.01 and max(angles) > 0.5
    assert len({round(a, 3) for a in angles}) == len(angles)  # each capture its own rotation
    assert out.segments == ds.segments and out.sensors == ds.sensors
    # Seeded: the same rotations again, others with another seed.
    assert all(np.array_equal(a.data, b.data) for a, b in zip(out.captures, turned(ds, max_deg, 7).captures))
    assert not np.array_equal(out.captures[0].data, turned(ds, max_deg, 8).captures[0].data)


def test_turned_is_a_no_op_at_zero_or_without_sensor_groups_and_refuses_bad_angles():
    ds = _imu()
    assert turned(ds, 0.0) is ds
    no_groups = ds.replace(sensors={})
    assert turned(no_groups, 30.0) is no_groups
    with pytest.raises(ValueError, match="rotation 181"):
        turned(ds, 181.0)


def test_plan_turns_only_the_validation_captures():
    from automl.evaluation import plan_validation

    ds = _imu(4)
    plain = plan_validation(ds, ds.subset([]), 2, seed=0, streams="captures", cache=False)
    rot = plan_validation(ds, ds.subset([]), 2, seed=0, streams="captures", cache=False, rotation=30.0)
    assert rot.train is ds  # training captures as recorded
    for a, b in zip(plain.folds, rot.folds):
        assert a.val == b.val and a.train == b.train
        for ca, cb in zip(a.streams.captures, b.streams.captures):
            assert ca.name == cb.name and not np.array_equal(ca.data[:, :3], cb.data[:, :3])
