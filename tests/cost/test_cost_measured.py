"""The estimate against the real toolchain, measured in the test.

Five fixed pipelines (a sliding int8 one with magnitude and percentiles, a
threshold float32 one with DFT and pair features, a 24-feature threshold int8
one with an unknown class, where GCC keeps functions out of line, and the
first two again with post-processing: a vote and a refractory period) are
exported with :func:`automl.export.write_firmware`, built for the Cortex-M4F
with the export's own ``make cortex-m4`` (``arm-none-eabi-gcc -Os``) and
measured with ``arm-none-eabi-size`` and ``-fstack-usage``: flash (text +
data) and RAM (data + bss + stack bound) must be within 3 % of
:func:`automl.cost.estimate_cost`. The slow test also streams a deterministic
recording through the QEMU build (``-icount``) and compares the instructions
of the classifying calls (within 15 %). The networks are untrained (random
weights, converted once with TensorFlow and kept in ``tests/cost/models/``, so
the test needs no TensorFlow): sizes and instruction counts do not depend on
the weight values.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from automl.cost import PipelineShape, TargetProfile, estimate_cost

pytestmark = pytest.mark.filterwarnings("ignore")
TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-size", "make")
needs_gcc = pytest.mark.skipif(not all(shutil.which(t) for t in TOOLS), reason="arm-none-eabi-gcc or make not on PATH")
needs_qemu = pytest.mark.skipif(not shutil.which("qemu-system-arm"), reason="qemu-system-arm not on PATH")

CHANNELS = ["accZ", "accY", "accX", "gyrZ", "gyrY", "gyrX"]
FAMILIES = ["Statistical", "Shape", "ColumnFusion", "Area", "RateOfChange", "Frequency"]
T = TargetProfile(name="t", clock_mhz=80, flash_bytes=1 << 20, ram_bytes=1 << 20, latency_ms=100)
CASES = {
    "sliding-int8": dict(
        seg=dict(kind="sliding", window_size=120, slide=30), quant="int8", layers=[12, 8], unknown=0.0,
        classes=["NoActivity", "jab", "hook", "uppercut"],
        features=["Statistical.std[accMag]", "Statistical.p25[gyrX]", "Statistical.median[accZ]",
                  "Shape.slope[accY]", "Area.abs_area[gyrY]", "RateOfChange.max[gyrMag]"]),
    "threshold-float32": dict(
        seg=dict(kind="threshold", window_size=80, slide=40, column="gyrMag", mode="std", detection_window=10,
                 threshold=3000.0, lookback=20), quant="float32", layers=[16], unknown=0.0,
        classes=["NoActivity", "left", "right"],
        features=["Frequency.dominant_freq[accMag]", "Frequency.band_energy_2of4[gyrZ]",
                  "ColumnFusion.correlation[accZ-accX]", "ColumnFusion.range_diff[gyrY-gyrX]",
                  "Statistical.kurtosis[gyrMag]", "Shape.peak_count[accY]", "Statistical.iqr[accMag]",
                  "Area.abs_area_dc[accX]", "RateOfChange.std[gyrMag]", "Statistical.mean[gyrZ]"]),
    "threshold-int8-24": dict(
        seg=dict(kind="threshold", window_size=100, slide=50, column="accX", mode="absolute", threshold=6000.0,
                 lookback=30), quant="int8", layers=[24, 12], unknown=0.5,
        classes=["NoActivity", "a", "b", "c", "d", "e"],
        features=[f"{g}[{c}]" for g in ("Statistical.kurtosis", "Shape.stderr", "RateOfChange.min",
                                         "Statistical.max") for c in ("accX", "accY", "gyrZ", "accMag")]
        + [f"Frequency.band_energy_{b}of4[gyrX]" for b in range(4)] + ["Statistical.p75[accY]", "Shape.argmin[gyrY]",
                                                                        "ColumnFusion.mean_diff[accZ-accY]",
                                                                        "Area.total_area[gyrMag]"]),
}
# Post-processing on the same pipelines and networks ("model": the case whose .tflite is used).
CASES["sliding-int8-post"] = dict(CASES["sliding-int8"], model="sliding-int8", vote=5, refractory=150,
                                  background="NoActivity")
CASES["threshold-float32-post"] = dict(CASES["threshold-float32"], model="threshold-float32", vote=7, refractory=300,
                                       background="")


MODELS = Path(__file__).resolve().parent / "models"


def _tflite(name: str, case: dict) -> bytes:
    """The case's untrained network as a converted ``.tflite`` (tests/cost/models/; made with TensorFlow if absent)."""
    path = MODELS / f"{name}.tflite"
    if not path.is_file():
        import keras

        from automl.model import MLPConfig, build_mlp
        from automl.quantization import convert

        keras.backend.clear_session()
        k = len(case["features"])
        model = build_mlp(k, len(case["classes"]), MLPConfig(layers=tuple(case["layers"]), dropout=0.0, seed=1))
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(convert(model, np.random.default_rng(1).random((64, k), dtype=np.float32), case["quant"]))
    return path.read_bytes()


