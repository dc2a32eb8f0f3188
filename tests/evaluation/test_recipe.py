"""The training recipe on the real boxing data: what is fitted where, and what validation looks like."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automl.evaluation import PipelineConfig, fit_final, plan_validation, prepare
from automl.evaluation._recipe import _fold_data
from automl.postprocessing import PostProcessSpec
from automl.search._runner import SearchRequest, load_data
from automl.search._space import load_space
from automl.segmentation import threshold_from_quantile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def boxing(boxing_dir):
    space = load_space(REPO / "search_spaces" / "boxing.yaml")
    req = SearchRequest(study="t", space_path=REPO / "search_spaces" / "boxing.yaml", data=boxing_dir)
    train, test, _, _ = load_data(req, space)
    return plan_validation(train, test, 3, seed=0, streams="auto")


THRESHOLD = PipelineConfig(segmenter="threshold", window_size=150, slide=150, families=("Statistical",), k=8,
                           layers=(8,), quantization="int8", thr_column="accMag", thr_mode="std", thr_quantile=0.8,
                           thr_detection_window=10, thr_lookback=40, post=PostProcessSpec(1, 150),
                           objective="event_f1")


def test_plan_keeps_held_out_early_stopping_and_validation_apart(boxing):
    assert len(boxing.folds) == 3 and boxing.has_background
    seen = set()
    for f in boxing.folds:
        assert not set(f.train) & set(f.val)
        assert set(f.inner_train) | set(f.inner_val) == set(f.train) and f.inner_val
        assert not set(f.inner_train) & set(f.inner_val)
        assert not (set(f.val) | set(f.train)) & set(boxing.test.capture_names())
        seen |= set(f.val)
        # The boxing captures hold one punch type each: each fold's are assembled into one stream.
        assert f.streams.capture_names() == [f"fold{f.index}-stream"]
        assert {s.label for s in f.streams.segments} == {"hook", "jab", "uppercut"}
        n_events = sum(1 for s in boxing.train.segments if s.capture in f.val and s.label != "NoActivity")
        assert len(f.streams.segments) == n_events
    assert seen == set(boxing.train.capture_names())  # every training capture validated once


def test_fold_threshold_is_learned_without_the_validation_captures(boxing):
    p = prepare(boxing, THRESHOLD)
    folds = _fold_data(p)
    assert len(folds) == 3
    differs = 0
    for fd in folds:
        own = threshold_from_quantile(boxing.train.subset(fd.fold.train), "accMag", "std", 10, 0.8)
        leaky = threshold_from_quantile(boxing.train.subset(fd.fold.train + fd.fold.val), "accMag", "std", 10, 0.8)
        assert fd.spec.threshold == float(np.float32(own))
        differs += fd.spec.threshold != float(np.float32(leaky))
    assert differs == 3  # the validation captures would have moved every fold's threshold
    # The shipped segmenter learns from every training capture, never from the held-out ones.
    assert p.spec.threshold == float(np.float32(threshold_from_quantile(boxing.train, "accMag", "std", 10, 0.8)))


def test_fold_inputs_come_from_the_fold_only(boxing):
    p = prepare(boxing, THRESHOLD)
    for fd in _fold_data(p):
        # Early stopping and training windows are the fold's training captures; the scored windows
        # are its validation stream's.
        assert fd.win_val.capture_names == fd.fold.streams.capture_names()
        assert len(fd.x_inner) and len(fd.x_es) and len(fd.x_val)
        assert len(fd.x_inner) + len(fd.x_es) <= len(fd.x_rep)


@pytest.mark.parametrize("spec", [("sliding", 150, 25), ("sliding", 220, 80), ("threshold", 220, 80)])
def test_a_perfect_classifier_scores_alike_on_validation_streams_and_held_out_recordings(boxing, spec):
    """Issue 15's finding: with the old merged metric on single-punch-type captures a perfect classifier
    scored 0.41 / 0.23 / 0.14 on validation and 1.00 held out. Scored as the device emits (one output per
    window, a 200-sample refractory time after each punch output), the validation streams and the held-out
    mixed sessions agree."""
    from automl.metrics import window_device_metrics
    from automl.pipeline import SegmenterSpec
    from automl.postprocessing import postprocess_windows

    kind, w, s = spec
    extra = {}
    if kind == "threshold":
        thr = threshold_from_quantile(boxing.train, "accMag", "std", 10, 0.8)
        extra = dict(column="accMag", mode="std", detection_window=10, threshold=float(np.float32(thr)), lookback=40)
    seg = SegmenterSpec(kind, w, s, **extra)
    classes = boxing.train.labels()

    def f1(ds):
        win = seg.build().transform(ds, classes)
        out = postprocess_windows(win.y, win.capture, win.start, w, PostProcessSpec(1, 200), 0)
        return window_device_metrics(win, out, ds)["f1"]

    val = np.mean([f1(f.streams) for f in boxing.folds])
    test = f1(boxing.test)
    assert val >= 0.85 and test >= 0.85 and abs(val - test) <= 0.06, (val, test)


@pytest.fixture(scope="module")
def final(boxing):
    """THRESHOLD's shipped model (20 epochs, seed 0) scored on the two held-out sessions."""
    p = prepare(boxing, THRESHOLD)
    return p, fit_final(p, seed=0, epochs=20)


