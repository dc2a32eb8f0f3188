"""The exported C MLP (firmware/runtime/kp_mlp.h + automl.export._model_c) against TFLite Micro.

Tiny Keras MLPs (0, 1, 2 and 3 hidden layers) are converted to int8 and float32
``.tflite``, rendered to C, compiled into a host harness and run on thousands
of uint8 inputs. The reference is the TFLite Micro interpreter of the
``tflite-micro`` package: :class:`automl.quantization.TFLiteModel` for the
model output and class, and an interpreter built with ``kPreserveAllTensors``
whose ``GetTensor`` returns every intermediate tensor, so each layer output
(the logits included) is compared, not only the softmax.

- int8: every layer output, the logits, the softmax output and the class are
  identical.
- float32: every layer output and the logits are identical bit for bit (same
  sequential float32 sums as TFLite Micro's reference kernel, no FMA); the class
  is the argmax of the logits; the probabilities use the runtime's own exp
  (TFLite Micro calls the C library's expf), so they are compared with the
  bound derived in :func:`_softmax_rtol`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from automl.export._model_c import MlpC, quantize_multiplier, read_mlp, render_mlp_c
from automl.quantization import TFLiteModel, convert

pytestmark = pytest.mark.filterwarnings("ignore:Statistics for quantized inputs were expected")

RUNTIME = Path(__file__).resolve().parents[2] / "firmware" / "runtime"
HOST_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off", "-O2"]
M4_CFLAGS = ["-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os",
             "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-Wdouble-promotion"]
N_RANDOM = 3000

# name: (n_inputs, hidden widths, n_classes, how the weights are made)
SPECS = {
    "h0": (7, (), 4, "train"),  # no hidden layer: a linear softmax classifier
    "h1": (6, (5,), 3, "train"),
    "h2": (16, (12, 8), 4, "train"),
    "h3": (20, (24, 16, 9), 6, "train"),
    # Large random weights: saturating int8 layers, logit ranges where the
    # softmax's diff_min cut-off and denormal float probabilities occur.
    "spread": (9, (40,), 5, "random"),
}
# (spec name, variant): "int8" / "float32" via automl.quantization.convert;
# "int8_pertensor_lut": per-tensor weight scales and an input range that is
# not [0, 1] (so the uint8 -> int8 input map is a table).
CASES = [(name, kind) for name in SPECS for kind in ("int8", "float32")] + [("h2", "int8_pertensor_lut")]

HARNESS_C = r"""
#include <stdint.h>
#include <stdio.h>
#include "kp_scaler.h"
#include "mlp_model.h"
#if KP_MLP_IS_INT8
typedef int8_t elem_t;
#define FC kp_fc_int8
#define RUN kp_mlp_run_int8
#else
typedef float elem_t;
#define FC kp_fc_f32
#define RUN kp_mlp_run_f32
#endif
/* Input: rows of KP_MLP_N_INPUTS uint8. Output per row: each layer's output
 * (layer by layer with FC), then kp_mlp_run's logits, probabilities and class
 * (one byte), as raw bytes. stdin/stdout, or in.bin/out.bin. */
