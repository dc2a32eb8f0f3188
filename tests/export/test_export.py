"""End-to-end tests of automl.export: real .tflite in, compiled C out.

A tiny Keras MLP (4 -> 6 -> 3) is converted to a full-int8 (and a float32)
TFLite model once per module and paired with a pipeline.json whose channel,
class, feature and study names are hostile (C injection, comment closers,
trigraphs, non-ASCII). Each export is compiled with the host gcc
(``-std=c99 -Wall -Wextra -Werror -pedantic``) and arm-none-eabi-gcc, and what
the C programs print is compared with the Python inputs. Parity of the
computed windows with Python is in test_firmware_parity.py.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

from automl.errors import ConfigError, StudyError
from automl.export import MANIFEST_NAME, SIZES_NAME, ExportResult, export_trial, write_firmware
from automl.export._measure import MODEL_TFLITE_NOTE
from automl.quantization import read_tflite_info
from automl.features import FeatureExtractor

GCC = shutil.which("gcc")
GXX = shutil.which("g++")
MAKE = shutil.which("make")
ARM_GCC = shutil.which("arm-none-eabi-gcc")
ARM_SIZE = shutil.which("arm-none-eabi-size")
QEMU = shutil.which("qemu-system-arm")
HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off", "-fno-math-errno"]
LIB_SRCS = ["kp.c", "kp_model.c"]

needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc not on PATH")

# Class-name sets of 3 (the model has 3 outputs). The second set has two names
# that sanitise to the same identifier (über, Über -> UBER), a C keyword and
# "unknown", whose macro the exporter already uses for class id 0.
NASTY_CLASSES = [
    ['Jab"; system("x"); //', "*/ #include <x>", "a\nb"],
    ["int", "über", "Unknown"],
]
EXPECTED_MACROS = [
    ("KP_CLASS_UNKNOWN", "KP_CLASS_JAB_SYSTEM_X", "KP_CLASS_INCLUDE_X", "KP_CLASS_A_B"),
    ("KP_CLASS_UNKNOWN", "KP_CLASS_INT", "KP_CLASS_UBER", "KP_CLASS_UNKNOWN_2"),
]
# Three acc* channels give the accMag magnitude channel.
CHANNELS = ["accX", "acc Y/*z*/", "acc\\Z??=", 'temp"; system("x"); //']
FAMILIES = ["Statistical", "ColumnFusion", "Frequency"]
FEATURE_NAMES = FeatureExtractor(CHANNELS, families=tuple(FAMILIES), magnitude=True).feature_names()
# p25 of the hostile channel (sorted copy), mean, a correlation of two acc
# channels (pair), a band energy of accMag (magnitude + DFT tables).
SELECTED = [FEATURE_NAMES.index(n) for n in (
    'Statistical.p25[temp"; system("x"); //]', "Statistical.mean[accX]",
    "ColumnFusion.correlation[accX-acc\\Z??=]", "Frequency.band_energy_0of4[accMag]")]
NASTY_STUDY = 'box*/ing "study"\n??/ --> <!--'
# float32 edge cases: not exactly representable in decimal, float32 max,
# smallest subnormal, negative zero, large and tiny values.
SCALER_MIN = [0.1, -3.4028234663852886e38, 1e-45, -0.0]
SCALER_MAX = [1 / 3, 123456.789, 2.5e-8, 7.0]


# ---------------------------------------------------------------- fixtures
def _convert(model, quantize: bool) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        rng = np.random.default_rng(1)
        data = rng.random((32, 4), dtype=np.float32)

        def representative():
            for i in range(len(data)):
                yield [data[i : i + 1]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return bytes(converter.convert())


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    """``{"int8": flatbuffer, "float32": flatbuffer}`` of one tiny 4->6->3 MLP."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((4,)),
            tf.keras.layers.Dense(6, activation="relu"),
            tf.keras.layers.Dense(3, activation="softmax"),
        ]
    )
    with warnings.catch_warnings():
        # "Statistics for quantized inputs were expected": irrelevant here.
        warnings.simplefilter("ignore", UserWarning)
        return {"int8": _convert(model, True), "float32": _convert(model, False)}


def _io_quant(tflite: bytes) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite)
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    return {
        "input_scale": float(inp["quantization"][0]),
        "input_zero_point": int(inp["quantization"][1]),
        "output_scale": float(out["quantization"][0]),
        "output_zero_point": int(out["quantization"][1]),
    }


