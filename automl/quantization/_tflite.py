"""Convert a Keras MLP to a ``.tflite`` flatbuffer and run it with TFLite Micro."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings

import numpy as np

from automl.errors import ConfigError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

QUANTIZATIONS = ("int8", "float32")


def convert(model, representative: np.ndarray, kind: str) -> bytes:
    """Convert a trained Keras model with ``tf.lite.TFLiteConverter``.

    ``int8`` is full-integer quantisation (int8 weights and activations, int32
    biases, int8 input and output; TFLite's quantisation spec). Two rows of all
    0 and all 1 are added to the representative data so the input range is
    exactly [0, 1]: the input scale is then 1/255 with zero point -128, and the
    uint8 scaler output ``u`` maps to int8 ``u - 128`` without rounding.

    A model made only of ``Dense`` (ReLU, softmax or linear) and ``Dropout``
    layers, which is every model :func:`automl.model.build_mlp` builds, is
    handed to the converter as a ``tf.function`` with its weights as
    constants (``from_concrete_functions``, not lowered to a SavedModel)
    instead of ``from_keras_model``, which first exports a SavedModel: 0.05 s
    instead of 0.3-0.5 s per conversion of a 12-16-8-6 MLP on this machine
    (0.1 s when the concrete function is lowered to a SavedModel, measured
    with 5 timed conversions after one warm-up), with the same operators,
    weights, biases, scales and zero points (tested against
    ``from_keras_model``). Any other model takes the Keras route.

    The flatbuffer is then stripped of the strings no interpreter needs
    (model description, subgraph and tensor names, signature defs) with
    TensorFlow's own ``tensorflow.lite.tools.flatbuffer_utils.strip_strings``
    (what ``tensorflow/lite/tools/strip_strings.py`` does, the step the
    TFLite Micro documentation suggests for flash-limited targets): about
    200 bytes less per layer (``benchmarks/calibrate_cost.py --tflm-only``
    fit: 507 -> 306 bytes per int8 layer; the tutorial's 16-12-8-4 int8 MLP
    2,992 -> 2,712 bytes), the same operators, tensors, weights and
    quantisation parameters, and the same outputs bit for bit (tested).

    Args:
        model: a ``keras.Model`` with input ``(batch, n_inputs) float32`` in [0, 1].
        representative: ``(n_windows, n_inputs) float32`` training inputs for
            calibrating activation ranges (the training fold only).
        kind: ``"int8"`` or ``"float32"``.

    Returns:
        The ``.tflite`` flatbuffer bytes.

    Raises:
        ConfigError: if ``kind`` is not a known quantisation.
    """
    import tensorflow as tf

    if kind not in QUANTIZATIONS:
        raise ConfigError(f"The 'quantization' parameter must be one of {list(QUANTIZATIONS)}. Got {kind!r} instead.")
    frozen = _frozen_mlp(model)
    if kind == "int8" and frozen is not None:
        representative = calibration_rows(model, representative)
    if frozen is not None:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
        converter.experimental_lower_to_saved_model = False  # the graph is already frozen
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if kind == "int8":
        k = representative.shape[1]
        rep = np.concatenate([np.zeros((1, k), np.float32), np.ones((1, k), np.float32),
                              representative.astype(np.float32)])

        def gen():
            for row in rep:
                yield [row[None, :]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with warnings.catch_warnings():
        # TensorFlow's converter warns "Statistics for quantized inputs were expected, but not
        # specified" for every int8 conversion from a float graph: the input's scale and zero
        # point come from the representative data instead (pinned to [0, 1] above), so the
        # warning is always benign here.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected",
                                category=UserWarning)
        with _stderr_without(_CONVERTER_NOISE):
            return strip_strings(bytes(converter.convert()))


def strip_strings(tflite: bytes) -> bytes:
    """``tflite`` without its non-essential strings (TensorFlow's ``flatbuffer_utils.strip_strings``).

    Args:
        tflite: a ``.tflite`` flatbuffer.

    Returns:
        The flatbuffer without model description, subgraph names, tensor names
        and signature defs (operator custom codes and metadata names are kept).
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite))
    flatbuffer_utils.strip_strings(model)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