int main(int argc, char **argv)
{
#ifdef HARNESS_FILES /* Cortex-M4 under QEMU: host files through semihosting */
    FILE *in = fopen("in.bin", "rb"), *out = fopen("out.bin", "wb");
#else
    FILE *in = stdin, *out = stdout;
#endif
    uint8_t u[KP_MLP_N_INPUTS];
    elem_t x[KP_MLP_N_INPUTS], hidden[KP_MLP_N_LAYERS][HARNESS_MAX_WIDTH];
    elem_t scratch[KP_MLP_SCRATCH + 1], logits[KP_MLP_N_CLASSES], probs[KP_MLP_N_CLASSES];
    (void)argc;
    (void)argv;
    if (in == NULL || out == NULL) {
        return 2;
    }
    while (fread(u, 1, KP_MLP_N_INPUTS, in) == KP_MLP_N_INPUTS) {
        const elem_t *src = x;
        unsigned char cls;
        int i;
#if KP_MLP_IS_INT8
        kp_u8_to_int8_vec(u, KP_MLP_N_INPUTS, KP_MLP_INPUT_LUT, x);
#else
        kp_u8_to_f32_vec(u, KP_MLP_N_INPUTS, x);
#endif
        for (i = 0; i < KP_MLP_N_LAYERS; ++i) {
            FC(&kp_mlp_model.layers[i], src, hidden[i]);
            fwrite(hidden[i], sizeof(elem_t), (size_t)kp_mlp_model.layers[i].n_out, out);
            src = hidden[i];
        }
        cls = (unsigned char)RUN(&kp_mlp_model, x, scratch, logits, probs);
        fwrite(logits, sizeof(elem_t), KP_MLP_N_CLASSES, out);
        fwrite(probs, sizeof(elem_t), KP_MLP_N_CLASSES, out);
        fwrite(&cls, 1, 1, out);
    }
    return fclose(out) == 0 ? 0 : 3;
}
"""


# -------------------------------------------------------------- fixtures
def _keras_model(name: str):
    import keras

    from automl.model import MLPConfig, build_mlp, train_mlp

    n_in, hidden, n_classes, how = SPECS[name]
    rng = np.random.default_rng(len(name) * 7 + n_in)
    x = rng.uniform(0.0, 1.0, (400, n_in)).astype(np.float32)
    if how == "train":
        # Labels from a random linear map: learnable, so the weights look trained.
        y = np.argmax(x @ rng.normal(0, 1, (n_in, n_classes)), axis=1).astype(np.int64)
        cfg = MLPConfig(layers=hidden, dropout=0.1, epochs=4, batch_size=64, seed=1)
        return train_mlp(x, y, n_classes, cfg).model, x
    model = build_mlp(n_in, n_classes, MLPConfig(layers=hidden, dropout=0.0))
    keras.utils.set_random_seed(0)
    model.set_weights([rng.normal(0.0, 2.5 if w.ndim == 2 else 1.0, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model, x


def _convert_pertensor_narrow(model, rep: np.ndarray) -> bytes:
    """Full-int8 like convert(), but per-tensor Dense weights and the input
    calibrated on [0.1, 0.8] only (input scale != 1/255)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    narrow = (0.1 + 0.7 * rep).astype(np.float32)

    def gen():
        for row in narrow:
            yield [row[None, :]]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = gen
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    return bytes(converter.convert())


@pytest.fixture(scope="module")
def tflites() -> dict[tuple[str, str], bytes]:
    out = {}
    for name in SPECS:
        model, rep = _keras_model(name)
        out[(name, "int8")] = convert(model, rep, "int8")
        out[(name, "float32")] = convert(model, rep, "float32")
        if (name, "int8_pertensor_lut") in CASES:
            out[(name, "int8_pertensor_lut")] = _convert_pertensor_narrow(model, rep)
    return out


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mlp_c")


def _inputs(n_inputs: int) -> np.ndarray:
    """``(N_RANDOM + 4, n_inputs) uint8``: all 0, all 255, alternating, random."""
    rng = np.random.default_rng(n_inputs)
    edge = np.zeros((4, n_inputs), np.uint8)
    edge[1] = 255
    edge[2, ::2] = 255
    edge[3, 1::2] = 255
    return np.concatenate([edge, rng.integers(0, 256, (N_RANDOM, n_inputs), dtype=np.uint8)])


def _write_sources(model: MlpC, work: Path) -> list[str]:
    """Generated model C and the harness in ``work``; returns the .c files."""
    work.mkdir(parents=True, exist_ok=True)
    src = render_mlp_c(model, prefix="kp", header_name="mlp_model.h")
    (work / "mlp_model.h").write_text(src.header)
    (work / "mlp_model.c").write_text(src.source)
    (work / "harness.c").write_text(HARNESS_C)
    return [str(work / "harness.c"), str(work / "mlp_model.c")]


