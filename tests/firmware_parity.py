"""Helpers shared by the firmware parity tests: run the exported kp_stream and compare it with Python.

Not a test module (no ``test_`` prefix); ``tests/conftest.py`` puts this folder on ``sys.path``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automl.data import Capture, Dataset, to_counts
from automl.export import device_ids  # noqa: F401  (re-exported for the tests)
from automl.export import parse_stream as _parse_stream
from automl.pipeline import FittedPipeline, PipelineRun, SegmenterSpec

MAKE = shutil.which("make")
SCALE = {"accZ": 512.0, "accY": 512.0, "accX": 512.0, "gyrZ": 2048.0, "gyrY": 2048.0, "gyrX": 2048.0}
ALL_FAMILIES = ["Statistical", "Shape", "ColumnFusion", "Area", "RateOfChange", "Frequency"]


# ------------------------------------------------------------ kp_stream I/O
@dataclass
class CRun:
    """What kp_stream printed: one row per classified window."""

    start: np.ndarray      # (n,) int64
    cls: np.ndarray        # (n,) int64, class decision: class id (0 = unknown)
    emitted: np.ndarray    # (n,) int64, kp_add_sample's return after post-processing (-1 = suppressed)
    scaled: np.ndarray     # (n, k) uint8
    features: np.ndarray   # (n, k) uint32 (float32 bits)
    logits: np.ndarray     # (n, c) int8 or float32
    output: np.ndarray     # (n, c) int8 or float32
    samples: int
    insns: dict | None


def parse_stream(stdout: str, int8: bool) -> CRun:
    """kp_stream's output as a :class:`CRun`, read by the package's one parser (automl.export.parse_stream)."""
    run = _parse_stream(stdout, int8)
    insns = None if run.insns is None else {k: (run.insns[k]["calls"], run.insns[k]["max"], run.insns[k]["mean"])
                                              for k in ("classify", "idle")}
    return CRun(start=run.start, cls=run.decision, emitted=run.emitted, scaled=run.scaled, features=run.features,
                logits=run.logits, output=run.output, samples=run.samples, insns=insns)


def softmax_rtol(n_classes: int) -> float:
    """Relative bound of float32 probabilities, C vs TFLite Micro (see test_mlp_c_parity._softmax_rtol)."""
    return (n_classes + 4) * 2.0 ** -23


def assert_same_windows(c: CRun, py: PipelineRun, int8: bool) -> None:
    """Every window of the C stream equals the Python run, field by field (post-processed outputs included)."""
    assert len(c.start) == len(py.start) > 0
    np.testing.assert_array_equal(c.start, py.start)
    np.testing.assert_array_equal(c.scaled, py.scaled)
    bad = np.argwhere(c.features != py.features.view(np.uint32))
    assert bad.size == 0, (f"{len(bad)} float features differ, first window {bad[0][0]} feature {bad[0][1]}: "
                           f"C {c.features[tuple(bad[0])]:08x} Python {py.features.view(np.uint32)[tuple(bad[0])]:08x}")
    if int8:
        assert py.logits.dtype == np.int8 and py.raw_output.dtype == np.int8
        np.testing.assert_array_equal(c.logits, py.logits)
        np.testing.assert_array_equal(c.output, py.raw_output)
    else:
        np.testing.assert_array_equal(c.logits.view(np.uint32), py.logits.astype(np.float32).view(np.uint32))
        t = py.raw_output.astype(np.float64)
        err = np.abs(c.output.astype(np.float64) - t)
        assert np.all(err <= softmax_rtol(t.shape[1]) * t + 2.0 ** -140)
    np.testing.assert_array_equal(c.cls, np.where(py.predicted < 0, 0, py.predicted + 1))
    np.testing.assert_array_equal(c.emitted, device_ids(py.outputs))


def counts_of(ds: Dataset, sample_scale: dict, n: int | None = None) -> tuple[Dataset, np.ndarray]:
    """``(dataset of int16 counts as float32, (n_samples, n_channels) int16)`` of the first ``n`` samples."""
    counts = to_counts(ds, sample_scale)
    cap = counts.captures[0]
    data = cap.data[:n] if n else cap.data
    counts = counts.replace(captures=[Capture(cap.name, data, dict(cap.metadata))], segments=list(counts.segments))
    return counts, data.astype(np.int16)


def write_study(root: Path, trial: int, fp: FittedPipeline) -> Path:
    """A study folder holding one trial's artifacts (``pipeline.json``, ``model.tflite``), for export."""
    art = root / "artifacts" / f"trial-{trial}"
    art.mkdir(parents=True)
    (art / "pipeline.json").write_text(fp.to_json())
    (art / "model.tflite").write_bytes(fp.tflite)
    return root


