"""Flash, RAM and latency of one pipeline on a Cortex-M4F, from its shapes.

Every constant below says where it comes from. "Measured" sizes were read with
``arm-none-eabi-size`` (GCC 12.2, ``-mcpu=cortex-m4 -mthumb -mfloat-abi=hard
-mfpu=fpv4-sp-d16 -Os``) from reference C implementations of each routine
compiled on 2026-11-29. Cycle figures are estimates from the Cortex-M4
Technical Reference Manual's instruction timings (ARM DDI 0439B, section 3.3:
LDR/LDRSB 2 cycles (1 when pipelined), MLA 1, VADD/VMUL 1, VFMA 3, VSQRT/VDIV
14, taken branch 1 + 1..3 refill) applied to the compiled inner loops. The
calibration of issue 6 (``benchmarks/calibrate_cost.py``) replaces them with
fitted values; until then expect tens of % error on cycles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from automl.cost._targets import TargetProfile

# --- flash: code bytes (measured, see module docstring) --------------------
DENSE_INT8_CODE = 198      # int8 fully-connected with fixed-point requantisation (.text)
DENSE_FLOAT_CODE = 88      # float32 fully-connected with ReLU (.text)
SOFTMAX_CODE = 160         # argmax over logits + class decision; int8 softmax is not needed for argmax
RUNTIME_CODE = 420         # ring buffer, sample ingest, window dispatch, API glue (estimate, issue 5 measures)
SCALER_CODE = 64           # per-feature (x - min) * k, clip, round to uint8 (estimate)
MAGNITUDE_CODE = 74        # sqrtf(x^2 + y^2 + z^2) over a window (.text, measured)
GENERATOR_CODE = {         # Statistical family (.text, measured)
    "mean": 40, "sum": 28, "std": 60, "min": 36, "max": 36,
    "skewness": 100, "kurtosis": 108,
    "p25": 132, "p75": 132, "iqr": 132,  # copy + insertion sort + interpolation; shared once
}
FEATURE_CALL_BYTES = 8     # one call site per selected feature (BL + argument set-up, Thumb-2)
SCALER_CONST_BYTES = 8     # float32 min and max per selected feature
QUANT_PARAMS_BYTES = 16    # per int8 layer: multiplier, shift, input and output zero points (int32 each)

# --- RAM (bytes) -------------------------------------------------------------
SAMPLE_BYTES = 2           # int16 per channel per sample in the ring buffer (issue 5 API: int16_t samples)
STACK_BYTES = 256          # bound for the deepest call chain (estimate; issue 5 measures)

# --- cycles (TRM estimates, see module docstring) ---------------------------
CYCLES_PER_MAC = {"int8": 11, "float32": 10}   # LDRSB x2, ADD, MLA, loop ADD/CMP/branch per MAC
CYCLES_PER_OUTPUT = {"int8": 40, "float32": 8}  # int8: SMLAL-based requantisation, clamp, store
CYCLES_PER_LAYER = 60                          # call, prologue/epilogue
CYCLES_PER_SAMPLE = {                          # per channel per window sample
    "mean": 4, "sum": 4, "std": 8, "min": 5, "max": 5, "skewness": 12, "kurtosis": 13,
}
SORT_CYCLES_PER_COMPARE = 9                    # insertion sort inner step (LDR, VCMP, VMRS, branch, STR)
MAGNITUDE_CYCLES_PER_SAMPLE = 26               # 3 int16->float, 3 multiply-adds, VSQRT 14
INGEST_CYCLES_PER_SAMPLE = 30                  # copy one multi-channel sample into the ring buffer
CLASSIFY_OVERHEAD_CYCLES = 400                 # window copy set-up, scaler loop entry, argmax

PERCENTILE_FEATURES = {"p25", "p75", "iqr"}
_NAME = re.compile(r"^(?P<family>[A-Za-z]+)\.(?P<gen>[A-Za-z0-9_]+)\[(?P<ch>[^\]]+)\]$")


@dataclass(frozen=True)
class PipelineShape:
    """The shapes that decide a pipeline's cost.

    Attributes:
        window_size: window length (samples).
        slide: samples between classifications (samples).
        n_channels: raw sensor channels streamed in.
        selected_features: names of the features the model uses, e.g.
            ``Statistical.std[accMag]``.
        layers: widths of all dense layers including the output,
            e.g. ``[12, 8, 4]``; the input width is ``len(selected_features)``.
        quantization: ``"int8"`` or ``"float32"``.
    """

    window_size: int
    slide: int
    n_channels: int
    selected_features: tuple[str, ...]
    layers: tuple[int, ...]
    quantization: str


@dataclass
class CostEstimate:
    """Estimated cost of one classification pipeline.

    Attributes:
        flash_bytes: code + constants (bytes).
        ram_bytes: static buffers + stack bound (bytes).
        cycles: CPU cycles for one classification (feature extraction +
            inference), excluding per-sample ingest.
        latency_ms: ``cycles / clock`` (ms).
        breakdown: ``{"flash": {component: bytes}, "ram": {...}, "cycles": {...}}``.
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


