"""One trial in-process on BasicMotions: budgets are checked before any training."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl.cost import load_target
from automl.search._objective import run_trial
from automl.search._runner import SearchRequest, load_data
from automl.search._space import load_space

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
