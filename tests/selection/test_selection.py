"""TreeSelector and MinMaxUint8Scaler."""

from __future__ import annotations

import math
import struct
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from automl.errors import ConfigError, DataError
from automl.selection import MinMaxUint8Scaler, TreeSelector


def informative_data(n: int = 200, n_features: int = 20, informative: int = 13, seed: int = 0):
    """Noise features plus one column that separates the two classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    F = rng.normal(size=(n, n_features)).astype(np.float32)
    F[:, informative] += 4.0 * y
    return F, y


# -- TreeSelector ------------------------------------------------------------


def test_picks_informative_feature_over_noise():
    F, y = informative_data()
    sel = TreeSelector(k=3).fit(F, y)
    assert sel.selected_[0] == 13
    assert sel.selected_.dtype == np.int64 and sel.selected_.shape == (3,)
    assert sel.k_ == 3 and sel.n_features_in_ == 20
    assert sel.importances_.shape == (3,)
    assert np.all(np.diff(sel.importances_) <= 0)  # decreasing importance
    np.testing.assert_array_equal(sel.importances_, sel.feature_importances_[sel.selected_])
    assert sel.feature_importances_.sum() == pytest.approx(1.0)
    assert sel.importances_[0] > 3 * sel.importances_[1]


def test_from_importances_equals_fit():
    F, y = informative_data()
    full = TreeSelector(k=20, n_estimators=30, random_state=4).fit(F, y)
    for k in (1, 5, 25):
        fitted = TreeSelector(k=k, n_estimators=30, random_state=4).fit(F, y)
        rebuilt = TreeSelector.from_importances(full.feature_importances_, k=k, n_estimators=30, random_state=4)
        np.testing.assert_array_equal(rebuilt.selected_, fitted.selected_)
        np.testing.assert_array_equal(rebuilt.importances_, fitted.importances_)
        assert (rebuilt.k_, rebuilt.n_features_in_) == (fitted.k_, 20)
        np.testing.assert_array_equal(rebuilt.transform(F), fitted.transform(F))
    with pytest.raises(DataError, match="finite"):
        TreeSelector.from_importances(np.array([0.5, np.nan]), k=1)
    with pytest.raises(ConfigError, match="'k'"):
        TreeSelector.from_importances(full.feature_importances_, k=0)


def test_transform_keeps_selected_columns_in_order():
    F, y = informative_data()
    sel = TreeSelector(k=4).fit(F, y)
    out = sel.transform(F)
    assert out.dtype == np.float32 and out.shape == (200, 4)
    for i, j in enumerate(sel.selected_):
        np.testing.assert_array_equal(out[:, i], F[:, j])


def test_ties_broken_by_lower_index():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 30)
    F = np.zeros((60, 5), dtype=np.float32)  # constant columns: importance exactly 0
    F[:, 3] = y + rng.normal(scale=0.1, size=60)
    sel = TreeSelector(k=3).fit(F, y)
    np.testing.assert_array_equal(sel.selected_, [3, 0, 1])
    np.testing.assert_array_equal(sel.importances_, [1.0, 0.0, 0.0])
    # one class only: every importance is 0, so the order is the index order
    sel = TreeSelector(k=2).fit(F, np.zeros(60, dtype=int))
    np.testing.assert_array_equal(sel.selected_, [0, 1])


def test_k_larger_than_n_features_is_clipped():
    F, y = informative_data(n_features=5, informative=2)
    sel = TreeSelector(k=50).fit(F, y)
    assert sel.k_ == 5
    assert sorted(sel.selected_.tolist()) == [0, 1, 2, 3, 4]
    assert sel.selected_[0] == 2
    assert sel.transform(F).shape == (200, 5)


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3", None])
def test_bad_k(k):
    F, y = informative_data()
    with pytest.raises(ConfigError, match=r"'k' parameter of TreeSelector must be an int >= 1"):
        TreeSelector(k=k).fit(F, y)


def test_bad_n_estimators():
    F, y = informative_data()
    with pytest.raises(ConfigError, match="'n_estimators'"):
        TreeSelector(k=2, n_estimators=0).fit(F, y)


def test_deterministic_for_a_seed():
    F, y = informative_data()
    a = TreeSelector(k=5, random_state=7).fit(F, y)
    b = TreeSelector(k=5, random_state=7).fit(F.copy(), y.copy())
    np.testing.assert_array_equal(a.selected_, b.selected_)
    np.testing.assert_array_equal(a.importances_, b.importances_)


def test_fitted_only_on_what_is_passed():
    # Training fold: feature 0 separates the classes. Held-out fold: feature 1
    # does, feature 0 is noise. Fitted on the training fold, the selector must
    # rank feature 0 first, and nothing done with the held-out fold changes it.
    rng = np.random.default_rng(2)
    y_train = np.repeat([0, 1], 100)
    F_train = rng.normal(size=(200, 6)).astype(np.float32)
    F_train[:, 0] += 5.0 * y_train
    y_test = np.repeat([0, 1], 400)
    F_test = rng.normal(size=(800, 6)).astype(np.float32)
    F_test[:, 1] += 5.0 * y_test

    sel = TreeSelector(k=2).fit(F_train, y_train)
    assert sel.selected_[0] == 0
    selected, importances = sel.selected_.copy(), sel.importances_.copy()
    sel.transform(F_test)
    np.testing.assert_array_equal(sel.selected_, selected)
    np.testing.assert_array_equal(sel.importances_, importances)

    # Same answer as a fresh selector that only ever saw a copy of the
    # training fold; the pooled data would rank differently.
    fresh = TreeSelector(k=2).fit(F_train.copy(), y_train.copy())
    np.testing.assert_array_equal(fresh.selected_, selected)
    pooled = TreeSelector(k=2).fit(np.vstack([F_train, F_test]), np.concatenate([y_train, y_test]))
    assert pooled.selected_[0] == 1


def test_selector_input_checks():
    F, y = informative_data()
    with pytest.raises(NotFittedError):
        TreeSelector(k=2).transform(F)
    with pytest.raises(DataError, match="inconsistent numbers of samples: F has 200 windows, y has 199"):
        TreeSelector(k=2).fit(F, y[:-1])
    with pytest.raises(DataError, match="y of shape"):
        TreeSelector(k=2).fit(F, y.reshape(-1, 1))
    with pytest.raises(DataError, match="shape"):
        TreeSelector(k=2).fit(F[:, :, None], y)
    sel = TreeSelector(k=2).fit(F, y)
    with pytest.raises(DataError, match="F has 19 features, but TreeSelector is expecting 20"):
        sel.transform(F[:, :19])
    bad = F.copy()
    bad[5, 2] = np.nan
    with pytest.raises(DataError, match="NaN or infinity"):
        TreeSelector(k=2).fit(bad, y)


def test_selector_sklearn_conventions():
    sel = TreeSelector(k=3, n_estimators=10, random_state=1)
    assert sel.get_params() == {"k": 3, "n_estimators": 10, "random_state": 1}
    assert not hasattr(sel, "selected_")
    F, y = informative_data()
    assert sel.fit(F, y) is sel
    np.testing.assert_array_equal(clone(sel).fit_transform(F, y), sel.transform(F))


# -- MinMaxUint8Scaler ---------------------------------------------------------------


def f32(x: float) -> float:
    """Round a Python float (binary64) to the nearest binary32, as a float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def reference_scale(x: float, lo: float, hi: float) -> int:
    """The documented C expression, one binary32 rounding per operation.

    Each +, -, *, / is done in binary64 on binary32 operands and rounded to
    binary32; binary64 has more than 2*24+2 bits, so this equals the IEEE
    binary32 operation (no double-rounding error).
    """
    if hi == lo:
        return 0
    t = f32(f32(x - lo) / f32(hi - lo))
    v = f32(t * 255.0)
    r = math.floor(f32(v + 0.5))
    return 0 if r <= 0 else 255 if r >= 255 else int(r)


