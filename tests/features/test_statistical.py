"""Statistical features, magnitude channels, feature names and extractor checks.

Golden values come from computations independent of automl.features: hand
arithmetic, and a per-window Python loop over numpy / scipy.stats in float64.
The extractor computes in float32 with sequential sums (the C twin's order), so
comparisons with float64 use the summation error bound explained in
``float32_tolerance``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from sklearn.base import clone

from automl.errors import ConfigError, DataError
from automl.features import (
    FeatureExtractor,
    available_families,
    get_generators,
    register_generator,
)
from automl.features import _registry

STAT_NAMES = [
    "mean", "std", "min", "max", "p25", "p75", "iqr", "sum", "skewness", "kurtosis",
    "variance", "median", "abs_mean",
]  # fmt: skip
SIX = ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]


def one_channel(values: list[float]) -> dict[str, float]:
    """Features of one window of one channel named "x", as {generator: value}."""
    X = np.asarray(values, dtype=np.float32).reshape(1, -1, 1)
    F = FeatureExtractor(["x"]).transform(X)
    assert F.shape == (1, len(STAT_NAMES))
    return dict(zip(STAT_NAMES, F[0].tolist()))


U = 2.0**-24  # unit roundoff of float32


def float32_tolerance(X: np.ndarray) -> np.ndarray:
    """Absolute tolerance of each feature of reference_features' layout.

    A sequential float32 sum of w terms has error <= (w-1) u sum|t_i| <= w u w
    max|t| (Higham, Accuracy and Stability, eq. 4.4), so a mean of terms
    has error <= w u max|t|. Each feature gets 8 w u times its natural scale:
    max|x| for location features, w max|x| for the sum, max|c| for std,
    max|c|^2 for the variance, (max|c|/std)^3 and ^4 for skewness and
    kurtosis (c = x - mean). The factor 8 covers the few extra roundings
    (centering, division, sqrt); percentiles have two or three roundings.

    Args:
        X: (n_windows, window_size, n_channels) float32, non-constant windows.

    Returns:
        (n_windows, 13 * n_channels) float64.
    """
    x = X.astype(np.float64)
    w = x.shape[1]
    mx = np.abs(x).max(axis=1)
    c = x - x.mean(axis=1, keepdims=True)
    mc = np.abs(c).max(axis=1)
    sd = c.std(axis=1)
    scales = {
        "mean": mx, "std": mc, "min": mx, "max": mx, "p25": mx, "p75": mx, "iqr": mx,
        "sum": w * mx, "skewness": (mc / sd) ** 3, "kurtosis": (mc / sd) ** 4,
        "variance": mc**2, "median": mx, "abs_mean": mx,
    }  # fmt: skip
    tol = np.stack([8 * w * U * scales[g] for g in STAT_NAMES], axis=1)
    return tol.reshape(len(X), -1)


def reference_features(X: np.ndarray) -> np.ndarray:
    """Independent per-window, per-channel loop; output in the extractor's order.

    Args:
        X: (n_windows, window_size, n_channels) float32, non-constant windows.

    Returns:
        (n_windows, 13 * n_channels) float64.
    """
    n, _, c = X.shape
    out = np.empty((n, len(STAT_NAMES), c))
    for i in range(n):
        for ch in range(c):
            x = X[i, :, ch].astype(np.float64)
            d = scipy.stats.describe(x, ddof=0, bias=True)
            p25, p75 = np.percentile(x, 25), np.percentile(x, 75)
            out[i, :, ch] = [
                d.mean,
                math.sqrt(d.variance),
                d.minmax[0],
                d.minmax[1],
                p25,
                p75,
                p75 - p25,
                math.fsum(x),
                scipy.stats.skew(x, bias=True),
                scipy.stats.kurtosis(x, fisher=True, bias=True),
                d.variance,
                np.median(x),
                np.abs(x).mean(),
            ]
    return out.reshape(n, -1)


# -- hand-worked windows ---------------------------------------------------


def test_hand_worked_1_2_3_4():
    # mean 10/4; m2 = (2.25+0.25+0.25+2.25)/4 = 1.25; m4 = (2*5.0625 + 2*0.0625)/4
    # = 2.5625; kurtosis = 2.5625/1.5625 - 3 = -1.36. Linear percentiles on
    # positions (4-1)*0.25 = 0.75 -> 1.75 and (4-1)*0.75 = 2.25 -> 3.25.
    f = one_channel([1, 2, 3, 4])
    expected = {
        "mean": 2.5,
        "std": math.sqrt(1.25),
        "min": 1.0,
        "max": 4.0,
        "p25": 1.75,
        "p75": 3.25,
        "iqr": 1.5,
        "sum": 10.0,
        "skewness": 0.0,
        "kurtosis": -1.36,
    }
    for name, value in expected.items():
        assert f[name] == pytest.approx(value, rel=1e-6, abs=1e-7), name


def test_hand_worked_skewed_window():
    # [0, 0, 0, 4]: mean 1, deviations (-1, -1, -1, 3); m2 = 12/4 = 3,
    # m3 = (-3 + 27)/4 = 6, m4 = (3 + 81)/4 = 21.
    # skewness = 6 / 3**1.5 = 2/sqrt(3); kurtosis = 21/9 - 3 = -2/3.
    # Positions 0.75 and 2.25 of the sorted window -> p25 = 0, p75 = 0 + 0.25*4 = 1.
    f = one_channel([0, 4, 0, 0])
    assert f["mean"] == 1.0
    assert f["std"] == pytest.approx(math.sqrt(3), rel=1e-6)
    assert f["p25"] == 0.0
    assert f["p75"] == 1.0
    assert f["iqr"] == 1.0
    assert f["sum"] == 4.0
    assert f["skewness"] == pytest.approx(2 / math.sqrt(3), rel=1e-6)
    assert f["kurtosis"] == pytest.approx(-2 / 3, rel=1e-6)


# -- against scipy / numpy per window ----------------------------------------


@pytest.mark.parametrize("window_size", [3, 4, 7, 50, 120])
def test_matches_independent_loop(window_size):
    rng = np.random.default_rng(window_size)
    n, c = 40, 3
    X = rng.normal(size=(n, window_size, c))
    X[:, :, 1] = 9.81 + 0.01 * X[:, :, 1]  # |mean| >> std: precision matters
    X[:, :, 2] = rng.exponential(size=(n, window_size)) ** 2  # heavy right tail
    X = X.astype(np.float32)
    F = FeatureExtractor(["a", "b", "c"], magnitude=False).transform(X)
    assert F.dtype == np.float32 and F.shape == (n, 13 * c)
    expected = reference_features(X)
    # float32 with sequential sums: within the summation error bound.
    err = np.abs(F - expected)
    tol = float32_tolerance(X)
    worst = np.unravel_index(np.argmax(err / tol), err.shape)
    assert (err <= tol).all(), (worst, F[worst], expected[worst], tol[worst])


def test_window_of_two_matches_scipy():
    X = np.array([[[1.0], [2.0]], [[-3.0], [5.0]]], dtype=np.float32)
    F = FeatureExtractor(["x"]).transform(X)
    np.testing.assert_allclose(F, reference_features(X), rtol=1e-6, atol=1e-7)
    f = dict(zip(STAT_NAMES, F[0]))
    assert (f["mean"], f["std"], f["p25"], f["p75"], f["iqr"]) == (1.5, 0.5, 1.25, 1.75, 0.5)
    assert f["skewness"] == 0.0 and f["kurtosis"] == -2.0  # scipy: 0 and -2


# -- edge cases ----------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.1, -3.7, 9.81, 1e6, -1e-30])
@pytest.mark.parametrize("window_size", [1, 2, 3, 120])
def test_constant_window(value, window_size):
    f = one_channel([value] * window_size)
    v = float(np.float32(value))
    assert f["std"] == 0.0
    assert f["skewness"] == 0.0  # convention: 0 when the variance is 0
    assert f["kurtosis"] == 0.0  # convention: 0 when the variance is 0
    assert f["iqr"] == 0.0
    assert f["min"] == f["max"] == f["p25"] == f["p75"] == v
    assert f["median"] == v and f["variance"] == 0.0
    # sequential float32 sums of w equal terms: relative error <= (w-1) u
    assert f["mean"] == pytest.approx(v, rel=window_size * 2.0**-24)
    assert f["sum"] == pytest.approx(v * window_size, rel=window_size * 2.0**-24)
    assert f["abs_mean"] == pytest.approx(abs(v), rel=window_size * 2.0**-24)


@pytest.mark.parametrize("value, window_size", [(0.1, 3), (0.7, 7), (1 / 3, 120)])
def test_constant_float64_window(value, window_size):
    # float64 input (accepted, promoted): np.mean of these windows is not
    # exactly `value`, so a naive x - mean(x) leaves m2 ~ 1e-34 and a
    # skewness of +-1. The extractor must still report a constant window.
    X = np.full((1, window_size, 1), value, dtype=np.float64)
    f = dict(zip(STAT_NAMES, FeatureExtractor(["x"]).transform(X)[0]))
    assert (f["std"], f["skewness"], f["kurtosis"]) == (0.0, 0.0, 0.0)


def test_window_of_one():
    f = one_channel([-2.5])
    assert f == {
        "mean": -2.5, "std": 0.0, "min": -2.5, "max": -2.5, "p25": -2.5,
        "p75": -2.5, "iqr": 0.0, "sum": -2.5, "skewness": 0.0, "kurtosis": 0.0,
        "variance": 0.0, "median": -2.5, "abs_mean": 2.5,
    }  # fmt: skip


def test_never_nan_or_inf():
    # Documented range: |x| <= 2**24 gives finite features (all families).
    rng = np.random.default_rng(1)
    for window_size in (1, 2, 3, 64):
        X = rng.normal(scale=1e3, size=(30, window_size, 6)).astype(np.float32)
        X[:5] = 7.0  # constant windows
        X[5:10, :, 0] = 0.0  # constant channel in varying windows
        X[10:12] = np.sign(X[10:12]) * 2.0**24  # largest documented magnitude, alternating
        X[12:14] *= 1e-38  # tiny (subnormal range)
        X[14:16] = np.round(X[14:16] * 30).clip(-32768, 32767)  # int16 counts
        F = FeatureExtractor(SIX, families=available_families()).transform(X)
        assert np.isfinite(F).all(), window_size


def test_far_out_of_range_input_is_an_error_not_inf():
    X = np.random.default_rng(9).normal(scale=1e30, size=(3, 16, 1)).astype(np.float32)
    with pytest.raises(DataError, match=r"overflow the float32 range.*Statistical\.std\[x\]"):
        FeatureExtractor(["x"]).transform(X)


def test_rows_are_independent_of_batch():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(6, 25, 6)).astype(np.float32)
    fx = FeatureExtractor(SIX)
    F = fx.transform(X)
    for i in range(len(X)):
        np.testing.assert_array_equal(fx.transform(X[i : i + 1])[0], F[i])
    assert fx.transform(X[:0]).shape == (0, F.shape[1])


def test_input_not_modified():
    X = np.random.default_rng(3).normal(size=(4, 10, 6)).astype(np.float32)
    before = X.copy()
    FeatureExtractor(SIX).transform(X)
    np.testing.assert_array_equal(X, before)


# -- magnitude -----------------------------------------------------------------


def test_magnitude_values():
    X = np.zeros((2, 3, 6), dtype=np.float32)
    X[0, :, 0:3] = [3.0, 4.0, 12.0]  # |(3, 4, 12)| = 13
    X[0, :, 3:6] = [1.0, 2.0, 2.0]  # |(1, 2, 2)| = 3
    X[1, :, 0:3] = [[3, 4, 0], [0, 0, 5], [-6, 0, -8]]  # 5, 5, 10
    fx = FeatureExtractor(SIX)
    F = fx.transform(X)
    col = {name: j for j, name in enumerate(fx.feature_names())}
    assert F[0, col["Statistical.mean[accMag]"]] == 13.0
    assert F[0, col["Statistical.std[accMag]"]] == 0.0
    assert F[0, col["Statistical.mean[gyrMag]"]] == 3.0
    assert F[1, col["Statistical.sum[accMag]"]] == 20.0
    assert F[1, col["Statistical.max[accMag]"]] == 10.0
    assert F[1, col["Statistical.min[gyrMag]"]] == 0.0


def test_magnitude_matches_loop():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(8, 30, 6)).astype(np.float32)
    fx = FeatureExtractor(SIX)
    F = fx.transform(X)
    names = fx.feature_names()
    for i in range(len(X)):
        for mag, idx in (("accMag", [0, 1, 2]), ("gyrMag", [3, 4, 5])):
            m = np.array([math.sqrt(sum(float(X[i, t, k]) ** 2 for k in idx)) for t in range(30)])
            assert F[i, names.index(f"Statistical.mean[{mag}]")] == pytest.approx(m.mean(), rel=1e-6)
            assert F[i, names.index(f"Statistical.kurtosis[{mag}]")] == pytest.approx(
                scipy.stats.kurtosis(m), rel=1e-5, abs=1e-6
            )


def test_magnitude_prefix_is_case_insensitive_and_optional():
    fx = FeatureExtractor(["ACC_x", "Acc_y", "acc_Z", "temp"])
    assert fx.output_channels() == ["ACC_x", "Acc_y", "acc_Z", "temp", "accMag"]
    assert fx.magnitude_sources() == {"accMag": ["ACC_x", "Acc_y", "acc_Z"]}
    assert FeatureExtractor(["gyrA", "gyrB", "gyrC"]).output_channels()[-1] == "gyrMag"
    assert FeatureExtractor(["x", "y"]).output_channels() == ["x", "y"]


def test_magnitude_needs_exactly_three_axes():
    with pytest.raises(ConfigError, match="exactly 3 channels.*'acc'.*found 2"):
        FeatureExtractor(["accX", "accY", "gyrX", "gyrY", "gyrZ"]).feature_names()
    # magnitude=False is the documented fix
    fx = FeatureExtractor(["accX", "accY"], magnitude=False)
    assert fx.output_channels() == ["accX", "accY"]


# -- names and order -------------------------------------------------------------


def test_feature_names_six_channels():
    fx = FeatureExtractor(SIX)
    names = fx.feature_names()
    channels = SIX + ["accMag", "gyrMag"]
    assert names == [f"Statistical.{g}[{ch}]" for g in STAT_NAMES for ch in channels]
    assert len(names) == 104 and len(set(names)) == 104
    assert names[:3] == ["Statistical.mean[accX]", "Statistical.mean[accY]", "Statistical.mean[accZ]"]
    assert names[7] == "Statistical.mean[gyrMag]"
    assert names[79] == "Statistical.kurtosis[gyrMag]"  # the first ten kept their indices
    assert names[-1] == "Statistical.abs_mean[gyrMag]"
    assert "Statistical.kurtosis[accMag]" in names
    assert len(FeatureExtractor(SIX, magnitude=False).feature_names()) == 78


def test_columns_follow_names():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(5, 16, 6)).astype(np.float32)
    fx = FeatureExtractor(SIX)
    F = fx.transform(X)
    names = fx.feature_names()
    assert F.shape == (5, len(names))
    for ch_i, ch in enumerate(SIX):
        np.testing.assert_array_equal(F[:, names.index(f"Statistical.max[{ch}]")], X[:, :, ch_i].max(axis=1))
        np.testing.assert_array_equal(F[:, names.index(f"Statistical.min[{ch}]")], X[:, :, ch_i].min(axis=1))


# -- registry ----------------------------------------------------------------------


def test_statistical_registry_order():
    assert "Statistical" in available_families()
    assert [g.name for g in get_generators("Statistical")] == STAT_NAMES


def test_new_family_plugs_in(monkeypatch):
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))

    @register_generator("TestRange", "range")
    def _range(block):
        return block.max - block.min

    X = np.array([[[1.0, 5.0], [3.0, -1.0]]], dtype=np.float32)
    fx = FeatureExtractor(["a", "b"], families=("TestRange", "Statistical"))
    names = fx.feature_names()
    assert names[:3] == ["TestRange.range[a]", "TestRange.range[b]", "Statistical.mean[a]"]
    F = fx.transform(X)
    np.testing.assert_array_equal(F[0, :3], [2.0, 6.0, 2.0])
    with pytest.raises(ValueError, match="already registered"):
        register_generator("TestRange", "range")(_range)
    with pytest.raises(ValueError, match="family 'Test Range'"):
        register_generator("Test Range", "range")  # no spaces: names are C identifiers


# -- scikit-learn conventions and input checks -----------------------------------


def test_sklearn_conventions():
    fx = FeatureExtractor(SIX, families=("Statistical",), magnitude=False)
    assert fx.get_params() == {
        "channels": SIX, "families": ("Statistical",), "magnitude": False,
        "sample_rate_hz": 100.0, "frequency_bands": 4, "sensors": None,
    }  # fmt: skip
    X = np.random.default_rng(6).normal(size=(3, 8, 6)).astype(np.float32)
    assert fx.fit(X) is fx
    np.testing.assert_array_equal(clone(fx).fit_transform(X), fx.transform(X))
    # the constructor validates nothing (scikit-learn convention) ...
    bad = FeatureExtractor(["x", "x"])
    # ... errors come when the extractor is used
    with pytest.raises(ConfigError, match="'channels'.*unique"):
        bad.feature_names()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"channels": "accX"}, "'channels'"),
        ({"channels": []}, "'channels'"),
        ({"channels": ["a[0]"]}, "'channels'"),
        ({"channels": ["x"], "families": "Statistical"}, "'families'"),
        ({"channels": ["x"], "families": ("Nope",)}, "'families'.*Statistical"),
        ({"channels": ["x"], "families": ("Statistical", "Statistical")}, "'families'"),
        ({"channels": ["x"], "magnitude": "yes"}, "'magnitude'"),
        ({"channels": ["x"], "sample_rate_hz": 0.0}, "'sample_rate_hz'"),
        ({"channels": ["x"], "sample_rate_hz": float("nan")}, "'sample_rate_hz'"),
        ({"channels": ["x"], "sample_rate_hz": "100"}, "'sample_rate_hz'"),
        ({"channels": ["x"], "frequency_bands": 0}, "'frequency_bands'"),
        ({"channels": ["x"], "frequency_bands": 2.0}, "'frequency_bands'"),
        ({"channels": ["x"], "families": ("ColumnFusion",)}, "'families'.*no feature"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        FeatureExtractor(**kwargs).transform(np.zeros((1, 4, 1), dtype=np.float32))


def test_bad_input():
    fx = FeatureExtractor(SIX)
    with pytest.raises(DataError, match="3-D"):
        fx.transform(np.zeros((10, 6), dtype=np.float32))
    with pytest.raises(DataError, match="has 5 channels.*6 channel names"):
        fx.transform(np.zeros((2, 10, 5), dtype=np.float32))
    with pytest.raises(DataError, match="window_size 0"):
        fx.transform(np.zeros((2, 0, 6), dtype=np.float32))
    X = np.zeros((4, 10, 6), dtype=np.float32)
    X[2, 3, 1] = np.nan
    X[3, 0, 0] = np.inf
    with pytest.raises(DataError, match="NaN or infinity in 2 of 4 windows.*first: window 2"):
        fx.transform(X)


def test_float32_overflow_is_reported():
    X = np.full((1, 4, 1), 3e38, dtype=np.float32)  # sum = 1.2e39 > float32 max
    first = r"\['Statistical\.mean\[x\]', 'Statistical\.sum\[x\]', 'Statistical\.abs_mean\[x\]'\]"
    with pytest.raises(DataError, match=r"3 feature\(s\) overflow the float32 range \(first: " + first + r"\) in 1 of 1"):
        FeatureExtractor(["x"]).transform(X)
    X64 = np.full((1, 4, 1), 1e39)  # float64 beyond float32: infinite once cast
    with pytest.raises(DataError, match="NaN or infinity"):
        FeatureExtractor(["x"]).transform(X64)