def write_csv(path: Path, data: np.ndarray, channels) -> Path:
    np.savetxt(path, data, fmt="%d", delimiter=",", header=",".join(channels), comments="")
    return path


def host_stream(fw: Path, rec: Path) -> str:
    subprocess.run([MAKE, "-s", "-C", str(fw), "host"], check=True, capture_output=True, text=True)
    return subprocess.run([str(fw / "build" / "host" / "kp_stream"), str(rec)], check=True, capture_output=True,
                          text=True, timeout=120).stdout


def qemu_stream(fw: Path, rec: Path) -> str:
    proc = subprocess.run([MAKE, "-s", "-C", str(fw), "qemu", f"RECORDING={rec}", "QEMU_TIMEOUT=120"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout




# ------------------------------------------------------------ hand-built pipelines
# Every family, both magnitudes, pairs, sorted copies, DFT tables, dt and fs.
FAST_FEATURES = [
    "Statistical.std[accMag]", "Statistical.p25[gyrX]", "Statistical.median[accZ]", "Statistical.kurtosis[gyrMag]",
    "Shape.peak_count[accY]", "Shape.stderr[gyrZ]", "ColumnFusion.correlation[accZ-accX]",
    "ColumnFusion.range_diff[gyrY-gyrX]", "Area.abs_area_dc[accX]", "RateOfChange.std[gyrMag]",
    "Frequency.dominant_freq[accMag]", "Frequency.band_energy_2of4[gyrZ]", "Statistical.iqr[accMag]",
]


def fast_pipeline(ds_counts: Dataset, seg: SegmenterSpec, quant: str, unknown: float,
                  post: tuple[int, int, str]) -> FittedPipeline:
    """A hand-built pipeline on ``ds_counts``: real features of every family, a briefly trained 10-6 MLP."""
    from automl.features import FeatureExtractor
    from automl.model import MLPConfig, train_mlp
    from automl.quantization import convert
    from automl.segmentation import threshold_from_quantile

    if seg.kind == "threshold":
        thr = threshold_from_quantile(ds_counts, seg.column, seg.mode, seg.detection_window or 1, 0.9)
        seg = SegmenterSpec(**{**seg.__dict__, "threshold": float(np.float32(thr)), "quantile": 0.9})
    classes = ds_counts.labels()
    fx = FeatureExtractor(list(ds_counts.channels), families=tuple(ALL_FAMILIES), magnitude=True,
                          sample_rate_hz=ds_counts.sample_rate_hz, frequency_bands=4)
    names = fx.feature_names()
    windows = seg.build().transform(ds_counts, classes)
    F = fx.compute_selected(windows.X, FAST_FEATURES)
    # A range narrower than the data: the scaler clips at 0 and 255 too.
    lo, hi = np.percentile(F, 5, axis=0).astype(np.float32), np.percentile(F, 95, axis=0).astype(np.float32)
    fp = FittedPipeline(
        channels=list(ds_counts.channels), sample_rate_hz=float(ds_counts.sample_rate_hz), sample_scale=dict(SCALE),
        classes=classes, segmenter=seg, families=list(ALL_FAMILIES), magnitude=True, frequency_bands=4,
        feature_names=names, selected=[names.index(n) for n in FAST_FEATURES], selected_names=list(FAST_FEATURES),
        importances=[1.0 / len(FAST_FEATURES)] * len(FAST_FEATURES), scaler_min=lo.tolist(), scaler_max=hi.tolist(),
        layers=[10, 6], quantization=quant, unknown_threshold=unknown, vote=post[0], refractory=post[1],
        background=post[2], study="parity", trial=0, dataset="boxing")
    x = fp.scale(F).astype(np.float32) / np.float32(255.0)
    model = train_mlp(x, windows.y, len(classes), MLPConfig(layers=(10, 6), dropout=0.0, epochs=40,
                                                              learning_rate=0.02, seed=3)).model
    tflite = convert(model, x, quant)
    fp.tflite = tflite
    fp.tflite_bytes = len(tflite)
    if quant == "int8":
        from automl.quantization import TFLiteModel

        t = TFLiteModel(tflite)
        fp.input_scale, fp.input_zero_point = t.input_scale, int(t.input_zero_point)
        fp.output_scale, fp.output_zero_point = t.output_scale, int(t.output_zero_point)
    return fp