def _harness_width(model: MlpC) -> str:
    return f"-DHARNESS_MAX_WIDTH={max([model.n_inputs] + [layer.n_out for layer in model.layers])}"


def _parse_output(model: MlpC, raw: bytes, n_rows: int) -> dict:
    dtype = np.dtype(np.int8 if model.quantization == "int8" else np.float32)
    widths = [layer.n_out for layer in model.layers] + [model.n_outputs, model.n_outputs]
    row_bytes = sum(widths) * dtype.itemsize + 1
    assert len(raw) == n_rows * row_bytes, f"harness wrote {len(raw)} bytes, expected {n_rows} x {row_bytes}"
    table = np.frombuffer(raw, np.uint8).reshape(n_rows, row_bytes)
    parts, off = [], 0
    for w in widths:
        parts.append(np.ascontiguousarray(table[:, off: off + w * dtype.itemsize]).view(dtype))
        off += w * dtype.itemsize
    return {"layers": parts[:-2], "logits": parts[-2], "probs": parts[-1], "cls": table[:, -1].astype(np.int64),
            "raw": raw}


def _compile_and_run(model: MlpC, work: Path, u: np.ndarray) -> dict:
    sources = _write_sources(model, work)
    exe = work / "harness"
    subprocess.run(["gcc", *HOST_CFLAGS, f"-I{RUNTIME}", f"-I{work}", _harness_width(model),
                    "-o", str(exe), *sources], check=True, capture_output=True, text=True)
    raw = subprocess.run([str(exe)], input=u.tobytes(), check=True, capture_output=True).stdout
    return _parse_output(model, raw, len(u))


def _tflm_tensors(tflite: bytes, x: np.ndarray, indices: list[int]) -> list[np.ndarray]:
    """TFLite Micro's intermediate tensors ``indices`` for each row of ``x``."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(
        tflite, arena_size=65536, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    out = [[] for _ in indices]
    for i in range(len(x)):
        interp.set_input(x[i: i + 1], 0)
        interp.invoke()
        for k, t in enumerate(indices):
            out[k].append(np.asarray(interp.GetTensor(t, 0)["tensor_data"]).reshape(-1))
    return [np.stack(v) for v in out]


@pytest.fixture(scope="module")
def runs(tflites, build_dir) -> dict:
    """Per case: the parsed model, inputs, C results and TFLite Micro results."""
    res = {}
    for case in CASES:
        tfl = tflites[case]
        model = read_mlp(tfl)
        u = _inputs(model.n_inputs)
        x = u.astype(np.float32) / 255.0  # as automl.search feeds TFLiteModel
        ref = TFLiteModel(tfl)
        tensors = _tflm_tensors(tfl, ref.quantize_input(x), [layer.output_tensor for layer in model.layers])
        res[case] = {
            "model": model, "u": u, "x": x, "ref": ref,
            "c": _compile_and_run(model, build_dir / "_".join(case), u),
            "tflm_layers": tensors, "tflm_out": ref.raw_output(x), "tflm_cls": ref.predict(x),
        }
    return res


# ------------------------------------------------------------------ int8
INT8_CASES = [c for c in CASES if c[1].startswith("int8")]
F32_CASES = [c for c in CASES if c[1] == "float32"]


@pytest.mark.parametrize("case", INT8_CASES, ids="-".join)
def test_int8_layers_and_logits_equal_tflm(runs, case):
    r = runs[case]
    assert len(r["c"]["layers"]) == len(SPECS[case[0]][1]) + 1
    for k, (c, t) in enumerate(zip(r["c"]["layers"], r["tflm_layers"])):
        bad = np.flatnonzero((c != t).any(axis=1))
        assert bad.size == 0, f"layer {k}: {bad.size} rows differ, first {bad[:5]}: C {c[bad[0]]} TFLM {t[bad[0]]}"
    # kp_mlp_run (ping-pong buffers) gives the same logits as the layer-by-layer chain.
    np.testing.assert_array_equal(r["c"]["logits"], r["tflm_layers"][-1])


@pytest.mark.parametrize("case", INT8_CASES, ids="-".join)
def test_int8_softmax_and_class_equal_tflm(runs, case):
    r = runs[case]
    c, t = r["c"]["probs"], r["tflm_out"]
    assert t.dtype == np.int8
    bad = np.flatnonzero((c != t).any(axis=1))
    assert bad.size == 0, f"{bad.size} of {len(t)} rows differ, first {bad[:5]}: C {c[bad[0]]} TFLM {t[bad[0]]}"
    np.testing.assert_array_equal(r["c"]["cls"], r["tflm_cls"])


def test_int8_edge_rows_and_coverage(runs):
    """The edge rows are in every comparison; the cases reach the kernels' corners."""
    saturated = diff_min_hit = nonzero_offset_lut = 0
    for case in INT8_CASES:
        r = runs[case]
        np.testing.assert_array_equal(r["u"][0], 0)
        np.testing.assert_array_equal(r["u"][1], 255)
        model = r["model"]
        for c, layer in zip(r["c"]["layers"], model.layers):
            saturated += int((c == layer.activation_max).sum())
        logits = r["c"]["logits"].astype(np.int32)
        if model.softmax is not None:
            gap = logits.max(axis=1, keepdims=True) - logits
            diff_min_hit += int((gap > -model.softmax.diff_min).sum())
        nonzero_offset_lut += int(not model.input_is_offset)
    assert saturated > 0, "no layer output reached +127: the saturation path is untested"
    assert diff_min_hit > 0, "no logit fell below diff_min: the softmax cut-off is untested"
    assert nonzero_offset_lut == 1


