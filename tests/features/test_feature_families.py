"""Shape, ColumnFusion, Area, RateOfChange and Frequency families; edge cases of
every generator; vectorised == per-window; compute_selected == transform.

Golden values come from computations independent of automl.features: hand
arithmetic (worked in comments), scipy.stats.linregress, numpy.fft.rfft,
numpy.corrcoef and numpy float64 loops. The extractor computes in float32 with
sequential sums, so comparisons with float64 use tolerances derived from the
float32 summation error bound: a sequential sum of w terms errs by at most
(w-1) u sum|t_i| (Higham, eq. 4.4), u = 2**-24; each tolerance below is
8 w u times the feature's natural scale (factor 8 for the few extra roundings).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from automl.errors import ConfigError
from automl.features import (
    FeatureExtractor,
    available_families,
    band_bins,
    get_generators,
)
from automl.features import _extractor

U = 2.0**-24
ALL = available_families()
FS = 100.52767  # the boxing data's rate: dt = 1/fs is not exact in float32
SIX = ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]


def features(X: np.ndarray, channels: list[str], fs: float = 100.0, bands: int = 4, **kw) -> dict[str, np.ndarray]:
    """{feature name: (n_windows,) float32} of all families."""
    fx = FeatureExtractor(channels, families=ALL, sample_rate_hz=fs, frequency_bands=bands, **kw)
    F = fx.transform(np.asarray(X, dtype=np.float32))
    return dict(zip(fx.feature_names(), F.T))


def one(values, fs: float = 100.0, bands: int = 4) -> dict[str, float]:
    """All per-channel features of one window of channel "x", as {family.generator: value}."""
    f = features(np.asarray(values, np.float32).reshape(1, -1, 1), ["x"], fs, bands)
    return {name[: -len("[x]")]: float(v[0]) for name, v in f.items()}


def pair(a, b) -> dict[str, float]:
    """ColumnFusion features of one window of the pair (accX, accY)."""
    X = np.stack([a, b], axis=1).astype(np.float32)[None]
    f = features(X, ["accX", "accY"], magnitude=False)
    return {name.split("[")[0]: float(v[0]) for name, v in f.items() if name.startswith("ColumnFusion")}


def random_windows(w: int, n: int = 30, c: int = 3, seed: int = 0) -> np.ndarray:
    """Fractional windows: plain noise, |mean| >> std, a trend plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, w, c))
    X[:, :, 1] = 9.81 + 0.05 * X[:, :, 1]
    X[:, :, 2] = 0.3 * X[:, :, 2] + np.linspace(-2, 5, w)[None, :] * rng.uniform(-1, 1, (n, 1))
    return X.astype(np.float32)


# -- hand-worked values --------------------------------------------------------------


def test_shape_hand_worked_regression():
    # x = [1, 3, 2, 6] on t = 0..3: tm = 1.5, u = (-1.5, -0.5, 0.5, 1.5), Stt = 5,
    # mean 3, c = (-2, 0, -1, 3), Sty = 3 + 0 - 0.5 + 4.5 = 7 -> slope 1.4;
    # intercept = 3 - 1.4*1.5 = 0.9; residuals (0.1, 0.7, -1.7, 0.9), SSE = 4.2,
    # stderr = sqrt(4.2 / 2 / 5) = sqrt(0.42) = 0.6480741 (= scipy linregress).
    f = one([1, 3, 2, 6])
    assert f["Shape.slope"] == pytest.approx(1.4, rel=4 * U)
    assert f["Shape.intercept"] == pytest.approx(0.9, rel=8 * U)
    assert f["Shape.stderr"] == pytest.approx(math.sqrt(0.42), rel=8 * U)
    assert (f["Shape.argmax"], f["Shape.argmin"]) == (3.0, 0.0)


