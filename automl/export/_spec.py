"""Validate a ``pipeline.json`` dict (and its model) into what the templates print.

The contract is ``docs/CONTRACTS.md``. Every problem is a
:class:`automl.errors.StudyError` that names the trial, the key and the fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from automl.errors import AutomlError, ConfigError, StudyError
from automl.pipeline import FittedPipeline, SegmenterSpec
from automl.pipeline._fitted import FORMAT_VERSION

from automl.quantization import TfliteInfo

__all__ = ["FirmwareSpec", "build_spec"]

# Quantisation parameters in pipeline.json are copies of the model's; they
# must agree with the flatbuffer to this relative tolerance (the contract's
# example prints 6 significant digits).
_SCALE_RTOL = 1e-5


@dataclass(frozen=True)
class FirmwareSpec:
    """Everything the firmware templates print, validated.

    Attributes:
        study: study name (user text, escaped by the templates).
        trial: trial number, ``>= 0``.
        dataset: data set name, or ``None`` if pipeline.json has none.
        sample_rate_hz: sensor sample rate, Hz, finite and ``> 0``.
        window_size: samples per window, ``>= 1``.
        slide: samples between the starts of consecutive windows, ``>= 1``.
        magnitude: whether the feature generator added magnitude channel(s).
        channels: raw channel names, in sample column order.
        classes: class names, in class-id (model output) order.
        feature_names: every generated feature, in feature-vector order.
        selected: ``(n_selected,)`` indices into ``feature_names``, in model
            input order.
        selected_names: ``feature_names[selected]``.
        scaler_min, scaler_max: ``(n_selected,) float32``, raw feature units.
        quantization: ``"int8"`` or ``"float32"``.
        input_scale, output_scale: float32 quantisation scales (real units per
            integer step) taken from the model flatbuffer; ``None`` for float32.
        input_zero_point, output_zero_point: int8 zero points; ``None`` for
            float32.
        extra: optional training facts for the README (``layers``,
            ``dropout``, ``learning_rate``), only those present.
        segmenter: how windows are cut (``sliding`` or ``threshold``).
        families: feature families the extractor was built with.
        frequency_bands: energy bands of the ``Frequency`` family.
        sample_scale: ``(n_channels,)`` ADC counts per sensor unit, channel order.
        unknown_threshold: top probability below which a window is unknown.
        unknown_q: int8 models: the smallest int8 top softmax output that is
            not unknown (:meth:`FittedPipeline.unknown_threshold_q`); ``None``
            for float32.
        fitted: the whole pipeline as :class:`automl.pipeline.FittedPipeline`
            (with the model bytes), for the code generators.
        sensors: sensor groups ``{group: 3 channel names}`` the magnitude
            channels come from; ``None`` (pipeline.json without them): the
            ``acc*`` / ``gyr*`` name-prefix rule.
    """

    study: str
    trial: int
    dataset: str | None
    sample_rate_hz: float
    window_size: int
    slide: int
    magnitude: bool
    channels: tuple[str, ...]
    classes: tuple[str, ...]
    feature_names: tuple[str, ...]
    selected: tuple[int, ...]
    selected_names: tuple[str, ...]
    scaler_min: np.ndarray
    scaler_max: np.ndarray
    quantization: str
    input_scale: float | None
    input_zero_point: int | None
    output_scale: float | None
    output_zero_point: int | None
    extra: dict
    segmenter: SegmenterSpec
    families: tuple[str, ...]
    frequency_bands: int
    sample_scale: tuple[float, ...]
    unknown_threshold: float
    unknown_q: int | None
    fitted: FittedPipeline
    sensors: dict[str, tuple[str, ...]] | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        """``kp_class_names``: ``"unknown"`` (class id 0), then ``classes`` (id i + 1 = model output i)."""
        return ("unknown", *self.classes)

    @property
    def background_id(self) -> int | None:
        """Class id of the background class (``KP_BACKGROUND_CLASS``), or ``None`` when the model has none."""
        index = self.fitted.background_index
        return None if index is None else index + 1


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def build_spec(pipeline: Mapping, info: TfliteInfo, *, study: str, trial: int,
               tflite: bytes = b"") -> FirmwareSpec:
    """Check ``pipeline`` against the contract and against the model.

    Args:
        pipeline: the parsed ``pipeline.json`` (see ``docs/CONTRACTS.md``;
            format version :data:`automl.pipeline._fitted.FORMAT_VERSION`).
        info: facts read from the trial's ``model.tflite``.
        tflite: the model bytes (kept in ``FirmwareSpec.fitted``).
        study: study name the export is labelled with.
        trial: trial number the export is labelled with.

    Returns:
        The validated :class:`FirmwareSpec`.

    Raises:
        StudyError: naming the trial and the key when a key is missing, has the
            wrong type or value, or disagrees with the model (input width vs.
            selected features, output width vs. classes, tensor type vs.
            ``quantization``, scales and zero points, ``tflite_bytes``), or
            when the segmenter, families or feature names do not describe
            a pipeline this version of tinyml-automl can generate.
    """
    where = f"pipeline.json of trial {trial}"

    def fail(msg: str) -> StudyError:
        return StudyError(f"{where}: {msg}")

    if not isinstance(pipeline, Mapping):
        raise fail(f"expected a JSON object, got {type(pipeline).__name__}")

    def get(key: str):
        if key not in pipeline or pipeline[key] is None:
            raise fail(f"missing key {key!r}; re-run the trial or add it (see docs/CONTRACTS.md)")
        return pipeline[key]

    def str_list(key: str, *, nonempty: bool = True) -> tuple[str, ...]:
        v = get(key)
        if not isinstance(v, (list, tuple)) or not all(isinstance(s, str) for s in v):
            raise fail(f"{key!r} must be a list of strings, got {v!r:.80}")
        if nonempty and not v:
            raise fail(f"{key!r} must not be empty")
        for s in v:
            if "\0" in s:
                raise fail(f"{key!r} entry {s!r} contains a NUL character")
        return tuple(v)

    def pos_int(key: str) -> int:
        v = get(key)
        if not _is_int(v) or v < 1:
            raise fail(f"{key!r} must be an integer >= 1, got {v!r}")
        return int(v)

    if pipeline.get("version") != FORMAT_VERSION:
        raise fail(f"pipeline format version {pipeline.get('version')!r}, expected {FORMAT_VERSION} "
                   "(made by another version of tinyml-automl: run the search again)")
    if not isinstance(study, str) or not study:
        raise StudyError(f"study name must be a non-empty string, got {study!r}")
    if not _is_int(trial) or trial < 0:
        raise StudyError(f"trial number must be an integer >= 0, got {trial!r}")
    if "trial" in pipeline and pipeline["trial"] is not None and pipeline["trial"] != trial:
        raise fail(f"says trial {pipeline['trial']!r}; it is not the pipeline of trial {trial}")
    if "study" in pipeline and pipeline["study"] is not None and pipeline["study"] != study:
        raise fail(f"says study {pipeline['study']!r}, not {study!r}")

    rate = get("sample_rate_hz")
    if not _is_number(rate) or not math.isfinite(float(rate)) or float(rate) <= 0:
        raise fail(f"'sample_rate_hz' must be a finite number > 0 (Hz), got {rate!r}")
    window_size, slide = pos_int("window_size"), pos_int("slide")
    magnitude = get("magnitude")
    if not isinstance(magnitude, bool):
        raise fail(f"'magnitude' must be true or false, got {magnitude!r}")
    channels = str_list("channels")
    classes = str_list("classes")
    if len(set(classes)) != len(classes):
        dup = sorted({c for c in classes if classes.count(c) > 1})
        raise fail(f"'classes' lists {dup!r} more than once")
    feature_names = str_list("feature_names")

    selected = get("selected")
    if not isinstance(selected, (list, tuple)) or not selected or not all(_is_int(i) for i in selected):
        raise fail(f"'selected' must be a non-empty list of integers, got {selected!r:.80}")
    bad = [i for i in selected if not 0 <= i < len(feature_names)]
    if bad:
        raise fail(
            f"'selected' has indices {bad[:5]} outside 0..{len(feature_names) - 1} "
            f"({len(feature_names)} feature_names)"
        )
    if len(set(selected)) != len(selected):
        raise fail("'selected' lists a feature index more than once")
    selected = tuple(int(i) for i in selected)
    n_sel = len(selected)
    selected_names = str_list("selected_names")
    if len(selected_names) != n_sel:
        raise fail(f"'selected_names' has {len(selected_names)} entries but 'selected' has {n_sel}")
    expected = tuple(feature_names[i] for i in selected)
    if selected_names != expected:
        k = next(j for j in range(n_sel) if selected_names[j] != expected[j])
        raise fail(
            f"'selected_names'[{k}] is {selected_names[k]!r} but feature_names[selected[{k}]] "
            f"is {expected[k]!r}"
        )

    scalers = {}
    for key in ("scaler_min", "scaler_max"):
        v = get(key)
        if not isinstance(v, (list, tuple)) or not all(_is_number(x) for x in v):
            raise fail(f"{key!r} must be a list of numbers, got {v!r:.80}")
        if len(v) != n_sel:
            raise fail(f"{key!r} has {len(v)} entries but 'selected' has {n_sel}")
        with np.errstate(over="ignore"):
            arr = np.asarray(v, dtype=np.float64).astype(np.float32)
        if not np.all(np.isfinite(arr)):
            raise fail(f"{key!r} has a value that is not a finite float32: {v!r:.80}")
        scalers[key] = arr

    quant = get("quantization")
    if quant not in ("int8", "float32"):
        raise fail(f"'quantization' must be 'int8' or 'float32', got {quant!r}")

    # --- cross-checks against the model
    if "tflite_bytes" in pipeline and pipeline["tflite_bytes"] is not None:
        if pipeline["tflite_bytes"] != info.n_bytes:
            raise fail(
                f"'tflite_bytes' is {pipeline['tflite_bytes']!r} but model.tflite has "
                f"{info.n_bytes} bytes; the model and pipeline.json do not belong together"
            )
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise fail(
            f"the model has {len(info.inputs)} inputs and {len(info.outputs)} outputs; "
            "the exporter handles one of each"
        )
    t_in, t_out = info.inputs[0], info.outputs[0]
    if not t_in.shape or t_in.shape[-1] != n_sel:
        raise fail(f"the model input has shape {t_in.shape} but {n_sel} features are selected")
    if not t_out.shape or t_out.shape[-1] != len(classes):
        raise fail(f"the model output has shape {t_out.shape} but there are {len(classes)} classes")
    want_type = "INT8" if quant == "int8" else "FLOAT32"
    for name, t in (("input", t_in), ("output", t_out)):
        if t.dtype != want_type:
            raise fail(f"'quantization' is {quant!r} but the model {name} tensor is {t.dtype}")

    q: dict[str, float | int | None] = dict.fromkeys(
        ("input_scale", "input_zero_point", "output_scale", "output_zero_point")
    )
    if quant == "int8":
        for side, t in (("input", t_in), ("output", t_out)):
            if t.scale is None or t.zero_point is None:
                raise fail(f"the model {side} tensor is INT8 but has no quantisation parameters")
            scale, zp = get(f"{side}_scale"), get(f"{side}_zero_point")
            if not _is_number(scale) or not math.isfinite(float(scale)) or float(scale) <= 0:
                raise fail(f"'{side}_scale' must be a finite number > 0, got {scale!r}")
            if not _is_int(zp) or not -128 <= zp <= 127:
                raise fail(f"'{side}_zero_point' must be an integer in -128..127, got {zp!r}")
            if abs(float(scale) - t.scale) > _SCALE_RTOL * t.scale or int(zp) != t.zero_point:
                raise fail(
                    f"'{side}_scale'/'{side}_zero_point' are {scale!r}/{zp!r} but the model says "
                    f"{t.scale!r}/{t.zero_point!r}"
                )
            # The flatbuffer's float32 is what TensorFlow Lite Micro uses.
            q[f"{side}_scale"], q[f"{side}_zero_point"] = t.scale, t.zero_point

    dataset = pipeline.get("dataset")
    if dataset is not None and not isinstance(dataset, str):
        raise fail(f"'dataset' must be a string, got {dataset!r}")
    extra = {k: pipeline[k] for k in ("layers", "dropout", "learning_rate") if pipeline.get(k) is not None}

    # --- the stages the firmware generates: segmenter, features, decision
    sensors = _sensors(pipeline.get("sensors"), channels, fail)
    segmenter = _segmenter(pipeline, get("segmenter"), channels, window_size, slide, fail, sensors)
    families = str_list("families")
    bands = get("frequency_bands")
    if not _is_int(bands) or bands < 1:
        raise fail(f"'frequency_bands' must be an integer >= 1, got {bands!r}")
    scale = get("sample_scale")
    if not isinstance(scale, Mapping) or any(
            ch not in scale or not _is_number(scale[ch]) or not math.isfinite(float(scale[ch]))
            or float(scale[ch]) <= 0 for ch in channels):
        raise fail(f"'sample_scale' must map every channel {list(channels)} to counts per unit > 0, "
                   f"got {scale!r:.120}")
    unknown = pipeline.get("unknown_threshold", 0.0)
    if not _is_number(unknown) or not 0.0 <= float(unknown) <= 1.0:
        raise fail(f"'unknown_threshold' must be a probability in [0, 1], got {unknown!r}")
    _check_feature_names(channels, families, magnitude, float(rate), int(bands), feature_names, fail, sensors)
    _check_postprocessing(pipeline, classes, fail)
    try:
        fitted = FittedPipeline.from_json(json.dumps(dict(pipeline)), bytes(tflite), where=where)
    except (TypeError, ValueError) as exc:
        raise fail(f"cannot be read as a fitted pipeline: {exc}") from None

    return FirmwareSpec(
        study=study,
        trial=int(trial),
        dataset=dataset,
        sample_rate_hz=float(rate),
        window_size=window_size,
        slide=slide,
        magnitude=magnitude,
        channels=channels,
        classes=classes,
        feature_names=feature_names,
        selected=selected,
        selected_names=selected_names,
        scaler_min=scalers["scaler_min"],
        scaler_max=scalers["scaler_max"],
        quantization=quant,
        extra=extra,
        segmenter=segmenter,
        families=families,
        frequency_bands=int(bands),
        sample_scale=tuple(float(scale[ch]) for ch in channels),
        unknown_threshold=float(unknown),
        unknown_q=fitted.unknown_threshold_q() if quant == "int8" else None,
        fitted=fitted,
        sensors=sensors,
        **q,
    )


def _sensors(value: object, channels: tuple[str, ...], fail) -> dict[str, tuple[str, ...]] | None:
    """Validate ``pipeline["sensors"]``: absent/None, or ``{group: 3 of the channels}``."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
            isinstance(g, str) and isinstance(m, (list, tuple)) and len(m) == 3 and all(c in channels for c in m)
            for g, m in value.items()):
        raise fail(f"'sensors' must map a group name to 3 of the channels {list(channels)}, got {value!r:.120}")
    return {g: tuple(m) for g, m in value.items()}


