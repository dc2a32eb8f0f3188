"""TFLite conversion: int8 input mapping, TFLite Micro vs LiteRT, float32 vs Keras."""

from __future__ import annotations

import numpy as np
import pytest

from automl.errors import ConfigError
from automl.quantization import TFLiteModel, convert

N_IN, N_HIDDEN, N_CLASSES = 5, 8, 4

# The Keras-route reference conversions below call TensorFlow's converter directly, which warns that an
# int8 input has no float statistics (convert() silences that itself).
pytestmark = pytest.mark.filterwarnings("ignore:Statistics for quantized inputs were expected")

@pytest.fixture(scope="module")
def keras_model():
    """5 -> 8 (ReLU) -> 4 (softmax) with fixed, spread-out weights (no training needed)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((N_IN,)),
        keras.layers.Dense(N_HIDDEN, activation="relu"),
        keras.layers.Dense(N_CLASSES, activation="softmax"),
    ])
    rng = np.random.default_rng(1)
    model.set_weights([
        rng.normal(0, 1.5, (N_IN, N_HIDDEN)).astype(np.float32),
        rng.normal(0, 0.3, N_HIDDEN).astype(np.float32),
        rng.normal(0, 1.5, (N_HIDDEN, N_CLASSES)).astype(np.float32),
        rng.normal(0, 0.3, N_CLASSES).astype(np.float32),
    ])
    return model


@pytest.fixture(scope="module")
def inputs() -> tuple[np.ndarray, np.ndarray]:
    """(u, x): 300 rows of uint8 scaler outputs and x = u / 255 (float32)."""
    u = np.random.default_rng(2).integers(0, 256, (300, N_IN))
    return u, (u / 255).astype(np.float32)


@pytest.fixture(scope="module")
def int8_bytes(keras_model) -> bytes:
    rep = np.random.default_rng(3).uniform(0.0, 1.0, (64, N_IN)).astype(np.float32)
    return convert(keras_model, rep, "int8")


@pytest.fixture(scope="module")
def narrow_int8_bytes(keras_model) -> bytes:
    # Representative data deliberately inside [0.25, 0.75]: convert() must still
    # calibrate the input to exactly [0, 1].
    rep = np.random.default_rng(3).uniform(0.25, 0.75, (64, N_IN)).astype(np.float32)
    return convert(keras_model, rep, "int8")


@pytest.fixture(scope="module")
def float_bytes(keras_model) -> bytes:
    return convert(keras_model, np.zeros((1, N_IN), np.float32), "float32")


@pytest.mark.parametrize("which", ["int8_bytes", "narrow_int8_bytes"])
def test_int8_input_scale_and_zero_point(request, which):
    m = TFLiteModel(request.getfixturevalue(which))
    assert m.quantized
    assert m.input_dtype == np.int8 and m.output_dtype == np.int8
    # Range [0, 1] over 256 int8 steps: scale (1 - 0) / 255, zero point -128,
    # stored as float32 in the flatbuffer.
    assert np.float32(m.input_scale) == np.float32(1 / 255)
    assert m.input_zero_point == -128
    # TFLite's int8 softmax output is fixed at scale 1/256, zero point -128.
    assert m.output_scale == 1 / 256 and m.output_zero_point == -128
    assert m.n_classes == N_CLASSES


def test_int8_uint8_inputs_map_exactly(int8_bytes):
    m = TFLiteModel(int8_bytes)
    u = np.arange(256)
    x = np.repeat((u / 255).astype(np.float32)[:, None], N_IN, axis=1)
    q = m.quantize_input(x)
    assert q.dtype == np.int8 and q.shape == (256, N_IN)
    np.testing.assert_array_equal(q.astype(np.int64), np.repeat((u - 128)[:, None], N_IN, axis=1))


def test_int8_quantize_input_rounds_and_clips(int8_bytes):
    m = TFLiteModel(int8_bytes)
    # round(x / (1/255)) - 128, saturated to [-128, 127]:
    #   -0.5 -> -255.5 -> -128 (clip); 1.5 -> 382.5 -> 127 (clip);
    #   0.004 -> 1.02 -> 1 -> -127;  0.998 -> 254.49 -> 254 -> 126;  1.0 -> 255 -> 127.
    x = np.array([[-0.5, 1.5, 0.004, 0.998, 1.0]], np.float32)
    assert m.quantize_input(x).tolist() == [[-128, 127, -127, 126, 127]]


def _litert(tflite: bytes, q: np.ndarray) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """LiteRT's raw output and every intermediate tensor, one row at a time (reference kernels)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=tflite, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    assert inp["dtype"] == q.dtype
    outs, tensors = [], {t["index"]: [] for t in it.get_tensor_details()}
    for row in q:
        it.set_tensor(inp["index"], row[None, :])
        it.invoke()
        outs.append(it.get_tensor(out["index"])[0].copy())
        for i in tensors:
            tensors[i].append(it.get_tensor(i).copy())
    return np.array(outs), {i: np.array(v) for i, v in tensors.items()}