#: Lines TensorFlow's C++ converter writes straight to the process's stderr for every int8
#: conversion ("fully_quantize: 0, inference_type: 6, input_inference_type: INT8, ..."), past
#: TF_CPP_MIN_LOG_LEVEL: a settings echo, never an error (24 such lines in one benchmark run).
_CONVERTER_NOISE = re.compile(rb"^fully_quantize: \d+, inference_type: ")


@contextlib.contextmanager
def _stderr_without(pattern: re.Pattern):
    """Hold back the lines of file descriptor 2 that match ``pattern`` for the block; pass the others on.

    The C++ code writes to the descriptor, not to ``sys.stderr``, so the
    descriptor is pointed at a temporary file for the block and what was
    written is copied back afterwards without the matching lines (an error
    message of the converter still reaches the user, after the block).
    """
    fd = 2  # what the C++ code writes to, whatever sys.stderr is
    if sys.stderr is not None:
        sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            kept = b"".join(line for line in tmp if not pattern.match(line))
            if kept:
                os.write(fd, kept)


#: Rows kept per activation tensor and side (largest maximum, smallest minimum) by :func:`calibration_rows`.
CALIBRATION_ROWS_PER_SIDE = 4


def calibration_rows(model, representative: np.ndarray) -> np.ndarray:
    """The rows of ``representative`` that decide the int8 calibration of a dense MLP.

    TensorFlow Lite's post-training calibration records, for every activation
    tensor, the minimum and maximum over the representative data (its
    ``MinMax`` calibration logger), and the quantisation parameters follow from
    those alone. So only the rows holding some tensor's extremes matter: for
    the input and every dense layer's output (after its ReLU; the logits for
    the last layer), computed here in float32 as the converter's float
    kernels compute them, the :data:`CALIBRATION_ROWS_PER_SIDE` rows with the
    largest maximum and those with the smallest minimum are kept (more than
    one per side so that a float rounding difference between this forward
    pass and TensorFlow's cannot pick a different extreme). Calibrating on the
    kept rows gives the same flatbuffer, byte for byte, as calibrating on all
    of them (tested), in a fraction of the time: the calibrator runs the model
    once per row (a 16-12-8-4 MLP on this machine, mean of 5 conversions, the
    other core busy: 0.33 s with 2,000 rows, 0.16 s with 500, 0.13 s with 200).

    Args:
        model: a dense-only ``keras.Model`` (see :func:`convert`).
        representative: ``(n, n_inputs) float32`` calibration inputs.

    Returns:
        ``(m, n_inputs) float32``, ``m <= n``: the kept rows in their original order.
    """
    import keras

    x = np.asarray(representative, np.float32)
    if x.shape[0] <= 4 * CALIBRATION_ROWS_PER_SIDE:
        return x
    keep = set()
    k = CALIBRATION_ROWS_PER_SIDE

    def extremes(a: np.ndarray) -> None:
        hi, lo = a.max(axis=1), a.min(axis=1)
        keep.update(np.argsort(-hi, kind="stable")[:k].tolist())
        keep.update(np.argsort(lo, kind="stable")[:k].tolist())

    extremes(x)
    a = x
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            continue
        a = a @ np.asarray(layer.kernel.numpy(), np.float32) + np.asarray(layer.bias.numpy(), np.float32)
        if getattr(layer.activation, "__name__", "") == "relu":
            a = np.maximum(a, np.float32(0.0))
        extremes(a)
    return x[np.sort(np.fromiter(keep, np.int64))]


def _frozen_mlp(model):
    """A concrete ``tf.function`` computing ``model`` with constant weights, or None.

    None unless every layer is ``Dense`` with a ReLU, softmax or linear
    activation, or ``Dropout`` (the identity at inference).
    """
    import keras
    import tensorflow as tf

    activations = {"relu": tf.nn.relu, "softmax": tf.nn.softmax, "linear": None}
    steps = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            continue
        act = getattr(getattr(layer, "activation", None), "__name__", None)
        if not isinstance(layer, keras.layers.Dense) or not layer.use_bias or act not in activations:
            return None
        steps.append((tf.constant(np.asarray(layer.kernel.numpy(), np.float32)),
                      tf.constant(np.asarray(layer.bias.numpy(), np.float32)), activations[act]))
    if not steps:
        return None

    @tf.function(input_signature=[tf.TensorSpec([None, int(steps[0][0].shape[0])], tf.float32)])
    def forward(x):
        for kernel, bias, act in steps:
            x = tf.matmul(x, kernel) + bias
            if act is not None:
                x = act(x)
        return x

    return forward.get_concrete_function()