def test_shape_hand_worked_crossings_and_peaks():
    # signs of [1, -1, 0, -2, 3] (0 is non-negative): + - + - + -> 4 zero crossings;
    # mean 0.2: above/below  A B B B A -> 2 mean crossings; x=0 at i=2 is a local
    # maximum but below the mean -> 0 peaks.
    f = one([1, -1, 0, -2, 3])
    assert (f["Shape.zero_crossings"], f["Shape.mean_crossings"], f["Shape.peak_count"]) == (4, 2, 0)
    # [0, 5, 1, 3, 1, 0.5, 2, 2, 0]: mean 14.5/9 = 1.61; strict local maxima at
    # i=1 (5) and i=3 (3), both above the mean; the plateau 2, 2 is no peak.
    # argmax 1; the minimum 0 first occurs at i=0.
    f = one([0, 5, 1, 3, 1, 0.5, 2, 2, 0])
    assert f["Shape.peak_count"] == 2
    assert (f["Shape.argmax"], f["Shape.argmin"]) == (1.0, 0.0)
    assert f["Shape.zero_crossings"] == 0
    # below the mean: T F T F T T F F T -> changes at i = 1, 2, 3, 4, 6, 8: 6
    assert f["Shape.mean_crossings"] == 6


def test_frequency_hand_worked():
    # x = [1, 0, -1, 0], fs = 100: mean 0, bin 1: re = 1*1 + (-1)*(-1) = 2,
    # im = 0 -> P1 = 4; bin 2: re = 1 - 1 = 0 -> P2 = 0. Dominant = 1 * 100/4 = 25 Hz.
    # 4 bands over bins 1..2: [1,1) [1,2) [2,2) [2,3) -> energies 0, 4, 0, 0.
    f = one([1, 0, -1, 0])
    assert f["Frequency.dominant_freq"] == 25.0
    assert [f[f"Frequency.band_energy_{b}of4"] for b in range(4)] == [0.0, 4.0, 0.0, 0.0]
    assert band_bins(4, 4) == ((1, 1), (1, 2), (2, 2), (2, 3))
    # 2 bands: [1, 2), [2, 3)
    f = one([1, 0, -1, 0], bands=2)
    assert (f["Frequency.band_energy_0of2"], f["Frequency.band_energy_1of2"]) == (4.0, 0.0)


def test_area_and_rate_of_change_hand_worked():
    # x = [1, -2, 4], dt = float32(1/fs): sum 3, sum|x| = 7; mean 1, |x - mean| = 0, 3, 3 -> 6.
    # differences -3, 6 -> mean 1.5, std |6 - (-3)| / 2 = 4.5, max 6, min -3.
    f = one([1, -2, 4], fs=FS)
    dt = np.float32(1.0 / FS)
    assert f["Area.total_area"] == np.float32(3.0) * dt
    assert f["Area.abs_area"] == np.float32(7.0) * dt
    assert f["Area.abs_area_dc"] == np.float32(6.0) * dt
    assert (f["RateOfChange.mean"], f["RateOfChange.std"]) == (1.5, 4.5)
    assert (f["RateOfChange.max"], f["RateOfChange.min"]) == (6.0, -3.0)


def test_column_fusion_hand_worked():
    # a = [1, 2, 3, 4], b = [2, 0, 1, 5]: e = a - b = (-1, 2, 2, -1): mean 0.5, range 3.
    # ca = (-1.5, -0.5, 0.5, 1.5), cb = (0, -2, -1, 3): Sab = 0 + 1 - 0.5 + 4.5 = 5,
    # Saa = 5, Sbb = 14 -> r = 5 / sqrt(70) = 0.5976143.
    f = pair([1, 2, 3, 4], [2, 0, 1, 5])
    assert f["ColumnFusion.mean_diff"] == 0.5
    assert f["ColumnFusion.range_diff"] == 3.0
    assert f["ColumnFusion.correlation"] == pytest.approx(5 / math.sqrt(70), rel=8 * U)
    assert pair([1, 2, 3], [3, 5, 7])["ColumnFusion.correlation"] == 1.0  # clamped, exact
    assert pair([1, 2, 3], [7, 5, 3])["ColumnFusion.correlation"] == -1.0


# -- edge cases of every generator ---------------------------------------------------

