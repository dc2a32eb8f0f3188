"""One trial in-process on BasicMotions: budgets are checked before any training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automl.cost import load_target
from automl.search._objective import run_trial
from automl.search._runner import SearchRequest, load_data
from automl.search._space import load_space
from automl.selection import TreeSelector

SPACE = Path(__file__).with_name("tiny_space.yaml")
PARAMS = dict(segmenter="sliding", window_size=50, slide=50, thr_column="accMag", thr_mode="std",
              thr_quantile=0.9, thr_detection_window=10, thr_lookback=20, family_Statistical=True,
              magnitude=True, k=8, n_layers=1, units_l1=6, units_l2=6, units_l3=6, dropout=0.0,
              learning_rate=0.01, quantization="int8")


@pytest.fixture(scope="module")
def data():
    space = load_space(SPACE)
    train, test, _, scale = load_data(SearchRequest(study="t", space_path=SPACE, dataset="basic-motions"), space)
    return space, train, test, scale


def test_over_budget_trial_is_infeasible_and_untrained(data, monkeypatch):
    space, train, test, scale = data
    import automl.model

    def no_training(*a, **k):
        raise AssertionError("an infeasible trial must not train")

    monkeypatch.setattr(automl.model, "train_mlp", no_training)
    tight = load_target("cortex-m4f-80mhz").model_copy(update={"ram_bytes": 512})
    out = run_trial(train, test, space, PARAMS, tight, 0, "t", 0, scale)
    assert out.user_attrs["infeasible"] is True and out.artifacts == {}
    ram = out.user_attrs["cost"]["ram_bytes"]
    assert out.values == [0.0, out.user_attrs["cost"]["flash_bytes"], ram, out.user_attrs["cost"]["latency_ms"]]
    assert out.user_attrs["over_budget"] == [f"RAM {ram} B > 512 B"]
    # The window buffer alone (50 samples x 6 channels x 2 bytes) is over 512 B.
    assert out.user_attrs["cost"]["breakdown"]["ram"]["window_buffer"] == 600


def test_feasible_trial_trains_and_scores(data):
    space, train, test, scale = data
    out = run_trial(train, test, space, PARAMS, load_target("cortex-m4f-80mhz"), 0, "t", 0, scale)
    attrs = out.user_attrs
    assert attrs["infeasible"] is False and set(out.artifacts) == {"model.tflite", "pipeline.json"}
    # BasicMotions: 40 training cases of 100 samples -> 2 windows of 50 each.
    assert attrs["n_windows"] == {"train": 80, "test": 80}
    assert sum(map(sum, attrs["val_metrics"]["confusion"])) + sum(attrs["val_metrics"]["unknown"]) == 80
    assert attrs["val_events"] is None  # no background class in BasicMotions: no event metrics
    assert out.values[0] == attrs["val_metrics"]["macro_f1"]


def test_forest_importances_cache_equals_fresh_fit(data, tmp_path):
    from automl.search import _objective

    rng = np.random.default_rng(0)
    F = rng.normal(size=(60, 7)).astype(np.float32)
    y = np.repeat([0, 1, 2], 20)
    F[:, 5] += y
    fresh = TreeSelector(k=3, n_estimators=12, random_state=3).fit(F, y).feature_importances_
    _objective._IMPORTANCES.clear()
    imp, hit = _objective.forest_importances(F, y, 12, 3, str(tmp_path))
    assert not hit and np.array_equal(imp, fresh)
    imp, hit = _objective.forest_importances(F, y, 12, 3, str(tmp_path))  # in-process
    assert hit and np.array_equal(imp, fresh)
    _objective._IMPORTANCES.clear()
    (entry,) = tmp_path.glob("*.imp.npy")
    imp, hit = _objective.forest_importances(F, y, 12, 3, str(tmp_path))  # on disk
    assert hit and np.array_equal(imp, fresh)
    _objective._IMPORTANCES.clear()
    entry.write_bytes(b"damaged")
    imp, hit = _objective.forest_importances(F, y, 12, 3, str(tmp_path))  # refitted, replaced
    assert not hit and np.array_equal(imp, fresh) and np.array_equal(np.load(entry), fresh)
    other, _ = _objective.forest_importances(F, y, 12, 4, str(tmp_path))  # another seed: another fit
    assert not np.array_equal(other, fresh)


def test_trials_share_no_state(data, tmp_path):
    """A trial gives the same model whatever ran before it in the process
    (no TensorFlow graph, Keras or cache state leaks from one trial to the next)."""
    space, train, test, scale = data
    target = load_target("cortex-m4f-80mhz")
    other = dict(PARAMS, k=5, units_l1=8, quantization="float32", learning_rate=0.02)
    kw = dict(data_key="isolation", cache_dir=str(tmp_path), data_seed=0)
    first = run_trial(train, test, space, PARAMS, target, 7, "t", 0, scale, **kw)
    run_trial(train, test, space, other, target, 8, "t", 1, scale, **kw)
    again = run_trial(train, test, space, PARAMS, target, 7, "t", 2, scale, **kw)
    assert again.user_attrs["forest_cache_hits"] == "3/3" and first.user_attrs["forest_cache_hits"] == "0/3"
    assert again.values == first.values
    assert again.user_attrs["val_metrics"] == first.user_attrs["val_metrics"]
    assert again.artifacts["model.tflite"] == first.artifacts["model.tflite"]
