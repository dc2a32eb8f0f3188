"""The fitted pipeline of one trial and its reference (Python) inference."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from automl.data import Dataset, to_counts
from automl.errors import StudyError

FORMAT_VERSION = 3  # 3: post-processing (vote, refractory)


@dataclass(frozen=True)
class SegmenterSpec:
    """How windows are cut (all lengths in samples).

    Attributes:
        kind: ``"sliding"`` or ``"threshold"``.
        window_size: window length.
        slide: sliding: step between windows; threshold: refractory period.
        column: threshold only: the detection column (a channel, ``accMag`` or ``gyrMag``).
        mode: threshold only: ``"absolute"`` or ``"std"``.
        detection_window: threshold ``std`` mode: samples in the detection std.
        threshold: threshold only: detection threshold in ADC counts (float32 value).
        lookback: threshold only: samples kept before the trigger.
        quantile: threshold only: the training-signal quantile the threshold came from.
    """

    kind: str
    window_size: int
    slide: int
    column: str | None = None
    mode: str | None = None
    detection_window: int | None = None
    threshold: float | None = None
    lookback: int = 0
    quantile: float | None = None

    def build(self):
        """The Python segmenter (``SlidingWindow`` or ``ThresholdWindow``)."""
        from automl.segmentation import SlidingWindow, ThresholdWindow

        if self.kind == "sliding":
            return SlidingWindow(self.window_size, self.slide)
        return ThresholdWindow(self.window_size, self.column, float(np.float32(self.threshold)), mode=self.mode,
                               detection_window=self.detection_window or 1, lookback=self.lookback,
                               slide=self.slide)


@dataclass
class PipelineRun:
    """What the pipeline computed on a set of captures, window by window.

    Attributes:
        capture: ``(n_windows,) int64`` capture index.
        start: ``(n_windows,) int64`` first sample of each window.
        y_true: ``(n_windows,) int64`` labelled class index (model classes).
        features: ``(n_windows, k) float32`` selected features (raw units).
        scaled: ``(n_windows, k) uint8`` scaler output.
        raw_output: ``(n_windows, n_classes)`` model output tensor (int8 or float32).
        logits: ``(n_windows, n_classes)`` last dense layer's output (int8 or float32).
        predicted: ``(n_windows,) int64`` model class index, -1 = unknown (top
            probability below the unknown threshold).
        outputs: ``(n_windows,) int64`` what the device emits for the window
            after post-processing (:func:`automl.postprocessing.postprocess`):
            a model class index, -1 = unknown, -2 = nothing (suppressed). The
            firmware's ``kp_add_sample`` returns ``outputs + 1`` (class id), and
            -1 for -2.
    """

    capture: np.ndarray
    start: np.ndarray
    y_true: np.ndarray
    features: np.ndarray
    scaled: np.ndarray
    raw_output: np.ndarray
    logits: np.ndarray
    predicted: np.ndarray
    outputs: np.ndarray


@dataclass
class FittedPipeline:
    """A trial's fitted pipeline (``pipeline.json``) plus its ``.tflite`` bytes.

    Attributes are those of ``pipeline.json`` (see docs/CONTRACTS.md);
    ``tflite`` is not serialised to JSON (it is ``model.tflite``).
    ``sensors`` (sensor groups, ``{group: 3 channel names}``: where the
    magnitude channels and ColumnFusion pairs come from) and ``resample_hz``
    (the rate the training captures were resampled to, None if used as
    recorded; the device must deliver samples at ``sample_rate_hz``) are
    optional: a file without them is read with the name-prefix rule and no
    resampling, as it was written.
    """

    channels: list[str]
    sample_rate_hz: float
    sample_scale: dict[str, float]
    classes: list[str]
    segmenter: SegmenterSpec
    families: list[str]
    magnitude: bool
    frequency_bands: int
    feature_names: list[str]
    selected: list[int]
    selected_names: list[str]
    importances: list[float]
    scaler_min: list[float]
    scaler_max: list[float]
    layers: list[int]
    quantization: str
    unknown_threshold: float = 0.0
    vote: int = 1
    refractory: int = 0
    dropout: float = 0.0
    learning_rate: float = 0.0
    epochs: int = 0
    input_scale: float | None = None
    input_zero_point: int | None = None
    output_scale: float | None = None
    output_zero_point: int | None = None
    tflite_bytes: int = 0
    background: str = ""
    study: str = ""
    trial: int = -1
    dataset: str = ""
    sensors: dict[str, list[str]] | None = None
    resample_hz: float | None = None
    version: int = FORMAT_VERSION
    tflite: bytes = field(default=b"", repr=False)

    # -- serialisation ---------------------------------------------------
    def to_json(self) -> str:
        """``pipeline.json`` text (without the model bytes)."""
        d = asdict(self)
        d.pop("tflite")
        d["window_size"], d["slide"] = self.segmenter.window_size, self.segmenter.slide
        return json.dumps(d, indent=1)

    @classmethod
    def from_json(cls, text: str, tflite: bytes = b"", where: str = "pipeline.json") -> "FittedPipeline":
        """Parse ``pipeline.json``.

        Raises:
            StudyError: if the JSON is invalid or misses a key (named, with ``where``).
        """
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StudyError(f"{where}: not valid JSON ({exc})") from None
        if d.get("version") != FORMAT_VERSION:
            raise StudyError(f"{where}: pipeline format version {d.get('version')!r}, expected {FORMAT_VERSION} "
                             "(made by another version of tinyml-automl: run the search again)")
        names = {f.name for f in fields(cls)}
        missing = [f.name for f in fields(cls) if f.name not in d and f.name != "tflite"
                   and f.default is dataclass_missing() and f.default_factory is dataclass_missing()]
        if missing:
            raise StudyError(f"{where}: missing key(s) {missing}")
        kw = {k: v for k, v in d.items() if k in names}
        kw["segmenter"] = SegmenterSpec(**kw["segmenter"])
        return cls(**kw, tflite=tflite)

    @classmethod
    def load(cls, folder: Path) -> "FittedPipeline":
        """Read ``pipeline.json`` and ``model.tflite`` from a trial's artifact folder.

        Raises:
            StudyError: naming the missing or broken file.
        """
        folder = Path(folder)
        pj, mt = folder / "pipeline.json", folder / "model.tflite"
        for p in (pj, mt):
            if not p.is_file():
                raise StudyError(f"{p} is missing: the trial has no stored artifacts")
        return cls.from_json(pj.read_text(), mt.read_bytes(), where=str(pj))

    # -- inference ----------------------------------------------------------
    def extractor(self):
        """The feature extractor of this pipeline (all families it was searched with)."""
        from automl.features import FeatureExtractor

        return FeatureExtractor(list(self.channels), families=tuple(self.families), magnitude=self.magnitude,
                                sample_rate_hz=self.sample_rate_hz, frequency_bands=self.frequency_bands,
                                sensors=self.sensors)

    def features(self, X: np.ndarray) -> np.ndarray:
        """Selected features of windows.

        Args:
            X: ``(n_windows, window_size, n_channels) float32`` ADC counts.

        Returns:
            ``(n_windows, k) float32`` in model-input order (only these are computed).
        """
        return self.extractor().compute_selected(X, self.selected_names)

    def scale(self, F: np.ndarray) -> np.ndarray:
        """``(n, k) uint8`` scaler output of ``(n, k) float32`` features (clipped)."""
        from automl.selection import MinMaxUint8Scaler

        sc = MinMaxUint8Scaler()
        sc.min_ = np.asarray(self.scaler_min, np.float32)
        sc.max_ = np.asarray(self.scaler_max, np.float32)
        sc.n_features_in_ = len(self.scaler_min)
        return sc.transform(F)

    def unknown_threshold_q(self) -> int | None:
        """For int8 models: the smallest int8 top output that is *not* unknown.

        A window is unknown when its top probability ``(q - zp) * scale`` is
        below ``unknown_threshold``; in integers: ``q < q_min`` with
        ``q_min = ceil(threshold / scale + zp)`` (float64, then clamped to
        [-128, 128]). The exported C compares the same integer.
        """
        return unknown_threshold_q(self.unknown_threshold, self.output_scale, self.output_zero_point)

    def decide(self, raw: np.ndarray, logits: np.ndarray) -> np.ndarray:
        """Class decision of model outputs (what the firmware decides).

        int8: argmax of the int8 softmax output (first on ties); unknown when
        that top output is below :meth:`unknown_threshold_q`. float32: argmax of
        the logits (bit-exact in the firmware); unknown when the top softmax
        probability is below ``unknown_threshold`` (the firmware's float softmax
        is within a few ulp of TFLite Micro's, so only a probability within a few
        ulp of the threshold could decide differently).

        Args:
            raw: ``(n, n_classes)`` int8 (quantised softmax) or float32 outputs.
            logits: ``(n, n_classes)`` last dense layer outputs, same dtype.

        Returns:
            ``(n,) int64`` class index, or -1 (unknown).
        """
        return decide(raw, logits, self.unknown_threshold, self.output_scale, self.output_zero_point)

    def run(self, dataset: Dataset, counts: bool = False, model=None) -> PipelineRun:
        """Segment, extract, scale, run the ``.tflite`` and decide, on every capture.

        Args:
            dataset: captures in sensor units (or ADC counts if ``counts``).
            counts: True if ``dataset`` already holds ADC counts.
            model: a ready :class:`automl.quantization.TFLiteModel` (default: built from ``tflite``).

        Returns:
            Per-window arrays (see :class:`PipelineRun`).
        """
        from automl.quantization import TFLiteModel

        ds = dataset if counts else to_counts(dataset, self.sample_scale)
        if self.sensors is not None:
            ds = ds.replace(sensors={g: tuple(m) for g, m in self.sensors.items()})
        windows = self.segmenter.build().transform(ds, self.classes)
        F = self.features(windows.X) if len(windows) else np.zeros((0, len(self.selected)), np.float32)
        u8 = self.scale(F)
        model = model or TFLiteModel(self.tflite)
        if len(windows):
            raw, logits = model.run(u8.astype(np.float32) / np.float32(255.0))
        else:
            raw = logits = np.zeros((0, len(self.classes)), model.output_dtype)
        decided = self.decide(raw, logits)
        return PipelineRun(windows.capture, windows.start, windows.y, F, u8, raw, logits, decided,
                           self.postprocess(decided, windows.capture, windows.start))

    @property
    def post(self):
        """The :class:`automl.postprocessing.PostProcessSpec` of this pipeline."""
        from automl.postprocessing import PostProcessSpec

        return PostProcessSpec(int(self.vote), int(self.refractory))

    @property
    def background_index(self) -> int | None:
        """Model index of the background class (0), or None if the model has no background class.

        ``background`` (in ``pipeline.json``) names the data's background
        class; it is the model's first class when the search kept it. A model
        trained on data without background windows (BasicMotions) has none.
        """
        return 0 if self.background and self.classes and self.classes[0] == self.background else None

    def postprocess(self, decided: np.ndarray, capture: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Device outputs of decided windows (each capture one stream); see :attr:`PipelineRun.outputs`."""
        from automl.postprocessing import postprocess_windows

        return postprocess_windows(decided, capture, start, self.segmenter.window_size, self.post,
                                   self.background_index)


