"""The MLP inside a ``.tflite`` as C constants for ``firmware/runtime/kp_mlp.h``.

:func:`read_mlp` extracts from the flatbuffer what the C runtime needs to
compute exactly what the TensorFlow Lite Micro interpreter computes (the
``tflite-micro`` package that :class:`automl.quantization.TFLiteModel` runs):
per layer the weights as stored (``(n_out, n_in)`` row-major), the biases,
the zero points, and the fixed-point multipliers and shifts that TFLite
Micro's ``Prepare`` derives from the scales, recomputed here in double
precision with the same expressions; the softmax constants likewise; the
float weights of a float32 model. :func:`render_mlp_c` formats them as a C
header and source with the :mod:`automl.export._cgen` helpers.

Only reads and re-derives; never changes a number. Sources followed (TFLite
Micro, ``tensorflow/lite``):

- ``micro/kernels/fully_connected_common.cc`` ``CalculateOpDataFullyConnected``:
  per-channel weights (what the converter emits for Dense layers: one scale
  per output unit, quantized_dimension 0) give, per output channel,
  ``QuantizeMultiplier(double(s_in) * double(s_w[o]) / double(s_out))``; a
  per-tensor weight scale goes through ``GetQuantizedConvolutionMultipler``,
  which multiplies the two scales in *float32* first:
  ``double(float(s_in * s_w)) / double(s_out)``.
- ``kernels/internal/quantization_util.cc`` ``QuantizeMultiplier``:
  ``q, shift = frexp(m)``; ``q_fixed = round(q * 2^31)`` (half away from
  zero); ``q_fixed == 2^31`` -> ``2^30, shift + 1``; ``shift < -31`` -> 0, 0.
  TFLite Micro is built without ``TFLITE_SINGLE_ROUNDING``, so there is no
  clamping of ``shift`` to 30 and the kernels round twice (see ``kp_mlp.h``).
- ``kernels/kernel_util.cc`` ``CalculateActivationRangeQuantized``: RELU gives
  ``[max(-128, zp), 127]``; RELU6 / RELU_N1_TO_1 quantise their bounds with
  ``zp + (int)roundf(f / scale)`` in float32.
- ``micro/kernels/softmax_common.cc`` ``CalculateSoftmaxParams`` (int8 in,
  int8 out): ``PreprocessSoftmaxScaling(beta, s_in, 5)``, i.e.
  ``QuantizeMultiplier(min(beta * s_in * 2^26, 2^31 - 1))`` (must be > 1), and
  ``diff_min = -floor(31 * 2^26 / 2^left_shift)`` (``CalculateInputRadius``);
  the output must have zero point -128 and scale exactly 1/256.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

import automl

from . import _cgen
from ._templates import template_environment

__all__ = [
    "DenseF32",
    "DenseInt8",
    "MlpC",
    "MlpCSource",
    "SoftmaxF32",
    "SoftmaxInt8",
    "quantize_multiplier",
    "read_mlp",
    "render_mlp_c",
]

_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
_F32_MAX = float(np.finfo(np.float32).max)


# ------------------------------------------------------------------ data
@dataclass(frozen=True, eq=False)
class DenseInt8:
    """One int8 FULLY_CONNECTED layer, as TFLite Micro prepares it.

    Attributes:
        weights: ``(n_out, n_in) int8``, row-major as stored, zero point 0.
        bias: ``(n_out,) int32`` (zeros if the layer has none), scale
            ``input_scale * weight_scale``.
        input_zero_point, output_zero_point: int8 zero points.
        input_scale, output_scale: float32 scales (real value per step).
        weight_scale: ``(n_out,) float32`` per output channel (a per-tensor
            scale repeated).
        per_channel: True if the .tflite has one weight scale per channel.
        multiplier: ``(n_out,) int32`` Q0.31 fixed-point multipliers.
        shift: ``(n_out,) int32`` power-of-two exponents (> 0: left shift).
        activation: fused activation, ``"NONE"``, ``"RELU"``, ``"RELU6"`` or
            ``"RELU_N1_TO_1"``.
        activation_min, activation_max: the int8 output clamp.
        output_tensor: index of the output tensor in the subgraph (for tests
            that read TFLite Micro's intermediate tensors).
    """

    weights: np.ndarray
    bias: np.ndarray
    input_zero_point: int
    output_zero_point: int
    input_scale: float
    output_scale: float
    weight_scale: np.ndarray
    per_channel: bool
    multiplier: np.ndarray
    shift: np.ndarray
    activation: str
    activation_min: int
    activation_max: int
    output_tensor: int

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[0])


@dataclass(frozen=True, eq=False)
class DenseF32:
    """One float32 FULLY_CONNECTED layer.

    Attributes:
        weights: ``(n_out, n_in) float32``, row-major as stored.
        bias: ``(n_out,) float32`` (zeros if the layer has none).
        activation: fused activation name (see :class:`DenseInt8`).
        activation_min, activation_max: float32 clamp (``-FLT_MAX``/``FLT_MAX``
            without activation, as TFLite's ``CalculateActivationRange``).
        output_tensor: index of the output tensor in the subgraph.
    """

    weights: np.ndarray
    bias: np.ndarray
    activation: str
    activation_min: float
    activation_max: float
    output_tensor: int

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[0])


@dataclass(frozen=True)
class SoftmaxInt8:
    """int8 -> int8 SOFTMAX constants.

    Attributes:
        beta: the operator's beta (float32).
        input_scale: float32 scale of the logits.
        input_multiplier: Q0.31 multiplier of ``beta * input_scale * 2^26``.
        input_left_shift: its exponent (>= 0).
        diff_min: logits more than ``-diff_min`` steps below the row maximum
            give probability 0 (int8 -128).
        output_tensor: index of the output tensor in the subgraph.
    """

    beta: float
    input_scale: float
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    output_tensor: int


@dataclass(frozen=True)
class SoftmaxF32:
    """float32 SOFTMAX: ``beta`` (float32) and the output tensor index."""

    beta: float
    output_tensor: int


@dataclass(frozen=True, eq=False)
class MlpC:
    """Everything the C runtime needs to run the model in a ``.tflite``.

    Attributes:
        quantization: ``"int8"`` or ``"float32"``.
        n_inputs: input width (features).
        n_outputs: output width (classes).
        input_scale, input_zero_point: int8 input quantisation (``None`` for
            float32 models).
        input_map: ``(256,) int8``: the model input for each uint8 scaler
            output ``u``, computed as ``TFLiteModel.quantize_input`` on
            ``float32(u) / 255`` (``None`` for float32 models).
        input_is_offset: True if ``input_map[u] == u - 128`` for every ``u``
            (input scale 1/255, zero point -128): no table is needed.
        output_scale, output_zero_point: int8 output quantisation (``None``
            for float32 models).
        layers: the FULLY_CONNECTED layers in order.
        softmax: the final SOFTMAX, or ``None`` if the model ends with a layer.
    """

    quantization: str
    n_inputs: int
    n_outputs: int
    input_scale: float | None
    input_zero_point: int | None
    input_map: np.ndarray | None
    input_is_offset: bool
    output_scale: float | None
    output_zero_point: int | None
    layers: tuple[DenseInt8 | DenseF32, ...]
    softmax: SoftmaxInt8 | SoftmaxF32 | None

    @property
    def scratch_half(self) -> int:
        """Widest hidden layer (elements); 0 for a single layer."""
        return max((layer.n_out for layer in self.layers[:-1]), default=0)

    @property
    def scratch_size(self) -> int:
        """Elements of the ping-pong activation buffer ``kp_mlp_run_*`` needs."""
        return 2 * self.scratch_half


# ------------------------------------------------------------ arithmetic
def _round_half_away(x: float) -> int:
    """C ``round()``: nearest integer, ties away from zero (exact)."""
    f = Fraction(x)
    n = math.floor(abs(f) + Fraction(1, 2))
    return n if f >= 0 else -n


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier`` (double precision, no single rounding).

    Args:
        real: the real multiplier (a Python float is a C double).

    Returns:
        ``(multiplier, shift)``: ``multiplier`` in ``[2^30, 2^31)`` (Q0.31) or
        0, and ``shift`` with ``real ~= multiplier * 2^(shift - 31)``.
    """
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = _round_half_away(q * float(1 << 31))
    if q_fixed > (1 << 31):
        raise ValueError(f"QuantizeMultiplier: {real!r} gives q_fixed {q_fixed} > 2^31")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def _quantize_bound(value: float, scale: float, zero_point: int) -> int:
    """kernel_util.cc ``Quantize``: ``zp + (int)roundf(value / scale)`` in float32."""
    with np.errstate(over="ignore"):
        tmp = np.float32(value) / np.float32(scale)
    return int(zero_point) + _round_half_away(float(tmp))


def _activation_range_int8(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    lo, hi = -128, 127
    if activation == "RELU":
        return max(lo, _quantize_bound(0.0, scale, zero_point)), hi
    if activation == "RELU6":
        return max(lo, _quantize_bound(0.0, scale, zero_point)), min(hi, _quantize_bound(6.0, scale, zero_point))
    if activation == "RELU_N1_TO_1":
        return max(lo, _quantize_bound(-1.0, scale, zero_point)), min(hi, _quantize_bound(1.0, scale, zero_point))
    return lo, hi


def _activation_range_f32(activation: str) -> tuple[float, float]:
    return {
        "NONE": (-_F32_MAX, _F32_MAX),
        "RELU": (0.0, _F32_MAX),
        "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0),
    }[activation]


def _input_map(scale: float, zero_point: int) -> np.ndarray:
    """``TFLiteModel.quantize_input`` of ``float32(u) / 255`` for u = 0..255."""
    x = np.arange(256, dtype=np.float32) / np.float32(255.0)
    q = np.round(x.astype(np.float64) / float(scale)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


# ---------------------------------------------------------------- parsing
class _Graph:
    """Thin accessors over the first subgraph of a TFLite flatbuffer."""

    def __init__(self, data: bytes):
        from ai_edge_litert import schema_py_generated as schema

        self.schema = schema
        self.data = data
        self.model = schema.Model.GetRootAs(data, 0)
        if self.model.SubgraphsLength() < 1:
            raise ValueError("the model has no subgraph")
        self.graph = self.model.Subgraphs(0)
        self.type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
        self.op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}

    def op_name(self, op) -> str:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        if builtin == self.schema.BuiltinOperator.CUSTOM:
            custom = code.CustomCode()
            return "CUSTOM:" + (custom.decode("utf-8", "replace") if custom else "?")
        return self.op_names.get(builtin, f"BUILTIN_{builtin}")

    def tensor(self, index: int):
        return self.graph.Tensors(index)

    def dtype(self, index: int) -> str:
        return self.type_names.get(self.tensor(index).Type(), "?")

    def shape(self, index: int) -> tuple[int, ...]:
        t = self.tensor(index)
        return tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() > 0 else ()

    def quant(self, index: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(scales float32, zero points int64, quantized_dimension); empty if none."""
        q = self.tensor(index).Quantization()
        if q is None or q.ScaleLength() == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64), 0
        scales = np.asarray(q.ScaleAsNumpy(), dtype=np.float32)
        zps = (np.asarray(q.ZeroPointAsNumpy(), dtype=np.int64) if q.ZeroPointLength() > 0
               else np.zeros(len(scales), np.int64))
        return scales, zps, int(q.QuantizedDimension())

    def per_tensor(self, index: int, what: str) -> tuple[float, int]:
        scales, zps, _ = self.quant(index)
        if len(scales) != 1:
            raise ValueError(f"{what} must have one quantisation scale; got {len(scales)}")
        return float(scales[0]), int(zps[0])

    def constant(self, index: int, dtype: str, what: str) -> np.ndarray:
        """The constant data of a tensor as ``dtype`` (little-endian), in its shape."""
        t = self.tensor(index)
        buf = self.model.Buffers(t.Buffer())
        if buf.DataLength() > 0:
            raw = buf.DataAsNumpy().tobytes()
        elif buf.Offset() > 1:  # large models keep buffers after the flatbuffer
            raw = self.data[buf.Offset(): buf.Offset() + buf.Size()]
        else:
            raise ValueError(f"{what} (tensor {index}) has no constant data")
        arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
        shape = self.shape(index)
        if int(np.prod(shape)) != arr.size:
            raise ValueError(f"{what} (tensor {index}) holds {arr.size} values for shape {shape}")
        return arr.reshape(shape)


def _fc_options(g: _Graph, op) -> tuple[str, int]:
    opts = g.schema.FullyConnectedOptions()
    table = op.BuiltinOptions()
    if table is None:
        return "NONE", 0
    opts.Init(table.Bytes, table.Pos)
    act = int(opts.FusedActivationFunction())
    if act not in _ACTIVATIONS:
        raise ValueError(f"FULLY_CONNECTED with fused activation {act} is not supported "
                         f"(only {sorted(_ACTIVATIONS.values())})")
    return _ACTIVATIONS[act], int(opts.WeightsFormat())


def _softmax_beta(g: _Graph, op) -> float:
    opts = g.schema.SoftmaxOptions()
    table = op.BuiltinOptions()
    if table is None:
        return 1.0
    opts.Init(table.Bytes, table.Pos)
    return float(np.float32(opts.Beta()))


def _dense_int8(g: _Graph, op, i: int) -> DenseInt8:
    ins = [int(v) for v in op.InputsAsNumpy()]
    out = int(op.OutputsAsNumpy()[0])
    activation, fmt = _fc_options(g, op)
    what = f"FULLY_CONNECTED #{i}"
    if fmt != 0:
        raise ValueError(f"{what}: only the DEFAULT weights format is supported, got {fmt}")
    x_t, w_t = ins[0], ins[1]
    b_t = ins[2] if len(ins) > 2 else -1
    for t, name in ((x_t, "input"), (w_t, "weights"), (out, "output")):
        if g.dtype(t) != "INT8":
            raise ValueError(f"{what}: {name} must be INT8 in an int8 model, got {g.dtype(t)}")
    s_in, zp_in = g.per_tensor(x_t, f"{what} input")
    s_out, zp_out = g.per_tensor(out, f"{what} output")
    w = g.constant(w_t, "int8", f"{what} weights")
    if w.ndim != 2:
        raise ValueError(f"{what}: weights must be 2-D (n_out, n_in), got shape {w.shape}")
    n_out = w.shape[0]
    scales, zps, qdim = g.quant(w_t)
    if np.any(zps != 0):
        raise ValueError(f"{what}: weights must be symmetric (zero point 0), got {sorted(set(zps.tolist()))[:4]}")
    per_channel = len(scales) > 1
    if per_channel:
        if len(scales) != n_out or qdim != 0:
            raise ValueError(f"{what}: {len(scales)} weight scales on dimension {qdim} for {n_out} output units")
        # fully_connected_common.cc: all three scales cast to double first.
        reals = [float(s_in) * float(s) / float(s_out) for s in scales]
        w_scale = scales.astype(np.float32)
    elif len(scales) == 1:
        # kernel_util.cc GetQuantizedConvolutionMultipler: float32 product, then double.
        product = float(np.float32(s_in) * np.float32(scales[0]))
        reals = [product / float(s_out)] * n_out
        w_scale = np.full(n_out, scales[0], np.float32)
    else:
        raise ValueError(f"{what}: weights are not quantised")
    mult, shift = zip(*(quantize_multiplier(r) for r in reals))
    if b_t >= 0:
        if g.dtype(b_t) != "INT32":
            raise ValueError(f"{what}: bias must be INT32, got {g.dtype(b_t)}")
        bias = g.constant(b_t, "int32", f"{what} bias").reshape(-1)
        if bias.size != n_out:
            raise ValueError(f"{what}: {bias.size} biases for {n_out} output units")
    else:
        bias = np.zeros(n_out, np.int32)
    act_min, act_max = _activation_range_int8(activation, s_out, zp_out)
    return DenseInt8(
        weights=np.ascontiguousarray(w, np.int8), bias=bias.astype(np.int32),
        input_zero_point=zp_in, output_zero_point=zp_out, input_scale=s_in, output_scale=s_out,
        weight_scale=w_scale, per_channel=per_channel,
        multiplier=np.asarray(mult, np.int32), shift=np.asarray(shift, np.int32),
        activation=activation, activation_min=act_min, activation_max=act_max, output_tensor=out,
    )


def _dense_f32(g: _Graph, op, i: int) -> DenseF32:
    ins = [int(v) for v in op.InputsAsNumpy()]
    out = int(op.OutputsAsNumpy()[0])
    activation, fmt = _fc_options(g, op)
    what = f"FULLY_CONNECTED #{i}"
    if fmt != 0:
        raise ValueError(f"{what}: only the DEFAULT weights format is supported, got {fmt}")
    for t, name in ((ins[0], "input"), (ins[1], "weights"), (out, "output")):
        if g.dtype(t) != "FLOAT32":
            raise ValueError(f"{what}: {name} must be FLOAT32 in a float32 model, got {g.dtype(t)} "
                             "(hybrid / dynamic-range models are not supported)")
    w = g.constant(ins[1], "float32", f"{what} weights")
    if w.ndim != 2:
        raise ValueError(f"{what}: weights must be 2-D (n_out, n_in), got shape {w.shape}")
    b_t = ins[2] if len(ins) > 2 else -1
    bias = (g.constant(b_t, "float32", f"{what} bias").reshape(-1) if b_t >= 0
            else np.zeros(w.shape[0], np.float32))
    if bias.size != w.shape[0]:
        raise ValueError(f"{what}: {bias.size} biases for {w.shape[0]} output units")
    lo, hi = _activation_range_f32(activation)
    return DenseF32(np.ascontiguousarray(w, np.float32), bias.astype(np.float32), activation,
                    lo, hi, out)


def read_mlp(tflite: bytes) -> MlpC:
    """Extract the MLP of a converted model for the C runtime.

    The model must be a chain ``FULLY_CONNECTED`` x N (fused NONE / RELU /
    RELU6 / RELU_N1_TO_1) optionally followed by one ``SOFTMAX``, either all
    int8 (full-integer quantisation with int8 input and output) or all
    float32, as :func:`automl.quantization.convert` produces.

    Args:
        tflite: the ``.tflite`` flatbuffer bytes.

    Returns:
        An :class:`MlpC`.

    Raises:
        ValueError: naming the operator or tensor, if the flatbuffer cannot be
            parsed or the model is not such a chain.
    """
    data = bytes(tflite)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ValueError(f"not a TFLite flatbuffer: {len(data)} bytes without the 'TFL3' identifier at offset 4")
    try:
        g = _Graph(data)
    except ValueError:
        raise
    except Exception as exc:  # flatbuffers raises assorted errors on garbage
        raise ValueError(f"cannot parse the TFLite flatbuffer ({len(data)} bytes): {exc}") from exc
    graph = g.graph
    if graph.InputsLength() != 1 or graph.OutputsLength() != 1:
        raise ValueError(f"the model must have one input and one output; got {graph.InputsLength()} "
                         f"and {graph.OutputsLength()}")
    x_t, y_t = int(graph.Inputs(0)), int(graph.Outputs(0))
    in_type = g.dtype(x_t)
    if in_type not in ("INT8", "FLOAT32"):
        raise ValueError(f"the model input must be INT8 or FLOAT32; got {in_type}")
    quantization = "int8" if in_type == "INT8" else "float32"
    ops = [graph.Operators(i) for i in range(graph.OperatorsLength())]
    names = [g.op_name(op) for op in ops]
    n_fc = len(names) - (1 if names and names[-1] == "SOFTMAX" else 0)
    if n_fc < 1 or any(n != "FULLY_CONNECTED" for n in names[:n_fc]):
        raise ValueError(f"the model must be FULLY_CONNECTED layers and an optional final SOFTMAX; "
                         f"got operators {names}")
    current = x_t
    layers: list[DenseInt8 | DenseF32] = []
    for i, op in enumerate(ops[:n_fc]):
        if int(op.InputsAsNumpy()[0]) != current:
            raise ValueError(f"FULLY_CONNECTED #{i} does not read the previous layer's output")
        layer = _dense_int8(g, op, i) if quantization == "int8" else _dense_f32(g, op, i)
        if layers and layer.n_in != layers[-1].n_out:
            raise ValueError(f"FULLY_CONNECTED #{i} has {layer.n_in} inputs after a layer of {layers[-1].n_out}")
        layers.append(layer)
        current = layer.output_tensor
    n_inputs = layers[0].n_in
    if int(np.prod(g.shape(x_t))) != n_inputs:
        raise ValueError(f"the input tensor has shape {g.shape(x_t)} for a first layer of {n_inputs} inputs")
    softmax: SoftmaxInt8 | SoftmaxF32 | None = None
    if n_fc < len(ops):
        op = ops[-1]
        if int(op.InputsAsNumpy()[0]) != current:
            raise ValueError("SOFTMAX does not read the last layer's output")
        beta = _softmax_beta(g, op)
        out = int(op.OutputsAsNumpy()[0])
        if quantization == "int8":
            if g.dtype(out) != "INT8":
                raise ValueError(f"SOFTMAX output must be INT8, got {g.dtype(out)}")
            s_in, _ = g.per_tensor(current, "SOFTMAX input")
            s_out, zp_out = g.per_tensor(out, "SOFTMAX output")
            if zp_out != -128 or np.float32(s_out) != np.float32(1.0 / 256):
                raise ValueError(f"SOFTMAX int8 output must have scale 1/256 and zero point -128 "
                                 f"(TFLite Micro requires it); got {s_out!r}, {zp_out}")
            # PreprocessSoftmaxScaling(beta, s_in, input_integer_bits=5), double.
            real = min(float(beta) * float(s_in) * float(1 << 26), float((1 << 31) - 1))
            if not real > 1.0:
                raise ValueError(f"SOFTMAX: beta * input scale * 2^26 = {real!r} must be > 1")
            mult, left = quantize_multiplier(real)  # left >= 1 since real > 1
            # CalculateInputRadius(5, left) = floor(31 * 2^26 / 2^left), exact in double.
            diff_min = -((31 << 26) >> left)
            softmax = SoftmaxInt8(beta, s_in, mult, left, diff_min, out)
        else:
            softmax = SoftmaxF32(beta, out)
        current = out
    if current != y_t:
        raise ValueError("the last operator's output is not the model output")
    n_outputs = layers[-1].n_out
    if quantization == "int8":
        s_x, zp_x = g.per_tensor(x_t, "model input")
        s_y, zp_y = g.per_tensor(y_t, "model output")
        imap = _input_map(s_x, zp_x)
        is_offset = bool(np.array_equal(imap.astype(np.int16), np.arange(256, dtype=np.int16) - 128))
        return MlpC("int8", n_inputs, n_outputs, s_x, zp_x, imap, is_offset, s_y, zp_y,
                    tuple(layers), softmax)
    return MlpC("float32", n_inputs, n_outputs, None, None, None, False, None, None,
                tuple(layers), softmax)


# -------------------------------------------------------------- rendering
@dataclass(frozen=True)
class MlpCSource:
    """Generated C for one model.

    Attributes:
        header: declarations and size macros (include after ``kp_mlp.h``'s
            types are visible: the header includes it).
        source: the constant definitions; includes ``header_name``.
        header_name: file name the source includes for the header.
    """

    header: _cgen.CText
    source: _cgen.CText
    header_name: str


_HEADER_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.h\Z")


def _c_int32(v: int) -> str:
    v = int(v)
    if not -(2**31) <= v < 2**31:
        raise ValueError(f"{v} does not fit in int32_t")
    return "(-2147483647 - 1)" if v == -(2**31) else str(v)


def _value_lines(values, fmt, per_line: int) -> list[_cgen.CText]:
    items = [fmt(v) for v in values]
    rows = [items[i: i + per_line] for i in range(0, len(items), per_line)]
    return [_cgen.CText("    " + ", ".join(r) + ("," if k < len(rows) - 1 else ""))
            for k, r in enumerate(rows)]


def render_mlp_c(model: MlpC, *, prefix: str = "kp", header_name: str = "mlp_model.h",
                 study: str | None = None, trial: int | None = None) -> MlpCSource:
    """Format an :class:`MlpC` as a C header and source for ``kp_mlp.h``.

    The structure is in ``firmware/templates/mlp_model.h.jinja`` and
    ``mlp_model.c.jinja``; this function only formats the values.

    The source defines ``const kp_mlp_int8_t <prefix>_mlp_model`` (or
    ``kp_mlp_f32_t``) and, for an int8 model whose input is not simply
    ``u - 128``, ``<prefix>_mlp_input_lut[256]``; the header declares them and
    defines ``<PREFIX>_MLP_N_INPUTS``, ``_N_CLASSES``, ``_N_LAYERS``,
    ``_SCRATCH``, ``_IS_INT8`` and (int8) ``_INPUT_LUT`` (``NULL`` or the
    table, for ``kp_u8_to_int8_vec``). Floats are printed with ``%.9g`` so
    every float32 round-trips.

    Args:
        model: from :func:`read_mlp`.
        prefix: C identifier prefix (lower case for symbols, upper for macros).
        header_name: the header's file name, included by the source.
        study, trial: written into the "Generated by" line of both files when
            given (the exporter passes the trial's).

    Returns:
        An :class:`MlpCSource`.

    Raises:
        ValueError: if ``prefix`` or ``header_name`` is not usable.
    """
    _cgen.check_c_identifier(prefix, what="prefix")
    if prefix.startswith("_"):
        raise ValueError(f"prefix must not start with '_'; got {prefix!r} instead")
    if not isinstance(header_name, str) or not _HEADER_NAME_RE.match(header_name):
        raise ValueError(f"header_name must be a plain file name ending in .h; got {header_name!r} instead")
    p, P = prefix.lower(), prefix.upper()
    is_int8 = model.quantization == "int8"
    layers = []
    for i, layer in enumerate(model.layers):
        name = f"{p}_mlp_l{i}"
        entry = {
            "index": i, "name": _cgen.CText(name), "n_in": layer.n_in, "n_out": layer.n_out,
            "comma": _cgen.CText("," if i < len(model.layers) - 1 else ""),
        }
        if is_int8:
            note = (f"{layer.activation}, {'per-channel' if layer.per_channel else 'per-tensor'} weights, "
                    f"input zp {layer.input_zero_point}, output scale %.9g zp {layer.output_zero_point}"
                    % layer.output_scale)
            entry.update(
                elem=_cgen.CText("int8_t"), bias_type=_cgen.CText("int32_t"),
                weight_lines=_value_lines(layer.weights.reshape(-1), str, 16),
                bias_lines=_value_lines(layer.bias, _c_int32, 8),
                mult_lines=_value_lines(layer.multiplier, _c_int32, 6),
                shift_lines=_value_lines(layer.shift, str, 16),
                input_offset=_cgen.CText(_c_int32(-layer.input_zero_point)),
                output_offset=_cgen.CText(_c_int32(layer.output_zero_point)),
                act_min=_cgen.CText(_c_int32(layer.activation_min)),
                act_max=_cgen.CText(_c_int32(layer.activation_max)),
            )
        else:
            note = layer.activation
            entry.update(
                elem=_cgen.CText("float"), bias_type=_cgen.CText("float"),
                weight_lines=_value_lines(layer.weights.reshape(-1), _cgen.c_float, 6),
                bias_lines=_value_lines(layer.bias, _cgen.c_float, 6),
                act_min=_cgen.c_float(layer.activation_min), act_max=_cgen.c_float(layer.activation_max),
            )
        entry["note"] = _cgen.c_comment(note)
        layers.append(entry)

    summary = " -> ".join([str(model.n_inputs)] + [str(layer.n_out) for layer in model.layers])
    if model.softmax is not None:
        summary += " -> softmax"
    ctx = {
        "p": _cgen.CText(p), "P": _cgen.CText(P), "quantization": _cgen.c_comment(model.quantization),
        "summary": _cgen.c_comment(summary), "n_inputs": model.n_inputs, "n_outputs": model.n_outputs,
        "n_layers": len(model.layers), "scratch": model.scratch_size, "scratch_half": model.scratch_half,
        "is_int8": int(is_int8), "suffix": _cgen.CText("int8" if is_int8 else "f32"),
        "elem": _cgen.CText("int8_t" if is_int8 else "float"),
        "net_type": _cgen.CText("kp_mlp_int8_t" if is_int8 else "kp_mlp_f32_t"),
        "layer_type": _cgen.CText("kp_fc_int8_layer_t" if is_int8 else "kp_fc_f32_layer_t"),
        "layers": layers, "header_include": _cgen.c_string(header_name),
        "has_lut": bool(is_int8 and not model.input_is_offset), "softmax": None,
        "has_softmax_macro": int(model.softmax is not None),
        "version": _cgen.CText(automl.__version__), "study": study,
        "trial": None if trial is None else int(trial),
    }
    if is_int8:
        ctx["lut_macro"] = _cgen.CText(f"{p}_mlp_input_lut" if ctx["has_lut"] else "((const int8_t *)0)")
        ctx["input_note"] = _cgen.c_comment(
            "u - 128 (scale 1/255, zero point -128)" if model.input_is_offset
            else "table (scale %.9g, zero point %d)" % (model.input_scale, model.input_zero_point))
        if ctx["has_lut"]:
            ctx["lut_lines"] = _value_lines(model.input_map, str, 16)
        sm = model.softmax
        if isinstance(sm, SoftmaxInt8):
            ctx["softmax"] = {
                "beta": _cgen.plain_float(sm.beta), "scale": _cgen.plain_float(sm.input_scale),
                "multiplier": _cgen.CText(_c_int32(sm.input_multiplier)),
                "left_shift": _cgen.CText(_c_int32(sm.input_left_shift)),
                "diff_min": _cgen.CText(_c_int32(sm.diff_min)),
            }
            ctx["softmax_ref"] = _cgen.CText(f"&{p}_mlp_softmax")
        else:
            ctx["softmax_ref"] = _cgen.CText("((const kp_softmax_int8_t *)0)")
    else:
        ctx["has_softmax"] = int(model.softmax is not None)
        ctx["beta"] = _cgen.c_float(model.softmax.beta if model.softmax is not None else 1.0)
    env = template_environment()
    header = env.get_template("mlp_model.h.jinja").render(ctx)
    source = env.get_template("mlp_model.c.jinja").render(ctx)
    return MlpCSource(_cgen.CText(header), _cgen.CText(source), header_name)
