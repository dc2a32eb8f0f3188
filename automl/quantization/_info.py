"""Read what a ``.tflite`` flatbuffer holds (operators, input and output tensors), and check it.

Only reads; never changes a number. Uses the flatbuffer schema module shipped
by ``ai-edge-litert`` (a project dependency; importing it does not load
TensorFlow or the interpreter).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FIRMWARE_OPERATORS", "TensorInfo", "TfliteInfo", "check_converted", "read_tflite_info"]

#: Operators the exported C runtime implements (``firmware/runtime/kp_mlp.h``: dense layers and a softmax).
FIRMWARE_OPERATORS = ("FULLY_CONNECTED", "SOFTMAX")

# TensorFlow Lite Micro's MicroMutableOpResolver method for builtin operators
# whose name does not follow from CamelCasing the enum name.
_RESOLVER_EXCEPTIONS = {
    "BATCH_MATMUL": "AddBatchMatMul",
    "L2_NORMALIZATION": "AddL2Normalization",
    "LOG_SOFTMAX": "AddLogSoftmax",
    "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM",
    "ADD_N": "AddAddN",
}


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output tensor.

    Attributes:
        shape: dimensions, e.g. ``(1, 12)``.
        dtype: TFLite type name, e.g. ``"INT8"`` or ``"FLOAT32"``.
        scale: quantisation scale (real value per integer step), ``None`` if
            the tensor is not quantised.
        zero_point: quantisation zero point (integer), ``None`` if not quantised.
    """

    shape: tuple[int, ...]
    dtype: str
    scale: float | None
    zero_point: int | None


@dataclass(frozen=True)
class TfliteInfo:
    """Facts about a model flatbuffer.

    Attributes:
        n_bytes: size of the flatbuffer in bytes.
        operators: builtin operator names used, sorted, e.g.
            ``("FULLY_CONNECTED", "SOFTMAX")``; custom operators as
            ``"CUSTOM:<name>"``.
        resolver_calls: the matching ``MicroMutableOpResolver`` method names,
            e.g. ``("AddFullyConnected", "AddSoftmax")`` (custom operators are
            left out: they need the user's own registration).
        inputs, outputs: the first subgraph's input and output tensors.
    """

    n_bytes: int
    operators: tuple[str, ...]
    resolver_calls: tuple[str, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


def _resolver_call(op: str) -> str:
    if op in _RESOLVER_EXCEPTIONS:
        return _RESOLVER_EXCEPTIONS[op]
    parts = op.split("_")
    # "CONV_2D" -> "Conv2D": parts starting with a digit stay upper case.
    return "Add" + "".join(p if p[:1].isdigit() else p.capitalize() for p in parts)


def read_tflite_info(tflite: bytes) -> TfliteInfo:
    """Parse operators and input/output tensors of a ``.tflite`` flatbuffer.

    Args:
        tflite: the whole file content.

    Returns:
        A :class:`TfliteInfo`.

    Raises:
        ValueError: if ``tflite`` lacks the ``TFL3`` file identifier or cannot be
            parsed as a TFLite model with at least one subgraph.
    """
    from ai_edge_litert import schema_py_generated as schema

    data = bytes(tflite)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ValueError(
            f"not a TFLite flatbuffer: {len(data)} bytes without the 'TFL3' identifier at offset 4"
        )
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    try:
        model = schema.Model.GetRootAs(data, 0)
        ops: set[str] = set()
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            # Since schema v3a the real code is the larger of the two fields.
            builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
            if builtin == schema.BuiltinOperator.CUSTOM:
                custom = code.CustomCode()
                ops.add("CUSTOM:" + (custom.decode("utf-8", "replace") if custom else "?"))
            else:
                ops.add(op_names.get(builtin, f"BUILTIN_{builtin}"))
        if model.SubgraphsLength() < 1:
            raise ValueError("the model has no subgraph")
        graph = model.Subgraphs(0)

        def tensor(index: int) -> TensorInfo:
            t = graph.Tensors(index)
            q = t.Quantization()
            scale = zero_point = None
            if q is not None and q.ScaleLength() > 0:
                scale = float(q.ScaleAsNumpy()[0])
                zero_point = int(q.ZeroPointAsNumpy()[0]) if q.ZeroPointLength() > 0 else 0
            shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() > 0 else ()
            return TensorInfo(shape, type_names.get(t.Type(), str(t.Type())), scale, zero_point)

        inputs = tuple(tensor(int(graph.Inputs(i))) for i in range(graph.InputsLength()))
        outputs = tuple(tensor(int(graph.Outputs(i))) for i in range(graph.OutputsLength()))
    except ValueError:
        raise
    except Exception as exc:  # flatbuffers raises assorted errors on garbage
        raise ValueError(f"cannot parse the TFLite flatbuffer ({len(data)} bytes): {exc}") from exc
    operators = tuple(sorted(ops))
    calls = tuple(_resolver_call(op) for op in operators if not op.startswith("CUSTOM:"))
    return TfliteInfo(len(data), operators, calls, inputs, outputs)


def check_converted(tflite: bytes, kind: str) -> TfliteInfo:
    """Check that a converted model is what the firmware runs: the right types and known operators only.

    An ``int8`` model must take and give int8 tensors (full-integer
    quantisation: no float input or output, no ``QUANTIZE`` / ``DEQUANTIZE``
    operator), a ``float32`` model float32 ones; every operator must be one of
    :data:`FIRMWARE_OPERATORS`.

    Args:
        tflite: the ``.tflite`` bytes.
        kind: ``"int8"`` or ``"float32"`` (the quantisation asked for).

    Returns:
        The model's :class:`TfliteInfo`.

    Raises:
        ValueError: naming what is wrong (e.g. "int8 model has a FLOAT32 input").
    """
    info = read_tflite_info(tflite)
    want = "INT8" if kind == "int8" else "FLOAT32"
    for what, tensors in (("input", info.inputs), ("output", info.outputs)):
        for t in tensors:
            if t.dtype != want:
                raise ValueError(f"{kind} model has a {t.dtype} {what} (the firmware feeds and reads {want})")
    extra = [op for op in info.operators if op not in FIRMWARE_OPERATORS]
    if extra:
        raise ValueError(f"{kind} model uses operators the firmware does not implement: {', '.join(extra)} "
                         f"(it runs {', '.join(FIRMWARE_OPERATORS)})")
    return info
