"""Tests of automl.data.load_basic_motions (UEA BasicMotions, bundled with sktime)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from automl.data import Dataset, Segment, load_basic_motions


@pytest.fixture(scope="module")
def motions() -> Dataset:
    return load_basic_motions()


def test_shape_and_names(motions: Dataset) -> None:
    assert motions.name == "basic-motions"
    assert motions.channels == ("accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ")
    assert motions.sample_rate_hz == 10.0
    assert motions.background == "NoActivity"
    names = motions.capture_names()
    assert names[:2] == ["train_000", "train_001"] and names[39] == "train_039"
    assert names[40] == "test_000" and names[-1] == "test_039" and len(names) == 80
    for c in motions.captures:
        assert c.data.shape == (100, 6) and c.data.dtype == np.float32
        assert c.metadata == {"split": c.name.split("_")[0]}


def test_segments_and_classes(motions: Dataset) -> None:
    assert len(motions.segments) == 80
    assert all(s.start == 0 and s.end == 100 for s in motions.segments)
    assert [s.capture for s in motions.segments] == motions.capture_names()
    assert motions.labels() == ["NoActivity", "badminton", "running", "standing", "walking"]
    for split in ("train", "test"):
        counts = Counter(s.label for s in motions.segments if s.capture.startswith(split))
        assert counts == {"badminton": 10, "running": 10, "standing": 10, "walking": 10}
    assert motions.segments[0] == Segment("train_000", "standing", 0, 100)


def test_values_match_sktime(motions: Dataset) -> None:
    from sktime.datasets import load_basic_motions as sk_load

    X, y = sk_load(split="test", return_type="numpy3D")
    case = motions.captures[40 + 7]
    np.testing.assert_array_equal(case.data, X[7].T.astype(np.float32))
    assert motions.segments[47].label == y[7]


def test_first_three_channels_behave_like_an_accelerometer(motions: Dataset) -> None:
    """Evidence for the channel order, which sktime does not document.

    Over a 10 s case a gyroscope's mean is near zero for every activity, an
    accelerometer's is not (gravity / orientation).
    """
    means = np.stack([np.abs(c.data.mean(axis=0)) for c in motions.captures])  # (80, 6)
    assert means[:, :3].mean() > 4 * means[:, 3:].mean()