def make_pipeline(tflite: bytes, classes, *, quantization: str = "int8", study="boxing", trial=7,
                  segmenter: str = "threshold", post: tuple[int, int] = (3, 40)) -> dict:
    """A pipeline.json dict following docs/CONTRACTS.md (format version 3).

    ``post``: (vote, refractory); the first class is the background class.
    """
    seg = {"kind": "sliding", "window_size": 64, "slide": 16}
    if segmenter == "threshold":
        seg = {"kind": "threshold", "window_size": 64, "slide": 16, "column": "accMag", "mode": "std",
               "detection_window": 8, "threshold": 1234.5, "lookback": 10, "quantile": 0.9}
    p = {
        "version": 3,
        "study": study,
        "trial": trial,
        "dataset": "boxing-punches",
        "sample_rate_hz": 100.0,
        "sample_scale": {ch: 512.0 for ch in CHANNELS},
        "channels": list(CHANNELS),
        "classes": list(classes),
        "segmenter": seg,
        "window_size": 64,
        "slide": 16,
        "families": list(FAMILIES),
        "magnitude": True,
        "frequency_bands": 4,
        "feature_names": list(FEATURE_NAMES),
        "selected": list(SELECTED),
        "selected_names": [FEATURE_NAMES[i] for i in SELECTED],
        "importances": [0.4, 0.3, 0.2, 0.1],
        "scaler_min": list(SCALER_MIN),
        "scaler_max": list(SCALER_MAX),
        "layers": [6],
        "quantization": quantization,
        "unknown_threshold": 0.0,
        "vote": post[0],
        "refractory": post[1],
        "background": list(classes)[0],
        "dropout": 0.1,
        "learning_rate": 0.003,
        "epochs": 10,
        "input_scale": None,
        "input_zero_point": None,
        "output_scale": None,
        "output_zero_point": None,
        "tflite_bytes": len(tflite),
    }
    if quantization == "int8":
        p.update(_io_quant(tflite))
    return p


@pytest.fixture(scope="module", params=range(len(NASTY_CLASSES)), ids=["injection", "collisions"])
def exported(request, models, tmp_path_factory):
    """(ExportResult, tflite bytes, pipeline dict, host example output) per class set."""
    classes = NASTY_CLASSES[request.param]
    tflite = models["int8"]
    pipeline = make_pipeline(tflite, classes, study=NASTY_STUDY)
    out = tmp_path_factory.mktemp("fw") / "export"
    result = write_firmware(tflite, pipeline, out, study=NASTY_STUDY, trial=7, measure=False)
    stdout = build_and_run(out) if GCC else None
    return result, tflite, pipeline, stdout


# ---------------------------------------------------------------- helpers
def build_and_run(folder: Path, main: str = "example_main.c", args: tuple[str, ...] = ()) -> str:
    """Compile ``main`` + the library with the strict host flags; return its stdout."""
    exe = folder / "host_program"
    srcs = [str(folder / name) for name in (main, *LIB_SRCS)]
    subprocess.run([GCC, *HOST_FLAGS, "-o", str(exe), *srcs, "-lm"], check=True, capture_output=True, text=True)
    run = subprocess.run([str(exe), *args], check=True, capture_output=True, text=True, timeout=30)
    exe.unlink()
    return run.stdout


def decode_quoted(text: str) -> str:
    """Undo example_main.c's print_quoted: \\xHH -> byte, then UTF-8."""
    raw = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("ascii"))
    return raw.decode("utf-8")


def parse_output(stdout: str) -> dict:
    out: dict = {"channels": [], "features": [], "classes": []}
    for line in stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "channel":
            m = re.fullmatch(r'(\d+) "(.*)" (\S+)', rest)
            out["channels"].append((decode_quoted(m.group(2)), float(m.group(3))))
        elif key == "feature":
            m = re.fullmatch(r'(\d+) "(.*)"', rest)
            out["features"].append(decode_quoted(m.group(2)))
        elif key == "class":
            m = re.fullmatch(r'(\d+) "(.*)" ([A-Za-z0-9_]+) (-?\d+)', rest)
            out["classes"].append((int(m.group(1)), decode_quoted(m.group(2)), m.group(3), int(m.group(4))))
        elif key == "study":
            out["study"] = decode_quoted(rest[1:-1])
        else:
            out[key] = rest
    return out


def c_array_bytes(model_data_c: str, name: str = "kp_model_tflite") -> bytes:
    m = re.search(rf"{name}\[[^\]]*\][^=]*=\s*\{{(.*?)\}};", model_data_c, re.S)
    assert m, "array definition not found"
    body = m.group(1)
    assert re.fullmatch(r"[\s0-9a-fx,]*", body), "unexpected text in the array body"
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))


def code_outside_strings_and_comments(source: str) -> str:
    """C source with string/char literals and comments blanked (a tiny lexer)."""
    out, i, n = [], 0, len(source)
    while i < n:
        if source.startswith("/*", i):
            j = source.find("*/", i + 2)
            assert j >= 0, "unterminated comment"
            out.append(" ")
            i = j + 2
        elif source.startswith("//", i):
            j = source.find("\n", i)
            i = n if j < 0 else j
        elif source[i] in "\"'":
            q, j = source[i], i + 1
            while source[j] != q:
                assert source[j] != "\n", "newline inside a literal"
                j += 2 if source[j] == "\\" else 1
            out.append('""')
            i = j + 1
        else:
            out.append(source[i])
            i += 1
    return "".join(out)


# ---------------------------------------------------------------- model bytes
def test_model_array_holds_the_tflite_bytes_exactly(exported):
    result, tflite, _, _ = exported
    text = (result.out_dir / "model_data.c").read_text()
    assert c_array_bytes(text) == tflite
    lines = [ln for ln in text.splitlines() if ln.strip().startswith("0x")]
    assert all(len(re.findall("0x", ln)) == 12 for ln in lines[:-1])
    assert "__attribute__((aligned(16)))" in text and "#if defined(__GNUC__)" in text
    assert f"#define KP_MODEL_TFLITE_LEN {len(tflite)}u" in (result.out_dir / "model_data.h").read_text()
    assert result.tflite_bytes == len(tflite)