def _segmenter(pipeline: Mapping, seg: object, channels: tuple[str, ...], window_size: int, slide: int,
               fail, sensors: dict[str, tuple[str, ...]] | None = None) -> SegmenterSpec:
    """Validate ``pipeline["segmenter"]`` (kind, lengths, threshold column)."""
    from automl.segmentation import column_sources

    if not isinstance(seg, Mapping):
        raise fail(f"'segmenter' must be an object, got {seg!r:.80}")
    kind = seg.get("kind")
    if kind not in ("sliding", "threshold"):
        raise fail(f"'segmenter'.'kind' must be 'sliding' or 'threshold', got {kind!r}")
    if seg.get("window_size") != window_size or seg.get("slide") != slide:
        raise fail(f"'segmenter' says window_size {seg.get('window_size')!r} and slide {seg.get('slide')!r} "
                   f"but the pipeline says {window_size} and {slide}")
    if kind == "sliding":
        return SegmenterSpec("sliding", window_size, slide)
    column, mode = seg.get("column"), seg.get("mode")
    det, thr, lookback = seg.get("detection_window") or 1, seg.get("threshold"), seg.get("lookback", 0)
    if not isinstance(column, str):
        raise fail(f"'segmenter'.'column' must be a channel name or a sensor magnitude such as 'accMag', "
                   f"got {column!r}")
    try:
        column_sources(channels, column, sensors)
    except AutomlError as exc:
        raise fail(f"'segmenter'.'column': {exc}") from None
    if mode not in ("absolute", "std"):
        raise fail(f"'segmenter'.'mode' must be 'absolute' or 'std', got {mode!r}")
    if not _is_int(det) or det < 1:
        raise fail(f"'segmenter'.'detection_window' must be an integer >= 1, got {det!r}")
    if not _is_number(thr) or not math.isfinite(float(thr)) or not np.isfinite(np.float32(thr)):
        raise fail(f"'segmenter'.'threshold' must be a finite float32 number, got {thr!r}")
    if not _is_int(lookback) or not 0 <= lookback < window_size:
        raise fail(f"'segmenter'.'lookback' must be an integer in 0..{window_size - 1}, got {lookback!r}")
    quantile = seg.get("quantile")
    return SegmenterSpec("threshold", window_size, slide, column=column, mode=mode, detection_window=int(det),
                         threshold=float(thr), lookback=int(lookback),
                         quantile=float(quantile) if _is_number(quantile) else None)