def test_int8_input_map_is_tflitemodel_quantize_input(runs):
    for case in INT8_CASES:
        r = runs[case]
        u = np.arange(256, dtype=np.uint8)
        q = r["ref"].quantize_input((u.astype(np.float32) / 255.0)[:, None])[:, 0]
        np.testing.assert_array_equal(r["model"].input_map, q)
        assert r["model"].input_is_offset == (case[1] == "int8")


def test_dense_weights_are_per_channel_from_convert(runs):
    """convert() quantises Dense weights per output channel (one scale per unit);
    the flag in _convert_pertensor_narrow gives per-tensor scales."""
    for case in INT8_CASES:
        model = runs[case]["model"]
        for layer in model.layers:
            assert layer.per_channel == (case[1] == "int8"), case
            assert layer.weights.dtype == np.int8 and layer.weights.shape == (layer.n_out, layer.n_in)
            real = layer.multiplier.astype(np.float64) * 2.0 ** (layer.shift.astype(np.float64) - 31)
            if layer.per_channel:  # double(s_in) * double(s_w) / double(s_out)
                product = np.float64(layer.input_scale) * layer.weight_scale.astype(np.float64)
            else:  # GetQuantizedConvolutionMultipler: the product is rounded to float32 first
                product = (np.float32(layer.input_scale) * layer.weight_scale).astype(np.float64)
            expect = product / np.float64(layer.output_scale)
            np.testing.assert_allclose(real, expect, rtol=2.0 ** -30)


def test_quantize_multiplier_matches_tflite():
    # frexp mantissa rounded half away from zero to Q0.31; 2^31 carries over.
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(1.0 - 2.0 ** -40) == (1 << 30, 1)
    assert quantize_multiplier(2.0 ** -32) == (1 << 30, -31)
    assert quantize_multiplier(2.0 ** -33) == (0, 0)       # shift < -31 flushes to 0
    assert quantize_multiplier((2**30 + 0.5) / 2**31) == (2**30 + 1, 0)  # tie away from 0