@needs_gcc
def test_model_info_describes_the_trial(exported):
    result, tflite, pipeline, stdout = exported
    out = parse_output(stdout)
    assert out["generator"] == "tinyml-automl 0.1.0"
    assert out["study"] == NASTY_STUDY and out["trial"] == "7"
    assert int(out["model_tflite_bytes"]) == len(tflite)
    assert (out["segmenter"], out["window_size"], out["slide"]) == ("threshold", "64", "16")
    assert float(out["sample_rate_hz"]) == 100.0 and out["quantization"] == "int8"
    assert (out["flash_bytes"], out["ram_bytes"]) == ("0", "0")  # measure=False
    assert (out["vote"], out["refractory"], out["background_class"]) == ("3", "40", "1")
    # A constant signal never crosses the std threshold.
    assert out["constant-signal"] == "windows 0"


# ---------------------------------------------------------------- names
@needs_gcc
def test_class_names_round_trip_through_c(exported):
    result, _, pipeline, stdout = exported
    out = parse_output(stdout)
    names = ["unknown", *pipeline["classes"]]
    assert int(out["num_classes"]) == len(names)
    assert [c[1] for c in out["classes"]] == names
    macros = [c[2] for c in out["classes"]]
    assert macros == list(result.class_macros)
    assert [c[3] for c in out["classes"]] == list(range(len(names)))
    # What automl export prints as the class ids is the table the C has; its background is KP_BACKGROUND_CLASS.
    assert list(result.class_names) == names and result.background_id == int(out["background_class"]) == 1
    assert result.unknown_threshold == pipeline["unknown_threshold"] == 0.0
    assert len(set(macros)) == len(macros)
    assert all(re.fullmatch(r"KP_CLASS_[A-Z0-9_]+", m) for m in macros)


def test_class_macros_are_sanitised_and_distinct(exported):
    result, _, pipeline, _ = exported
    expected = EXPECTED_MACROS[NASTY_CLASSES.index(pipeline["classes"])]
    assert result.class_macros == expected
    header = (result.out_dir / "kp.h").read_text()
    for i, macro in enumerate(expected):
        assert re.search(rf"^#define {macro} {i} /\* .* \*/$", header, re.M)


@needs_gcc
def test_channel_and_feature_names_round_trip_through_c(exported):
    _, _, pipeline, stdout = exported
    out = parse_output(stdout)
    assert [c[0] for c in out["channels"]] == pipeline["channels"]
    assert [c[1] for c in out["channels"]] == [pipeline["sample_scale"][ch] for ch in pipeline["channels"]]
    assert out["features"] == pipeline["selected_names"]


def test_only_the_selected_features_are_generated(exported):
    result, _, pipeline, _ = exported
    code = code_outside_strings_and_comments((result.out_dir / "kp.c").read_text())
    calls = re.findall(r"\bf\[(\d+)\] = (kp_[a-z0-9_]+)\(", code)
    assert [(int(i), fn) for i, fn in calls] == [
        (0, "kp_statistical_p25"), (1, "kp_statistical_mean"), (2, "kp_columnfusion_correlation"),
        (3, "kp_frequency_band_energy")]
    assert code.count("kp_magnitude(") == 1  # accMag only: a selected feature uses it
    assert "kp_priv_dft_cos" in code and "kp_priv_scratch" in code
    assert "kp_seg_init_threshold" in code and "kp_seg_init_sliding" not in code


def test_user_text_never_reaches_c_code(exported):
    """Names appear only inside string literals and comments."""
    result, _, _, _ = exported
    for name in result.files:
        if name.endswith((".c", ".h")):
            code = code_outside_strings_and_comments((result.out_dir / name).read_text())
            for fragment in ("system(", "#include <x>", "ing \"study", "//", "??", "Y/", "\\Z"):
                assert fragment not in code, (name, fragment)


def test_generated_files_are_ascii_and_say_where_they_come_from(exported):
    result, _, _, _ = exported
    assert set(result.files) == {
        "Makefile", "README.md", "example_main.c", "kp.c", "kp.h", "kp_model.c", "kp_model.h", "kp_stream.c",
        "kp_segment.h", "kp_features.h", "kp_scaler.h", "kp_mlp.h", "kp_post.h", "model_data.c", "model_data.h",
        "qemu/startup.c", "qemu/kp_qemu.h", "qemu/mps2-an386.ld", MANIFEST_NAME,
    }
    on_disk = sorted(str(p.relative_to(result.out_dir)) for p in result.out_dir.rglob("*") if p.is_file())
    assert on_disk == sorted(result.files)
    for name in result.files:
        data = (result.out_dir / name).read_bytes()
        data.decode("ascii")
        first = data.decode("ascii").splitlines()[0]
        assert "Generated by tinyml-automl" in first, name
        assert "trial 7" in first, name
        assert "box*" in first and "study" in first, name
        assert first.startswith({"Makefile": "# ", "README.md": "<!-- ", MANIFEST_NAME: "# "}.get(name, "/* "))


