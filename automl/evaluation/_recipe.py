"""The training recipe: how one pipeline configuration is trained and scored.

For a :class:`PipelineConfig` and a study's :class:`~automl.evaluation.TrialData`:

1. **Shipped pipeline, first** (:func:`prepare`): the segmenter (a threshold
   is the configured quantile of the *training* captures' detection signal),
   the windows and features of the training and held-out captures, the
   classes the model will have (the background is kept only if a training
   window carries it), and the ExtraTrees selection and uint8 scaler fitted on
   all training windows. These fix the shipped pipeline's cost before any
   training, so the search can reject an over-budget pipeline at once.
2. **Cross-validation** (:func:`cross_validate`, once per training seed). In
   each fold everything learned from data is fitted on the fold's training
   captures only: the threshold quantile, the feature selection, the scaler,
   the int8 calibration, and early stopping, which watches a grouped split of
   the fold's training captures (``Fold.inner_val``), never the scored
   validation captures. The fold's model (trained on ``Fold.inner_train``,
   best epoch restored) is converted to ``.tflite``, run on the fold's
   validation streams, its outputs decided (unknown threshold) and
   post-processed as on the device, and scored: device event F1
   (:func:`automl.metrics.device_event_metrics`) pooled over the folds for
   ``objective: event_f1`` when the data has a background class, else window
   macro F1 of the voted decisions.
3. **Final model** (:func:`fit_final`): retrained on all training windows for
   the median best epoch of the folds, converted, and run once on the
   held-out captures, scored pooled and, for device event metrics, per
   held-out capture (reported, never used for a choice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from automl.errors import ConfigError
from automl.evaluation._cache import forest_importances, windows_and_features
from automl.evaluation._plan import Fold, TrialData
from automl.metrics import classification_metrics, window_device_metrics, window_device_metrics_by_capture
from automl.pipeline import FittedPipeline, SegmenterSpec, decide
from automl.postprocessing import PostProcessSpec, postprocess_windows
from automl.segmentation import Windows, threshold_from_quantile, trigger_diagnostics
from automl.selection import MinMaxUint8Scaler, TreeSelector


class TrialFailed(RuntimeError):
    """A configuration could not produce a model; the message is its one-line reason."""


@dataclass(frozen=True)
class PipelineConfig:
    """One point of the search space, as the recipe needs it (lengths in samples).

    Attributes:
        segmenter: ``"sliding"`` or ``"threshold"``.
        window_size, slide: window length; sliding step (threshold: the
            trigger's refractory period).
        thr_column, thr_mode, thr_quantile, thr_detection_window, thr_lookback:
            threshold segmenter settings (the threshold is the ``thr_quantile``
            quantile of the training detection signal; ``thr_lookback`` is
            clamped to ``window_size - 1``).
        families: feature generator families switched on.
        magnitude: add ``accMag`` / ``gyrMag`` channels.
        frequency_bands: bands of the ``Frequency`` family.
        k: features kept by the ExtraTrees selector.
        n_estimators: trees of the selector's forest.
        layers: hidden layer widths.
        dropout, learning_rate, epochs, batch_size, patience: MLP training.
        quantization: ``"int8"`` or ``"float32"``.
        unknown_threshold: top probability below which a window is unknown.
        post: vote and refractory settings.
        objective: ``"event_f1"`` or ``"window_f1"``.
        fast_training: the compiled training loop (``automl.model.train_mlp``).
    """

    segmenter: str
    window_size: int
    slide: int
    families: tuple[str, ...]
    k: int
    layers: tuple[int, ...]
    quantization: str
    thr_column: str = "accMag"
    thr_mode: str = "std"
    thr_quantile: float = 0.9
    thr_detection_window: int = 10
    thr_lookback: int = 20
    magnitude: bool = True
    frequency_bands: int = 4
    n_estimators: int = 100
    dropout: float = 0.1
    learning_rate: float = 3e-3
    epochs: int = 100
    batch_size: int = 64
    patience: int = 10
    unknown_threshold: float = 0.0
    post: PostProcessSpec = field(default_factory=PostProcessSpec)
    objective: str = "window_f1"
    fast_training: bool = True

    def mlp(self, seed: int):
        """The ``automl.model.MLPConfig`` of this configuration for a training seed."""
        from automl.model import MLPConfig

        return MLPConfig(layers=tuple(self.layers), dropout=float(self.dropout),
                         learning_rate=float(self.learning_rate), epochs=int(self.epochs),
                         batch_size=int(self.batch_size), patience=int(self.patience), seed=int(seed))


def segmenter_spec(config: PipelineConfig, ds) -> SegmenterSpec:
    """The segmenter of ``config``; a threshold is learned from ``ds`` (training captures only).

    Raises:
        TrialFailed: for an unknown segmenter kind or a detection column the data lacks.
    """
    kind, w, s = config.segmenter, int(config.window_size), int(config.slide)
    if kind == "sliding":
        return SegmenterSpec("sliding", w, s)
    if kind != "threshold":
        raise TrialFailed(f"unknown segmenter {kind!r} (sliding or threshold)")
    try:
        thr = threshold_from_quantile(ds, config.thr_column, config.thr_mode, int(config.thr_detection_window),
                                      float(config.thr_quantile))
    except (ValueError, ConfigError) as exc:
        raise TrialFailed(f"threshold segmenter: {exc}") from None
    return SegmenterSpec("threshold", w, s, column=config.thr_column, mode=config.thr_mode,
                         detection_window=int(config.thr_detection_window), threshold=float(np.float32(thr)),
                         lookback=min(int(config.thr_lookback), w - 1), quantile=float(config.thr_quantile))


def _scaled(scaler: MinMaxUint8Scaler, selector: TreeSelector, F: np.ndarray) -> np.ndarray:
    """Model input ``(n, k) float32`` in [0, 1]: the uint8 scaler output / 255, as the firmware feeds it."""
    return scaler.transform(selector.transform(F)).astype(np.float32) / np.float32(255.0)


@dataclass
class _FoldData:
    fold: Fold
    spec: SegmenterSpec          # the fold's segmenter (threshold from its training captures)
    x_inner: np.ndarray          # (n, k) float32 model inputs of Fold.inner_train
    y_inner: np.ndarray
    x_es: np.ndarray             # early-stopping windows (Fold.inner_val)
    y_es: np.ndarray
    x_rep: np.ndarray            # int8 calibration: the fold's training windows
    x_val: np.ndarray            # the fold's validation stream windows
    win_val: Windows


@dataclass
class _Windower:
    """Cuts windows and features (through the cache) and maps their labels to the model's classes."""

    all_classes: list[str]
    extractor: object
    cache_dir: str | None
    remap: np.ndarray
    classes: list[str]
    hits: list[int] = field(default_factory=lambda: [0, 0])

    def cut(self, ds, key: str, spec: SegmenterSpec) -> tuple[Windows, np.ndarray]:
        """Windows and features of ``ds``; windows of a class the model lacks are dropped."""
        win, F, hit = windows_and_features(ds, key, spec, self.all_classes, self.extractor, self.cache_dir)
        self.hits[0] += int(hit)
        self.hits[1] += 1
        y = self.remap[win.y]
        keep = y >= 0
        if not keep.all():
            win, F, y = win.take(keep), F[keep], y[keep]
        win.y, win.classes = y, list(self.classes)
        return win, F


@dataclass
class Prepared:
    """The shipped pipeline's data-fitted parts, and what cross-validation reuses.

    Attributes:
        config: the configuration.
        data: the study's data and folds.
        spec: the shipped segmenter (threshold from all training captures).
        classes: model classes (background first when present).
        has_background: ``classes[0]`` is the data's background class.
        extractor: the feature extractor (all generators of ``config.families``).
        feature_names: names of its features, in column order.
        selector, scaler: fitted on all training windows.
        win_train, win_test: windows of the training / held-out captures
            (held-out windows of a class the model lacks are dropped).
        F_train, F_test: ``(n_windows, n_features) float32`` features.
        data_seed: seed of the selector's forests.
        windower: the window/feature source (cache statistics in ``windower.hits``).
        forest_hits: ``[hits, fits]`` of the forest-importance cache.
    """

    config: PipelineConfig
    data: TrialData
    spec: SegmenterSpec
    classes: list[str]
    has_background: bool
    extractor: object
    feature_names: list[str]
    selector: TreeSelector
    scaler: MinMaxUint8Scaler
    win_train: Windows
    win_test: Windows
    F_train: np.ndarray
    F_test: np.ndarray
    data_seed: int
    windower: _Windower
    forest_hits: list[int]
    _folds: list[_FoldData] | None = None

    @property
    def selected_names(self) -> list[str]:
        """Names of the shipped pipeline's selected features, model input order."""
        return [self.feature_names[int(i)] for i in self.selector.selected_]

    @property
    def background_index(self) -> int | None:
        """Model index of the background class, or None when the model has none."""
        return 0 if self.has_background else None

    def select_scale(self, F: np.ndarray, y: np.ndarray) -> tuple[TreeSelector, MinMaxUint8Scaler]:
        """Selector and scaler fitted on ``(F, y)`` (forest importances through the cache)."""
        imp, hit = forest_importances(F, y, self.config.n_estimators, self.data_seed, self.windower.cache_dir,
                                      bool(self.data.train_key))
        self.forest_hits[0] += int(hit)
        self.forest_hits[1] += 1
        selector = TreeSelector.from_importances(imp, int(self.config.k), self.config.n_estimators, self.data_seed)
        return selector, MinMaxUint8Scaler().fit(selector.transform(F))


def prepare(data: TrialData, config: PipelineConfig, data_seed: int = 0, cache_dir: str | None = None) -> Prepared:
    """Step 1 of the recipe: the shipped pipeline up to the model (no training).

    Args:
        data: the study's data and folds (:func:`automl.evaluation.plan_validation`).
        config: the configuration.
        data_seed: seed of the selector's forest (the study seed, so trials
            with the same windows share one forest fit).
        cache_dir: window/feature cache folder (default ``<temp>/automl-cache``).

    Returns:
        The :class:`Prepared` pipeline.

    Raises:
        TrialFailed: no feature family, no training window, a single class,
            an unknown segmenter or detection column.
    """
    from automl.features import FeatureExtractor

    train, test = data.train, data.test
    if not config.families:
        raise TrialFailed("no feature family is switched on")
    classes_all = train.labels()
    classes_all += [c for c in test.labels() if c not in classes_all]
    spec = segmenter_spec(config, train)
    extractor = FeatureExtractor(list(train.channels), families=tuple(config.families), magnitude=bool(config.magnitude),
                                 sample_rate_hz=float(train.sample_rate_hz), frequency_bands=int(config.frequency_bands),
                                 sensors=train.sensors)
    windower = _Windower(list(classes_all), extractor, cache_dir, np.arange(len(classes_all)), list(classes_all))
    win_train, F_train = windower.cut(train, data.train_key, spec)
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
    windower.remap, windower.classes = remap, classes
    win_train.y, win_train.classes = remap[win_train.y], list(classes)
    win_test, F_test = windower.cut(test, data.test_key, spec)
    p = Prepared(config, data, spec, classes, classes[0] == train.background, extractor, extractor.feature_names(),
                 None, None, win_train, win_test, F_train, F_test, int(data_seed), windower, [0, 0])
    p.selector, p.scaler = p.select_scale(F_train, win_train.y)
    return p


def _fold_data(p: Prepared) -> list[_FoldData]:
    """Per fold: segmenter, selection and scaling fitted on the fold's training captures."""
    if p._folds is not None:
        return p._folds
    out = []
    train, cfg = p.data.train, p.config
    for fold in p.data.folds:
        fold_train = train.subset(fold.train)
        spec = segmenter_spec(cfg, fold_train) if cfg.segmenter == "threshold" else p.spec
        win, F = (p.win_train, p.F_train) if spec == p.spec else p.windower.cut(train, p.data.train_key, spec)
        groups = np.asarray(win.capture_names, dtype=object)[win.capture]
        tr = np.isin(groups, fold.train)
        win_val, F_val = p.windower.cut(fold.streams, fold.streams_key, spec)
        if not tr.any() or len(win_val) == 0 or len(np.unique(win.y[tr])) < 2:
            continue
        selector, scaler = p.select_scale(F[tr], win.y[tr])
        x = _scaled(scaler, selector, F)
        inner, es = np.isin(groups, fold.inner_train), np.isin(groups, fold.inner_val)
        if not inner.any() or len(np.unique(win.y[inner])) < 2:
            inner, es = tr, np.zeros_like(tr)
        out.append(_FoldData(fold, spec, x[inner], win.y[inner], x[es], win.y[es], x[tr],
                             _scaled(scaler, selector, F_val), win_val))
    p._folds = out
    return out


@dataclass
class SeedScore:
    """Cross-validation of one training seed.

    Attributes:
        seed: the training seed (weights, dropout, batch order).
        value: the objective (device event F1 or window macro F1), 0..1.
        window_metrics: ``classification_metrics`` of the voted window decisions.
        events: ``device_event_metrics`` of the outputs on the validation
            streams, or None without a background class.
        best_epochs: early-stopping epoch per fold.
        predicted_classes: distinct class decisions over all validation
            windows (one value: the model is *collapsed*).
    """

    seed: int
    value: float
    window_metrics: dict
    events: dict | None
    best_epochs: list[int]
    predicted_classes: list[int]


def _decide(p: Prepared, tflite: bytes, x: np.ndarray):
    from automl.quantization import TFLiteModel

    tfl = TFLiteModel(tflite)
    if len(x) == 0:
        return tfl, np.zeros(0, np.int64)
    raw, logits = tfl.run(x)
    return tfl, decide(raw, logits, p.config.unknown_threshold, tfl.output_scale if tfl.quantized else None,
                       int(tfl.output_zero_point) if tfl.quantized else None)


def _outputs(p: Prepared, win: Windows, decisions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(voted decisions, device outputs) of windows, each capture one stream."""
    post = p.config.post
    voted = postprocess_windows(decisions, win.capture, win.start, win.X.shape[1],
                                PostProcessSpec(post.vote, 0), p.background_index)
    # The refractory rule on the voted decisions: the same outputs as the full spec on the raw ones, one vote.
    out = postprocess_windows(voted, win.capture, win.start, win.X.shape[1], PostProcessSpec(1, post.refractory),
                              p.background_index)
    return voted, out


def _merge_windows(parts: list[Windows]) -> tuple[Windows, list]:
    """Windows of several datasets as one set (capture indices offset), for pooled metrics."""
    names, caps = [], []
    for w in parts:
        caps.append(w.capture + len(names))
        names += list(w.capture_names)
    first = parts[0]
    merged = Windows(np.zeros((sum(len(w) for w in parts), first.X.shape[1], 0), np.float32),
                     np.concatenate([w.y for w in parts]), np.concatenate(caps),
                     np.concatenate([w.start for w in parts]), list(first.classes), names)
    return merged, names


def cross_validate(p: Prepared, seed: int) -> SeedScore:
    """Step 2 of the recipe for one training seed (see the module docstring).

    Args:
        p: from :func:`prepare`.
        seed: training seed (weights, dropout, batch order); folds and
            selection do not depend on it.

    Returns:
        The :class:`SeedScore`.

    Raises:
        TrialFailed: if no fold has training and validation windows of two classes.
        FloatingPointError: if the training loss becomes NaN.
    """
    from automl.model import train_mlp
    from automl.quantization import convert

    folds = _fold_data(p)
    if not folds:
        raise TrialFailed("no cross-validation fold had both training and validation windows")
    cfg = p.config
    n_classes = len(p.classes)
    best_epochs, y_true, voted_all, wins, outs, streams, decided = [], [], [], [], [], [], set()
    for fd in folds:
        result = train_mlp(fd.x_inner, fd.y_inner, n_classes, cfg.mlp(seed), fd.x_es if len(fd.x_es) else None,
                           fd.y_es if len(fd.x_es) else None, fast=cfg.fast_training)
        best_epochs.append(int(result.best_epoch))
        _, dec = _decide(p, convert(result.model, fd.x_rep, cfg.quantization), fd.x_val)
        voted, out = _outputs(p, fd.win_val, dec)
        decided.update(dec.tolist())
        y_true.append(fd.win_val.y)
        voted_all.append(voted)
        wins.append(fd.win_val)
        outs.append(out)
        streams.append(fd.fold.streams)
    y_true, voted_all = np.concatenate(y_true), np.concatenate(voted_all)
    window_metrics = classification_metrics(y_true, voted_all, p.classes)
    events = None
    if p.has_background:
        merged, _ = _merge_windows(wins)
        pooled = p.data.train.replace(captures=[c for s in streams for c in s.captures],
                                      segments=[g for s in streams for g in s.segments])
        events = window_device_metrics(merged, np.concatenate(outs), pooled)
    use_events = cfg.objective == "event_f1" and events is not None
    value = float(events["f1"] if use_events else window_metrics["macro_f1"])
    return SeedScore(int(seed), value, window_metrics, events, best_epochs, sorted(decided))


@dataclass
class FinalModel:
    """The shipped model and its held-out scores.

    Attributes:
        tflite: the ``.tflite`` bytes.
        pipeline: the :class:`automl.pipeline.FittedPipeline` (``pipeline.json``).
        test_metrics: window metrics of the voted decisions on the held-out
            captures, or None without held-out windows.
        test_events: device event metrics on the held-out captures (pooled), or None.
        test_predicted_classes: distinct decisions over the held-out windows.
        train_predicted_classes: distinct decisions over the training windows.
        diagnostics: threshold segmenter trigger diagnostics, or None.
        test_events_by_capture: ``{held-out capture name: device event metrics}``
            of each held-out capture scored alone (same outputs as
            ``test_events``; the counts add up to its counts), in the held-out
            dataset's capture order; None when ``test_events`` is None.
    """

    tflite: bytes
    pipeline: FittedPipeline
    test_metrics: dict | None
    test_events: dict | None
    test_predicted_classes: list[int]
    train_predicted_classes: list[int]
    diagnostics: dict | None
    test_events_by_capture: dict[str, dict] | None = None


def fit_final(p: Prepared, seed: int, epochs: int, sample_scale: dict | None = None, study: str = "",
              trial: int = -1) -> FinalModel:
    """Step 3 of the recipe: train on all training windows, convert, score on the held-out captures.

    Args:
        p: from :func:`prepare`.
        seed: training seed.
        epochs: epochs to train (the median early-stopping epoch of the folds).
        sample_scale: counts per sensor unit per channel (recorded for export).
        study, trial: recorded in ``pipeline.json``.

    Returns:
        The :class:`FinalModel`. With a background class its held-out device
        event metrics are computed once on the outputs of all held-out windows
        (``test_events``, pooled) and per held-out capture
        (``test_events_by_capture``, each capture one stream).

    Raises:
        FloatingPointError: if the training loss becomes NaN.
        TrialFailed: if the converted model is not what the firmware runs
            (:func:`automl.quantization.check_converted`).
    """
    from automl.model import train_mlp
    from automl.quantization import check_converted, convert

    cfg = p.config
    x_all = _scaled(p.scaler, p.selector, p.F_train)
    final = train_mlp(x_all, p.win_train.y, len(p.classes), cfg.mlp(seed), epochs=max(1, int(epochs)),
                      fast=cfg.fast_training)
    tflite = convert(final.model, x_all, cfg.quantization)
    try:
        check_converted(tflite, cfg.quantization)
    except ValueError as exc:
        raise TrialFailed(f"converted model: {exc}") from None
    tfl, train_dec = _decide(p, tflite, x_all)
    test_metrics = test_events = test_by_capture = None
    test_classes: list[int] = []
    if len(p.win_test):
        _, dec = _decide(p, tflite, _scaled(p.scaler, p.selector, p.F_test))
        voted, out = _outputs(p, p.win_test, dec)
        test_metrics = classification_metrics(p.win_test.y, voted, p.classes)
        if p.has_background:
            test_events = window_device_metrics(p.win_test, out, p.data.test)
            test_by_capture = window_device_metrics_by_capture(p.win_test, out, p.data.test)
        test_classes = sorted(set(dec.tolist()))
    diagnostics = None
    if p.spec.kind == "threshold" and p.has_background:
        diagnostics = {"train": vars(trigger_diagnostics(p.data.train, p.win_train)).copy(),
                       "test": vars(trigger_diagnostics(p.data.test, p.win_test)).copy()}
    train = p.data.train
    pipeline = FittedPipeline(
        channels=list(train.channels), sample_rate_hz=float(train.sample_rate_hz),
        sample_scale=dict(sample_scale or {c: 1.0 for c in train.channels}), classes=list(p.classes),
        segmenter=p.spec, families=list(cfg.families), magnitude=bool(cfg.magnitude),
        frequency_bands=int(cfg.frequency_bands), feature_names=list(p.feature_names),
        selected=[int(i) for i in p.selector.selected_], selected_names=p.selected_names,
        importances=[float(v) for v in p.selector.importances_],
        scaler_min=[float(v) for v in p.scaler.min_], scaler_max=[float(v) for v in p.scaler.max_],
        layers=list(cfg.layers), quantization=cfg.quantization, unknown_threshold=float(cfg.unknown_threshold),
        vote=int(cfg.post.vote), refractory=int(cfg.post.refractory),
        dropout=float(cfg.dropout), learning_rate=float(cfg.learning_rate), epochs=int(epochs),
        input_scale=tfl.input_scale if tfl.quantized else None,
        input_zero_point=int(tfl.input_zero_point) if tfl.quantized else None,
        output_scale=tfl.output_scale if tfl.quantized else None,
        output_zero_point=int(tfl.output_zero_point) if tfl.quantized else None,
        tflite_bytes=len(tflite), background=train.background, study=study, trial=trial, dataset=train.name,
        sensors={g: list(m) for g, m in (train.sensors or {}).items()}, resample_hz=train.resample_hz, tflite=tflite,
    )
    return FinalModel(tflite, pipeline, test_metrics, test_events, test_classes, sorted(set(train_dec.tolist())),
                      diagnostics, test_by_capture)