# --------------------------------------------------------------- float32
def _softmax_rtol(n_classes: int) -> float:
    """Bound on |C - TFLM| / TFLM for a float32 softmax probability.

    Both compute e_c = exp(d_c) (d_c bit-identical since the logits are), a
    sequential float32 sum of the n e_c and e_c / sum. kp_exp_nonpos_f32 is
    within 1 ulp of exp (test_exp_nonpos_f32_accuracy), the C library's expf
    within 1 ulp: the e_c differ by <= 2 ulp <= 2 * 2^-23 relative. Each side
    rounds n - 1 additions (<= 2^-24 relative each, errors of both sides
    add: (n - 1) * 2^-23) and one division (2 * 2^-24). First order total:
    (2 + 2 + (n - 1) + 1) * 2^-23 = (n + 4) * 2^-23.
    """
    return (n_classes + 4) * 2.0 ** -23


@pytest.mark.parametrize("case", F32_CASES, ids="-".join)
def test_float32_layers_and_logits_bit_exact(runs, case):
    r = runs[case]
    for k, (c, t) in enumerate(zip(r["c"]["layers"], r["tflm_layers"])):
        bad = np.flatnonzero((c.view(np.uint32) != t.astype(np.float32).view(np.uint32)).any(axis=1))
        assert bad.size == 0, f"layer {k}: {bad.size} rows differ, first: C {c[bad[0]]!r} TFLM {t[bad[0]]!r}"
    np.testing.assert_array_equal(r["c"]["logits"].view(np.uint32), r["tflm_layers"][-1].view(np.uint32))


@pytest.mark.parametrize("case", F32_CASES, ids="-".join)
def test_float32_class_and_probabilities(runs, case):
    r = runs[case]
    c_cls, t_out = r["c"]["cls"], r["tflm_out"].astype(np.float64)
    # The C class is the argmax of the (bit-exact) logits ...
    np.testing.assert_array_equal(c_cls, np.argmax(r["tflm_layers"][-1], axis=1))
    # ... which is TFLiteModel.predict (argmax of its probabilities) unless
    # those tie at the top after rounding.
    top = np.sort(t_out, axis=1)
    untied = top[:, -1] > top[:, -2]
    assert untied.mean() > 0.99
    np.testing.assert_array_equal(c_cls[untied], r["tflm_cls"][untied])
    rtol = _softmax_rtol(r["model"].n_outputs)
    c = r["c"]["probs"].astype(np.float64)
    err = np.abs(c - t_out)
    # Relative bound; absolute 2^-140 for probabilities in float32's denormal range.
    assert np.all(err <= rtol * t_out + 2.0 ** -140), f"max relative error {np.max(err / np.maximum(t_out, 1e-38))}"


def test_exp_nonpos_f32_accuracy(build_dir):
    """kp_exp_nonpos_f32 is within 1 ulp of exp on normal results, exact enough in
    the denormal range, 1 at 0, 0 far below, and never uses libm."""
    work = build_dir / "exp"
    work.mkdir()
    (work / "t.c").write_text(
        '#include <stdio.h>\n#include "kp_mlp.h"\n'
        "int main(void) { float x, y; while (fread(&x, 4, 1, stdin) == 1) {"
        " y = kp_exp_nonpos_f32(x); fwrite(&y, 4, 1, stdout); } return 0; }\n")
    subprocess.run(["gcc", *HOST_CFLAGS, f"-I{RUNTIME}", "-o", str(work / "t"), str(work / "t.c")],
                   check=True, capture_output=True, text=True)
    rng = np.random.default_rng(5)
    x = np.concatenate([-rng.uniform(0, 4, 100_000), -rng.uniform(0, 104, 100_000),
                        -rng.uniform(0, 1e-3, 5_000), [0.0, -87.33, -87.34, -103.2, -103.98, -104.5, -1e3]])
    x = x.astype(np.float32)
    y = np.frombuffer(subprocess.run([str(work / "t")], input=x.tobytes(), check=True,
                                     capture_output=True).stdout, np.float32).astype(np.float64)
    t = np.exp(x.astype(np.float64))
    normal = t >= np.finfo(np.float32).tiny
    ulp = np.spacing(t.astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(y - t)[normal] / ulp[normal]) <= 1.0
    assert np.max(np.abs(y - t)[~normal]) <= 2.0 ** -149
    assert y[x == 0][0] == 1.0 and y[-1] == 0.0