class TFLiteModel:
    """A ``.tflite`` model run by the TensorFlow Lite Micro interpreter.

    The interpreter is the host build of TFLite Micro (``tflite-micro`` on
    PyPI), the same kernels the exported firmware matches, so every metric is
    that of the converted model, not of the Keras model.

    Args:
        tflite: flatbuffer bytes.
        arena_size: tensor arena size for the interpreter (bytes); 64 KiB is far
            above what a <= 3-layer MLP of this product needs (~2 KB measured).
    """

    def __init__(self, tflite: bytes, arena_size: int = 65536):
        from ai_edge_litert.interpreter import Interpreter
        from tflite_micro.python.tflite_micro import runtime

        self.tflite = bytes(tflite)
        # kPreserveAllTensors keeps intermediate tensors readable (GetTensor), so the
        # logits (the input of the final SOFTMAX) can be compared with the firmware.
        self._micro = runtime.Interpreter.from_bytes(
            self.tflite, arena_size=arena_size,
            intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
        # LiteRT only to read the tensor details (scale, zero point, dtype) and the op graph.
        info = Interpreter(model_content=self.tflite)
        inp, out = info.get_input_details()[0], info.get_output_details()[0]
        softmax = [op for op in info._get_ops_details() if op["op_name"] == "SOFTMAX"]
        self.logits_tensor = int(softmax[-1]["inputs"][0]) if softmax else int(out["index"])
        self.input_dtype = np.dtype(inp["dtype"])
        self.input_scale, self.input_zero_point = (float(v) for v in inp["quantization"])
        self.output_dtype = np.dtype(out["dtype"])
        self.output_scale, self.output_zero_point = (float(v) for v in out["quantization"])
        self.n_classes = int(out["shape"][-1])

    @property
    def quantized(self) -> bool:
        """True for a full-integer (int8 input/output) model."""
        return self.input_dtype == np.int8

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Map scaled features to the model's input tensor dtype.

        Args:
            x: ``(n, n_inputs) float32`` in [0, 1] (uint8 scaler output / 255).

        Returns:
            ``(n, n_inputs) int8`` = clip(round(x / scale) + zero_point) for int8
            models, else ``x`` as float32.
        """
        if not self.quantized:
            return np.asarray(x, np.float32)
        q = np.round(np.asarray(x, np.float64) / self.input_scale) + self.input_zero_point
        return np.clip(q, -128, 127).astype(np.int8)

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the interpreter on each row; return the output and the logits.

        Args:
            x: ``(n, n_inputs) float32`` scaled features in [0, 1].

        Returns:
            ``(output, logits)``, both ``(n, n_classes)``: the output tensor
            (int8 quantised softmax for int8 models, float32 probabilities
            otherwise) and the last fully-connected layer's output (int8 or
            float32), read from the interpreter's preserved tensors.
        """
        q = self.quantize_input(x)
        out = np.empty((q.shape[0], self.n_classes), dtype=self.output_dtype)
        logits = np.empty((q.shape[0], self.n_classes), dtype=self.output_dtype)
        for i in range(q.shape[0]):
            self._micro.set_input(q[i:i + 1], 0)
            self._micro.invoke()
            out[i] = self._micro.get_output(0)[0]
            logits[i] = np.asarray(self._micro.GetTensor(self.logits_tensor, 0)["tensor_data"]).reshape(-1)
        return out, logits

    def raw_output(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_classes)`` output tensor of :meth:`run` (int8 or float32)."""
        return self.run(x)[0]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_classes) float32`` class probabilities (dequantised for int8)."""
        raw = self.raw_output(x)
        if self.output_dtype == np.int8:
            return ((raw.astype(np.float32) - self.output_zero_point) * self.output_scale).astype(np.float32)
        return raw.astype(np.float32)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``(n,) int64`` class index, first on ties.

        int8 models: argmax of the int8 softmax output (what TFLite Micro
        returns). float32 models: argmax of the float32 logits, which the
        firmware computes bit for bit (two probabilities can round to the same
        float32 where the logits still differ).
        """
        out, logits = self.run(x)
        return (out if self.quantized else logits).argmax(axis=1).astype(np.int64)