def _pipeline(name: str, case: dict):
    from automl.quantization import read_tflite_info
    from automl.features import FeatureExtractor
    from automl.pipeline import FittedPipeline, SegmenterSpec

    names = FeatureExtractor(CHANNELS, families=tuple(FAMILIES), magnitude=True, sample_rate_hz=100.0,
                             frequency_bands=4).feature_names()
    sel, k = case["features"], len(case["features"])
    tflite = _tflite(case.get("model", name), case)
    lo = np.random.default_rng(1).normal(0, 100, k).astype(np.float32)
    fp = FittedPipeline(
        channels=CHANNELS, sample_rate_hz=100.0, sample_scale={c: 512.0 for c in CHANNELS}, classes=case["classes"],
        segmenter=SegmenterSpec(**case["seg"]), families=FAMILIES, magnitude=True, frequency_bands=4,
        feature_names=names, selected=[names.index(n) for n in sel], selected_names=sel, importances=[1.0 / k] * k,
        scaler_min=lo.tolist(), scaler_max=(lo + 1000).tolist(), layers=case["layers"], quantization=case["quant"],
        unknown_threshold=case["unknown"], study="cost-test", trial=0, dataset="synthetic", tflite=tflite,
        tflite_bytes=len(tflite), vote=case.get("vote", 1), refractory=case.get("refractory", 0),
        background=case.get("background", ""))
    if case["quant"] == "int8":
        info = read_tflite_info(tflite)
        fp.input_scale, fp.input_zero_point = info.inputs[0].scale, int(info.inputs[0].zero_point)
        fp.output_scale, fp.output_zero_point = info.outputs[0].scale, int(info.outputs[0].zero_point)
    return fp


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict:
    """Per case: (pipeline, export folder, build folder, measured sizes)."""
    from automl.export import write_firmware
    from automl.export._measure import measure_export

    out = {}
    for name, case in CASES.items():
        fp = _pipeline(name, case)
        root = tmp_path_factory.mktemp(name)
        fw, build = root / "fw", root / "build"
        write_firmware(fp.tflite, json.loads(fp.to_json()), fw, study="cost-test", trial=0, measure=False)
        out[name] = (fp, fw, build, measure_export(fw, build, qemu=False))
    return out


@needs_gcc
@pytest.mark.parametrize("name", list(CASES))
def test_flash_and_ram_within_3_percent_of_the_build(builds, name):
    fp, _, _, sizes = builds[name]
    est = estimate_cost(PipelineShape.from_pipeline(fp), T)
    lib = sizes["library"]
    flash, ram = lib["flash_bytes"], lib["ram_bytes"] + sizes["stack_bytes_bound"]
    print(f"{name}: flash {est.flash_bytes} est / {flash} measured, RAM {est.ram_bytes} / {ram}")
    assert abs(est.flash_bytes - flash) <= 0.03 * flash
    assert abs(est.ram_bytes - ram) <= 0.03 * ram
    # The network constants are exact: kp_model.o holds only them.
    assert est.breakdown["flash"]["model_constants"] == lib["objects"]["kp_model.o"]["text"]


def _recording(n: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 400, (n, len(CHANNELS))), axis=0)
    bursts = (np.sin(np.arange(n) / 40.0) > 0.8)[:, None] * rng.normal(0, 6000, (n, len(CHANNELS)))
    return np.clip(walk + bursts, -32768, 32767).astype(np.int16)


@pytest.mark.slow
@needs_gcc
@needs_qemu
@pytest.mark.parametrize("name", list(CASES))
def test_instructions_within_15_percent_of_qemu(builds, name, tmp_path):
    from automl.export._measure import parse_stream_insns

    fp, fw, build, _ = builds[name]
    rec = tmp_path / "rec.csv"
    np.savetxt(rec, _recording(2000), fmt="%d", delimiter=",")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    proc = subprocess.run(["make", "-s", "-C", str(fw), f"BUILD={build}", "qemu", f"RECORDING={rec}",
                           "QEMU_TIMEOUT=300"], capture_output=True, text=True, timeout=420, env=env)
    insns = parse_stream_insns(proc.stdout)
    assert insns is not None, proc.stdout[-1000:] + proc.stderr[-1000:]
    assert insns["classify"]["calls"] > 5
    est = estimate_cost(PipelineShape.from_pipeline(fp), T)
    measured = insns["classify"]["mean"]
    print(f"{name}: {est.breakdown['instructions']} instructions estimated / {measured} measured "
          f"({insns['classify']['calls']} windows)")
    assert abs(est.breakdown["instructions"] - measured) <= 0.15 * measured