# ---------------------------------------------------------------- scaler
def test_scaler_twin_matches_minmaxuint8scaler(build_dir):
    from automl.selection import MinMaxUint8Scaler

    rng = np.random.default_rng(9)
    n_feat = 7
    F_train = rng.normal(0, 3, (200, n_feat)).astype(np.float32)
    F_train[:, 3] = 1.25                              # constant column -> 0
    F_train[:, 5] *= np.float32(1e30)                 # huge range
    scaler = MinMaxUint8Scaler().fit(F_train)
    lo, hi = scaler.min_.astype(np.float32), scaler.max_.astype(np.float32)
    rows = [rng.uniform(lo - (hi - lo) * 0.2, hi + (hi - lo) * 0.2, (3000, n_feat)).astype(np.float32),
            np.tile(lo, (1, 1)), np.tile(hi, (1, 1)), np.full((1, n_feat), 3e38, np.float32),
            np.full((1, n_feat), -3e38, np.float32)]
    # Values landing next to the rounding points v = k + 0.5.
    k = rng.integers(0, 255, (2000, n_feat)).astype(np.float64) + 0.5
    near = (lo + (k / 255.0) * (hi.astype(np.float64) - lo)).astype(np.float32)
    rows += [near, np.nextafter(near, np.float32(np.inf)), np.nextafter(near, np.float32(-np.inf))]
    F = np.concatenate(rows).astype(np.float32)
    expect = scaler.transform(F)

    work = build_dir / "scaler"
    work.mkdir()
    (work / "t.c").write_text(
        '#include <stdio.h>\n#include <stdint.h>\n#include "kp_scaler.h"\n'
        f"#define N {n_feat}\n"
        "int main(void) { float lo[N], hi[N], x[N]; uint8_t q[N];\n"
        "  if (fread(lo, 4, N, stdin) != N || fread(hi, 4, N, stdin) != N) return 1;\n"
        "  while (fread(x, 4, N, stdin) == N) { kp_scale_u8_vec(x, lo, hi, N, q); fwrite(q, 1, N, stdout); }\n"
        "  return 0; }\n")
    subprocess.run(["gcc", *HOST_CFLAGS, f"-I{RUNTIME}", "-o", str(work / "t"), str(work / "t.c"), "-lm"],
                   check=True, capture_output=True, text=True)
    got = subprocess.run([str(work / "t")], input=lo.tobytes() + hi.tobytes() + F.tobytes(), check=True,
                         capture_output=True).stdout
    got = np.frombuffer(got, np.uint8).reshape(F.shape)
    bad = np.argwhere(got != expect)
    assert bad.size == 0, f"{len(bad)} values differ, first at {bad[0]}: x={F[tuple(bad[0])]!r}"
    assert (expect[:, 3] == 0).all() and expect.min() == 0 and expect.max() == 255


