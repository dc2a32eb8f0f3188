"""One trial: segment, extract, select, scale, train, convert, evaluate, cost.

Runs inside a Ray worker (or in-process); reads only its inputs and returns
plain data. It never touches the study storage or writes files: the driver
owns both (one owner of trial history).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

from automl.cost import PipelineShape, TargetProfile, estimate_cost
from automl.data import Dataset, grouped_folds
from automl.metrics import classification_metrics, window_event_metrics
from automl.pipeline import FittedPipeline, SegmenterSpec, decide
from automl.search._space import FAMILIES, SearchSpace
from automl.segmentation import threshold_from_quantile, trigger_diagnostics
from automl.selection import MinMaxUint8Scaler, TreeSelector

COST_NAMES = ("flash_bytes", "ram_bytes", "latency_ms")
OBJECTIVE_NAMES = ("macro_f1", *COST_NAMES)


def objective_names(space: SearchSpace) -> list[str]:
    """Names of the four objectives: ``event_f1`` or ``macro_f1``, then the costs."""
    return ["event_f1" if space.objective == "event_f1" else "macro_f1", *COST_NAMES]
DIRECTIONS = ("maximize", "minimize", "minimize", "minimize")


class TrialFailed(RuntimeError):
    """A trial could not produce a model; the message is its one-line reason."""


@dataclass
class TrialOutcome:
    """What a finished trial hands back to the driver.

    Attributes:
        values: ``[val macro F1, flash bytes, RAM bytes, latency ms]``.
        user_attrs: JSON-able attributes (see docs/CONTRACTS.md).
        artifacts: ``{file name: bytes}`` for the trial's artifact folder
            (``model.tflite``, ``pipeline.json``).
    """

    values: list[float]
    user_attrs: dict
    artifacts: dict[str, bytes] = field(default_factory=dict)


def layers_from_params(params: dict) -> list[int]:
    """Hidden widths ``[units_l1, ..]`` for the first ``n_layers`` layers."""
    n = int(params["n_layers"])
    return [int(params[f"units_l{i}"]) for i in range(1, n + 1)]


def families_from_params(params: dict) -> list[str]:
    """Feature families switched on by ``family_<name>`` parameters, in canonical order."""
    return [f for f in FAMILIES if params.get(f"family_{f}") is True]


def segmenter_from_params(params: dict, train: Dataset) -> SegmenterSpec:
    """The trial's segmenter; a threshold comes from a quantile of the training detection signal.

    ``lookback`` is clamped to ``window_size - 1`` (a window must contain its trigger).

    Raises:
        TrialFailed: for an unknown segmenter kind or a detection column the data lacks.
    """
    kind, w, s = str(params["segmenter"]), int(params["window_size"]), int(params["slide"])
    if kind == "sliding":
        return SegmenterSpec("sliding", w, s)
    if kind != "threshold":
        raise TrialFailed(f"unknown segmenter {kind!r} (sliding or threshold)")
    column, mode = str(params["thr_column"]), str(params["thr_mode"])
    det, q = int(params["thr_detection_window"]), float(params["thr_quantile"])
    try:
        thr = threshold_from_quantile(train, column, mode, det, q)
    except ValueError as exc:
        raise TrialFailed(f"threshold segmenter: {exc}") from None
    return SegmenterSpec("threshold", w, s, column=column, mode=mode, detection_window=det,
                         threshold=float(np.float32(thr)), lookback=min(int(params["thr_lookback"]), w - 1),
                         quantile=q)


def _fit_transform(F_train, y_train, F_apply_list, k, n_estimators, seed):
    selector = TreeSelector(k=k, n_estimators=n_estimators, random_state=seed).fit(F_train, y_train)
    scaler = MinMaxUint8Scaler().fit(selector.transform(F_train))
    out = [scaler.transform(selector.transform(F)).astype(np.float32) / np.float32(255.0)
           for F in [F_train, *F_apply_list]]
    return selector, scaler, out


def run_trial(train: Dataset, test: Dataset, space: SearchSpace, params: dict,
              target: TargetProfile, seed: int = 0, study: str = "", trial_number: int = -1,
              sample_scale: dict | None = None) -> TrialOutcome:
    """Score one pipeline configuration.

    Inputs are ADC counts (``automl.data.to_counts``), as on the device.
    Cross-validation folds are grouped by capture (``space.search.cv_folds``);
    feature selection and scaling are fitted on each fold's training part only.
    The objective is event F1 (``space.objective == "event_f1"``, for trigger
    problems) or window macro F1, over the pooled out-of-fold predictions of
    the converted ``.tflite`` models (each validation capture is a continuous
    recording, so event metrics are well defined). The shipped model is then
    retrained on all training captures for the median early-stopping epoch of
    the folds, converted, and scored once on the held-out test captures
    (reported, never optimised).

    Args:
        train: training captures (tuning and final fit), ADC counts.
        test: held-out captures, ADC counts.
        space: the search space (fixed settings such as epochs, folds).
        params: the trial's sampled parameters (see ``SearchSpace.parameters``).
        target: target profile for the latency conversion.
        seed: seed for the selector, the weights and dropout.
        study, trial_number: recorded in ``pipeline.json``.
        sample_scale: counts per sensor unit per channel (recorded for export).

    Returns:
        The objective values, attributes and artifacts.

    Raises:
        TrialFailed: with a one-line reason (no windows, a single class, no
            feature family, NaN loss, ...).
    """
    import keras

    from automl.features import FeatureExtractor
    from automl.model import MLPConfig, train_mlp
    from automl.quantization import TFLiteModel, convert

    t0 = time.perf_counter()
    keras.backend.clear_session()  # no graph state carried over from a previous trial
    families = families_from_params(params)
    if not families:
        raise TrialFailed("no feature family is switched on")
    classes_all = train.labels()
    for extra in test.labels():
        if extra not in classes_all:
            classes_all.append(extra)
    spec = segmenter_from_params(params, train)
    seg = spec.build()
    win_train, win_test = seg.transform(train, classes_all), seg.transform(test, classes_all)
    if len(win_train) == 0:
        raise TrialFailed(f"{spec.kind} segmenter (window_size={spec.window_size}) yields no training window")
    # Keep the background only if some training window carries it (BasicMotions has none).
    present = set(np.unique(win_train.y).tolist())
    keep = [i for i in range(len(classes_all)) if i in present]
    if len(keep) < 2:
        raise TrialFailed(f"{spec.kind} segmenter: training windows hold only {len(keep)} class")
    remap = -np.ones(len(classes_all), np.int64)
    remap[keep] = np.arange(len(keep))
    classes = [classes_all[i] for i in keep]
    has_background = classes[0] == train.background
    win_train.y = remap[win_train.y]
    win_train.classes = classes
    win_test = win_test.take(remap[win_test.y] >= 0)
    win_test.y = remap[win_test.y]
    win_test.classes = classes

    extractor = FeatureExtractor(list(train.channels), families=tuple(families), magnitude=bool(params["magnitude"]),
                                 sample_rate_hz=float(train.sample_rate_hz),
                                 frequency_bands=space.features.frequency_bands)
    names = extractor.feature_names()
    F_train = extractor.transform(win_train.X)
    F_test = extractor.transform(win_test.X) if len(win_test) else np.zeros((0, len(names)), np.float32)
    k = min(int(params["k"]), len(names))
    config = MLPConfig(layers=tuple(layers_from_params(params)), dropout=float(params["dropout"]),
                       learning_rate=float(params["learning_rate"]), epochs=space.model.epochs,
                       batch_size=space.model.batch_size, patience=space.model.patience, seed=seed)
    quant = str(params["quantization"])

    def predict(tfl, x):
        raw, logits = tfl.run(x)
        return decide(raw, logits, space.model.unknown_threshold, tfl.output_scale if tfl.quantized else None,
                      int(tfl.output_zero_point) if tfl.quantized else None)

    # Grouped cross-validation over training captures.
    groups = win_train.groups()
    oof = np.full(len(win_train), -2, np.int64)  # -2: not scored, -1: unknown
    best_epochs = []
    for fold_train, fold_val in grouped_folds(train, space.search.cv_folds, seed=seed):
        tr, va = np.isin(groups, fold_train), np.isin(groups, fold_val)
        if not tr.any() or not va.any() or len(np.unique(win_train.y[tr])) < 2:
            continue
        _, _, (x_tr, x_va) = _fit_transform(F_train[tr], win_train.y[tr], [F_train[va]], k,
                                            space.features.n_estimators, seed)
        result = train_mlp(x_tr, win_train.y[tr], len(classes), config, x_va, win_train.y[va])
        best_epochs.append(result.best_epoch)
        tfl = TFLiteModel(convert(result.model, x_tr, quant))
        oof[va] = predict(tfl, x_va)
    scored = oof >= -1
    if not scored.any():
        raise TrialFailed("no cross-validation fold had both training and validation windows")
    val_metrics = classification_metrics(win_train.y[scored], oof[scored], classes)
    val_events = window_event_metrics(win_train, np.where(oof < 0, 0, oof), train) if has_background else None

    # Final model on all training captures.
    selector, scaler, (x_all, x_test) = _fit_transform(F_train, win_train.y, [F_test], k,
                                                       space.features.n_estimators, seed)
    epochs = int(np.median(best_epochs)) if best_epochs else config.epochs
    final = train_mlp(x_all, win_train.y, len(classes), config, epochs=max(1, epochs))
    tflite = convert(final.model, x_all, quant)
    tfl = TFLiteModel(tflite)
    test_pred = predict(tfl, x_test) if len(win_test) else np.zeros(0, np.int64)
    test_metrics = classification_metrics(win_test.y, test_pred, classes) if len(win_test) else None
    test_events = (window_event_metrics(win_test, np.where(test_pred < 0, 0, test_pred), test)
                   if has_background and len(win_test) else None)
    diagnostics = None
    if spec.kind == "threshold" and has_background:
        diagnostics = {"train": vars(trigger_diagnostics(train, win_train)).copy(),
                       "test": vars(trigger_diagnostics(test, win_test)).copy()}

    selected = [int(i) for i in selector.selected_]
    selected_names = [names[i] for i in selected]
    layers = layers_from_params(params)
    cost = estimate_cost(PipelineShape(spec.window_size, spec.slide, len(train.channels), tuple(selected_names),
                                       (*layers, len(classes)), quant), target)
    pipeline = FittedPipeline(
        channels=list(train.channels), sample_rate_hz=float(train.sample_rate_hz),
        sample_scale=dict(sample_scale or {c: 1.0 for c in train.channels}), classes=classes, segmenter=spec,
        families=families, magnitude=bool(params["magnitude"]), frequency_bands=space.features.frequency_bands,
        feature_names=names, selected=selected, selected_names=selected_names,
        importances=[float(v) for v in selector.importances_],
        scaler_min=[float(v) for v in scaler.min_], scaler_max=[float(v) for v in scaler.max_],
        layers=layers, quantization=quant, unknown_threshold=space.model.unknown_threshold,
        dropout=float(params["dropout"]), learning_rate=float(params["learning_rate"]), epochs=epochs,
        input_scale=tfl.input_scale if tfl.quantized else None,
        input_zero_point=int(tfl.input_zero_point) if tfl.quantized else None,
        output_scale=tfl.output_scale if tfl.quantized else None,
        output_zero_point=int(tfl.output_zero_point) if tfl.quantized else None,
        tflite_bytes=len(tflite), study=study, trial=trial_number, dataset=train.name,
    )
    summary = json.loads(pipeline.to_json())
    for key in ("scaler_min", "scaler_max", "feature_names"):
        summary.pop(key)
    summary["n_features_total"] = len(names)
    f1 = val_events["f1"] if space.objective == "event_f1" and val_events is not None else val_metrics["macro_f1"]
    attrs = {
        "objective": space.objective,
        "val_metrics": val_metrics,
        "test_metrics": test_metrics,
        "val_events": val_events,
        "test_events": test_events,
        "trigger_diagnostics": diagnostics,
        "cost": cost.as_dict(),
        "pipeline": summary,
        "n_windows": {"train": len(win_train), "test": len(win_test)},
        "duration_s": time.perf_counter() - t0,
    }
    values = [float(f1), float(cost.flash_bytes), float(cost.ram_bytes), float(cost.latency_ms)]
    return TrialOutcome(values=values, user_attrs=attrs,
                        artifacts={"model.tflite": tflite, "pipeline.json": pipeline.to_json().encode()})