COUNTS = ("tp", "fp", "fn", "n_events", "n_detections", "false_activations")


def test_held_out_event_metrics_per_capture_add_up_to_the_pooled_ones(final):
    p, fm = final
    pooled, by = fm.test_events, fm.test_events_by_capture
    # One entry per held-out session, in the held-out dataset's order.
    assert list(by) == p.data.test.capture_names() == ["acc_gyr_experiment_all_left", "acc_gyr_experiment_all_right"]
    for key in COUNTS:
        assert sum(m[key] for m in by.values()) == pooled[key], key
    for c, pc in pooled["per_class"].items():
        for key in ("tp", "support", "detections"):
            assert sum(m["per_class"][c][key] for m in by.values()) == pc[key], (c, key)
    hours = sum(m["background_hours"] for m in by.values())
    assert hours == pytest.approx(pooled["background_hours"], rel=1e-12)
    # The pooled rate is total false activations over total background, not a mean of the captures' rates.
    assert pooled["false_activations_per_hour"] == pytest.approx(
        sum(m["false_activations"] for m in by.values()) / hours, rel=1e-12)
    # Both sessions hold labelled punches, and the model finds some in each: the table is not empty rows.
    assert all(m["n_events"] > 0 and m["tp"] > 0 for m in by.values())


def test_held_out_event_f1_of_one_capture_by_another_route(final):
    """The right-hand session scored on its own, from the shipped pipeline (pipeline.json + model.tflite path:
    FittedPipeline.run segments, extracts only the selected features, scales, runs the .tflite, decides and
    post-processes), with device_event_metrics called directly and F1 worked out from the counts."""
    from automl.metrics import device_event_metrics

    p, fm = final
    name = "acc_gyr_experiment_all_right"
    one = p.data.test.subset([name])
    run = fm.pipeline.run(one, counts=True)
    m = device_event_metrics({name: run.start}, {name: run.outputs}, fm.pipeline.segmenter.window_size,
                             one.segments, fm.pipeline.classes, one.sample_rate_hz, {name: one.captures[0].n_samples})
    got = fm.test_events_by_capture[name]
    assert {k: got[k] for k in COUNTS} == {k: m[k] for k in COUNTS}
    tp, fp, fn = m["tp"], m["fp"], m["fn"]
    assert tp + fn == sum(1 for s in one.segments if s.label != one.background)  # every labelled punch counted
    assert got["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), rel=1e-12)
    assert got["precision"] == pytest.approx(tp / (tp + fp)) and got["recall"] == pytest.approx(tp / (tp + fn))
