"""Flash, RAM and latency of one pipeline on a Cortex-M4F, from its shapes.

The estimate is of the firmware library :mod:`automl.export` writes (``kp.c``
+ ``kp_model.c``, built ``arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb
-mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os``), what its ``sizes.json`` measures:

* **flash** = ``text + data`` of the library: the network's constants and the
  strings/tables (exact, from the C types), plus machine code (calibrated per
  C function of ``kp_features.h``, with GCC's inlining modelled);
* **RAM** = ``data + bss`` (exact: ring buffer, float window copy, magnitude
  and sort scratch, feature vectors, network buffers, segmenter and
  post-processing state) plus the stack bound (sum of the library's
  ``-fstack-usage`` frames, calibrated);
* **cycles** = instructions of one classifying ``kp_add_sample`` call, the
  post-processing's majority vote (O(vote^2) compares) in its steady state
  included (calibrated against QEMU ``-icount`` counts) x the cycles-per-instruction
  of the measured instruction mix under the Cortex-M4 TRM timings (``cpi``
  in ``constants.json``); **latency** = cycles / clock.

C library routines the library calls (``floorf``, ``memcpy``, ``memset``) are
not counted: an application links them anyway.

For a ``tflite-micro`` target the network runs in TensorFlow Lite Micro
instead: the network constants and kernels are replaced by the ``.tflite``
(size fitted on converted models), the interpreter's code (16 KB, the
published TFLM figure) and the kernels; the network buffers by the tensor
arena (fitted on ``print_allocations``). Every constant and how it was
measured is in ``constants.json`` (``benchmarks/calibrate_cost.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import automl
from automl.cost import _model as M
from automl.cost._constants import load_constants
from automl.cost._targets import TargetProfile
from automl.postprocessing._postprocess import MAX_VOTE

QUANTIZATIONS = ("int8", "float32")
SEGMENTERS = ("sliding", "threshold")
THRESHOLD_MODES = ("absolute", "std")
#: Generator name and version strings in ``kp_model_info`` (a few bytes of flash).
GENERATOR_STRINGS = ("tinyml-automl", automl.__version__)
#: Length assumed for a channel / class name that is not given (bytes, without NUL).
DEFAULT_NAME_LENGTH = 8


@dataclass(frozen=True)
class PipelineShape:
    """The shapes that decide a pipeline's cost.

    Only ``window_size`` .. ``quantization`` are required; the others refine
    the estimate (the segmenter changes code, RAM and instructions; names only
    change the string table by a few bytes).

    Attributes:
        window_size: window length (samples).
        slide: sliding: samples between windows; threshold: refractory period (samples).
        n_channels: raw sensor channels streamed in.
        selected_features: names of the features the model uses, in model
            input order, e.g. ``("Statistical.std[accMag]", ...)``.
        layers: widths of all dense layers including the output, e.g.
            ``(12, 8, 4)`` (the last one is the number of model classes); the
            input width is ``len(selected_features)``.
        quantization: ``"int8"`` or ``"float32"``.
        segmenter: ``"sliding"`` or ``"threshold"``.
        threshold_column: threshold segmenter: detection column (a channel,
            ``accMag`` or ``gyrMag``).
        threshold_mode: threshold segmenter: ``"absolute"`` or ``"std"``.
        detection_window: threshold ``std`` mode: samples in the detection std.
        lookback: threshold segmenter: samples kept before the trigger.
        channels: raw channel names (default: ``n_channels`` names of 8 bytes).
        class_names: model class names, ``len == layers[-1]`` (default: 8-byte names).
        unknown_threshold: top probability below which a window is unknown (> 0
            adds the test).
        vote: post-processing majority vote over this many window decisions
            (1: none; at most 32).
        refractory: post-processing suppression time after an event output
            (samples; 0: none).
        study, dataset: the names written into ``kp_model_info``.
    """

    window_size: int
    slide: int
    n_channels: int
    selected_features: tuple[str, ...]
    layers: tuple[int, ...]
    quantization: str
    segmenter: str = "sliding"
    threshold_column: str | None = None
    threshold_mode: str | None = None
    detection_window: int = 1
    lookback: int = 0
    channels: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    unknown_threshold: float = 0.0
    vote: int = 1
    refractory: int = 0
    study: str = ""
    dataset: str = ""

    @classmethod
    def from_pipeline(cls, pipeline: Mapping | object) -> "PipelineShape":
        """The shape of a fitted pipeline (``pipeline.json`` dict or ``FittedPipeline``).

        Raises:
            ValueError: if a key is missing.
        """
        get = (lambda k, d=None: pipeline.get(k, d)) if isinstance(pipeline, Mapping) else \
            (lambda k, d=None: getattr(pipeline, k, d))
        seg = get("segmenter")
        seg_get = (lambda k, d=None: seg.get(k, d)) if isinstance(seg, Mapping) else \
            (lambda k, d=None: getattr(seg, k, d))
        try:
            classes = tuple(get("classes"))
            return cls(
                window_size=int(seg_get("window_size")), slide=int(seg_get("slide")),
                n_channels=len(get("channels")), selected_features=tuple(get("selected_names")),
                layers=(*map(int, get("layers")), len(classes)), quantization=str(get("quantization")),
                segmenter=str(seg_get("kind")), threshold_column=seg_get("column"), threshold_mode=seg_get("mode"),
                detection_window=int(seg_get("detection_window") or 1), lookback=int(seg_get("lookback") or 0),
                channels=tuple(get("channels")), class_names=classes,
                unknown_threshold=float(get("unknown_threshold", 0.0) or 0.0),
                vote=int(get("vote", 1) or 1), refractory=int(get("refractory", 0) or 0),
                study=str(get("study", "") or ""), dataset=str(get("dataset", "") or ""))
        except (TypeError, KeyError) as exc:
            raise ValueError(f"pipeline lacks what the cost model needs: {exc}") from None


@dataclass
class CostEstimate:
    """Estimated cost of one classification pipeline.

    Attributes:
        flash_bytes: code + constants (bytes).
        ram_bytes: static buffers + stack bound (bytes).
        cycles: CPU cycles of one classifying ``kp_add_sample`` call (ingest,
            window copy, features, scaler, network, decision, post-processing).
        latency_ms: ``cycles / clock`` (ms).
        breakdown: ``{"flash": {component: bytes}, "ram": {...}, "cycles": {...}}``
            plus ``instructions``, ``cpi`` and ``ingest_cycles_per_sample``.
    """

    flash_bytes: int
    ram_bytes: int
    cycles: int
    latency_ms: float
    breakdown: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain-JSON form (stored with each trial)."""
        return {"flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes, "cycles": self.cycles,
                "latency_ms": self.latency_ms, "breakdown": self.breakdown}

    def over_budget(self, target: TargetProfile) -> list[str]:
        """Names of the budgets this estimate exceeds (empty if it fits)."""
        over = []
        if self.flash_bytes > target.flash_bytes:
            over.append(f"flash {self.flash_bytes} B > {target.flash_bytes} B")
        if self.ram_bytes > target.ram_bytes:
            over.append(f"RAM {self.ram_bytes} B > {target.ram_bytes} B")
        if self.latency_ms > target.latency_ms:
            over.append(f"latency {self.latency_ms:.3f} ms > {target.latency_ms} ms")
        return over


