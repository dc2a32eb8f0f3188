"""One trial: segment, extract, select, scale, train, convert, evaluate, cost.

Runs inside a Ray worker (or in-process); reads only its inputs and returns
plain data. It never touches the study storage or writes files: the driver
owns both (one owner of trial history).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from automl.cost import PipelineShape, TargetProfile, estimate_cost
from automl.data import Dataset, grouped_folds
from automl.features import FeatureExtractor
from automl.metrics import classification_metrics
from automl.search._space import SearchSpace
from automl.segmentation import SlidingWindow, Windows
from automl.selection import MinMaxUint8Scaler, TreeSelector

OBJECTIVE_NAMES = ("macro_f1", "flash_bytes", "ram_bytes", "latency_ms")
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


def _fit_transform(F_train, y_train, F_apply_list, k, n_estimators, seed):
    selector = TreeSelector(k=k, n_estimators=n_estimators, random_state=seed).fit(F_train, y_train)
    scaler = MinMaxUint8Scaler().fit(selector.transform(F_train))
    out = [scaler.transform(selector.transform(F)).astype(np.float32) / 255.0 for F in [F_train, *F_apply_list]]
    return selector, scaler, out


def run_trial(train: Dataset, test: Dataset, space: SearchSpace, params: dict,
              target: TargetProfile, seed: int = 0, study: str = "", trial_number: int = -1) -> TrialOutcome:
    """Score one pipeline configuration.

    Cross-validation folds are grouped by capture (``space.search.cv_folds``);
    feature selection and scaling are fitted on each fold's training part only.
    The objective F1 is macro F1 over the pooled out-of-fold predictions of the
    converted ``.tflite`` models. The shipped model is then retrained on all
    training captures for the median early-stopping epoch of the folds,
    converted, and scored once on the held-out test captures (reported, never
    optimised).

    Args:
        train: training captures (tuning and final fit).
        test: held-out captures.
        space: the search space (fixed settings such as epochs, folds).
        params: the trial's sampled parameters (see ``SearchSpace.parameters``).
        target: target profile for the latency conversion.
        seed: seed for the selector, the weights and dropout.
        study, trial_number: recorded in ``pipeline.json``.

    Returns:
        The objective values, attributes and artifacts.

    Raises:
        TrialFailed: with a one-line reason (no windows, a class missing from
            training, NaN loss).
    """
    import keras

    from automl.model import MLPConfig, train_mlp
    from automl.quantization import TFLiteModel, convert

    t0 = time.perf_counter()
    keras.backend.clear_session()  # no graph state carried over from a previous trial
    w, s = int(params["window_size"]), int(params["slide"])
    classes_all = train.labels()
    for extra in test.labels():
        if extra not in classes_all:
            classes_all.append(extra)
    seg = SlidingWindow(w, s)
    win_train, win_test = seg.transform(train, classes_all), seg.transform(test, classes_all)
    if len(win_train) == 0:
        raise TrialFailed(f"window_size={w} yields no training window (captures too short)")
    # Keep the background only if some training window carries it (BasicMotions has none).
    present = set(np.unique(win_train.y).tolist())
    keep = [i for i in range(len(classes_all)) if i in present]
    if len(keep) < 2:
        raise TrialFailed(f"window_size={w}, slide={s}: training windows hold only {len(keep)} class")
    remap = -np.ones(len(classes_all), np.int64)
    remap[keep] = np.arange(len(keep))
    classes = [classes_all[i] for i in keep]
    win_train.y = remap[win_train.y]
    test_known = remap[win_test.y] >= 0
    win_test = win_test.take(test_known)
    win_test.y = remap[win_test.y]

    extractor = FeatureExtractor(train.channels, families=tuple(space.features.families),
                                 magnitude=bool(params["magnitude"]))
    names = extractor.feature_names()
    F_train = extractor.transform(win_train.X)
    F_test = extractor.transform(win_test.X) if len(win_test) else np.zeros((0, len(names)), np.float32)
    k = min(int(params["k"]), len(names))
    config = MLPConfig(layers=tuple(layers_from_params(params)), dropout=float(params["dropout"]),
                       learning_rate=float(params["learning_rate"]), epochs=space.model.epochs,
                       batch_size=space.model.batch_size, patience=space.model.patience, seed=seed)
    quant = str(params["quantization"])

    # Grouped cross-validation over training captures.
    groups = win_train.groups()
    oof = -np.ones(len(win_train), np.int64)
    best_epochs = []
    folds = grouped_folds(train, space.search.cv_folds, seed=seed)
    for fold_train, fold_val in folds:
        tr = np.isin(groups, fold_train)
        va = np.isin(groups, fold_val)
        if not tr.any() or not va.any():
            continue
        _, _, (x_tr, x_va) = _fit_transform(F_train[tr], win_train.y[tr], [F_train[va]], k,
                                            space.features.n_estimators, seed)
        result = train_mlp(x_tr, win_train.y[tr], len(classes), config, x_va, win_train.y[va])
        best_epochs.append(result.best_epoch)
        tfl = TFLiteModel(convert(result.model, x_tr, quant))
        oof[va] = tfl.predict(x_va)
    scored = oof >= 0
    if not scored.any():
        raise TrialFailed("no cross-validation fold had both training and validation windows")
    val_metrics = classification_metrics(win_train.y[scored], oof[scored], classes)

    # Final model on all training captures.
    selector, scaler, (x_all, x_test) = _fit_transform(F_train, win_train.y, [F_test], k,
                                                       space.features.n_estimators, seed)
    epochs = int(np.median(best_epochs)) if best_epochs else config.epochs
    final = train_mlp(x_all, win_train.y, len(classes), config, epochs=max(1, epochs))
    tflite = convert(final.model, x_all, quant)
    tfl = TFLiteModel(tflite)
    test_metrics = (classification_metrics(win_test.y, tfl.predict(x_test), classes)
                    if len(win_test) else None)

    selected = [int(i) for i in selector.selected_]
    selected_names = [names[i] for i in selected]
    layers = layers_from_params(params)
    cost = estimate_cost(PipelineShape(w, s, len(train.channels), tuple(selected_names),
                                       (*layers, len(classes)), quant), target)
    pipeline = {
        "study": study, "trial": trial_number, "dataset": train.name,
        "sample_rate_hz": float(train.sample_rate_hz), "channels": list(train.channels),
        "classes": classes, "window_size": w, "slide": s, "magnitude": bool(params["magnitude"]),
        "families": list(space.features.families),
        "feature_names": names, "selected": selected, "selected_names": selected_names,
        "importances": [float(v) for v in selector.importances_],
        "scaler_min": [float(v) for v in scaler.min_], "scaler_max": [float(v) for v in scaler.max_],
        "layers": layers, "dropout": float(params["dropout"]), "learning_rate": float(params["learning_rate"]),
        "epochs": epochs, "quantization": quant,
        "input_scale": tfl.input_scale if tfl.quantized else None,
        "input_zero_point": int(tfl.input_zero_point) if tfl.quantized else None,
        "output_scale": tfl.output_scale if tfl.quantized else None,
        "output_zero_point": int(tfl.output_zero_point) if tfl.quantized else None,
        "tflite_bytes": len(tflite),
    }
    import json

    summary = {k_: v for k_, v in pipeline.items() if k_ not in ("scaler_min", "scaler_max", "feature_names")}
    summary["n_features_total"] = len(names)
    attrs = {
        "val_metrics": val_metrics,
        "test_metrics": test_metrics,
        "cost": cost.as_dict(),
        "pipeline": summary,
        "n_windows": {"train": len(win_train), "test": len(win_test)},
        "duration_s": time.perf_counter() - t0,
    }
    values = [val_metrics["macro_f1"], float(cost.flash_bytes), float(cost.ram_bytes), float(cost.latency_ms)]
    return TrialOutcome(values=values, user_attrs=attrs,
                        artifacts={"model.tflite": tflite,
                                   "pipeline.json": json.dumps(pipeline, indent=1).encode()})
