"""The cost model's terms: what the estimator multiplies by the calibrated constants.

``benchmarks/calibrate_cost.py`` computes the same terms for every firmware it
builds and fits the constants by least squares; :func:`automl.cost.estimate_cost`
computes them for a planned pipeline and takes the dot product. Keeping the
term definitions in one place guarantees that calibration and estimate agree.

Three kinds of quantity, per exported library (``kp.c`` + ``kp_model.c`` of
:mod:`automl.export`, built ``-Os`` for the Cortex-M4F):

* **exact bytes** (:func:`const_bytes`, :func:`static_ram`): arrays and strings
  whose size follows from the C types of the generated code (``float`` 4 B,
  pointers 4 B, ``int8`` weights 1 B, ...) plus a few fixed layouts measured
  once (``constants.json`` ``"layout"``); the post-processing state
  (:func:`post_ram`) entirely from its C types;
* **code bytes** (:func:`code_terms`): machine code of ``kp.c``, fitted per C
  function of ``firmware/runtime/kp_features.h`` with GCC's inlining decision
  modelled by :func:`call_structure`;
* **instructions** (:func:`classify_terms`, :func:`ingest_terms`): executed
  instructions of one ``kp_add_sample`` call, counted under QEMU ``-icount``.

Feature names follow ``Family.generator[channel]`` (``automl.features``); a
frequency band is ``Frequency.band_energy_<b>of<B>[channel]``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

__all__ = [
    "CALL_GRAPH", "FeatureUse", "call_structure", "classify_terms", "code_terms", "const_bytes",
    "ingest_terms", "parse_feature", "post_ram", "post_terms", "postprocessing", "stack_terms", "static_ram",
    "tflite_terms", "arena_terms",
]

_NAME = re.compile(r"^(?P<family>[A-Za-z][A-Za-z0-9]*)\.(?P<gen>[A-Za-z][A-Za-z0-9_]*)\[(?P<ch>[^\]]+)\]$")
_BAND = re.compile(r"^band_energy_(?P<b>\d+)of(?P<n>\d+)$")

# Calls between the C functions of firmware/runtime/kp_features.h, per call of
# the caller (read off the source): generator C function -> {callee: calls}.
# Keys are C function names without the "kp_" prefix of the generators
# (e.g. "statistical_mean"), helpers keep their own names ("_center").
CALL_GRAPH: dict[str, dict[str, int]] = {
    "statistical_mean": {"_mean": 1},
    "statistical_std": {"_variance": 1},
    "statistical_min": {"_argmin": 1},
    "statistical_max": {"_argmax": 1},
    "statistical_p25": {"sort_copy": 1, "percentile_sorted": 1},
    "statistical_p75": {"sort_copy": 1, "percentile_sorted": 1},
    "statistical_iqr": {"sort_copy": 1, "percentile_sorted": 2},
    "statistical_sum": {"_sum": 1},
    "statistical_skewness": {"_center": 1},
    "statistical_kurtosis": {"_center": 1},
    "statistical_variance": {"_variance": 1},
    "statistical_median": {"sort_copy": 1, "percentile_sorted": 1},
    "statistical_abs_mean": {},
    "shape_slope": {"_center": 1},
    "shape_intercept": {"_mean": 1, "shape_slope": 1},
    "shape_stderr": {"_center": 1, "shape_slope": 1},
    "shape_zero_crossings": {},
    "shape_mean_crossings": {"_mean": 1},
    "shape_peak_count": {"_mean": 1},
    "shape_argmax": {"_argmax": 1},
    "shape_argmin": {"_argmin": 1},
    "columnfusion_mean_diff": {},
    "columnfusion_range_diff": {},
    "columnfusion_correlation": {"_center": 2},
    "area_total_area": {"_sum": 1},
    "area_abs_area": {},
    "area_abs_area_dc": {"_center": 1},
    "rateofchange_mean": {},
    "rateofchange_std": {},
    "rateofchange_max": {},
    "rateofchange_min": {},
    "frequency_dominant_freq": {"_center": 1, "_dft_power": 1},
    "frequency_band_energy": {"_center": 1, "_dft_power": 1},
    # helpers
    "_variance": {"_center": 1},
    "_mean": {"_sum": 1},
}
# Callers before callees: a function's call count is final when it is visited.
_HELPER_ORDER = ("shape_slope", "_variance", "sort_copy", "percentile_sorted", "_dft_power", "_mean", "_sum",
                 "_argmax", "_argmin", "_center", "magnitude")
SORTING = frozenset({"statistical_p25", "statistical_p75", "statistical_iqr", "statistical_median"})


@dataclass(frozen=True)
class FeatureUse:
    """One selected feature as the firmware computes it.

    Attributes:
        name: the feature name, e.g. ``"Frequency.band_energy_1of4[accX]"``.
        function: C function without ``kp_``, e.g. ``"frequency_band_energy"``.
        channel: ``"accX"``, ``"accMag"`` or a pair ``"accX-accY"``.
        band, n_bands: frequency band and band count (band energy only).
    """

    name: str
    function: str
    channel: str
    band: int = 0
    n_bands: int = 0

    @property
    def magnitude(self) -> str | None:
        """The magnitude channel this feature reads (``accMag``/``gyrMag``), if any."""
        return self.channel if self.channel.endswith("Mag") else None

    def dft_bins(self, window_size: int) -> int:
        """DFT bins this feature evaluates per call (``kp__dft_power`` calls)."""
        half = window_size // 2
        if self.function == "frequency_dominant_freq":
            return half
        if self.function == "frequency_band_energy":
            return (1 + ((self.band + 1) * half) // self.n_bands) - (1 + (self.band * half) // self.n_bands)
        return 0


def parse_feature(name: str) -> FeatureUse:
    """Parse ``Family.generator[channel]``.

    Raises:
        ValueError: if the name is malformed or names no C function of
            ``kp_features.h`` known to the cost model.
    """
    m = _NAME.match(name)
    if not m:
        raise ValueError(f"feature name {name!r} is not of the form Family.generator[channel]")
    gen, band, n_bands = m.group("gen"), 0, 0
    b = _BAND.match(gen)
    if b:
        gen, band, n_bands = "band_energy", int(b.group("b")), int(b.group("n"))
        if not 0 <= band < n_bands:
            raise ValueError(f"feature name {name!r}: band {band} is not in 0..{n_bands - 1}")
    function = f"{m.group('family').lower()}_{gen}"
    if function not in CALL_GRAPH or function.startswith("_"):
        raise ValueError(f"feature name {name!r}: the cost model knows no C function kp_{function} "
                         "(recalibrate with benchmarks/calibrate_cost.py after adding a generator)")
    return FeatureUse(name, function, m.group("ch"), band, n_bands)


def call_structure(features: list[FeatureUse], thresholds: dict[str, int]) -> tuple[dict[str, int], dict[str, bool]]:
    """Call sites of every C function in ``kp.c`` and whether GCC outlines it.

    ``kp.c`` calls one generator per selected feature; all runtime functions
    are ``static inline``. GCC (-Os) inlines a function called from few
    places and keeps one out-of-line copy (``.constprop``) of a function
    called from many; the switch point of each function is measured
    (``thresholds``: the call count from which the out-of-line copy is the
    majority in the calibration builds). A helper called from inside an
    outlined function is called once from that copy, whatever the number of
    callers of the copy.

    Args:
        features: the selected features.
        thresholds: ``{function: call sites from which it is outlined}``.

    Returns:
        ``(calls, outlined)``: call sites per function (generators, helpers,
        ``magnitude`` for ``kp_magnitude``), and the modelled decision.
    """
    gens = Counter(f.function for f in features)
    calls: dict[str, int] = {}
    outlined: dict[str, bool] = {}
    pending: Counter = Counter()
    for g, n in gens.items():
        if g in _HELPER_ORDER:  # shape_slope is a generator and a helper
            pending[g] += n
            continue
        calls[g], outlined[g] = n, n >= thresholds.get(g, 1 << 30)
        for h, m in CALL_GRAPH[g].items():
            pending[h] += (1 if outlined[g] else n) * m
    pending["magnitude"] = len({f.magnitude for f in features if f.magnitude})
    for h in _HELPER_ORDER:
        n = pending[h]
        if not n:
            continue
        calls[h], outlined[h] = n, n >= thresholds.get(h, 1 << 30)
        for h2, m in CALL_GRAPH.get(h, {}).items():
            pending[h2] += (1 if outlined[h] else n) * m
    return calls, outlined


def postprocessing(vote: int, refractory: int) -> bool:
    """Whether the export generates post-processing code (``kp_post.h``): not for the identity (vote 1,
    refractory 0: :attr:`automl.postprocessing.PostProcessSpec.is_identity`, the export's own test)."""
    from automl.postprocessing import PostProcessSpec

    return not PostProcessSpec(int(vote), int(refractory)).is_identity


def post_terms(vote: int, refractory: int, fill: tuple[float, float] | None = None) -> Counter:
    """Regressors of the post-processing instructions of one classifying call (``kp_post_step``).

    Terms (none for the identity): ``post:window`` (fixed: ring update,
    refractory test, output mapping, window count), ``post:vote`` per kept
    decision (the vote's outer loop) and ``post:vote2`` per pair of kept
    decisions (its inner compare loop: O(vote^2)).

    Args:
        vote, refractory: the post-processing settings.
        fill: ``(mean n, mean n^2)`` of the kept decisions ``n = min(vote,
            windows since reset)`` over the windows measured (calibration);
            default: the steady state ``(vote, vote^2)``.
    """
    if not postprocessing(vote, refractory):
        return Counter()
    n, n2 = fill if fill is not None else (float(vote), float(vote) ** 2)
    return Counter({"post:window": 1, "post:vote": n, "post:vote2": n2})


# kp_post.h's kp_post_t: 7 int32_t/uint32_t fields (vote, background, refractory, head, count,
# has_event, last_event) and the int8_t ring of `vote` decisions, padded to the struct's 4-byte
# alignment; kp.c adds the emitted output (int) and the window count (uint32_t).
POST_STATE_WORDS = 7
POST_GLOBALS = 8


def post_ram(vote: int, refractory: int) -> int:
    """``.data`` + ``.bss`` bytes of the post-processing state (0 for the identity): exact, from the C types."""
    if not postprocessing(vote, refractory):
        return 0
    return 4 * POST_STATE_WORDS + _pad4(int(vote)) + POST_GLOBALS


def code_terms(features: list[FeatureUse], quantization: str, segmenter: str, threshold_mode: str | None,
               threshold_column: str | None, thresholds: dict[str, int], unknown: bool = False,
               vote: int = 1, refractory: int = 0) -> Counter:
    """Regressors of the machine code of ``kp.c`` (bytes = terms . constants).

    Terms: ``base:<quantization>`` (API, segmenter, window copy, scaler, MLP
    and softmax kernels, decision); ``seg:threshold``, ``seg:std``,
    ``seg:magnitude`` (threshold segmenter code); ``feature`` per selected
    feature (call site, store, name); ``unknown:<quantization>`` (the
    unknown-class test, when an unknown threshold is set); ``post`` (the
    post-processing: ``kp_post.h`` inlined, its reset and the two accessors;
    the same code for every vote and refractory but the identity); and per
    C function ``f`` of ``kp_features.h``: ``inline:f`` per inlined call
    site, or ``outlined:f`` (its out-of-line copy) plus ``site:f`` per call
    site.
    """
    x: Counter = Counter()
    x[f"base:{quantization}"] = 1
    if segmenter == "threshold":
        x["seg:threshold"] = 1
        if threshold_mode == "std":
            x["seg:std"] = 1
        if threshold_column and threshold_column.endswith("Mag"):
            x["seg:magnitude"] = 1
    x["feature"] = len(features)
    if unknown:
        x[f"unknown:{quantization}"] = 1
    if postprocessing(vote, refractory):
        x["post"] = 1
    calls, outlined = call_structure(features, thresholds)
    for f, n in calls.items():
        if outlined[f]:
            x[f"outlined:{f}"] = 1
            x[f"site:{f}"] = n
        else:
            x[f"inline:{f}"] = n
    return x


def stack_terms(features: list[FeatureUse], quantization: str, thresholds: dict[str, int], vote: int = 1,
                refractory: int = 0) -> Counter:
    """Regressors of the stack bound (sum of the ``-fstack-usage`` frames of the library).

    Terms: ``stack:<quantization>`` (``kp_add_sample``, ``kp_reset`` and the
    kernels' helpers), ``post:<quantization>`` (what the inlined
    post-processing adds to ``kp_add_sample``'s frame) and ``frame:f`` per
    outlined feature function.
    """
    x: Counter = Counter({f"stack:{quantization}": 1})
    if postprocessing(vote, refractory):
        x[f"post:{quantization}"] = 1
    calls, outlined = call_structure(features, thresholds)
    for f in calls:
        if outlined[f]:
            x[f"frame:{f}"] = 1
    return x


def _tree(function: str) -> Counter:
    """Executions of every C function during one call of ``function`` (itself included)."""
    t: Counter = Counter({function: 1})
    stack = list(CALL_GRAPH.get(function, {}).items())
    while stack:
        h, m = stack.pop()
        t[h] += m
        stack.extend((h2, m * m2) for h2, m2 in CALL_GRAPH.get(h, {}).items())
    return t


def classify_terms(features: list[FeatureUse], window_size: int, n_channels: int, widths: list[int],
                   quantization: str, segmenter: str, threshold_mode: str | None, threshold_column: str | None,
                   detection_window: int, sort_shifts: float, unknown: bool = False, vote: int = 1,
                   refractory: int = 0, vote_fill: tuple[float, float] | None = None) -> Counter:
    """Regressors of the instructions of one classifying ``kp_add_sample`` call.

    Args:
        features: the selected features.
        window_size: ``W`` samples.
        n_channels: ``C`` raw channels.
        widths: network widths ``[k, hidden..., n_classes]``.
        quantization: ``int8`` or ``float32``.
        segmenter, threshold_mode, threshold_column, detection_window: the segmenter.
        sort_shifts: element moves of the insertion sorts of one window, summed
            over the sorting features (measured in calibration; expected value
            in the estimate).
        unknown: an unknown-class threshold is set (``unknown:<q>``, and the
            float32 top-probability loop ``unknown_class:float32`` per class).
        vote, refractory, vote_fill: post-processing (:func:`post_terms`).

    Terms: ``call:<q>`` (fixed work), ``copy:WC``/``copy:W`` (ring buffer to
    float window), ``feature:<q>`` per feature (scaler, input conversion,
    store), ``magnitude:W``/``magnitude:1`` per magnitude channel,
    ``W:f``/``1:f`` per executed C function ``f`` (per window sample / per
    call), ``dft:WB``/``dft:B`` (DFT inner loop per sample and bin / per bin),
    ``sort:shift`` per insertion-sort move, ``mac:<q>``, ``out:<q>``,
    ``layer:<q>``, ``class:<q>`` (network), the post-processing terms of
    :func:`post_terms`, plus the ingest terms of :func:`ingest_terms` (the
    classifying call also ingests its sample).
    """
    W, x = window_size, ingest_terms(n_channels, segmenter, threshold_mode, threshold_column, detection_window)
    x[f"call:{quantization}"] += 1
    x["copy:WC"] += W * n_channels
    x["copy:W"] += W
    x[f"feature:{quantization}"] += len(features)
    n_mag = len({f.magnitude for f in features if f.magnitude})
    x["magnitude:W"] += W * n_mag
    x["magnitude:1"] += n_mag
    for f in features:
        for fn, m in _tree(f.function).items():
            if fn == "_dft_power":
                bins = f.dft_bins(W)
                x["dft:WB"] += W * bins
                x["dft:B"] += bins
            else:
                x[f"W:{fn}"] += W * m
                x[f"1:{fn}"] += m
    x["sort:shift"] += sort_shifts
    q = quantization
    x[f"mac:{q}"] += sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    x[f"out:{q}"] += sum(widths[1:])
    x[f"layer:{q}"] += len(widths) - 1
    x[f"class:{q}"] += widths[-1]
    if unknown:
        x[f"unknown:{q}"] += 1
        if q == "float32":
            x["unknown_class:float32"] += widths[-1]
    x.update(post_terms(vote, refractory, vote_fill))
    return x


def ingest_terms(n_channels: int, segmenter: str, threshold_mode: str | None, threshold_column: str | None,
                 detection_window: int) -> Counter:
    """Regressors of the instructions of a ``kp_add_sample`` call that completes no window.

    Terms: ``ingest:sliding`` or ``ingest:threshold`` (fixed), ``ingest:C``
    per channel (``memcpy`` into the ring), ``detect:magnitude`` (a
    ``sqrtf`` detection column), ``detect:std`` and ``detect:D`` (the std of
    the last ``D`` column values, two passes). Post-processing adds nothing
    to these calls (measured: ``constants.json`` ``post``).
    """
    x: Counter = Counter()
    x[f"ingest:{segmenter}"] = 1
    x["ingest:C"] = n_channels
    if segmenter == "threshold":
        if threshold_column and threshold_column.endswith("Mag"):
            x["detect:magnitude"] = 1
        if threshold_mode == "std":
            x["detect:std"] = 1
            x["detect:D"] = detection_window
    return x


def _pad4(n: int) -> int:
    return (n + 3) // 4 * 4


def const_bytes(features: list[FeatureUse], window_size: int, channels: list[str], classes: list[str],
                widths: list[int], quantization: str, segmenter: str, strings: list[str],
                layout: dict[str, int]) -> dict[str, int]:
    """Read-only data of the library whose size follows from the C types.

    Args:
        features, window_size: as in :func:`classify_terms`.
        channels: raw channel names.
        classes: model class names (without "unknown").
        widths: ``[k, hidden..., n_classes]``.
        quantization: ``int8`` or ``float32``.
        segmenter: ``sliding`` or ``threshold``.
        strings: the other string literals of ``kp_model_info`` (generator
            name, version, study, dataset).
        layout: measured fixed sizes (``constants.json`` ``"layout"``).

    Returns:
        ``{"model_constants", "scaler_constants", "dft_tables", "names", "tables"}`` bytes.
    """
    k = len(features)
    if quantization == "int8":  # per layer: weights, int32 bias and multiplier, int8 shift, layer struct
        model = sum(_pad4(a * b) + 8 * b + _pad4(b) + layout["int8_layer_struct"]
                    for a, b in zip(widths[:-1], widths[1:])) + layout["int8_model_struct"]
    else:  # float weights and biases, layer struct
        model = sum(4 * a * b + 4 * b + layout["float32_layer_struct"]
                    for a, b in zip(widths[:-1], widths[1:])) + layout["float32_model_struct"]
    # Scaler min/max (float32 each); with one feature GCC folds them into the code.
    scaler = 8 * k if k > 1 else 0
    dft = 8 * window_size if any(f.function.startswith("frequency_") for f in features) else 0
    # String literals (merged when equal) and the pointer/scale tables.
    names = sorted({*(["unknown"] + list(classes)), *channels, *(f.name for f in features),
                    segmenter, quantization, *strings})
    name_bytes = sum(len(s.encode("utf-8")) + 1 for s in names)
    tables = 4 * k + 8 * len(channels) + 4 * (len(classes) + 1) + layout["model_info_struct"]
    if quantization == "int8":
        tables += layout["int8_softmax_table"]
    return {"model_constants": model, "scaler_constants": scaler, "dft_tables": dft, "names": name_bytes,
            "tables": tables}


def static_ram(features: list[FeatureUse], window_size: int, n_channels: int, widths: list[int],
               quantization: str, segmenter: str, threshold_mode: str | None, detection_window: int,
               lookback: int, slide: int, layout: dict[str, int], vote: int = 1,
               refractory: int = 0) -> dict[str, int]:
    """``.data`` + ``.bss`` of the library, per buffer (bytes).

    Returns:
        ``{"ring_buffer", "segmenter_state", "window_copy", "magnitude", "sort_scratch",
        "feature_vector", "activations", "post_state", "globals"}``.
    """
    W, C, k = window_size, n_channels, len(features)
    if segmenter == "threshold":
        detect = detection_window if threshold_mode == "std" else 1
        pending = (W - 1 - lookback) // slide + 1
    else:
        detect = pending = 1
    e = 1 if quantization == "int8" else 4
    hidden = widths[1:-1]
    n_mag = len({f.magnitude for f in features if f.magnitude})
    return {
        "ring_buffer": _pad4(2 * W * C),                                  # int16 samples
        "segmenter_state": layout["segmenter_struct"] + 4 * detect + 4 * pending,
        "window_copy": 4 * W * C,                                         # float copy, oldest first
        "magnitude": 4 * W * n_mag,
        "sort_scratch": 4 * W if any(f.function in SORTING for f in features) else 0,
        "feature_vector": 4 * k + k + e * k,                              # float, uint8, model input
        "activations": e * (2 * max(hidden, default=0) + 1) + 2 * e * widths[-1],  # ping-pong, logits, output
        "post_state": post_ram(vote, refractory),
        "globals": layout["globals"],
    }


def tflite_terms(widths: list[int], quantization: str) -> Counter:
    """Regressors of the ``.tflite`` flatbuffer size of an MLP of ``widths`` (TensorFlow Lite Micro variant).

    Terms: ``tflite:<q>`` (fixed), ``tflite_weights:<q>`` per weight,
    ``tflite_units:<q>`` per unit (bias, per-channel quantisation),
    ``tflite_layers:<q>`` per layer (tensors, operators).
    """
    q = quantization
    return Counter({f"tflite:{q}": 1, f"tflite_weights:{q}": sum(a * b for a, b in zip(widths[:-1], widths[1:])),
                    f"tflite_units:{q}": sum(widths[1:]), f"tflite_layers:{q}": len(widths) - 1})


def arena_terms(widths: list[int], quantization: str) -> Counter:
    """Regressors of the TensorFlow Lite Micro tensor arena of an MLP of ``widths``.

    Terms: ``arena:<q>`` (fixed), ``arena_layers:<q>`` per layer (node and
    tensor structures), ``arena_units:<q>`` per unit (per-channel quantisation
    data), ``arena_io:<q>`` per input/output byte, ``arena_max_pair:<q>`` per
    byte of the largest pair of consecutive activations (the planner's peak).
    """
    q = quantization
    e = 1 if q == "int8" else 4
    return Counter({f"arena:{q}": 1, f"arena_layers:{q}": len(widths) - 1, f"arena_units:{q}": sum(widths[1:]),
                    f"arena_io:{q}": e * (widths[0] + widths[-1]),
                    f"arena_max_pair:{q}": e * max(a + b for a, b in zip(widths[:-1], widths[1:]))})