def _dot(terms: Mapping[str, float], coef: Mapping[str, float], prefixes: tuple[str, ...] | None = None) -> float:
    return sum(v * coef.get(k, 0.0) for k, v in terms.items()
               if prefixes is None or k.startswith(prefixes))


def _check(shape: PipelineShape) -> None:
    def bad(param: str, must: str, got: object) -> ValueError:
        return ValueError(f"The {param!r} parameter of PipelineShape must be {must}. Got {got!r} instead.")

    if shape.quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {shape.quantization!r} (one of {list(QUANTIZATIONS)})")
    if shape.segmenter not in SEGMENTERS:
        raise bad("segmenter", f"one of {list(SEGMENTERS)}", shape.segmenter)
    if shape.segmenter == "threshold" and shape.threshold_mode not in THRESHOLD_MODES:
        raise bad("threshold_mode", f"one of {list(THRESHOLD_MODES)} for a threshold segmenter",
                  shape.threshold_mode)
    for name in ("window_size", "slide", "n_channels", "detection_window"):
        if int(getattr(shape, name)) < 1:
            raise bad(name, "an integer >= 1", getattr(shape, name))
    if not 1 <= int(shape.vote) <= MAX_VOTE:
        raise bad("vote", f"an integer in [1, {MAX_VOTE}]", shape.vote)
    if int(shape.refractory) < 0:
        raise bad("refractory", "an integer >= 0 (samples)", shape.refractory)
    if not shape.selected_features:
        raise bad("selected_features", "a non-empty sequence of feature names", shape.selected_features)
    if not shape.layers or any(int(w) < 1 for w in shape.layers):
        raise bad("layers", "widths >= 1 ending with the number of classes", shape.layers)
    if shape.channels and len(shape.channels) != shape.n_channels:
        raise bad("channels", f"{shape.n_channels} names (n_channels)", shape.channels)
    if shape.class_names and len(shape.class_names) != shape.layers[-1]:
        raise bad("class_names", f"{shape.layers[-1]} names (the output width layers[-1])", shape.class_names)


