"""int16 ADC counts: scale choice and conversion, worked by hand."""

import numpy as np
import pytest

from automl.data import Capture, Dataset, auto_counts_scale, to_counts
from automl.errors import ConfigError


def _ds(data, channels=("accX", "accY", "accZ", "gyrX", "temp")):
    return Dataset("t", tuple(channels), 100.0, [Capture("c", np.asarray(data, np.float32))], [])


def test_auto_scale_is_a_power_of_two_per_sensor_group():
    # acc peak 20 -> 32767 / (1.25 * 20) = 1310.68 -> 1024; gyr peak 3 -> 8738.1 -> 8192;
    # temp peak 0.5 -> 52427.2 -> 32768 (its own group).
    ds = _ds([[20, -1, 2, 3, 0.5], [0, 0, 0, -1, 0]])
    assert auto_counts_scale(ds) == {"accX": 1024.0, "accY": 1024.0, "accZ": 1024.0, "gyrX": 8192.0, "temp": 32768.0}


def test_to_counts_rounds_half_to_even_and_clips():
    ds = _ds([[0.5, 1.5, -2.5, 100.0, -100.0]], channels=("a", "b", "c", "d", "e"))
    out = to_counts(ds, {"a": 1, "b": 1, "c": 1, "d": 1000, "e": 1000})
    assert out.captures[0].data.dtype == np.float32
    assert out.captures[0].data.tolist() == [[0.0, 2.0, -2.0, 32767.0, -32768.0]]
    assert ds.captures[0].data.tolist() == [[0.5, 1.5, -2.5, 100.0, -100.0]]  # input untouched


def test_to_counts_names_the_missing_channel():
    with pytest.raises(ConfigError, match=r"sample_scale.*\['temp'\]"):
        to_counts(_ds([[1, 1, 1, 1, 1]]), {"accX": 1, "accY": 1, "accZ": 1, "gyrX": 1})


def test_boxing_scales(boxing_dir):
    from automl.data import load_dataset

    ds = load_dataset(boxing_dir)
    # acc peak 46.62 m/s^2 -> 32767 / 58.28 = 562 -> 512; gyr peak 13.02 rad/s -> 2014 -> 1024
    scales = auto_counts_scale(ds)
    assert {scales[c] for c in ds.channels if c.startswith("acc")} == {512.0}
    assert {scales[c] for c in ds.channels if c.startswith("gyr")} == {1024.0}
    counts = to_counts(ds, scales)
    first = counts.captures[0].data
    expected = np.rint(ds.captures[0].data.astype(np.float64) * np.array([512.0] * 3 + [1024.0] * 3))
    assert np.array_equal(first, expected)  # no clipping needed: the peak is 4/5 of full scale at most
    assert first[0].tolist() == [4377.0, 1428.0, -486.0, -750.0, -491.0, -63.0]
