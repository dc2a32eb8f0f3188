"""Accelerometer-only data, with sensor groups declared rather than named, exported bit-exact.

The held-out boxing recording ``acc_gyr_experiment_all_left`` read with its
three accelerometer channels only, in two ways the name-prefix rule could
not handle:

* renamed to ``ax, ay, az`` with the group declared ``sensors={"acc": [ax,
  ay, az]}``: ``accMag`` and the ``ax-ay`` pairs exist only through the group;
* resampled to 50 Hz (``resample_hz=50``; ``pipeline.json`` records it).

A hand-built pipeline (real features of every family on the magnitude and
pairs, a briefly trained MLP) is exported and streamed sample by sample
through the C library, which must print what :meth:`FittedPipeline.run`
computes (see tests/export/test_firmware_parity.py for the comparison rules).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from automl.data import auto_counts_scale, read_labelled_csv_folder
from automl.export import export_trial
from automl.pipeline import FittedPipeline, SegmenterSpec

from firmware_parity import (assert_same_windows, counts_of, host_stream, parse_stream, qemu_stream,  # noqa: E402
                             write_csv, write_study)

needs_host = pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("make")), reason="gcc or make not on PATH")
needs_qemu = pytest.mark.skipif(not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make")),
                                reason="arm-none-eabi-gcc, qemu-system-arm or make not on PATH")

HELD_OUT = "acc_gyr_experiment_all_left"
FAMILIES = ["Statistical", "Shape", "ColumnFusion", "Area", "RateOfChange", "Frequency"]
CASES = {
    "renamed-threshold-int8": (
        {"channels": {"ax": "accX", "ay": "accY", "az": "accZ"}, "sensors": {"acc": ["ax", "ay", "az"]}},
        SegmenterSpec("threshold", 100, 40, column="accMag", mode="std", detection_window=10, lookback=30), "int8"),
    "50hz-sliding-float32": (
        {"channels": ["accX", "accY", "accZ"], "resample_hz": 50}, SegmenterSpec("sliding", 60, 20), "float32"),
}


def _features(c: tuple[str, ...]) -> list[str]:
    return ["Statistical.std[accMag]", f"Statistical.median[{c[2]}]", f"ColumnFusion.correlation[{c[0]}-{c[1]}]",
            "Frequency.dominant_freq[accMag]", "RateOfChange.std[accMag]", f"Area.abs_area_dc[{c[0]}]",
            f"Shape.peak_count[{c[1]}]", "Statistical.iqr[accMag]", f"Frequency.band_energy_2of4[{c[2]}]"]


def _pipeline(counts, seg: SegmenterSpec, quant: str, scale: dict) -> FittedPipeline:
    from automl.features import FeatureExtractor
    from automl.model import MLPConfig, train_mlp
    from automl.quantization import TFLiteModel, convert
    from automl.segmentation import threshold_from_quantile

    if seg.kind == "threshold":
        thr = threshold_from_quantile(counts, seg.column, seg.mode, seg.detection_window or 1, 0.9)
        seg = SegmenterSpec(**{**seg.__dict__, "threshold": float(np.float32(thr)), "quantile": 0.9})
    classes = counts.labels()
    fx = FeatureExtractor(list(counts.channels), families=tuple(FAMILIES), magnitude=True,
                          sample_rate_hz=counts.sample_rate_hz, frequency_bands=4, sensors=counts.sensors)
    names, chosen = fx.feature_names(), _features(counts.channels)
    windows = seg.build().transform(counts, classes)
    F = fx.compute_selected(windows.X, chosen)
    lo, hi = np.percentile(F, 5, axis=0).astype(np.float32), np.percentile(F, 95, axis=0).astype(np.float32)
    fp = FittedPipeline(
        channels=list(counts.channels), sample_rate_hz=float(counts.sample_rate_hz), sample_scale=scale,
        classes=classes, segmenter=seg, families=FAMILIES, magnitude=True, frequency_bands=4, feature_names=names,
        selected=[names.index(n) for n in chosen], selected_names=chosen, importances=[1 / len(chosen)] * len(chosen),
        scaler_min=lo.tolist(), scaler_max=hi.tolist(), layers=[8], quantization=quant, study="groups", trial=0,
        dataset="boxing-acc", sensors={g: list(m) for g, m in counts.sensors.items()}, resample_hz=counts.resample_hz)
    x = fp.scale(F).astype(np.float32) / np.float32(255.0)
    model = train_mlp(x, windows.y, len(classes), MLPConfig(layers=(8,), dropout=0.0, epochs=30, learning_rate=0.02,
                                                            seed=5)).model
    fp.tflite = convert(model, x, quant)
    fp.tflite_bytes = len(fp.tflite)
    if quant == "int8":
        t = TFLiteModel(fp.tflite)
        fp.input_scale, fp.input_zero_point = t.input_scale, int(t.input_zero_point)
        fp.output_scale, fp.output_zero_point = t.output_scale, int(t.output_zero_point)
    return fp


@pytest.fixture(scope="module")
def exports(boxing_dir, tmp_path_factory) -> dict:
    out = {}
    for name, (options, seg, quant) in CASES.items():
        held = read_labelled_csv_folder(boxing_dir, **options).subset([HELD_OUT])
        scale = auto_counts_scale(held)
        counts, data = counts_of(held, scale)
        fp = _pipeline(counts, seg, quant, scale)
        root = write_study(tmp_path_factory.mktemp(name) / "study", 0, fp)
        fw = root.parent / "fw"
        export_trial(root, 0, fw, measure=False)
        out[name] = (fp, fw, counts, data, root)
    return out


def test_pipeline_json_records_groups_and_rate(exports):
    fp, _, counts, _, root = exports["renamed-threshold-int8"]
    written = json.loads((root / "artifacts" / "trial-0" / "pipeline.json").read_text())
    assert written["sensors"] == {"acc": ["ax", "ay", "az"]} and written["resample_hz"] is None
    assert fp.extractor().magnitude_sources() == {"accMag": ["ax", "ay", "az"]}
    assert fp.extractor().channel_pairs() == [("ax", "ay"), ("ax", "az"), ("ay", "az")]
    slow = json.loads((exports["50hz-sliding-float32"][4] / "artifacts" / "trial-0" / "pipeline.json").read_text())
    assert (slow["resample_hz"], slow["sample_rate_hz"], slow["channels"]) == (50.0, 50.0, ["accX", "accY", "accZ"])


@needs_host
@pytest.mark.parametrize("case", list(CASES))
def test_acc_only_host_stream_equals_python(exports, case, tmp_path):
    fp, fw, counts, data, _ = exports[case]
    c = parse_stream(host_stream(fw, write_csv(tmp_path / "rec.csv", data, fp.channels)), fp.quantization == "int8")
    assert c.samples == len(data)
    assert_same_windows(c, fp.run(counts, counts=True), fp.quantization == "int8")
    assert (fw / "kp.h").read_text().count("_NUM_CHANNELS 3") == 1


@needs_qemu
def test_acc_only_cortex_m4_in_qemu(exports, tmp_path):
    fp, fw, counts, data, _ = exports["renamed-threshold-int8"]
    rec = write_csv(tmp_path / "short.csv", data[:1500], fp.channels)
    m4 = qemu_stream(fw, rec)
    assert [ln for ln in m4.splitlines() if not ln.startswith("insns ")] == host_stream(fw, rec).splitlines()