# ---------------------------------------------------------------- numbers
@needs_gcc
def test_scaler_floats_round_trip_float32_exactly(exported, tmp_path):
    """kp.c's scaler constants, read back by the C compiler, are the float32 bits of pipeline.json."""
    result, _, pipeline, _ = exported
    prog = tmp_path / "scaler.c"
    prog.write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "kp.c"\n'
        "int main(void) { int i; unsigned int b; for (i = 0; i < KP_NUM_FEATURES; ++i) {\n"
        "  memcpy(&b, &kp_priv_scaler_min[i], 4); printf(\"%08x \", b);\n"
        "  memcpy(&b, &kp_priv_scaler_max[i], 4); printf(\"%08x\\n\", b); } return 0; }\n")
    exe = tmp_path / "scaler"
    subprocess.run([GCC, *HOST_FLAGS, "-I", str(result.out_dir), "-o", str(exe), str(prog),
                    str(result.out_dir / "kp_model.c"), "-lm"], check=True, capture_output=True, text=True)
    rows = [ln.split() for ln in subprocess.run([str(exe)], check=True, capture_output=True,
                                                  text=True).stdout.splitlines()]
    want_min = np.array(pipeline["scaler_min"], dtype=np.float32).view(np.uint32)
    want_max = np.array(pipeline["scaler_max"], dtype=np.float32).view(np.uint32)
    # Bit patterns: catches -0.0 vs 0.0 and subnormals too.
    assert [int(r[0], 16) for r in rows] == want_min.tolist()
    assert [int(r[1], 16) for r in rows] == want_max.tolist()


def test_quantisation_and_windowing_constants(exported):
    result, _, pipeline, _ = exported
    header = (result.out_dir / "kp.h").read_text()
    for line in ("#define KP_WINDOW_SIZE 64", "#define KP_SLIDE 16", "#define KP_NUM_CHANNELS 4",
                 "#define KP_NUM_FEATURES 4", "#define KP_NUM_OUTPUTS 3", "#define KP_NUM_CLASSES 4",
                 "#define KP_QUANTIZATION KP_QUANT_INT8", "typedef int8_t kp_output_t;",
                 "#define KP_SAMPLE_RATE_HZ 100.0f", "#define KP_NO_CLASSIFICATION (-1)", "#define KP_VOTE 3",
                 "#define KP_REFRACTORY 40", "#define KP_BACKGROUND_CLASS 1", "#define KP_POSTPROCESSING 1",
                 "int kp_last_emitted(void);", "uint32_t kp_window_count(void);"):
        assert line in header, line
    model_h = (result.out_dir / "kp_model.h").read_text()
    assert "#define KP_MLP_N_INPUTS 4" in model_h and "#define KP_MLP_IS_INT8 1" in model_h
    source = (result.out_dir / "kp.c").read_text()
    assert "kp_seg_init_threshold(&kp_priv_seg, KP_WINDOW_SIZE, KP_NUM_CHANNELS, 3," in source
    assert "KP_SEG_STD, 8,\n                                1234.5f, 10, KP_SLIDE);" in source
    assert "#define KP_POST_MAX_VOTE KP_VOTE\n#include \"kp_post.h\"" in source
    assert "kp_post_init(&kp_priv_post, KP_VOTE, KP_REFRACTORY, 0);" in source  # background: model index 0


def test_tflite_info_matches_the_interpreter(models):
    info = read_tflite_info(models["int8"])
    q = _io_quant(models["int8"])
    assert info.inputs[0].shape == (1, 4) and info.outputs[0].shape == (1, 3)
    assert (info.inputs[0].dtype, info.outputs[0].dtype) == ("INT8", "INT8")
    assert info.inputs[0].scale == pytest.approx(q["input_scale"], rel=0, abs=0)
    assert info.inputs[0].zero_point == q["input_zero_point"]
    assert info.outputs[0].scale == q["output_scale"]
    assert {"FULLY_CONNECTED", "SOFTMAX"} <= set(info.operators)
    assert "AddFullyConnected" in info.resolver_calls
    float_info = read_tflite_info(models["float32"])
    assert float_info.inputs[0].dtype == "FLOAT32" and float_info.inputs[0].scale is None