def _parse(name: str) -> tuple[str, str]:
    m = _NAME.match(name)
    if not m:
        raise ValueError(f"feature name {name!r} is not of the form Family.generator[channel]")
    return m.group("gen"), m.group("ch")


def estimate_cost(shape: PipelineShape, target: TargetProfile) -> CostEstimate:
    """Estimate flash, RAM and latency of a pipeline on ``target``.

    Only the selected features are computed on the device; a magnitude
    channel is computed only if a selected feature uses it; percentile
    features share one sorted copy of the window per channel.

    Args:
        shape: the pipeline's shapes (see :class:`PipelineShape`).
        target: clock (MHz) for the latency conversion.

    Returns:
        The estimate with a per-component breakdown (bytes, cycles).

    Raises:
        ValueError: if a feature name cannot be parsed or ``quantization`` is
            unknown.
    """
    q = shape.quantization
    if q not in CYCLES_PER_MAC:
        raise ValueError(f"unknown quantization {q!r}")
    w, k = int(shape.window_size), len(shape.selected_features)
    parsed = [_parse(n) for n in shape.selected_features]
    gens = {g for g, _ in parsed}
    mags = {c for _, c in parsed if c.endswith("Mag")}
    pct_channels = {c for g, c in parsed if g in PERCENTILE_FEATURES}

    # Flash --------------------------------------------------------------
    widths = [k, *map(int, shape.layers)]
    n_weights = sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    n_bias = sum(widths[1:])
    n_layers = len(widths) - 1
    if q == "int8":
        model_consts = n_weights + 4 * n_bias + QUANT_PARAMS_BYTES * n_layers
        kernel = DENSE_INT8_CODE
    else:
        model_consts = 4 * (n_weights + n_bias)
        kernel = DENSE_FLOAT_CODE
    gen_code = sum(GENERATOR_CODE.get(g, 100) for g in gens - PERCENTILE_FEATURES)
    if gens & PERCENTILE_FEATURES:
        gen_code += GENERATOR_CODE["p25"]
    flash = {
        "model_constants": model_consts,
        "inference_code": kernel + SOFTMAX_CODE,
        "feature_code": gen_code + FEATURE_CALL_BYTES * k + (MAGNITUDE_CODE if mags else 0),
        "scaler": SCALER_CODE + SCALER_CONST_BYTES * k,
        "runtime": RUNTIME_CODE,
    }
    # RAM ----------------------------------------------------------------
    act_bytes = 1 if q == "int8" else 4
    ram = {
        "window_buffer": w * shape.n_channels * SAMPLE_BYTES,
        "feature_scratch": 4 * w * (len(mags) + (1 if pct_channels else 0)),  # float copy for magnitude / sort
        "feature_vector": 4 * k + k,  # float features + uint8 scaled
        "activations": act_bytes * 2 * max(widths),  # ping-pong buffers
        "stack": STACK_BYTES,
    }
    # Cycles per classification -------------------------------------------
    per_feature = 0
    for g, _ in parsed:
        if g not in PERCENTILE_FEATURES:
            per_feature += CYCLES_PER_SAMPLE.get(g, 10) * w
    # insertion sort of a copy: ~w(w-1)/4 compares on average (random order), plus the copy
    sort_cycles = len(pct_channels) * (SORT_CYCLES_PER_COMPARE * w * (w - 1) / 4 + 4 * w)
    macs = n_weights
    cycles = {
        "features": int(per_feature + sort_cycles + MAGNITUDE_CYCLES_PER_SAMPLE * w * len(mags)),
        "inference": int(macs * CYCLES_PER_MAC[q] + n_bias * CYCLES_PER_OUTPUT[q] + n_layers * CYCLES_PER_LAYER),
        "overhead": CLASSIFY_OVERHEAD_CYCLES + 20 * k,
    }
    total_cycles = int(sum(cycles.values()))
    return CostEstimate(
        flash_bytes=int(sum(flash.values())),
        ram_bytes=int(sum(ram.values())),
        cycles=total_cycles,
        latency_ms=total_cycles / (target.clock_mhz * 1e3),
        breakdown={"flash": flash, "ram": ram, "cycles": cycles,
                   "ingest_cycles_per_sample": INGEST_CYCLES_PER_SAMPLE * shape.n_channels},
    )