def test_scaler_hand_worked():
    train = np.array([[0.0, -1.0, 5.0], [10.0, 1.0, 5.0], [4.0, 0.0, 5.0]], dtype=np.float32)
    s = MinMaxUint8Scaler().fit(train)
    np.testing.assert_array_equal(s.min_, [0.0, -1.0, 5.0])
    np.testing.assert_array_equal(s.max_, [10.0, 1.0, 5.0])
    assert s.min_.dtype == np.float32 and s.max_.dtype == np.float32
    test = np.array(
        [
            [-1.0, -2.0, 5.0],  # below range -> 0 ; -127.5 -> floor(-127.0) -> clip 0 ; constant -> 0
            [0.0, -1.0, 4.0],  # 0 ; 0 ; constant -> 0 even below the training value
            [2.0, 0.0, 6.0],  # 0.2*255 = 51 -> floor(51.5) = 51 ; 0.5*255 = 127.5 -> 128 ; 0
            [5.0, 0.5, 5.0],  # 127.5 -> 128 ; 0.75*255 = 191.25 -> 191 ; 0
            [10.0, 1.0, 1e30],  # 255 ; 255 ; 0
            [12.0, 3.0, -1e30],  # 306 -> clip 255 ; 510 -> clip 255 ; 0
        ],
        dtype=np.float32,
    )
    q = s.transform(test)
    assert q.dtype == np.uint8 and q.shape == (6, 3)
    np.testing.assert_array_equal(
        q, [[0, 0, 0], [0, 0, 0], [51, 128, 0], [128, 191, 0], [255, 255, 0], [255, 255, 0]]
    )


