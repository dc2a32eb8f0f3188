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
from automl.pipeline import FittedPipeline, PipelineRun

MAKE = shutil.which("make")


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
    rows = [line.split() for line in stdout.splitlines() if line.startswith("window ")]

    def ints(text, dtype):
        return np.array([int(v) for v in text.split(",")], dtype)

    def f32(text):
        return np.array([int(v, 16) for v in text.split(",")], np.uint32).view(np.float32)

    def out(text):  # logits and model output: int8 decimals or float32 bits
        return ints(text, np.int8) if int8 else f32(text)

    summary = [line.split() for line in stdout.splitlines() if line.startswith("summary ")]
    assert len(summary) == 1 and int(summary[0][4]) == len(rows), stdout[-500:]
    insns = None
    for line in stdout.splitlines():
        if line.startswith("insns "):
            v = line.split()
            insns = {"classify": (int(v[2]), int(v[3]), int(v[4])), "idle": (int(v[6]), int(v[7]), int(v[8]))}
    return CRun(
        start=np.array([int(r[1]) for r in rows], np.int64),
        cls=np.array([int(r[2]) for r in rows], np.int64),
        emitted=np.array([int(r[3]) for r in rows], np.int64),
        scaled=np.stack([ints(r[4], np.uint8) for r in rows]) if rows else np.zeros((0, 0), np.uint8),
        features=np.stack([f32(r[5]).view(np.uint32) for r in rows]) if rows else np.zeros((0, 0), np.uint32),
        logits=np.stack([out(r[6]) for r in rows]) if rows else np.zeros((0, 0)),
        output=np.stack([out(r[7]) for r in rows]) if rows else np.zeros((0, 0)),
        samples=int(summary[0][2]),
        insns=insns,
    )


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


def device_ids(outputs: np.ndarray) -> np.ndarray:
    """What kp_add_sample returns for ``PipelineRun.outputs``: class id = output + 1, -1 where nothing is emitted."""
    from automl.postprocessing import NO_OUTPUT

    return np.where(outputs == NO_OUTPUT, -1, outputs + 1)


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