# ---------------------------------------------------------------- builds
@pytest.mark.skipif(MAKE is None or GCC is None, reason="make or gcc not on PATH")
def test_makefile_host_target_builds_and_runs(exported, tmp_path):
    result, tflite, _, _ = exported
    folder = tmp_path / "copy"
    shutil.copytree(result.out_dir, folder)
    run = subprocess.run([MAKE, "-s", "run"], cwd=folder, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"model_tflite_bytes {len(tflite)}" in run.stdout
    assert (folder / "build" / "host" / "kp_stream").is_file()
    makefile = (folder / "Makefile").read_text()
    assert "-std=c99 -Wall -Wextra -Werror -pedantic" in makefile and "-ffp-contract=off" in makefile
    stream = subprocess.run([MAKE, "-s", "stream", "RECORDING=--synthetic=1000"], cwd=folder, capture_output=True,
                            text=True, timeout=120)
    assert stream.returncode == 0, stream.stderr
    assert "summary samples 1000 windows " in stream.stdout


@pytest.mark.skipif(
    ARM_GCC is None or ARM_SIZE is None or MAKE is None, reason="arm-none-eabi-gcc/size or make not on PATH"
)
def test_cortex_m4_target_compiles_the_library(exported, tmp_path):
    result, tflite, _, _ = exported
    folder = tmp_path / "copy"
    shutil.copytree(result.out_dir, folder)
    run = subprocess.run([MAKE, "cortex-m4"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert ("-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffp-contract=off -fno-math-errno"
            in run.stdout)
    assert "-Wall -Wextra -Werror" in run.stdout
    sizes = {}
    for line in run.stdout.splitlines():
        fields = line.split()
        if len(fields) == 6 and fields[0].isdigit():
            sizes[Path(fields[5]).name] = int(fields[0])  # text (incl. rodata)
    assert set(sizes) == {"kp.o", "kp_model.o", "(TOTALS)", "model_data.o"}
    assert sizes["(TOTALS)"] == sizes["kp.o"] + sizes["kp_model.o"]
    assert len(tflite) <= sizes["model_data.o"] < len(tflite) + 256


@pytest.mark.skipif(GXX is None or GCC is None, reason="g++ or gcc not on PATH")
def test_headers_link_from_cpp(exported, tmp_path):
    """Firmware may be C++ (TensorFlow Lite Micro is): the headers must work from C++ too."""
    result, tflite, _, _ = exported
    cpp = tmp_path / "use.cpp"
    cpp.write_text(
        '#include <cstdio>\n#include <cstdint>\n#include "kp.h"\n#include "model_data.h"\n'
        "int main() {\n"
        "  const int16_t s[KP_NUM_CHANNELS] = {0};\n"
        '  std::printf("%u %d %s %d %d %d %u\\n", kp_model_tflite_len,'
        " (int)(((std::uintptr_t)kp_model_tflite) % 16u), kp_class_names[KP_NUM_CLASSES - 1],"
        " kp_add_sample(s), (int)kp_model_info()->trial, kp_last_emitted(), (unsigned)kp_window_count());\n"
        "  return 0;\n}\n"
    )
    objs = []
    for src in ("model_data.c", *LIB_SRCS):
        obj = tmp_path / (src + ".o")
        subprocess.run([GCC, *HOST_FLAGS, "-c", "-o", str(obj), str(result.out_dir / src)], check=True)
        objs.append(str(obj))
    exe = tmp_path / "use"
    subprocess.run(
        [GXX, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(result.out_dir),
         "-o", str(exe), str(cpp), *objs, "-lm"],
        check=True,
    )
    out = subprocess.run([str(exe)], check=True, capture_output=True).stdout
    assert out.startswith(f"{len(tflite)} 0 ".encode())  # the .tflite array is 16-byte aligned
    assert out.endswith(b" -1 7 -1 0\n")


@needs_gcc
def test_float32_model_exports_and_builds(models, tmp_path):
    tflite = models["float32"]
    pipeline = make_pipeline(tflite, ["NoActivity", "hook", "jab"], quantization="float32", segmenter="sliding",
                             post=(1, 0))
    result = write_firmware(tflite, pipeline, tmp_path / "fw", study="boxing", trial=7, measure=False)
    out = parse_output(build_and_run(result.out_dir))
    assert out["quantization"] == "float32" and out["segmenter"] == "sliding"
    header = (result.out_dir / "kp.h").read_text()
    assert "typedef float kp_output_t;" in header and "KP_QUANT_INT8\n" not in header.split("QUANTIZATION")[-1]
    assert int(out["model_tflite_bytes"]) == len(tflite)
    assert c_array_bytes((result.out_dir / "model_data.c").read_text()) == tflite
    # Sliding windows of 64 every 16 over 3 * 64 constant samples: 9 windows.
    assert out["constant-signal"] == "windows 9"
    # Identity post-processing: no post-processing code, state or runtime header in the library.
    assert (out["vote"], out["refractory"], out["background_class"]) == ("1", "0", "1")
    assert "#define KP_POSTPROCESSING 0" in header and "#define kp_last_emitted kp_last_class" in header
    assert "kp_post" not in (result.out_dir / "kp.c").read_text()


@needs_gcc
def test_custom_prefix(models, tmp_path):
    """A mixed-case prefix: symbols keep it, macros are upper case, the MLP constants lower case."""
    tflite = models["int8"]
    result = write_firmware(
        tflite, make_pipeline(tflite, ["a", "b", "c"]), tmp_path / "fw", study="boxing", trial=7, prefix="Gesture",
        measure=False,
    )
    header = (result.out_dir / "kp.h").read_text()
    assert "#define GESTURE_NUM_CLASSES 4" in header and "Gesture_class_names[" in header
    assert "int Gesture_add_sample(const int16_t *sample);" in header
    assert result.class_macros == ("GESTURE_CLASS_UNKNOWN", "GESTURE_CLASS_A", "GESTURE_CLASS_B",
                                   "GESTURE_CLASS_C")
    assert c_array_bytes((result.out_dir / "model_data.c").read_text(), "Gesture_model_tflite") == tflite
    assert "gesture_mlp_model" in (result.out_dir / "kp_model.h").read_text()
    assert re.search(r"\bkp_(add_sample|reset|class_names|model_info|last_\w+)\b",
                     header + (result.out_dir / "kp.c").read_text()) is None
    out = subprocess.run([MAKE or "make", "-s", "run"], cwd=result.out_dir, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert [c[1] for c in parse_output(out.stdout)["classes"]] == ["unknown", "a", "b", "c"]


@pytest.mark.parametrize("prefix", ["1kp", "int", "_kp", "k-p", "", "kp x"])
def test_bad_prefix_is_a_config_error(models, tmp_path, prefix):
    tflite = models["int8"]
    with pytest.raises(ConfigError, match="'prefix' parameter"):
        write_firmware(tflite, make_pipeline(tflite, "abc"), tmp_path / "fw", study="boxing", trial=7, prefix=prefix)
    assert not (tmp_path / "fw").exists()


def test_export_is_deterministic(models, tmp_path):
    tflite = models["int8"]
    p = make_pipeline(tflite, NASTY_CLASSES[0], study="boxing")
    a = write_firmware(tflite, p, tmp_path / "a", study="boxing", trial=7, measure=False)
    b = write_firmware(tflite, p, tmp_path / "b", study="boxing", trial=7, measure=False)
    for name in a.files:
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes(), name


@pytest.mark.skipif(ARM_GCC is None or ARM_SIZE is None or MAKE is None or QEMU is None,
                    reason="arm-none-eabi-gcc/size, make or qemu-system-arm not on PATH")
def test_measured_export_writes_sizes_json(models, tmp_path):
    """Hostile names through the whole measured export: Cortex-M4 build, QEMU run, sizes.json."""
    tflite = models["int8"]
    result = write_firmware(tflite, make_pipeline(tflite, NASTY_CLASSES[0], study=NASTY_STUDY),
                            tmp_path / "fw", study=NASTY_STUDY, trial=7)
    sizes = json.loads((result.out_dir / SIZES_NAME).read_text())
    assert sizes == result.sizes and SIZES_NAME in result.files
    assert (sizes["study"], sizes["trial"]) == (NASTY_STUDY, 7)
    lib = sizes["library"]
    assert set(lib["objects"]) == {"kp.o", "kp_model.o"}
    for key in ("text", "data", "bss"):
        assert lib[key] == sum(o[key] for o in lib["objects"].values())
    assert lib["flash_bytes"] == lib["text"] + lib["data"] and lib["ram_bytes"] == lib["data"] + lib["bss"]
    assert 1000 < lib["flash_bytes"] < 20000 and 1000 < lib["ram_bytes"] < 20000
    # model_data.o: the array, the 4-byte length constant and at most 15 bytes of padding for the 16-byte
    # alignment; its note says so, as model_tflite_bytes (the array alone) differs from it.
    model = sizes["model_tflite"]
    assert len(tflite) + 4 <= model["text"] < len(tflite) + 4 + 16 and (model["data"], model["bss"]) == (0, 0)
    assert model["note"] == MODEL_TFLITE_NOTE and "model_tflite_bytes" in model["note"]
    insns = sizes["instructions"]
    assert insns["per_tick"] == 40 and insns["samples"] == 16 * 64
    assert insns["classify"]["calls"] == insns["windows"] > 0
    assert insns["classify"]["calls"] + insns["idle"]["calls"] == insns["samples"]
    for kind in ("classify", "idle"):
        assert 0 < insns[kind]["mean"] <= insns[kind]["max"] and insns[kind]["max"] % 40 == 0
    assert insns["idle"]["max"] < insns["classify"]["mean"]
    assert sizes["unavailable"] == {}
    # kp_model_info() reports the measured library size.
    out = parse_output(build_and_run(result.out_dir))
    assert (int(out["flash_bytes"]), int(out["ram_bytes"])) == (lib["flash_bytes"], lib["ram_bytes"])


# ---------------------------------------------------------------- study folder
def _write_study(root: Path, tflite: bytes, pipeline: dict, trial: int = 7) -> Path:
    study = root / "boxing"
    art = study / "artifacts" / f"trial-{trial}"
    art.mkdir(parents=True)
    (art / "model.tflite").write_bytes(tflite)
    (art / "pipeline.json").write_text(json.dumps(pipeline), encoding="utf-8")
    return study


def test_export_trial_reads_the_study_folder(models, tmp_path):
    tflite = models["int8"]
    study = _write_study(tmp_path / "studies", tflite, make_pipeline(tflite, ["NoActivity", "hook", "jab"]))
    result = export_trial(study, 7, tmp_path / "fw", measure=False)
    assert isinstance(result, ExportResult) and result.sizes is None
    assert (result.study, result.trial, result.prefix) == ("boxing", 7, "kp")
    assert result.class_macros == ("KP_CLASS_UNKNOWN", "KP_CLASS_NOACTIVITY", "KP_CLASS_HOOK", "KP_CLASS_JAB")
    assert c_array_bytes((tmp_path / "fw" / "model_data.c").read_text()) == tflite
    readme = (tmp_path / "fw" / "README.md").read_text()
    assert "`boxing`, trial 7" in readme and "kp_add_sample" in readme


@pytest.mark.parametrize("missing", ["model.tflite", "pipeline.json"])
def test_export_trial_names_the_missing_file(models, tmp_path, missing):
    tflite = models["int8"]
    study = _write_study(tmp_path, tflite, make_pipeline(tflite, "abc"))
    (study / "artifacts" / "trial-7" / missing).unlink()
    with pytest.raises(StudyError, match=rf"Trial 7 .*no {re.escape(missing)}"):
        export_trial(study, 7, tmp_path / "fw")
    with pytest.raises(StudyError, match=r"Trial 8 .*no model\.tflite"):
        export_trial(study, 8, tmp_path / "fw")
    assert not (tmp_path / "fw").exists()


def test_export_trial_rejects_bad_json(models, tmp_path):
    tflite = models["int8"]
    study = _write_study(tmp_path, tflite, {})
    (study / "artifacts" / "trial-7" / "pipeline.json").write_text("{not json")
    with pytest.raises(StudyError, match="not valid JSON"):
        export_trial(study, 7, tmp_path / "fw")


def test_export_trial_refuses_to_replace_the_study(models, tmp_path):
    tflite = models["int8"]
    study = _write_study(tmp_path / "studies", tflite, make_pipeline(tflite, "abc"))
    inside = "is inside the study folder"  # the one guard of report and export: automl.search.check_out_path
    for target, what in ((study, inside), (tmp_path / "studies", "holds the study folder"),
                         (study / "artifacts", inside), (study / "artifacts" / "trial-7", inside)):
        with pytest.raises(ConfigError, match=f"^out_dir {str(target)!r} {what}"):
            export_trial(study, 7, target, overwrite=True)
    assert (study / "artifacts" / "trial-7" / "model.tflite").is_file()
    # Another study's folder (one a search made: journal and search log) is refused too, not only the exported one.
    other = tmp_path / "studies" / "other"
    other.mkdir()
    (other / "journal.log").write_text("")
    (other / "search.log").write_text("")
    with pytest.raises(ConfigError, match=f"is inside the study folder {str(other)!r}"):
        export_trial(study, 7, other / "fw")


# ---------------------------------------------------------------- replacing folders
def test_out_dir_rules(models, tmp_path):
    tflite = models["int8"]
    p = make_pipeline(tflite, "abc")
    out = tmp_path / "fw"
    out.mkdir()
    first = write_firmware(tflite, p, out, study="boxing", trial=7, measure=False)  # empty folder: fine
    (out / "my_app.c").write_text("int main(void) { return 0; }\n")  # the user's own code next to the export
    with pytest.raises(ConfigError, match="Refusing to write into .*not empty.*--overwrite"):
        write_firmware(tflite, dict(p, trial=8), out, study="boxing", trial=8, measure=False)  # only with overwrite
    assert "trial 7" in (out / "kp.c").read_text()
    (out / "kp.c").write_text("edited by hand")
    again = write_firmware(tflite, dict(p, trial=8), out, study="boxing", trial=8, overwrite=True, measure=False)
    assert again.files == first.files
    assert (out / "my_app.c").read_text() == "int main(void) { return 0; }\n"  # kept
    assert "trial 8" in (out / "kp.c").read_text()  # the export's own files are replaced
    assert sorted(x.name for x in out.iterdir()) == sorted({*first.files, "my_app.c", "qemu"} - {
        f for f in first.files if "/" in f})

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="Refusing to write into .*--overwrite"):
        write_firmware(tflite, p, foreign, study="boxing", trial=7)
    write_firmware(tflite, p, foreign, study="boxing", trial=7, overwrite=True, measure=False)
    assert (foreign / "notes.txt").read_text() == "keep me" and (foreign / "kp.c").is_file()

    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "Makefile").write_text("all:\n\techo mine\n")  # same name as an export file, not an export's
    with pytest.raises(ConfigError, match=r"Refusing to replace .*Makefile.*an export did not write it"):
        write_firmware(tflite, p, clash, study="boxing", trial=7, overwrite=True, measure=False)
    assert sorted(x.name for x in clash.iterdir()) == ["Makefile"]
    assert (clash / "Makefile").read_text() == "all:\n\techo mine\n"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        write_firmware(tflite, p, a_file, study="boxing", trial=7, overwrite=True)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["clash", "file", "fw", "mine"]  # no temp folders left


def test_a_manifest_cannot_make_other_files_removable(models, tmp_path):
    tflite = models["int8"]
    p = make_pipeline(tflite, "abc")
    out = tmp_path / "fw"
    write_firmware(tflite, p, out, study="boxing", trial=7, measure=False)
    (tmp_path / "precious.txt").write_text("x")
    (out / "notes.md").write_text("y")
    manifest = out / MANIFEST_NAME
    manifest.write_text(manifest.read_text() + "0" * 64 + "  ../precious.txt\n" + "0" * 64 + "  notes.md\n")
    write_firmware(tflite, p, out, study="boxing", trial=7, overwrite=True, measure=False)
    assert (tmp_path / "precious.txt").read_text() == "x" and (out / "notes.md").read_text() == "y"


def test_failed_export_changes_nothing(models, tmp_path):
    tflite = models["int8"]
    good = make_pipeline(tflite, "abc")
    out = tmp_path / "fw"
    write_firmware(tflite, good, out, study="boxing", trial=7, measure=False)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = dict(good, classes=["a", "b", "c\0"])
    with pytest.raises(StudyError):
        write_firmware(tflite, bad, out, study="boxing", trial=7, overwrite=True)
    long_name = dict(good, classes=["a", "b", "c" * 5000])
    with pytest.raises(StudyError, match="4095"):
        write_firmware(tflite, long_name, out, study="boxing", trial=7, overwrite=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["fw"]


# ---------------------------------------------------------------- contract checks
def _mutations():
    def drop(key):
        return lambda p: p.pop(key)

    def set_(key, value):
        return lambda p: p.__setitem__(key, value)

    return {
        "missing classes": (drop("classes"), "missing key 'classes'"),
        "missing scaler_min": (drop("scaler_min"), "missing key 'scaler_min'"),
        "4 classes, 3 outputs": (set_("classes", list("abcd")), "output has shape"),
        "duplicate class": (set_("classes", ["a", "b", "a"]), "more than once"),
        "index out of range": (set_("selected", [0, 1, 2, 99]), "outside 0..98"),
        "names disagree": (set_("selected_names", ["x"] * 4), r"'selected_names'\[0\]"),
        "scaler length": (set_("scaler_max", [1.0]), "'scaler_max' has 1 entries"),
        "nan scaler": (set_("scaler_min", [0.0, float("nan"), 0.0, 0.0]), "finite float32"),
        "huge scaler": (set_("scaler_min", [0.0, 1e39, 0.0, 0.0]), "finite float32"),
        "float32 vs int8 model": (set_("quantization", "float32"), "model input tensor is INT8"),
        "unknown quantization": (set_("quantization", "int4"), "'int8' or 'float32'"),
        "scale off": (lambda p: p.__setitem__("input_scale", p["input_scale"] * 1.01), "model says"),
        "zero point off": (lambda p: p.__setitem__("output_zero_point", 0), "model says"),
        "tflite_bytes": (set_("tflite_bytes", 5), "do not belong together"),
        "other trial": (set_("trial", 8), "not the pipeline of trial 7"),
        "bad window": (set_("window_size", 0), "'window_size' must be an integer >= 1"),
        "bad rate": (set_("sample_rate_hz", -1), "'sample_rate_hz'"),
        "not a list": (set_("channels", "accX"), "'channels' must be a list of strings"),
        "old format": (set_("version", 2), "pipeline format version 2, expected 3"),
        "vote 0": (set_("vote", 0), r"'vote' parameter of post-processing must be an int in \[1, 32\]"),
        "vote 33": (set_("vote", 33), "'vote' parameter"),
        "fractional vote": (set_("vote", 2.5), "'vote' parameter"),
        "negative refractory": (set_("refractory", -10), "'refractory' parameter"),
        "background not a name": (set_("background", 0), "'background' must be a class name"),
        "segmenter kind": (lambda p: p["segmenter"].__setitem__("kind", "magic"), "'sliding' or 'threshold'"),
        "segmenter window": (lambda p: p["segmenter"].__setitem__("window_size", 65), "segmenter' says"),
        "segmenter column": (lambda p: p["segmenter"].__setitem__("column", "gyrMag"), "'column'"),
        "lookback": (lambda p: p["segmenter"].__setitem__("lookback", 64), "'lookback' must be"),
        "nan threshold": (lambda p: p["segmenter"].__setitem__("threshold", float("inf")), "'threshold'"),
        "unknown family": (set_("families", ["Statistical", "Magic"]), "feature extractor"),
        "other features": (set_("frequency_bands", 3), "'feature_names' do not match"),
        "sample scale": (lambda p: p["sample_scale"].pop("accX"), "'sample_scale' must map"),
        "unknown threshold": (set_("unknown_threshold", 1.5), "'unknown_threshold'"),
    }


@pytest.mark.parametrize("case", list(_mutations()))
def test_contract_violations_are_study_errors(models, tmp_path, case):
    tflite = models["int8"]
    mutate, message = _mutations()[case]
    p = copy.deepcopy(make_pipeline(tflite, "abc"))
    mutate(p)
    with pytest.raises(StudyError, match=message) as err:
        write_firmware(tflite, p, tmp_path / "fw", study="boxing", trial=7)
    assert "trial 7" in str(err.value)
    assert not (tmp_path / "fw").exists()


def test_garbage_model_is_a_study_error(models, tmp_path):
    p = make_pipeline(models["int8"], "abc")
    for blob in (b"", b"not a flatbuffer at all", models["int8"][:40]):
        with pytest.raises(StudyError, match="model of trial 7"):
            write_firmware(blob, p, tmp_path / "fw", study="boxing", trial=7)


def test_a_compacted_trial_exports_byte_for_byte_the_same(models, tmp_path):
    """Artifacts of old trials are packed (automl.search.compact_artifacts); export reads them from the pack."""
    from automl.search import compact_artifacts

    tflite = models["int8"]
    study = _write_study(tmp_path / "studies", tflite, make_pipeline(tflite, ["NoActivity", "hook", "jab"]))
    before = export_trial(study, 7, tmp_path / "a", measure=False)
    assert compact_artifacts(study, keep=set(), min_trials=1) == 1
    assert not (study / "artifacts" / "trial-7").exists()
    after = export_trial(study, 7, tmp_path / "b", measure=False)
    assert after.files == before.files
    for name in before.files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
