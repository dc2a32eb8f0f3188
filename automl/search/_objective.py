"""One trial: segment, extract, select, scale, train, convert, evaluate, cost.

Runs inside a Ray worker (or in-process); reads only its inputs and returns
plain data. It never touches the study storage or writes files: the driver
owns both (one owner of trial history).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from automl.cost import PipelineShape, TargetProfile, estimate_cost
from automl.data import Dataset, grouped_folds
from automl.metrics import classification_metrics, window_event_metrics
from automl.pipeline import FittedPipeline, SegmenterSpec, decide
from automl.search._space import FAMILIES, SearchSpace
from automl.segmentation import Windows, threshold_from_quantile, trigger_diagnostics
from automl.selection import MinMaxUint8Scaler, TreeSelector

COST_NAMES = ("flash_bytes", "ram_bytes", "latency_ms")
OBJECTIVE_NAMES = ("macro_f1", *COST_NAMES)


def objective_names(space: SearchSpace) -> list[str]:
    """Names of the four objectives: ``event_f1`` or ``macro_f1``, then the costs."""
    return ["event_f1" if space.objective == "event_f1" else "macro_f1", *COST_NAMES]
DIRECTIONS = ("maximize", "minimize", "minimize", "minimize")


# Fault injection for the failure tests: "N:kind,M:kind" with kind raise | nan | kill | hang,
# applied to trial number N inside the worker. Never set in normal use.
FAULT_ENV = "AUTOML_FAULT_INJECT"
CACHE_VERSION = 1


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


def dataset_fingerprint(train: Dataset, test: Dataset, sample_scale: dict) -> str:
    """SHA-256 (hex) of everything a window/feature matrix depends on in the data.

    Capture names, samples (bytes of the float32 counts), segments, channels, sensor groups,
    sample rate and counts scale of both splits. Used as part of cache keys.
    """
    h = hashlib.sha256()
    for ds in (train, test):
        h.update(repr((ds.name, ds.channels, ds.sample_rate_hz, ds.background, ds.sensors)).encode())
        for c in ds.captures:
            h.update(c.name.encode())
            h.update(np.ascontiguousarray(c.data).tobytes())
        h.update(repr(sorted((g.capture, g.label, g.start, g.end) for g in ds.segments)).encode())
    h.update(json.dumps(sample_scale, sort_keys=True).encode())
    return h.hexdigest()


def _inject_fault(trial_number: int, params: dict) -> dict:
    """Apply :data:`FAULT_ENV` to this trial (tests only); returns the (maybe altered) params."""
    spec = os.environ.get(FAULT_ENV, "")
    for item in filter(None, spec.split(",")):
        number, _, kind = item.partition(":")
        if int(number) != trial_number:
            continue
        if kind == "raise":
            raise RuntimeError(f"injected failure in trial {trial_number}")
        if kind == "kill":
            os.kill(os.getpid(), 9)
        if kind == "hang":
            time.sleep(3600)
        if kind == "nan":  # an infinite learning rate: the first update makes the loss NaN
            params = dict(params, learning_rate=float("inf"))
    return params


def trial_task(train: Dataset, test: Dataset, space: SearchSpace, params: dict, target: TargetProfile,
               seed: int, study: str, trial_number: int, sample_scale: dict, data_key: str = "",
               cache_dir: str | None = None, data_seed: int | None = None) -> TrialOutcome:
    """The Ray task of one trial: :func:`run_trial` plus where it ran.

    Adds ``node_id`` and ``worker_pid`` to the trial's attributes.
    """
    params = _inject_fault(trial_number, params)
    outcome = run_trial(train, test, space, params, target, seed, study, trial_number, sample_scale,
                        data_key=data_key, cache_dir=cache_dir, data_seed=data_seed)
    try:
        import ray

        outcome.user_attrs["node_id"] = ray.get_runtime_context().get_node_id()
    except Exception:  # not inside Ray
        outcome.user_attrs["node_id"] = None
    outcome.user_attrs["worker_pid"] = os.getpid()
    return outcome


def _cache_path(cache_dir: str | None, key: str) -> Path:
    root = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "automl-cache"
    return root / f"{key}.npz"


def windows_and_features(train: Dataset, test: Dataset, spec: SegmenterSpec, classes: list[str], extractor,
                         data_key: str = "", cache_dir: str | None = None):
    """Windows of both splits and their full feature matrices, cached on disk.

    The cache is content-addressed: the key is a SHA-256 of the data
    fingerprint, the segmenter spec, the classes and the extractor's
    parameters, so trials that differ only in selection, model or
    quantisation reuse one entry. Entries are written atomically (temp file,
    then ``os.replace``) in a node-local folder shared by the node's workers.
    Window samples are not cached (``Windows.X`` comes back with 0 channels);
    only labels, starts and features are.

    Returns:
        ``(win_train, win_test, F_train, F_test, cache_hit)``; ``F_*`` are
        ``(n_windows, n_features) float32``.
    """
    key = None
    if data_key:
        ident = json.dumps({"v": CACHE_VERSION, "data": data_key, "seg": asdict(spec), "classes": classes,
                            "fx": extractor.get_params()}, sort_keys=True, default=str)
        key = hashlib.sha256(ident.encode()).hexdigest()[:32]
        path = _cache_path(cache_dir, key)
        if path.is_file():
            try:
                with np.load(path) as z:
                    parts = {k: z[k] for k in z.files}
                return (_windows_from(parts, "train", spec, classes, train),
                        _windows_from(parts, "test", spec, classes, test),
                        parts["train_F"], parts["test_F"], True)
            except Exception:  # a damaged entry is recomputed and replaced
                pass
    seg = spec.build()
    win_train, win_test = seg.transform(train, classes), seg.transform(test, classes)
    n_f = len(extractor.feature_names())
    F_train = extractor.transform(win_train.X) if len(win_train) else np.zeros((0, n_f), np.float32)
    F_test = extractor.transform(win_test.X) if len(win_test) else np.zeros((0, n_f), np.float32)
    if key is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, train_y=win_train.y, train_capture=win_train.capture, train_start=win_train.start,
                     train_F=F_train, test_y=win_test.y, test_capture=win_test.capture, test_start=win_test.start,
                     test_F=F_test)
        os.replace(tmp, path)
    return win_train, win_test, F_train, F_test, False


def _windows_from(parts: dict, split: str, spec: SegmenterSpec, classes: list[str], ds: Dataset) -> Windows:
    n = parts[f"{split}_y"].shape[0]
    return Windows(np.zeros((n, spec.window_size, 0), np.float32), parts[f"{split}_y"], parts[f"{split}_capture"],
                   parts[f"{split}_start"], list(classes), ds.capture_names())


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


_IMPORTANCES: OrderedDict[str, np.ndarray] = OrderedDict()  # in-process LRU of forest importances
_IMPORTANCES_MAX = 256


def forest_importances(F: np.ndarray, y: np.ndarray, n_estimators: int, seed: int,
                       cache_dir: str | None = None, use_cache: bool = True) -> tuple[np.ndarray, bool]:
    """ExtraTrees ``feature_importances_`` of ``(F, y)``, cached by content.

    The forest's ranking does not depend on ``k``, so every trial with the
    same windows, features, fold and seed shares one fit. The key is a SHA-256
    of ``F`` and ``y`` bytes, shapes, ``n_estimators``, ``seed`` and the
    scikit-learn version. Entries are kept in an in-process LRU (256 entries)
    and as ``<key>.imp.npy`` in the node-local cache folder (written
    atomically: temp file, then ``os.replace``), so the node's other workers
    and a resumed search reuse them. A damaged entry is refitted and replaced.

    Args:
        F: ``(n_windows, n_features) float32`` training-fold features.
        y: ``(n_windows,) int64`` class indices.
        n_estimators: number of trees.
        seed: the forest's ``random_state``.
        cache_dir: cache folder (default ``<temp>/automl-cache``).
        use_cache: False fits without reading or writing any cache.

    Returns:
        ``((n_features,) float64 importances, cache_hit)``; the importances
        equal ``TreeSelector(k, n_estimators, seed).fit(F, y).feature_importances_``.

    Raises:
        DataError / ConfigError: as :meth:`TreeSelector.fit` for malformed input.
    """
    import sklearn

    F = np.ascontiguousarray(F, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    if not use_cache:
        return TreeSelector(k=1, n_estimators=n_estimators, random_state=seed).fit(F, y).feature_importances_, False
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, "F": F.shape, "y": y.shape, "n_estimators": n_estimators,
                         "seed": seed, "sklearn": sklearn.__version__}).encode())
    h.update(F.tobytes())
    h.update(y.tobytes())
    key = h.hexdigest()[:32]
    if key in _IMPORTANCES:
        _IMPORTANCES.move_to_end(key)
        return _IMPORTANCES[key], True
    path = _cache_path(cache_dir, key).with_suffix(".imp.npy")
    imp = None
    if path.is_file():
        try:
            imp = np.load(path)
            if imp.shape != (F.shape[1],) or not np.all(np.isfinite(imp)):
                imp = None
        except Exception:  # a damaged entry is refitted and replaced
            imp = None
    hit = imp is not None
    if imp is None:
        imp = TreeSelector(k=1, n_estimators=n_estimators, random_state=seed).fit(F, y).feature_importances_
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, imp)
        os.replace(tmp, path)
    _IMPORTANCES[key] = imp
    while len(_IMPORTANCES) > _IMPORTANCES_MAX:
        _IMPORTANCES.popitem(last=False)
    return imp, hit


def _fit_transform(F_train, y_train, F_apply_list, k, n_estimators, seed, cache_dir=None, use_cache=False):
    imp, hit = forest_importances(F_train, y_train, n_estimators, seed, cache_dir, use_cache)
    selector = TreeSelector.from_importances(imp, k, n_estimators, seed)
    scaler = MinMaxUint8Scaler().fit(selector.transform(F_train))
    out = [scaler.transform(selector.transform(F)).astype(np.float32) / np.float32(255.0)
           for F in [F_train, *F_apply_list]]
    return selector, scaler, out, hit


def run_trial(train: Dataset, test: Dataset, space: SearchSpace, params: dict,
              target: TargetProfile, seed: int = 0, study: str = "", trial_number: int = -1,
              sample_scale: dict | None = None, data_key: str = "",
              cache_dir: str | None = None, data_seed: int | None = None) -> TrialOutcome:
    """Score one pipeline configuration.

    Inputs are ADC counts (``automl.data.to_counts``), as on the device.
    The shipped pipeline's feature selection is fitted first and its cost
    estimated; a pipeline over the target's budgets is returned at once as
    *infeasible* (``user_attrs["infeasible"]``, F1 0, no artifacts), before any
    Keras work, so the budget constraints cost no training time.
    Cross-validation folds are grouped by capture (``space.search.cv_folds``);
    feature selection and scaling are fitted on each fold's training part only.
    The objective is event F1 (``space.objective == "event_f1"``, for trigger
    problems) or window macro F1, over the pooled out-of-fold predictions of
    the converted ``.tflite`` models (each validation capture is a continuous
    recording, so event metrics are well defined). The shipped model is then
    retrained on all training captures for the median early-stopping epoch of
    the folds, converted, and scored once on the held-out test captures
    (reported, never optimised).

    No TensorFlow state crosses trials: the fast training path creates fresh
    variables per call and keeps only stateless traced graphs; the plain path
    (``model.fast_training: false``) clears the Keras session first. A trial's
    result is the same whatever ran before it in the process (tested).

    Args:
        train: training captures (tuning and final fit), ADC counts.
        test: held-out captures, ADC counts.
        space: the search space (fixed settings such as epochs, folds).
        params: the trial's sampled parameters (see ``SearchSpace.parameters``).
        target: target profile for the latency conversion.
        seed: seed for the weights and dropout (and, unless ``data_seed``
            is given, the folds and the selector's forest).
        study, trial_number: recorded in ``pipeline.json``.
        sample_scale: counts per sensor unit per channel (recorded for export).
        data_key: :func:`dataset_fingerprint` of the data; enables the
            window/feature cache and the forest-importance cache
            (:func:`forest_importances`; empty: no cache).
        cache_dir: cache folder (default ``<temp>/automl-cache``).
        data_seed: seed of the cross-validation fold assignment and of the
            selector's ExtraTrees forest (default ``seed``). The search passes
            the study seed: every trial is validated on the same folds, and
            trials that share windows and features share one forest fit per
            fold (:func:`forest_importances`).

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
    if not space.model.fast_training:
        # model.fit builds Keras graph state; start each trial from none. The fast
        # path holds none across calls (fresh variables, stateless traced graphs) and
        # clearing would throw its traced graphs away (~0.2 s per graph and trial).
        keras.backend.clear_session()
    families = families_from_params(params)
    if not families:
        raise TrialFailed("no feature family is switched on")
    classes_all = train.labels()
    for extra in test.labels():
        if extra not in classes_all:
            classes_all.append(extra)
    spec = segmenter_from_params(params, train)
    extractor = FeatureExtractor(list(train.channels), families=tuple(families), magnitude=bool(params["magnitude"]),
                                 sample_rate_hz=float(train.sample_rate_hz),
                                 frequency_bands=space.features.frequency_bands, sensors=train.sensors)
    names = extractor.feature_names()
    win_train, win_test, F_train, F_test, cache_hit = windows_and_features(
        train, test, spec, classes_all, extractor, data_key, cache_dir)
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
    test_keep = remap[win_test.y] >= 0
    win_test, F_test = win_test.take(test_keep), F_test[test_keep]
    win_test.y = remap[win_test.y]
    win_test.classes = classes
    k = min(int(params["k"]), len(names))
    config = MLPConfig(layers=tuple(layers_from_params(params)), dropout=float(params["dropout"]),
                       learning_rate=float(params["learning_rate"]), epochs=space.model.epochs,
                       batch_size=space.model.batch_size, patience=space.model.patience, seed=seed)
    quant = str(params["quantization"])

    def predict(tfl, x):
        raw, logits = tfl.run(x)
        return decide(raw, logits, space.model.unknown_threshold, tfl.output_scale if tfl.quantized else None,
                      int(tfl.output_zero_point) if tfl.quantized else None)

    # Cost first: the shipped pipeline's selected features and layer shapes fix its
    # flash / RAM / latency before any Keras work. Over budget -> infeasible, untrained.
    dseed = seed if data_seed is None else int(data_seed)
    use_cache = bool(data_key)
    selector, scaler, (x_all, x_test), sel_hit = _fit_transform(
        F_train, win_train.y, [F_test], k, space.features.n_estimators, dseed, cache_dir, use_cache)
    selected = [int(i) for i in selector.selected_]
    selected_names = [names[i] for i in selected]
    layers = layers_from_params(params)
    cost = estimate_cost(PipelineShape(
        window_size=spec.window_size, slide=spec.slide, n_channels=len(train.channels),
        selected_features=tuple(selected_names), layers=(*layers, len(classes)), quantization=quant,
        segmenter=spec.kind, threshold_column=spec.column, threshold_mode=spec.mode,
        detection_window=spec.detection_window or 1, lookback=spec.lookback,
        channels=tuple(train.channels), class_names=tuple(classes),
        unknown_threshold=space.model.unknown_threshold, study=study, dataset=train.name), target)
    over = cost.over_budget(target)
    if over:
        return TrialOutcome(
            values=[0.0, float(cost.flash_bytes), float(cost.ram_bytes), float(cost.latency_ms)],
            user_attrs={"objective": space.objective, "infeasible": True, "over_budget": over,
                        "cost": cost.as_dict(), "duration_s": time.perf_counter() - t0, "cache_hit": cache_hit,
                        "pipeline": {"segmenter": asdict(spec), "families": families, "selected_names": selected_names,
                                     "layers": layers, "quantization": quant},
                        "n_windows": {"train": len(win_train), "test": len(win_test)}},
            artifacts={})

    # Grouped cross-validation over training captures.
    groups = win_train.groups()
    oof = np.full(len(win_train), -2, np.int64)  # -2: not scored, -1: unknown
    best_epochs = []
    forest_hits = [sel_hit]
    for fold_train, fold_val in grouped_folds(train, space.search.cv_folds, seed=dseed, group_by=space.search.group_by):
        tr, va = np.isin(groups, fold_train), np.isin(groups, fold_val)
        if not tr.any() or not va.any() or len(np.unique(win_train.y[tr])) < 2:
            continue
        _, _, (x_tr, x_va), fold_hit = _fit_transform(
            F_train[tr], win_train.y[tr], [F_train[va]], k, space.features.n_estimators, dseed, cache_dir, use_cache)
        forest_hits.append(fold_hit)
        result = train_mlp(x_tr, win_train.y[tr], len(classes), config, x_va, win_train.y[va],
                           fast=space.model.fast_training)
        best_epochs.append(result.best_epoch)
        tfl = TFLiteModel(convert(result.model, x_tr, quant))
        oof[va] = predict(tfl, x_va)
    scored = oof >= -1
    if not scored.any():
        raise TrialFailed("no cross-validation fold had both training and validation windows")
    val_metrics = classification_metrics(win_train.y[scored], oof[scored], classes)
    val_events = window_event_metrics(win_train, np.where(oof < 0, 0, oof), train) if has_background else None

    # Final model on all training captures (selection and scaler fitted above).
    epochs = int(np.median(best_epochs)) if best_epochs else config.epochs
    final = train_mlp(x_all, win_train.y, len(classes), config, epochs=max(1, epochs),
                      fast=space.model.fast_training)
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
        sensors={g: list(m) for g, m in (train.sensors or {}).items()}, resample_hz=train.resample_hz,
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
        "cache_hit": cache_hit,
        "forest_cache_hits": f"{sum(forest_hits)}/{len(forest_hits)}",
        "infeasible": False,
    }
    values = [float(f1), float(cost.flash_bytes), float(cost.ram_bytes), float(cost.latency_ms)]
    return TrialOutcome(values=values, user_attrs=attrs,
                        artifacts={"model.tflite": tflite, "pipeline.json": pipeline.to_json().encode()})