# ------------------------------------------------------------- Cortex-M4
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_runtime_and_generated_c_compile_for_cortex_m4(tflites, build_dir):
    work = build_dir / "m4"
    work.mkdir()
    for kind in ("int8", "float32"):
        src = render_mlp_c(read_mlp(tflites[("h3", kind)]), prefix="kp")
        (work / "mlp_model.h").write_text(src.header)
        (work / "mlp_model.c").write_text(src.source)
        (work / "use.c").write_text(
            '#include <stdint.h>\n#include "kp_scaler.h"\n#include "mlp_model.h"\n'
            "#if KP_MLP_IS_INT8\ntypedef int8_t elem_t;\n#define RUN kp_mlp_run_int8\n"
            "#else\ntypedef float elem_t;\n#define RUN kp_mlp_run_f32\n#endif\n"
            "int kp_classify(const float *f, const float *lo, const float *hi, elem_t *probs);\n"
            "int kp_classify(const float *f, const float *lo, const float *hi, elem_t *probs)\n"
            "{\n    uint8_t u[KP_MLP_N_INPUTS];\n    elem_t x[KP_MLP_N_INPUTS], s[KP_MLP_SCRATCH + 1],"
            " logits[KP_MLP_N_CLASSES];\n    kp_scale_u8_vec(f, lo, hi, KP_MLP_N_INPUTS, u);\n"
            "#if KP_MLP_IS_INT8\n    kp_u8_to_int8_vec(u, KP_MLP_N_INPUTS, KP_MLP_INPUT_LUT, x);\n"
            "#else\n    kp_u8_to_f32_vec(u, KP_MLP_N_INPUTS, x);\n#endif\n"
            "    return RUN(&kp_mlp_model, x, s, logits, probs);\n}\n")
        for name in ("use", "mlp_model"):
            proc = subprocess.run(["arm-none-eabi-gcc", *M4_CFLAGS, f"-I{RUNTIME}", f"-I{work}", "-c",
                                   str(work / f"{name}.c"), "-o", str(work / f"{name}_{kind}.o")],
                                  capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr


# Bare-metal Cortex-M4 under QEMU (mps2-an386: code at 0x0, RAM at 0x20000000),
# semihosting for file I/O: the start-up code and linker script the exporter
# ships in every knowledge pack (firmware/qemu/).
QEMU_DIR = Path(__file__).resolve().parents[2] / "firmware" / "qemu"


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                    reason="arm-none-eabi-gcc or qemu-system-arm not installed")
@pytest.mark.parametrize("case", [("h0", "int8"), ("h3", "int8"), ("spread", "float32")], ids="-".join)
def test_cortex_m4_qemu_gives_the_host_bits(runs, build_dir, case):
    """The same harness built for a Cortex-M4F (-Os, hard float) and run in QEMU
    writes the same bytes as the host build: every int8 value and every float
    bit, the float softmax (kp_exp_nonpos_f32) included."""
    r = runs[case]
    model, n = r["model"], 600
    work = build_dir / ("qemu_" + "_".join(case))
    sources = _write_sources(model, work)
    (work / "in.bin").write_bytes(r["u"][:n].tobytes())
    proc = subprocess.run(["arm-none-eabi-gcc", *M4_CFLAGS, f"-I{RUNTIME}", f"-I{work}", f"-I{QEMU_DIR}",
                           _harness_width(model), "-DHARNESS_FILES", "--specs=nano.specs", "--specs=rdimon.specs",
                           "-nostartfiles", "-T", str(QEMU_DIR / "mps2-an386.ld"), "-o", str(work / "harness.elf"),
                           str(QEMU_DIR / "startup.c"), *sources], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none",
                           "-serial", "none", "-semihosting-config", "enable=on,target=native",
                           "-kernel", str(work / "harness.elf")],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    m4 = _parse_output(model, (work / "out.bin").read_bytes(), n)
    host = r["c"]
    assert m4["raw"] == host["raw"][: len(m4["raw"])]


# ----------------------------------------------------------------- errors
def test_read_mlp_rejects_non_mlp():
    with pytest.raises(ValueError, match="TFL3"):
        read_mlp(b"not a model at all")
    with pytest.raises(ValueError):
        read_mlp(b"\x00\x00\x00\x00TFL3" + b"\x00" * 8)


def test_render_rejects_bad_names(tflites):
    model = read_mlp(tflites[("h1", "int8")])
    with pytest.raises(ValueError, match="prefix"):
        render_mlp_c(model, prefix="int")
    with pytest.raises(ValueError, match="header_name"):
        render_mlp_c(model, header_name='x"; evil.h')