# Expected values of every per-channel generator (fs = 100 Hz, 4 bands).
# n = 1, x = [-2.5]: nothing varies; RateOfChange and Frequency have nothing to
# measure -> 0. Area uses dt = float32(0.01).
DT = float(np.float32(0.01))
EDGE_ONE = {
    "Statistical.mean": -2.5, "Statistical.std": 0.0, "Statistical.min": -2.5, "Statistical.max": -2.5,
    "Statistical.p25": -2.5, "Statistical.p75": -2.5, "Statistical.iqr": 0.0, "Statistical.sum": -2.5,
    "Statistical.skewness": 0.0, "Statistical.kurtosis": 0.0, "Statistical.variance": 0.0,
    "Statistical.median": -2.5, "Statistical.abs_mean": 2.5,
    "Shape.slope": 0.0, "Shape.intercept": -2.5, "Shape.stderr": 0.0, "Shape.zero_crossings": 0.0,
    "Shape.mean_crossings": 0.0, "Shape.peak_count": 0.0, "Shape.argmax": 0.0, "Shape.argmin": 0.0,
    "Area.total_area": float(np.float32(-2.5) * np.float32(0.01)),
    "Area.abs_area": float(np.float32(2.5) * np.float32(0.01)), "Area.abs_area_dc": 0.0,
    "RateOfChange.mean": 0.0, "RateOfChange.std": 0.0, "RateOfChange.max": 0.0, "RateOfChange.min": 0.0,
    "Frequency.dominant_freq": 0.0, "Frequency.band_energy_0of4": 0.0, "Frequency.band_energy_1of4": 0.0,
    "Frequency.band_energy_2of4": 0.0, "Frequency.band_energy_3of4": 0.0,
}  # fmt: skip
# n = 2, x = [1, 4]: mean 2.5, c = (-1.5, 1.5), m2 = 2.25, m3 = 0, m4 = 5.0625 ->
# skewness 0, kurtosis 5.0625/5.0625 - 3 = -2; p25 = 1 + 0.25*3, p75 = 1 + 0.75*3;
# line through both points: slope 3, intercept 1, stderr 0 (n <= 2); one mean
# crossing; no peak (n < 3); one difference 3 -> std 0. DFT: K = 1, cos table
# (1, -1), sin table (0, 0): re = -1.5 - 1.5 = -3 -> P1 = 9 at 1 * 100/2 = 50 Hz;
# 4 bands over bin 1: only the last band [1, 2) holds it.
EDGE_TWO = {
    "Statistical.mean": 2.5, "Statistical.std": 1.5, "Statistical.min": 1.0, "Statistical.max": 4.0,
    "Statistical.p25": 1.75, "Statistical.p75": 3.25, "Statistical.iqr": 1.5, "Statistical.sum": 5.0,
    "Statistical.skewness": 0.0, "Statistical.kurtosis": -2.0, "Statistical.variance": 2.25,
    "Statistical.median": 2.5, "Statistical.abs_mean": 2.5,
    "Shape.slope": 3.0, "Shape.intercept": 1.0, "Shape.stderr": 0.0, "Shape.zero_crossings": 0.0,
    "Shape.mean_crossings": 1.0, "Shape.peak_count": 0.0, "Shape.argmax": 1.0, "Shape.argmin": 0.0,
    "Area.total_area": float(np.float32(5.0) * np.float32(0.01)),
    "Area.abs_area": float(np.float32(5.0) * np.float32(0.01)),
    "Area.abs_area_dc": float(np.float32(3.0) * np.float32(0.01)),
    "RateOfChange.mean": 3.0, "RateOfChange.std": 0.0, "RateOfChange.max": 3.0, "RateOfChange.min": 3.0,
    "Frequency.dominant_freq": 50.0, "Frequency.band_energy_0of4": 0.0, "Frequency.band_energy_1of4": 0.0,
    "Frequency.band_energy_2of4": 0.0, "Frequency.band_energy_3of4": 9.0,
}  # fmt: skip


def test_edge_tables_cover_every_generator():
    fx = FeatureExtractor(["x"], families=ALL, magnitude=False)
    per_channel = {n[: -len("[x]")] for n in fx.feature_names()}
    assert per_channel == set(EDGE_ONE) == set(EDGE_TWO)
    pairs = {g.name for g in get_generators("ColumnFusion")}
    assert pairs == {"mean_diff", "range_diff", "correlation"}


@pytest.mark.parametrize("values, expected", [([-2.5], EDGE_ONE), ([1.0, 4.0], EDGE_TWO)], ids=["n1", "n2"])
def test_short_windows_exact(values, expected):
    assert one(values) == expected


