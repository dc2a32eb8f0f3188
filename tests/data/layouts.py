"""Writers of data sets in the layouts users bring, big enough for a search (tests only).

The headers and file names follow each tool's documentation (see
tests/data/test_layouts.py for the golden fixtures); the signals are
synthetic: a class is a sine of its own frequency on the accelerometer
axes plus noise, the background is noise. They test that a layout reaches a
search, not accuracy.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

FREQ_HZ = {"walk": 2.0, "shake": 6.0, "jab": 3.0, "hook": 1.0}


def _signal(rng: np.random.Generator, t: np.ndarray, label: str | None) -> np.ndarray:
    """``(n, 3)`` accelerometer-like values (g): gravity on z, the class's sine on x and y, noise."""
    x = 0.05 * rng.standard_normal((t.size, 3))
    x[:, 2] += 1.0
    if label is not None:
        wave = 0.8 * np.sin(2 * np.pi * FREQ_HZ[label] * t)
        x[:, 0] += wave
        x[:, 1] += 0.5 * wave
    return x


def write_label_studio(root: Path, seed: int = 0) -> Path:
    """Two exports: ``train.json`` (6 recordings at ~97 Hz with 41 % timing jitter, date-time axis) and
    ``test.json`` (2 recordings at ~417 Hz, seconds written as text by ``timeFormat="%S.%f"``).

    Each recording: background, one ``walk`` region, background, one ``shake`` region, background.
    Channels ``gFx, gFy, gFz``. Returns ``root``.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    start = datetime(2022, 4, 20, 0, 0, 2, 818000)
    for export, n_rec, rate, jitter in (("train", 6, 97.0, 0.41), ("test", 2, 417.0, 0.0)):
        tasks = []
        for k in range(n_rec):
            n = int(12 * rate)  # 12 s
            dt = 1 / rate * (1 + jitter * rng.uniform(-np.sqrt(3), np.sqrt(3), n))  # std = jitter
            t = np.concatenate([[0.0], np.cumsum(dt[:-1])])
            spans = [("walk", 2.0, 5.0), ("shake", 7.0, 10.0)]
            x = _signal(rng, t, None)
            for label, a, b in spans:
                inside = (t >= a) & (t < b)
                x[inside] = _signal(rng, t[inside], label)
            name = f"{export}_{k:02d}.csv"
            if export == "train":
                stamps = [(start + timedelta(seconds=float(s))).strftime("%Y-%m-%d %H:%M:%S.%f") for s in t]
                edge = lambda s: (start + timedelta(seconds=s)).strftime("%Y-%m-%d %H:%M:%S.%f")  # noqa: E731
            else:
                stamps = [f"{9.992 + s:09.6f}" for s in t]
                edge = lambda s: f"{9.992 + s:09.6f}"  # noqa: E731
            lines = ["time,gFx,gFy,gFz"] + [f"{s},{a:.5f},{b:.5f},{c:.5f}" for s, (a, b, c) in zip(stamps, x)]
            (root / name).write_text("\n".join(lines) + "\n")
            # Label Studio snaps edges to samples: the first sample at or after each edge
            snap = lambda s: float(t[np.searchsorted(t, s)])  # noqa: E731
            result = [{"type": "timeserieslabels", "value": {"start": edge(snap(a)), "end": edge(snap(b)),
                                                              "instant": False, "timeserieslabels": [label]}}
                      for label, a, b in spans]
            tasks.append({"id": len(tasks) + 1, "data": {"csv_url": f"/data/upload/7/{k:08x}-{name}"},
                          "annotations": [{"was_cancelled": False, "result": result}]})
        (root / f"{export}.json").write_text(json.dumps(tasks))
    return root


def write_mbientlab(root: Path, subjects: int = 4, seed: int = 0) -> Path:
    """MetaBase exports in class folders ``Left Jab/`` and ``Right Hook/``: per subject and class one
    recording of 8 s at 25 Hz as ``S<nn>_MetaWear_<start>_<MAC>_{Accelerometer,Gyroscope}_1.4.4.csv``
    (the gyroscope starts 12 ms later). Returns ``root``."""
    rng = np.random.default_rng(seed)
    zone = timezone(timedelta(hours=-8))
    for s in range(1, subjects + 1):
        for folder, label in (("Left Jab", "jab"), ("Right Hook", "hook")):
            t0 = datetime(2019, 9, 23, 13, 33, 40, 89000, tzinfo=zone) + timedelta(minutes=10 * s)
            stem = f"S{s:02d}_MetaWear_{t0.strftime('%Y-%m-%dT%H.%M.%S.%f')[:-3]}_C5B6A2DC1B2C"
            for sensor, unit, offset_ms, scale in (("Accelerometer", "g", 0, 1.0), ("Gyroscope", "deg/s", 12, 90.0)):
                n = 200
                t = (offset_ms + 40 * np.arange(n)) / 1000
                x = _signal(rng, t, label) * scale
                lines = [f"epoch (ms),time (-08:00),elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"]
                for i in range(n):
                    when = t0 + timedelta(seconds=float(t[i]))
                    lines.append(f"{int(round(when.timestamp() * 1000))},{when.strftime('%Y-%m-%dT%H.%M.%S.%f')[:-3]},"
                                 f"{t[i] - t[0]:.3f},{x[i, 0]:.4f},{x[i, 1]:.4f},{x[i, 2]:.4f}")
                path = root / folder / f"{stem}_{sensor}_1.4.4.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(lines) + "\n")
    return root


def write_label_column(root: Path, *, seconds_in_timestamp: bool = False, decimal_commas: bool = False,
                       captures: int = 6, seed: int = 0) -> Path:
    """A folder of Sensor-Logger-like CSVs with a ``label`` column, 50 Hz, 10 s each.

    ``seconds_in_timestamp``: the ``timestamp`` column holds epoch seconds
    (not Sensor Logger's nanoseconds). ``decimal_commas``: every number is
    written with a decimal comma and quoted.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for k in range(captures):
        t = np.arange(500) / 50
        labels = np.where((t >= 2) & (t < 5), "walk", np.where((t >= 6) & (t < 9), "shake", "NoActivity"))
        x = _signal(rng, t, None) * 9.81
        for lab in ("walk", "shake"):
            m = labels == lab
            x[m] = _signal(rng, t[m], lab) * 9.81
        gyr = 0.3 * rng.standard_normal((t.size, 3))
        stamp = (1650412802.818 + t) if seconds_in_timestamp else (1_650_412_802_818_000_000 + np.arange(500) * 20_000_000)
        lines = ["timestamp,accX,accY,accZ,gyrX,gyrY,gyrZ,label"]
        for i in range(t.size):
            cells = [f"{stamp[i]:.3f}" if seconds_in_timestamp else str(stamp[i]),
                     *(f"{v:.4f}" for v in (*x[i], *gyr[i]))]
            if decimal_commas:
                cells = [f'"{c.replace(".", ",")}"' for c in cells]
            lines.append(",".join(cells) + f",{labels[i]}")
        (root / f"session_{k:02d}.csv").write_text("\n".join(lines) + "\n")
    return root