def test_int8_predict_matches_litert(int8_bytes, inputs):
    u, x = inputs
    m = TFLiteModel(int8_bytes)
    q = (u - 128).astype(np.int8)  # the exact int8 inputs
    np.testing.assert_array_equal(m.quantize_input(x), q)
    ref, _ = _litert(int8_bytes, q)
    raw = m.raw_output(x)
    assert raw.dtype == np.int8 and raw.shape == (300, N_CLASSES)
    pred = m.predict(x)
    assert pred.dtype == np.int64
    np.testing.assert_array_equal(pred, ref.argmax(axis=1))
    # The inputs exercise more than one class, so the comparison means something.
    assert len(np.unique(pred)) >= 3
    # Raw outputs agree on most rows; see the next test for the rows where they do not.
    assert (raw == ref).all(axis=1).mean() > 0.9
    assert np.abs(raw.astype(int) - ref.astype(int)).max() <= 4


# -- an independent int8 fully-connected layer (TFLite quantisation spec) ----


def _quantize_multiplier(real: float) -> tuple[int, int]:
    """real = q * 2^(shift - 31), q in [2^30, 2^31) (tflite QuantizeMultiplier)."""
    mant, shift = np.frexp(real)
    q = int(np.floor(mant * (1 << 31) + 0.5))
    if q == 1 << 31:
        q, shift = q // 2, shift + 1
    return q, int(shift)