def test_short_windows_pairs():
    # n = 1: e = -3.5, nothing varies -> range 0, correlation 0
    assert pair([-2.5], [1.0]) == {
        "ColumnFusion.mean_diff": -3.5, "ColumnFusion.range_diff": 0.0, "ColumnFusion.correlation": 0.0,
    }  # fmt: skip
    # n = 2: a = [1, 4], b = [2, 0]: e = (-1, 4) -> mean 1.5, range 5; ca = (-1.5, 1.5), cb = (1, -1) -> r = -1
    assert pair([1.0, 4.0], [2.0, 0.0]) == {
        "ColumnFusion.mean_diff": 1.5, "ColumnFusion.range_diff": 5.0, "ColumnFusion.correlation": -1.0,
    }  # fmt: skip


# Features that are exactly 0 on any constant window (whatever the value and length).
ZERO_ON_CONSTANT = [
    "Statistical.std", "Statistical.iqr", "Statistical.skewness", "Statistical.kurtosis",
    "Statistical.variance", "Shape.slope", "Shape.stderr", "Shape.zero_crossings", "Shape.mean_crossings",
    "Shape.peak_count", "Shape.argmax", "Shape.argmin", "Area.abs_area_dc", "RateOfChange.mean",
    "RateOfChange.std", "RateOfChange.max", "RateOfChange.min", "Frequency.dominant_freq",
    "Frequency.band_energy_0of4", "Frequency.band_energy_1of4", "Frequency.band_energy_2of4",
    "Frequency.band_energy_3of4",
]  # fmt: skip


@pytest.mark.parametrize("value", [0.1, -3.7, 9.81, -32768.0, 1e-30])
@pytest.mark.parametrize("w", [1, 2, 3, 8, 120])
def test_constant_windows(value, w):
    # 0.1 etc. have no exact float32 mean: the mean-removed samples must still be 0.
    f = one([value] * w)
    v = float(np.float32(value))
    for name in ZERO_ON_CONSTANT:
        assert f[name] == 0.0, name
    for name in ("min", "max", "p25", "p75", "median"):
        assert f[f"Statistical.{name}"] == v
    # sequential float32 sums of w equal terms: relative error <= (w-1) u
    assert f["Statistical.mean"] == pytest.approx(v, rel=w * U)
    assert f["Shape.intercept"] == f["Statistical.mean"]  # slope 0
    assert f["Area.total_area"] == pytest.approx(v * w * float(np.float32(0.01)), rel=(w + 2) * U)
    f2 = pair([value] * w, [value / 2 - 1] * w)
    assert f2["ColumnFusion.correlation"] == 0.0 and f2["ColumnFusion.range_diff"] == 0.0


def test_no_nan_or_inf_any_shape():
    rng = np.random.default_rng(3)
    for w in (1, 2, 3, 4, 5, 17):
        X = rng.normal(scale=100.0, size=(20, w, 6)).astype(np.float32)
        X[:4] = 7.0
        X[4:8, :, 1] = 0.0
        X[8:10] = np.round(X[8:10] * 300).clip(-32768, 32767)
        X[10:12] *= np.float32(1e-40)  # subnormal
        X[12:14] = np.sign(X[12:14]) * np.float32(2.0**24)
        for f in features(X, SIX, fs=FS).values():
            assert np.isfinite(f).all()


# -- against independent float64 computations ----------------------------------------


@pytest.mark.parametrize("w", [3, 4, 9, 50, 120])
def test_shape_matches_linregress_and_loops(w):
    X = random_windows(w, seed=w)
    f = features(X, ["a", "b", "c"], magnitude=False)
    for i in range(len(X)):
        for ch in range(3):
            x = X[i, :, ch].astype(np.float64)
            name = "abc"[ch]
            c = x - x.mean()
            mx, mc = np.abs(x).max(), np.abs(c).max()
            t = np.arange(w)
            lr = scipy.stats.linregress(t, x)
            stt = ((t - t.mean()) ** 2).sum()
            # slope error <= 3 u max|c| per rounding step (|Sty| <= w^2/4 max|c|, Stt ~ w^3/12)
            assert abs(f[f"Shape.slope[{name}]"][i] - lr.slope) <= 8 * w * U * 4 * mc / w
            assert abs(f[f"Shape.intercept[{name}]"][i] - lr.intercept) <= 8 * w * U * (mx + 2 * mc)
            assert abs(f[f"Shape.stderr[{name}]"][i] - lr.stderr) <= 8 * w * U * (lr.stderr + 2 * mc / math.sqrt(stt))
            neg = x < 0
            assert f[f"Shape.zero_crossings[{name}]"][i] == np.count_nonzero(neg[1:] != neg[:-1])
            below = x < x.mean()
            assert f[f"Shape.mean_crossings[{name}]"][i] == np.count_nonzero(below[1:] != below[:-1])
            peaks = sum(1 for k in range(1, w - 1) if x[k] > x[k - 1] and x[k] > x[k + 1] and x[k] > x.mean())
            assert f[f"Shape.peak_count[{name}]"][i] == peaks
            assert f[f"Shape.argmax[{name}]"][i] == int(np.argmax(x))
            assert f[f"Shape.argmin[{name}]"][i] == int(np.argmin(x))