def test_scaler_half_rounds_up_in_float32():
    s = MinMaxUint8Scaler().fit(np.array([[0.0], [255.0]], dtype=np.float32))
    # 127.5/255 = 0.5 exactly -> v = 127.5 -> floor(128.0) = 128
    # x = 0.49999997f: t*255 = 0.49999997f, and 0.49999997f + 0.5f rounds to
    # 1.0f in binary32, so the documented expression gives 1 (not 0).
    x = np.array([[127.5], [np.nextafter(np.float32(0.5), np.float32(0))], [0.25]], dtype=np.float32)
    np.testing.assert_array_equal(s.transform(x).ravel(), [128, 1, 0])


def test_scaler_matches_binary32_reference():
    rng = np.random.default_rng(3)
    train = (rng.normal(size=(50, 4)) * [1.0, 1e-3, 1e4, 7.0] + [0.0, 9.81, -5.0, 1e5]).astype(np.float32)
    s = MinMaxUint8Scaler().fit(train)
    test = (rng.normal(size=(500, 4)) * 1.2 * [1.0, 1e-3, 1e4, 7.0] + [0.0, 9.81, -5.0, 1e5]).astype(np.float32)
    q = s.transform(test)
    expected = [
        [reference_scale(float(test[i, j]), float(s.min_[j]), float(s.max_[j])) for j in range(4)]
        for i in range(len(test))
    ]
    np.testing.assert_array_equal(q, np.array(expected, dtype=np.uint8))
    assert (q == 0).any() and (q == 255).any()  # some test values fall outside the training range
    np.testing.assert_array_equal(s.transform(train).min(axis=0), 0)
    np.testing.assert_array_equal(s.transform(train).max(axis=0), 255)


def test_scaler_extreme_values_clip_without_warnings():
    s = MinMaxUint8Scaler().fit(np.array([[-1e38], [1e38]], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = s.transform(np.array([[3e38], [-3e38], [0.0]], dtype=np.float32))  # x - min overflows
    np.testing.assert_array_equal(q.ravel(), [255, 0, 128])
    with pytest.raises(DataError, match="float32 range"):
        MinMaxUint8Scaler().fit(np.array([[-3e38], [3e38]], dtype=np.float32))


def test_scaler_fitted_on_training_fold_only():
    train = np.array([[1.0], [3.0]], dtype=np.float32)
    test = np.array([[0.0], [2.0], [100.0]], dtype=np.float32)
    s = MinMaxUint8Scaler().fit(train)
    np.testing.assert_array_equal(s.transform(test).ravel(), [0, 128, 255])
    np.testing.assert_array_equal(s.min_, [1.0])  # unchanged by transforming the test fold
    np.testing.assert_array_equal(s.max_, [3.0])
    train[:] = 50.0  # the learned range is a copy, not a view of the input
    np.testing.assert_array_equal((s.min_, s.max_), ([1.0], [3.0]))


def test_scaler_checks_and_conventions():
    with pytest.raises(NotFittedError):
        MinMaxUint8Scaler().transform(np.zeros((2, 2), dtype=np.float32))
    s = MinMaxUint8Scaler()
    F = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    assert s.fit(F) is s
    np.testing.assert_array_equal(clone(s).fit_transform(F), s.transform(F))
    with pytest.raises(DataError, match="F has 3 features, but MinMaxUint8Scaler is expecting 2"):
        s.transform(np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(DataError, match="NaN or infinity"):
        s.transform(np.array([[np.nan, 0.0]], dtype=np.float32))
    with pytest.raises(DataError, match="at least one window"):
        MinMaxUint8Scaler().fit(np.zeros((0, 2), dtype=np.float32))