def estimate_cost(shape: PipelineShape, target: TargetProfile, constants: Mapping | None = None) -> CostEstimate:
    """Estimate flash, RAM and latency of a pipeline on ``target``.

    Fast (no compiler, no TensorFlow): a few hundred arithmetic operations, so
    it runs for every trial before training.

    Args:
        shape: the pipeline's shapes (see :class:`PipelineShape`).
        target: clock (MHz) for the latency, runtime variant (``automl-c`` or
            ``tflite-micro``).
        constants: calibrated constants (default: the shipped ``constants.json``).

    Returns:
        The estimate with a per-component breakdown (bytes, cycles).

    Raises:
        ValueError: if a feature name cannot be parsed or a shape field is
            invalid (the message names it).
        ConfigError: if the constants file is missing or stale.
    """
    _check(shape)
    C = constants if constants is not None else load_constants()
    features = [M.parse_feature(n) for n in shape.selected_features]
    q, W, n_ch = shape.quantization, int(shape.window_size), int(shape.n_channels)
    widths = [len(features), *map(int, shape.layers)]
    thr = shape.segmenter == "threshold"
    mode = shape.threshold_mode if thr else None
    column = shape.threshold_column if thr else None
    detect = int(shape.detection_window) if thr else 1
    channels = list(shape.channels) or [f"ch{i:0{DEFAULT_NAME_LENGTH - 2}d}" for i in range(n_ch)]
    classes = list(shape.class_names) or [f"class{i:0{DEFAULT_NAME_LENGTH - 5}d}" for i in range(widths[-1])]
    layout, thresholds = C["layout"], C["thresholds"]
    unknown = shape.unknown_threshold > 0
    post = {"vote": int(shape.vote), "refractory": int(shape.refractory)}

    # Flash ------------------------------------------------------------------
    code_t = M.code_terms(features, q, shape.segmenter, mode, column, thresholds, unknown=unknown, **post)
    code = C["code"]
    const = M.const_bytes(features, W, channels, classes, widths, q, shape.segmenter,
                          [*GENERATOR_STRINGS, shape.study, shape.dataset], layout)
    # The fitted base code (API, segmenter, window copy, scaler, network, decision) split in proportion
    # to the runtime components compiled alone (constants.json "components"); what the drivers do not
    # cover is glue (accessors, reset).
    comp = C["components"]
    base = code.get(f"base:{q}", 0.0)
    parts = {"inference": comp[f"inference_{q}"], "segmenter": comp["segmenter_sliding"], "scaler": comp[f"scaler_{q}"]}
    share = min(1.0, base / sum(parts.values()))
    inference = parts["inference"] * share
    segmenter = parts["segmenter"] * share + _dot(code_t, code, ("seg:",))
    scaler = parts["scaler"] * share
    glue = base - share * sum(parts.values()) + _dot(code_t, code, ("unknown:",))
    features_code = _dot(code_t, code, ("feature", "inline:", "outlined:", "site:"))
    flash = {
        "model_constants": const["model_constants"],
        "inference_code": inference,
        "feature_code": features_code + const["dft_tables"],
        "segmenter_code": segmenter,
        "scaler": scaler + const["scaler_constants"],
        "metadata": const["names"] + const["tables"],
        "runtime_glue": glue,
        "postprocessing": _dot(code_t, code, ("post",)),
    }
    # RAM --------------------------------------------------------------------
    static = M.static_ram(features, W, n_ch, widths, q, shape.segmenter, mode, detect, int(shape.lookback),
                          int(shape.slide), layout, **post)
    stack = _dot(M.stack_terms(features, q, thresholds, **post), C["stack"])
    ram = {
        "window_buffer": static["ring_buffer"],
        "window_copy": static["window_copy"],
        "segmenter_state": static["segmenter_state"] + static["globals"],
        "feature_scratch": static["magnitude"] + static["sort_scratch"],
        "feature_vector": static["feature_vector"],
        "activations": static["activations"],
        "postprocessing": static["post_state"],
        "stack": stack,
    }
    # Cycles -------------------------------------------------------------------
    frac = float(C["sort_shift_fraction"]["value"])
    shifts = frac * sum(W * (W - 1) / 4 for f in features if f.function in M.SORTING)
    cls_t = M.classify_terms(features, W, n_ch, widths, q, shape.segmenter, mode, column, detect, shifts,
                             unknown=unknown, **post)
    coef = C["classify"]
    cpi = float(C["cpi"]["value"])
    groups = {
        "segmentation": ("ingest:", "detect:", "copy:"),
        "features": ("magnitude:", "W:", "1:", "dft:", "sort:"),
        "inference": ("mac:", "out:", "layer:", "class:", "unknown"),
        "postprocessing": ("post:",),
        "overhead": ("call:", "feature:"),
    }
    insn_parts = {g: _dot(cls_t, coef, p) for g, p in groups.items()}
    instructions = sum(insn_parts.values())
    cycles = {g: v * cpi for g, v in insn_parts.items()}
    ingest = _dot(M.ingest_terms(n_ch, shape.segmenter, mode, column, detect), C["ingest"]) * cpi

    breakdown_extra = {"instructions": int(round(instructions)), "cpi": cpi,
                       "ingest_cycles_per_sample": int(round(ingest)), "runtime": target.runtime}
    if target.runtime == "tflite-micro":
        tf = C["tflite_micro"]
        tflite = _dot(M.tflite_terms(widths, q), tf["tflite"])
        arena = _dot(M.arena_terms(widths, q), tf["arena"])
        flash.pop("model_constants")
        flash["model_tflite"] = tflite
        flash["tflm_kernels"] = flash.pop("inference_code")
        flash["tflm_interpreter"] = float(tf["interpreter_code_bytes"])
        ram.pop("activations")
        ram["tflm_arena"] = arena
    flash = {k: int(round(v)) for k, v in flash.items()}
    ram = {k: int(round(v)) for k, v in ram.items()}
    cycles = {k: int(round(v)) for k, v in cycles.items()}
    total_cycles = int(sum(cycles.values()))
    return CostEstimate(
        flash_bytes=int(sum(flash.values())),
        ram_bytes=int(sum(ram.values())),
        cycles=total_cycles,
        latency_ms=total_cycles / (target.clock_mhz * 1e3),
        breakdown={"flash": flash, "ram": ram, "cycles": cycles, **breakdown_extra},
    )