@pytest.mark.parametrize("w", [2, 5, 50, 120])
def test_area_and_rate_of_change_match_float64(w):
    X = random_windows(w, seed=10 + w)
    f = features(X, ["a", "b", "c"], fs=FS, magnitude=False)
    dt = 1.0 / FS
    for i in range(len(X)):
        for ch, name in enumerate("abc"):
            x = X[i, :, ch].astype(np.float64)
            mx = np.abs(x).max()
            c = x - x.mean()
            # sums of w terms: error <= w u * w max|term|, times dt (+ dt's own rounding)
            tol = 8 * w * U * w * mx * dt
            assert abs(f[f"Area.total_area[{name}]"][i] - x.sum() * dt) <= tol
            assert abs(f[f"Area.abs_area[{name}]"][i] - np.abs(x).sum() * dt) <= tol
            assert abs(f[f"Area.abs_area_dc[{name}]"][i] - np.abs(c).sum() * dt) <= tol
            r = np.diff(x)
            mr = np.abs(r).max() + 2 * U * mx  # each float32 difference is rounded once
            assert abs(f[f"RateOfChange.mean[{name}]"][i] - r.mean()) <= 8 * w * U * mr
            assert abs(f[f"RateOfChange.std[{name}]"][i] - r.std()) <= 8 * w * U * mr
            assert abs(f[f"RateOfChange.max[{name}]"][i] - r.max()) <= 2 * U * mr
            assert abs(f[f"RateOfChange.min[{name}]"][i] - r.min()) <= 2 * U * mr


@pytest.mark.parametrize("w", [3, 8, 50, 120])
def test_column_fusion_matches_float64(w):
    rng = np.random.default_rng(w)
    X = rng.normal(size=(25, w, 3))
    X[:, :, 1] = 0.6 * X[:, :, 0] + 0.8 * X[:, :, 1] + 9.81  # correlated, offset
    X[:, :, 2] = -X[:, :, 0] + 0.01 * X[:, :, 2]  # nearly anti-correlated
    X = X.astype(np.float32)
    f = features(X, ["accX", "accY", "accZ"], magnitude=False)
    for i in range(len(X)):
        for a, b in [(0, 1), (0, 2), (1, 2)]:
            name = f"[acc{'XYZ'[a]}-acc{'XYZ'[b]}]"
            xa, xb = X[i, :, a].astype(np.float64), X[i, :, b].astype(np.float64)
            e = xa - xb
            me = np.abs(e).max() + 2 * U * max(np.abs(xa).max(), np.abs(xb).max())
            assert abs(f["ColumnFusion.mean_diff" + name][i] - e.mean()) <= 8 * w * U * me
            assert abs(f["ColumnFusion.range_diff" + name][i] - np.ptp(e)) <= 4 * U * me
            # |Sab| <= sqrt(Saa Sbb) (Cauchy-Schwarz), so r's error is a few w u
            r = np.corrcoef(xa, xb)[0, 1]
            assert abs(f["ColumnFusion.correlation" + name][i] - r) <= 8 * w * U