def _double_rounding(acc: int, q: int, shift: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul then RoundingDivideByPOT."""
    x = acc * (1 << max(shift, 0))
    ab = x * q
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    hi = abs(ab + nudge) // (1 << 31) * (1 if ab + nudge >= 0 else -1)  # C division truncates
    e = max(-shift, 0)
    mask = (1 << e) - 1
    rem, threshold = hi & mask, (mask >> 1) + (1 if hi < 0 else 0)
    return (hi >> e) + (1 if rem > threshold else 0)


def _single_rounding(acc: int, q: int, shift: int) -> int:
    """TFLITE_SINGLE_ROUNDING: one round-half-up of acc * q / 2^(31 - shift)."""
    total = 31 - shift
    return (acc * q + (1 << (total - 1))) >> total


def _fc(xq, x_zp, w, w_scales, bias, x_scale, out_scale, out_zp, rounding) -> np.ndarray:
    out = []
    for c in range(w.shape[0]):
        acc = int(((xq.astype(np.int64) - x_zp) * w[c].astype(np.int64)).sum() + int(bias[c]))
        qm, shift = _quantize_multiplier(float(x_scale) * float(w_scales[c]) / float(out_scale))
        out.append(min(127, max(-128, rounding(acc, qm, shift) + out_zp)))  # ReLU folds into the clamp
    return np.array(out)


def test_int8_kernels_agree_except_requantisation_rounding(int8_bytes, inputs):
    """Where TFLite Micro and LiteRT differ, and why.

    LiteRT's reference FULLY_CONNECTED requantises with single rounding
    (TFLITE_SINGLE_ROUNDING); the tflite-micro host build, which computes the
    product's metrics, with gemmlowp's double rounding. The two pick different
    int8 logits on a few rows (one step each), and only there do the raw
    outputs differ. Per-channel weight scales, int32 biases, 5 -> 8 -> 4.
    """
    from ai_edge_litert.interpreter import Interpreter

    u, x = inputs
    q = (u - 128).astype(np.int8)
    ref, tensors = _litert(int8_bytes, q)
    raw = TFLiteModel(int8_bytes).raw_output(x)
    info = Interpreter(model_content=int8_bytes)
    ops = info._get_ops_details()
    assert [o["op_name"] for o in ops] == ["FULLY_CONNECTED", "FULLY_CONNECTED", "SOFTMAX"]
    det = {t["index"]: t for t in info.get_tensor_details()}

    def params(i):
        p = det[i]["quantization_parameters"]
        return p["scales"], p["zero_points"]

    def layer(op, xin, rounding):
        i_in, i_w, i_b = (int(v) for v in op["inputs"])
        i_out = int(op["outputs"][0])
        (xs,), (xz,) = params(i_in)
        ws, _ = params(i_w)
        (os_,), (oz,) = params(i_out)
        return _fc(xin, int(xz), info.get_tensor(i_w), ws, info.get_tensor(i_b), xs, os_, int(oz), rounding)

    logits_out = int(ops[1]["outputs"][0])
    differs = np.zeros(len(q), bool)
    for r in range(len(q)):
        z = {}
        for name, rounding in (("single", _single_rounding), ("double", _double_rounding)):
            h = layer(ops[0], q[r], rounding)
            z[name] = layer(ops[1], h, rounding)
        # LiteRT's logits are exactly the single-rounding ones.
        np.testing.assert_array_equal(tensors[logits_out][r, 0], z["single"])
        differs[r] = not np.array_equal(z["single"], z["double"])
    assert 0 < differs.sum() < len(q) // 10
    # Same logits -> the same int8 softmax bit for bit; different logits -> different outputs.
    np.testing.assert_array_equal(raw[~differs], ref[~differs])
    assert (raw[differs] != ref[differs]).any(axis=1).all()


def test_int8_predict_proba_is_dequantised_output(int8_bytes, inputs, keras_model):
    _, x = inputs
    m = TFLiteModel(int8_bytes)
    raw = m.raw_output(x[:50]).astype(np.float32)
    p = m.predict_proba(x[:50])
    np.testing.assert_array_equal(p, (raw + 128) / 256)
    # Close to the float model: a few output steps (1/256) of quantisation error.
    np.testing.assert_allclose(p, keras_model(x[:50]).numpy(), atol=0.05)


def test_float32_matches_keras(float_bytes, inputs, keras_model):
    _, x = inputs
    m = TFLiteModel(float_bytes)
    assert not m.quantized
    assert m.input_dtype == np.float32 and m.output_dtype == np.float32
    np.testing.assert_array_equal(m.quantize_input(x), x)
    p = m.predict_proba(x)
    expected = keras_model(x).numpy()
    np.testing.assert_allclose(p, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(m.predict(x), expected.argmax(axis=1))


@pytest.mark.parametrize("kind", ["int16", "float16", "", "INT8"])
def test_bad_kind(keras_model, kind):
    with pytest.raises(ConfigError, match=r"'quantization' parameter must be one of \['int8', 'float32'\]"):
        convert(keras_model, np.zeros((1, N_IN), np.float32), kind)


def _tensor_table(tflite: bytes) -> tuple[list[str], list[tuple]]:
    """Operators, and every tensor's (shape, dtype, scales, zero points, constant bytes), sorted."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    interp.allocate_tensors()
    ops = interp._get_ops_details()
    # FULLY_CONNECTED inputs 1 and 2 are the weight and bias constants; activations are not compared.
    constants = {int(i) for op in ops if op["op_name"] == "FULLY_CONNECTED" for i in op["inputs"][1:]}
    rows = []
    for d in interp.get_tensor_details():
        q = d["quantization_parameters"]
        data = interp.get_tensor(d["index"]).tobytes() if d["index"] in constants else b""
        rows.append((tuple(d["shape"]), str(d["dtype"]), tuple(q["scales"]), tuple(q["zero_points"]), data))
    assert len(constants) == 2 * sum(op["op_name"] == "FULLY_CONNECTED" for op in ops)
    return [op["op_name"] for op in ops], sorted(rows, key=repr)


def _keras_route(model, rep: np.ndarray, kind: str) -> bytes:
    """The reference conversion: ``from_keras_model`` with convert()'s settings."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if kind == "int8":
        k = rep.shape[1]
        rows = np.concatenate([np.zeros((1, k), np.float32), np.ones((1, k), np.float32), rep])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([r[None, :]] for r in rows)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return bytes(converter.convert())


@pytest.mark.parametrize("layers", [(8,), (16, 8), (24, 12, 6)])
@pytest.mark.parametrize("kind", ["int8", "float32"])
def test_frozen_route_equals_keras_route(layers, kind):
    """convert()'s constant-weight tf.function gives the from_keras_model flatbuffer's
    operators, weights, biases, scales and zero points, tensor for tensor, and the same outputs."""
    from automl.model import MLPConfig, build_mlp
    from automl.quantization._tflite import _frozen_mlp

    rng = np.random.default_rng(len(layers))
    model = build_mlp(7, 5, MLPConfig(layers=layers, dropout=0.2, seed=4))
    model.set_weights([rng.normal(0, 1.0, w.shape).astype(np.float32) for w in model.get_weights()])
    assert _frozen_mlp(model) is not None  # the fast route is the one under test
    rep = rng.uniform(0, 1, (200, 7)).astype(np.float32)
    ours, ref = convert(model, rep, kind), _keras_route(model, rep, kind)
    assert _tensor_table(ours) == _tensor_table(ref)
    x = rng.uniform(0, 1, (50, 7)).astype(np.float32)
    a, b = TFLiteModel(ours).run(x), TFLiteModel(ref).run(x)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_int8_conversion_is_quiet(keras_model):
    # TensorFlow warns that an int8 input has no float statistics; convert() pins the input range
    # with its representative rows by design, so that warning must not reach the user.
    import warnings

    rep = np.random.default_rng(4).uniform(0.0, 1.0, (16, N_IN)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        convert(keras_model, rep, "int8")
    assert not [w for w in caught if "Statistics for quantized inputs" in str(w.message)]


def test_int8_conversion_prints_nothing_to_stderr(keras_model, capfd):
    # TensorFlow's C++ converter echoes "fully_quantize: 0, inference_type: 6, ..." on file descriptor 2 at
    # every int8 conversion (issue 18, item 8); convert() holds that line back and passes anything else on.
    rep = np.random.default_rng(5).uniform(0.0, 1.0, (16, N_IN)).astype(np.float32)
    capfd.readouterr()
    convert(keras_model, rep, "int8")
    assert "fully_quantize" not in capfd.readouterr().err


def test_stderr_filter_passes_other_lines_on(capfd):
    import os
    import re

    from automl.quantization._tflite import _stderr_without

    capfd.readouterr()
    with _stderr_without(re.compile(rb"^noise ")):
        os.write(2, b"noise 1\nerror: kept\nnoise 2\n")
    assert capfd.readouterr().err == "error: kept\n"


@pytest.mark.parametrize("seed", range(6))
def test_calibration_on_the_extreme_rows_gives_the_same_flatbuffer(seed):
    """Calibrating on the rows :func:`calibration_rows` keeps equals calibrating on every row, byte for byte."""
    import tensorflow as tf

    from automl.model import MLPConfig, build_mlp
    from automl.quantization import _tflite

    rng = np.random.default_rng(seed)
    layers = [(12, 8), (6,), (16, 12, 4), (5, 5)][seed % 4]
    n_in, n_cls = int(rng.integers(3, 20)), int(rng.integers(2, 6))
    model = build_mlp(n_in, n_cls, MLPConfig(layers=layers, seed=seed))
    for layer in model.layers:  # trained-looking weights of any scale
        if hasattr(layer, "kernel"):
            layer.kernel.assign(rng.normal(0, 1.5, layer.kernel.shape).astype(np.float32))
            layer.bias.assign(rng.normal(0, 0.5, layer.bias.shape).astype(np.float32))
    x = rng.random((1500, n_in)).astype(np.float32) ** 2
    kept = _tflite.calibration_rows(model, x)
    assert 2 < len(kept) < 100
    with_kept = _tflite.convert(model, x, "int8")  # calibrates on the kept rows
    original = _tflite.calibration_rows
    try:
        _tflite.calibration_rows = lambda m, r: np.asarray(r, np.float32)  # every row
        with_all = _tflite.convert(model, x, "int8")
    finally:
        _tflite.calibration_rows = original
    assert with_kept == with_all
    del tf


def test_check_converted_accepts_what_the_firmware_runs_and_names_the_rest(int8_bytes, float_bytes, keras_model):
    """A full-integer model passes; float I/O or a QUANTIZE/DEQUANTIZE pair (what TensorFlow makes when the
    input and output types are not forced to int8) fails with the reason."""
    import tensorflow as tf

    from automl.quantization import check_converted

    assert check_converted(int8_bytes, "int8").operators == ("FULLY_CONNECTED", "SOFTMAX")
    check_converted(float_bytes, "float32")
    with pytest.raises(ValueError, match="float32 model has a INT8 input"):
        check_converted(int8_bytes, "float32")
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rep = np.random.default_rng(0).random((20, keras_model.input_shape[1])).astype(np.float32)
    converter.representative_dataset = lambda: ([r[None, :]] for r in rep)
    hybrid = bytes(converter.convert())  # int8 inside, float32 at the edges
    with pytest.raises(ValueError, match="int8 model has a FLOAT32 input"):
        check_converted(hybrid, "int8")


def test_check_converted_names_an_operator_the_firmware_lacks():
    import keras

    from automl.quantization import check_converted, convert

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                              keras.layers.Dense(2, activation="softmax")])
    tflite = convert(model, np.random.default_rng(0).random((10, 4)).astype(np.float32), "float32")
    with pytest.raises(ValueError, match="operators the firmware does not implement: TANH"):
        check_converted(tflite, "float32")


@pytest.mark.parametrize("kind", ["int8", "float32"])
def test_converted_model_carries_no_strings_and_the_same_numbers(keras_model, kind):
    """convert()'s flatbuffer has no description, tensor names or signature defs, and is the unstripped
    converter output minus exactly those: same tensors, constants and quantisation, same outputs bit for bit."""
    from tensorflow.lite.tools import flatbuffer_utils

    rep = np.random.default_rng(3).uniform(0.0, 1.0, (64, N_IN)).astype(np.float32)
    ours, ref = convert(keras_model, rep, kind), _keras_route(keras_model, rep, kind)
    model, full = (flatbuffer_utils.convert_bytearray_to_object(bytearray(b)) for b in (ours, ref))
    assert model.description is None and not model.signatureDefs
    assert [t.name for g in model.subgraphs for t in g.tensors] == [None] * len(model.subgraphs[0].tensors)
    # The reference has them: the strip removes something, and nothing else changes.
    assert full.description and any(t.name for t in full.subgraphs[0].tensors)
    assert len(ours) < len(ref)
    assert _tensor_table(ours) == _tensor_table(ref)
    x = np.random.default_rng(5).uniform(0, 1, (40, N_IN)).astype(np.float32)
    for a, b in zip(TFLiteModel(ours).run(x), TFLiteModel(ref).run(x)):
        np.testing.assert_array_equal(a, b)