def unknown_threshold_q(threshold: float, output_scale: float | None, output_zero_point: int | None) -> int | None:
    """Smallest int8 top softmax output that is not unknown (see FittedPipeline.unknown_threshold_q)."""
    if output_scale is None:
        return None
    if threshold <= 0:
        return -128
    q = math.ceil(threshold / output_scale + (output_zero_point or 0))
    return int(min(max(q, -128), 128))


def decide(raw: np.ndarray, logits: np.ndarray, threshold: float, output_scale: float | None,
           output_zero_point: int | None) -> np.ndarray:
    """Class decision; see :meth:`FittedPipeline.decide`. ``(n,) int64``, -1 = unknown."""
    raw = np.asarray(raw)
    if raw.shape[0] == 0:
        return np.zeros(0, np.int64)
    if raw.dtype == np.int8:
        top = raw.argmax(axis=1).astype(np.int64)
        unknown = raw.max(axis=1).astype(np.int64) < unknown_threshold_q(threshold, output_scale, output_zero_point)
    else:
        top = np.asarray(logits).argmax(axis=1).astype(np.int64)
        unknown = raw.max(axis=1) < np.float32(threshold) if threshold > 0 else np.zeros(raw.shape[0], bool)
    return np.where(unknown, -1, top)


def dataclass_missing():
    """The dataclasses MISSING sentinel (a field without default)."""
    from dataclasses import MISSING

    return MISSING