@pytest.mark.parametrize("w, bands", [(8, 4), (50, 3), (120, 4), (121, 5)])
def test_frequency_matches_rfft(w, bands):
    rng = np.random.default_rng(w)
    n = 20
    k0 = rng.integers(1, w // 2 + 1, size=n)  # a tone at an exact bin
    t = np.arange(w)
    X = (3.0 * np.cos(2 * np.pi * k0[:, None] * t / w + rng.uniform(0, 6, (n, 1)))
         + 0.2 * rng.normal(size=(n, w)) + 5.0)[:, :, None].astype(np.float32)
    f = features(X, ["x"], fs=FS, bands=bands)
    edges = band_bins(w, bands)
    K = w // 2
    for i in range(n):
        x = X[i, :, 0].astype(np.float64)
        P = np.abs(np.fft.rfft(x - x.mean())) ** 2  # P[k] for k = 0..K
        E = P[1:].sum()
        # |re_k| error <= w u sum|c| <= w u sqrt(w sum c^2) (w u sqrt(E_tot) with E_tot = w sum c^2
        # >= E); summed over a band with Cauchy-Schwarz: <= 4 w u sqrt(K) E_tot.
        tol = 8 * w * U * math.sqrt(K) * w * (x - x.mean()) @ (x - x.mean())
        for b, (lo, hi) in enumerate(edges):
            assert abs(f[f"Frequency.band_energy_{b}of{bands}[x]"][i] - P[lo:hi].sum()) <= tol
        total = sum(f[f"Frequency.band_energy_{b}of{bands}[x]"][i] for b in range(bands))
        assert total == pytest.approx(E, rel=1e-4)
        k_ref = int(np.argmax(P[1:])) + 1
        assert f["Frequency.dominant_freq[x]"][i] == pytest.approx(k_ref * FS / w, rel=4 * U)
        assert k_ref == k0[i] or w == 8  # the tone dominates (w = 8: noise may tie)


# -- magnitude twin ------------------------------------------------------------------


def test_magnitude_is_float32_twin():
    rng = np.random.default_rng(8)
    X = rng.normal(scale=1000.0, size=(10, 20, 6)).astype(np.float32)
    fx = FeatureExtractor(SIX, families=("Statistical",))
    f = dict(zip(fx.feature_names(), fx.transform(X).T))
    x, y, z = X[:, :, 0], X[:, :, 1], X[:, :, 2]
    mag32 = np.sqrt((x * x + y * y) + z * z)  # float32 all along
    mag64 = np.sqrt((X[:, :, :3].astype(np.float64) ** 2).sum(axis=2))
    np.testing.assert_allclose(mag32, mag64, rtol=3 * U)  # three roundings + sqrt
    assert (f["Statistical.max[accMag]"] == mag32.max(axis=1)).all()
    assert (f["Statistical.min[accMag]"] == mag32.min(axis=1)).all()


# -- vectorised == per window; compute_selected == transform -------------------------------


def test_vectorised_equals_per_window_loop(monkeypatch):
    rng = np.random.default_rng(11)
    X = rng.normal(scale=50.0, size=(12, 33, 6)).astype(np.float32)
    X[3] = 1.5
    fx = FeatureExtractor(SIX, families=ALL, sample_rate_hz=FS, frequency_bands=3)
    F = fx.transform(X)
    loop = np.stack([fx.transform(X[i : i + 1])[0] for i in range(len(X))])
    assert (F.view(np.uint32) == loop.view(np.uint32)).all()
    # blocks of windows do not change a bit either
    monkeypatch.setattr(_extractor, "_BLOCK_ELEMENTS", 33 * 8 * 5)  # 5 windows per block
    assert (fx.transform(X).view(np.uint32) == F.view(np.uint32)).all()


def test_compute_selected_equals_transform_columns(monkeypatch):
    rng = np.random.default_rng(12)
    X = np.round(rng.normal(scale=2000.0, size=(40, 60, 6))).astype(np.float32)
    fx = FeatureExtractor(SIX, families=ALL, sample_rate_hz=FS)
    F = fx.transform(X)
    names = fx.feature_names()
    for trial in range(5):
        idx = rng.choice(len(names), size=rng.integers(1, 25), replace=True)
        G = fx.compute_selected(X, [names[j] for j in idx])
        assert G.shape == (40, len(idx))
        assert (G.view(np.uint32) == F[:, idx].view(np.uint32)).all(), trial
    # only the magnitudes a selected feature uses are computed (what the firmware does)
    calls = []
    real = _extractor.magnitude
    monkeypatch.setattr(_extractor, "magnitude", lambda T, m: calls.append(m.name) or real(T, m))
    G = fx.compute_selected(X, ["Shape.slope[gyrMag]", "ColumnFusion.correlation[accX-accZ]"])
    assert calls == ["gyrMag"]
    assert (G.view(np.uint32) == F[:, [names.index("Shape.slope[gyrMag]"),
                                       names.index("ColumnFusion.correlation[accX-accZ]")]].view(np.uint32)).all()
    assert fx.compute_selected(X, []).shape == (40, 0)


def test_compute_selected_rejects_unknown_names():
    fx = FeatureExtractor(SIX, families=("Statistical", "Frequency"), frequency_bands=4)
    with pytest.raises(ConfigError, match=r"1 of 2 feature names.*band_energy_0of3"):
        fx.compute_selected(np.zeros((2, 8, 6), np.float32),
                            ["Statistical.mean[accX]", "Frequency.band_energy_0of3[accX]"])
    with pytest.raises(ConfigError, match="sequence of feature names"):
        fx.compute_selected(np.zeros((2, 8, 6), np.float32), "Statistical.mean[accX]")


# -- names, pairs and registry metadata -------------------------------------------------


def test_names_and_pairs_in_channel_order():
    boxing = ["accZ", "accY", "accX", "gyrZ", "gyrY", "gyrX"]
    fx = FeatureExtractor(boxing, families=ALL)
    assert fx.channel_pairs() == [("accZ", "accY"), ("accZ", "accX"), ("accY", "accX"),
                                  ("gyrZ", "gyrY"), ("gyrZ", "gyrX"), ("gyrY", "gyrX")]
    names = fx.feature_names()
    assert len(names) == len(set(names)) == 13 * 8 + 8 * 8 + 3 * 6 + 3 * 8 + 4 * 8 + 5 * 8
    fusion = [n for n in names if n.startswith("ColumnFusion.")]
    assert fusion[:3] == ["ColumnFusion.mean_diff[accZ-accY]", "ColumnFusion.mean_diff[accZ-accX]",
                          "ColumnFusion.mean_diff[accY-accX]"]
    assert "Frequency.band_energy_3of4[gyrMag]" in names and names[-1] == "Frequency.band_energy_3of4[gyrMag]"
    # family order follows `families`, no spaces in names
    fx2 = FeatureExtractor(SIX, families=("Frequency", "Statistical"), frequency_bands=2)
    assert fx2.feature_names()[:2] == ["Frequency.dominant_freq[accX]", "Frequency.dominant_freq[accY]"]
    assert all(" " not in n for n in names)
    # unpaired channels and sensors with two axes
    fx3 = FeatureExtractor(["accX", "accY", "temp"], families=("ColumnFusion",), magnitude=False)
    assert fx3.feature_names() == ["ColumnFusion.mean_diff[accX-accY]", "ColumnFusion.range_diff[accX-accY]",
                                   "ColumnFusion.correlation[accX-accY]"]


def test_registry_metadata():
    gens = {f"{g.family}.{g.name}": g for fam in ALL for g in get_generators(fam)}
    assert ALL == ("Statistical", "Shape", "ColumnFusion", "Area", "RateOfChange", "Frequency")
    assert {k for k, g in gens.items() if g.needs_sorted} == {
        "Statistical.p25", "Statistical.p75", "Statistical.iqr", "Statistical.median"}
    assert {k for k, g in gens.items() if g.needs_scratch} == {k for k, g in gens.items() if g.needs_sorted}
    assert {k for k, g in gens.items() if g.needs_dt} == {"Area.total_area", "Area.abs_area", "Area.abs_area_dc"}
    assert {k for k, g in gens.items() if g.needs_dft_tables} == {"Frequency.dominant_freq", "Frequency.band_energy"}
    assert {k for k, g in gens.items() if g.needs_sample_rate} == {"Frequency.dominant_freq"}
    assert {k for k, g in gens.items() if g.kind == "pair"} == {
        "ColumnFusion.mean_diff", "ColumnFusion.range_diff", "ColumnFusion.correlation"}
    assert gens["RateOfChange.std"].c_function == "kp_rateofchange_std"
    assert gens["ColumnFusion.correlation"].c_function == "kp_columnfusion_correlation"
    fx = FeatureExtractor(SIX, families=ALL, frequency_bands=3)
    spec = {s.name: s for s in fx.feature_specs()}
    s = spec["Frequency.band_energy_2of3[gyrMag]"]
    assert (s.output, s.channel, s.sources, s.c_args) == (2, "gyrMag", (7,), ("cos_table", "sin_table", 2, 3))
    s = spec["ColumnFusion.range_diff[gyrX-gyrZ]"]
    assert (s.sources, s.c_args, s.generator.c_function) == ((3, 5), (), "kp_columnfusion_range_diff")
    assert spec["Statistical.median[accY]"].c_args == ("scratch",)