def _check_postprocessing(pipeline: Mapping, classes: tuple[str, ...], fail) -> None:
    """``vote``, ``refractory`` (:class:`automl.postprocessing.PostProcessSpec`) and ``background``."""
    from automl.postprocessing import PostProcessSpec

    spec = PostProcessSpec(pipeline.get("vote", 1), pipeline.get("refractory", 0))
    try:
        spec.check()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    background = pipeline.get("background", "")
    if not isinstance(background, str):
        raise fail(f"'background' must be a class name or \"\", got {background!r}")
    # kp_post.h keeps decisions as int8_t (KP_POST_MAX_CLASSES); its vote capacity is the pipeline's vote.
    if not spec.is_identity and len(classes) > 127:
        raise fail(f"post-processing (vote {spec.vote}, refractory {spec.refractory}) supports at most 127 "
                   f"classes on the device, the model has {len(classes)}")


def _check_feature_names(channels, families, magnitude, rate, bands, feature_names, fail, sensors=None) -> None:
    """The feature extractor of this version must generate exactly ``feature_names``."""
    from automl.features import FeatureExtractor

    try:
        names = FeatureExtractor(list(channels), families=tuple(families), magnitude=magnitude,
                                 sample_rate_hz=rate, frequency_bands=bands, sensors=sensors).feature_names()
    except AutomlError as exc:
        raise fail(f"channels/families/magnitude do not give a feature extractor: {exc}") from None
    if tuple(names) != tuple(feature_names):
        k = next((i for i, (a, b) in enumerate(zip(names, feature_names)) if a != b), min(len(names),
                                                                                           len(feature_names)))
        got = feature_names[k] if k < len(feature_names) else None
        want = names[k] if k < len(names) else None
        raise fail(f"'feature_names' do not match the features this version of tinyml-automl generates "
                   f"({len(feature_names)} vs {len(names)}; first difference at {k}: {got!r} vs {want!r}); "
                   "run the search again")
