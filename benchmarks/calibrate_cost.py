"""Calibrate the Cortex-M4 cost model (``automl/cost``) against the real toolchain.

Builds the exported firmware library (:func:`automl.export.write_firmware`) of
several hundred synthetic pipelines -- every feature generator alone and
repeated, network shapes, channel counts, both segmenters, and random
combinations like the ones a search proposes -- and measures each one:

* ``arm-none-eabi-size -A`` of ``kp.o`` / ``kp_model.o`` (the export's
  ``make cortex-m4``: GCC 12, ``-mcpu=cortex-m4 -mthumb -mfloat-abi=hard
  -mfpu=fpv4-sp-d16 -Os``), the ``-fstack-usage`` frames and which feature
  functions GCC kept out of line;
* executed instructions of every ``kp_add_sample`` call under QEMU
  ``mps2-an386`` with ``-icount shift=0`` (the export's ``make qemu``: SysTick,
  1 tick = 40 instructions) on a deterministic synthetic recording, and the
  start of every classified window (to count the insertion-sort moves of
  each window exactly).

Then it fits the constants of :mod:`automl.cost._model` (weighted least
squares: relative error for instructions and bytes), measures the
post-processing (vote, refractory: ``kp_post.h``) as the difference between
builds of the same pipelines with and without it (:func:`fit_post`;
identity post-processing generates no code, so the other constants do not
depend on it), measures the
cycles-per-instruction of the executed instruction mix with the Cortex-M4
TRM timings (QEMU ``-d exec,in_asm`` traces), fits the TensorFlow Lite Micro
variant (``.tflite`` size, arena from ``print_allocations``), the expected
sort work on real data (``--data``), and writes everything, each constant
with how it was obtained, to ``automl/cost/constants.json`` (atomically).

Usage (from the repository root; about 20-30 minutes on 2 cores)::

    python benchmarks/calibrate_cost.py [--work /tmp/calibrate_cost] [--jobs 2]
        [--data ../shared/data/boxing-punches] [--random 400] [--out automl/cost/constants.json]
    python benchmarks/calibrate_cost.py --post-only    # only the post-processing constants (~3 minutes),
                                                       # merged into the existing --out file
    python benchmarks/calibrate_cost.py --tflm-only    # only the TensorFlow Lite Micro variant (~1 minute)

Measurements are cached in ``--work/measurements.jsonl`` (keyed by the
pipeline description, the toolchain and a digest of ``firmware/`` and
``automl/export``), so an interrupted run resumes.
This calibrates cost, not accuracy: the networks are untrained (random
weights), which changes no size and no instruction count that matters here
(the softmax of random logits exercises the same code).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import functools
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from automl.cost import _model as M  # noqa: E402
from automl.export._measure import M4_FLAGS, measure_export, parse_stream_insns  # noqa: E402

FAMILIES = ["Statistical", "Shape", "ColumnFusion", "Area", "RateOfChange", "Frequency"]
CH6 = ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]
CHANNEL_SETS = {3: ["accX", "accY", "accZ"], 6: CH6, 8: [*CH6, "tmp", "prs"]}
RECORDING_SAMPLES = 2400
STRINGS_OF = ("tinyml-automl", __import__("automl").__version__)  # kp_model_info strings (+ study, dataset)
VERSION = 1

# Cortex-M4 instruction timings, ARM DDI 0439B (Cortex-M4 TRM r0p1) table 3-1
# and chapter 7 (FPU): see cpi_from_trace().
TRM_SOURCE = ("ARM Cortex-M4 Technical Reference Manual r0p1 (DDI 0439B), table 3-1 'Cortex-M4 instruction "
              "set summary' and table 7-1 'FPU instruction set'")


# ------------------------------------------------------------------ pipelines
def tool_versions() -> dict:
    out = {}
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        try:
            out[tool] = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            out[tool] = None
    return out


_MODELS: dict = {}


def tiny_model(k: int, layers: list[int], n_classes: int, quant: str, seed: int = 1) -> bytes:
    """A converted ``.tflite`` MLP of the given shape with random weights and biases."""
    key = (k, tuple(layers), n_classes, quant, seed)
    if key not in _MODELS:
        import keras

        from automl.model import MLPConfig, build_mlp
        from automl.quantization import convert

        keras.backend.clear_session()
        model = build_mlp(k, n_classes, MLPConfig(layers=tuple(layers), dropout=0.0, seed=seed))
        rng = np.random.default_rng(seed)
        for layer in model.layers:
            w = layer.get_weights()
            if len(w) == 2:
                layer.set_weights([w[0], rng.normal(0, 0.1, w[1].shape).astype(np.float32)])
        _MODELS[key] = convert(model, rng.random((64, k), dtype=np.float32), quant)
    return _MODELS[key]


def feature_names(channels: list[str], bands: int) -> list[str]:
    from automl.features import FeatureExtractor

    return FeatureExtractor(channels, families=tuple(FAMILIES), magnitude=True, sample_rate_hz=100.0,
                            frequency_bands=bands).feature_names()


def make_pipeline(cfg: dict):
    """A :class:`FittedPipeline` (with a converted random network) for one grid entry."""
    from automl.pipeline import FittedPipeline, SegmenterSpec

    channels = CHANNEL_SETS[cfg.get("n_channels", 6)]
    bands = cfg.get("bands", 4)
    names = feature_names(channels, bands)
    sel = list(cfg["features"])
    k = len(sel)
    classes = cfg["classes"]
    quant = cfg["quant"]
    tflite = tiny_model(k, cfg["layers"], len(classes), quant)
    seg = cfg["segmenter"]
    W = cfg["window"]
    if seg["kind"] == "sliding":
        spec = SegmenterSpec("sliding", W, seg["slide"])
    else:
        spec = SegmenterSpec("threshold", W, seg["slide"], column=seg["column"], mode=seg["mode"],
                             detection_window=seg["detection_window"] if seg["mode"] == "std" else None,
                             threshold=seg["threshold"], lookback=seg["lookback"], quantile=0.9)
    rng = np.random.default_rng(k)
    lo = rng.normal(0, 100, k).astype(np.float32)
    hi = lo + np.abs(rng.normal(1000, 300, k)).astype(np.float32)
    fp = FittedPipeline(
        channels=channels, sample_rate_hz=100.0, sample_scale={c: 512.0 for c in channels}, classes=classes,
        segmenter=spec, families=FAMILIES, magnitude=True, frequency_bands=bands, feature_names=names,
        selected=[names.index(n) for n in sel], selected_names=sel, importances=[1.0 / k] * k,
        scaler_min=lo.tolist(), scaler_max=hi.tolist(), layers=list(cfg["layers"]), quantization=quant,
        unknown_threshold=cfg.get("unknown", 0.0), study=cfg.get("study", "calibration"), trial=0,
        dataset=cfg.get("dataset", "synthetic"), tflite=tflite, tflite_bytes=len(tflite),
        vote=cfg.get("vote", 1), refractory=cfg.get("refractory", 0),
        background=classes[0] if cfg.get("background", False) else "")
    if quant == "int8":
        from automl.quantization import TFLiteModel

        t = TFLiteModel(tflite)
        fp.input_scale, fp.input_zero_point = t.input_scale, int(t.input_zero_point)
        fp.output_scale, fp.output_zero_point = t.output_scale, int(t.output_zero_point)
    return fp


def _sliding(W: int) -> dict:
    return {"kind": "sliding", "slide": max(10, (RECORDING_SAMPLES - W) // 25)}


def _threshold(W: int, column: str, mode: str, D: int = 10, lookback: int = 30, slide: int = 40) -> dict:
    return {"kind": "threshold", "column": column, "mode": mode, "detection_window": D,
            "threshold": 2500.0 if mode == "std" else (6000.0 if not column.endswith("Mag") else 9000.0),
            "lookback": min(lookback, W - 1), "slide": slide}


def build_grid(n_random: int, seed: int = 7) -> list[dict]:
    """The calibration pipelines (deterministic)."""
    from automl.features import available_families, get_generators

    classes4 = ["NoActivity", "jab", "hook", "uppercut"]

    def cfg(grid, features, W, layers=(8,), quant="int8", classes=classes4, seg=None, **kw):
        return {"grid": grid, "features": list(features), "window": W, "layers": list(layers), "quant": quant,
                "classes": list(classes), "segmenter": seg or _sliding(W), **kw}

    def name(fam, g, ch):
        return f"Frequency.band_energy_1of4[{ch}]" if g.name == "band_energy" else f"{fam}.{g.name}[{ch}]"

    out = []
    for fam in available_families():
        for g in get_generators(fam):
            chs = ["accX-accY", "gyrY-gyrZ", "accX-accZ"] if g.kind == "pair" else ["accX", "gyrY", "accMag"]
            for W in (60, 120, 200):
                out.append(cfg("single", [name(fam, g, chs[0])], W))
            out.append(cfg("repeat", [name(fam, g, c) for c in chs[:2]], 100))
            out.append(cfg("repeat", [name(fam, g, c) for c in chs], 100))
    three = ["Statistical.mean[accX]", "Statistical.max[accY]", "Statistical.min[accZ]"]
    for q in ("int8", "float32"):
        for layers in ([4], [16], [32], [8, 8], [16, 8], [32, 16], [12, 8, 6], [32, 32, 32]):
            for ncls in (3, 7):
                out.append(cfg("network", three, 80, layers, q, ["NoActivity"] + [f"c{i}" for i in range(ncls - 1)]))
        for k in (1, 8, 24):
            feats = [f"Statistical.{g}[{c}]" for g in ("sum", "mean", "max", "min") for c in CH6][:k]
            out.append(cfg("network", feats, 80, [8], q))
    for n_ch in (3, 8):
        for W in (80, 160):
            out.append(cfg("channels", ["Statistical.mean[accX]", "Statistical.std[accMag]", "Shape.slope[accY]"],
                           W, n_channels=n_ch))
    for column, mode, D in (("accMag", "std", 5), ("accMag", "std", 25), ("gyrX", "std", 15), ("gyrX", "absolute", 1),
                            ("accMag", "absolute", 1), ("gyrMag", "std", 10)):
        for W in (80, 160):
            out.append(cfg("segmenter", three, W, seg=_threshold(W, column, mode, D, lookback=W // 3, slide=30)))
    rng = random.Random(seed)
    for i in range(n_random):
        n_ch = rng.choice([6, 6, 6, 6, 3, 8])
        bands = rng.choice([4, 4, 4, 2, 8])
        names = feature_names(CHANNEL_SETS[n_ch], bands)
        fams = rng.sample(FAMILIES, rng.randint(1, 6))
        pool = [n for n in names if n.split(".")[0] in fams]
        k = min(rng.randint(2, 32), len(pool))
        W = rng.randrange(60, 241, 20)
        if rng.random() < 0.6:
            seg = _sliding(W)
        else:
            column = rng.choice(["accMag", "accX", "gyrMag"] if n_ch != 3 else ["accMag", "accY"])
            seg = _threshold(W, column, rng.choice(["absolute", "std"]), rng.randrange(5, 26, 5),
                             rng.randrange(0, 81, 10), rng.randrange(20, 81, 10))
        out.append(cfg("random", rng.sample(pool, k), W,
                       [rng.choice([4, 6, 8, 12, 16, 24, 32]) for _ in range(rng.randint(1, 3))],
                       rng.choice(["int8", "float32"]),
                       ["NoActivity"] + [f"punch{j}" for j in range(rng.randint(2, 7))], seg,
                       n_channels=n_ch, bands=bands, unknown=rng.choice([0.0, 0.0, 0.5])))
    return out


# ------------------------------------------------------------------ measuring
_SECTION = re.compile(r"^(\.\S+)\s+(\d+)\s+\d+$")


def size_sections(obj: Path) -> dict[str, int]:
    """``arm-none-eabi-size -A`` of one object: ``{section: bytes}``."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True, check=True).stdout
    return {m.group(1): int(m.group(2)) for m in (_SECTION.match(l.strip()) for l in out.splitlines()) if m}


def synthetic_recording(n: int, n_channels: int, seed: int = 0) -> np.ndarray:
    """Deterministic IMU-like int16 counts: sinusoids, AR(1) noise and bursts (so thresholds trigger)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    out = np.zeros((n, n_channels))
    for c in range(n_channels):
        sig = sum(rng.uniform(500, 3000) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6))
                  for f in rng.uniform(0.5, 4.0, 3) / 100.0)
        e = rng.normal(0, 300, n)
        ar = np.zeros(n)
        for i in range(1, n):
            ar[i] = 0.8 * ar[i - 1] + e[i]
        burst = (np.sin(2 * np.pi * t / 250.0) > 0.7) * rng.normal(0, 4000, n)
        out[:, c] = sig + ar + burst
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def write_csv(path: Path, data: np.ndarray) -> Path:
    np.savetxt(path, data, fmt="%d", delimiter=",")
    return path


def _make_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def run_qemu(folder: Path, build: Path, recording: Path, timeout: int = 900) -> dict:
    """``make qemu`` of an export on a recording: instruction counts and classified window starts."""
    proc = subprocess.run(["make", "-s", "-C", str(folder), f"BUILD={build}", "qemu", f"RECORDING={recording}",
                           f"QEMU_TIMEOUT={timeout}"], capture_output=True, text=True, timeout=timeout + 120,
                          env=_make_env())
    insns = parse_stream_insns(proc.stdout) if proc.returncode == 0 else None
    if insns is None:
        raise RuntimeError(f"make qemu failed ({proc.returncode}): {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    insns["starts"] = [int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("window ")]
    return insns


def measure_library(folder: Path, build: Path, recording: Path | None) -> dict:
    """Sizes, sections, stack frames and (with a recording) QEMU counts of one export."""
    sizes = measure_export(folder, build, qemu=False)
    obj = build / "cortex-m4"
    result = {"library": sizes["library"], "stack_bytes_bound": sizes["stack_bytes_bound"],
              "sections": {o: size_sections(obj / o) for o in ("kp.o", "kp_model.o")}, "frames": {}}
    for o in ("kp", "kp_model"):
        for line in (obj / f"{o}.su").read_text().splitlines():
            fields = line.split("\t")
            result["frames"][fields[0].split(":")[-1]] = int(fields[1])
    if recording is not None:
        result["insns"] = run_qemu(folder, build, recording)
    return result


@functools.lru_cache(maxsize=1)
def firmware_digest() -> str:
    """SHA-256 of firmware/ and the export's Python (a cached measurement is of the code that was built)."""
    h = hashlib.sha256()
    for path in sorted([*(REPO / "firmware").rglob("*"), *(REPO / "automl" / "export").glob("*.py")]):
        if path.is_file():
            h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def cfg_key(cfg: dict, tools: dict) -> str:
    return hashlib.sha256(json.dumps([cfg, tools, firmware_digest()], sort_keys=True).encode()).hexdigest()[:20]


def collect(grid: list[dict], work: Path, jobs: int, tools: dict) -> list[dict]:
    """Measure every grid entry (cached in ``work/measurements.jsonl``)."""
    from automl.export import write_firmware

    work.mkdir(parents=True, exist_ok=True)
    cache = work / "measurements.jsonl"
    done = {}
    if cache.is_file():
        for line in cache.read_text().splitlines():
            row = json.loads(line)
            done[row["key"]] = row
    recordings = {}
    for n_ch in CHANNEL_SETS:
        data = synthetic_recording(RECORDING_SAMPLES, n_ch)
        recordings[n_ch] = write_csv(work / f"recording-{n_ch}.csv", data)
    todo = [c for c in grid if cfg_key(c, tools) not in done]
    print(f"calibration grid: {len(grid)} pipelines, {len(todo)} to build and run", flush=True)
    pool = ThreadPoolExecutor(max(1, jobs))
    running = []
    t0 = time.time()

    def finish(c, fut, folder):
        try:
            m = fut.result()
        except Exception as exc:  # a build failure is reported and skipped
            print(f"  FAILED {c['grid']} {c['features'][:3]}: {str(exc)[-300:]}", flush=True)
            return
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(folder.with_name(folder.name + "-build"), ignore_errors=True)
        row = {"key": cfg_key(c, tools), "cfg": c, **m}
        with open(cache, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        done[row["key"]] = row

    for i, c in enumerate(todo):
        fp = make_pipeline(c)
        folder = work / f"fw-{cfg_key(c, tools)}"
        write_firmware(fp.tflite, json.loads(fp.to_json()), folder, study=fp.study, trial=0, overwrite=True,
                       measure=False)
        running.append((c, pool.submit(measure_library, folder, folder.with_name(folder.name + "-build"),
                                       recordings[c.get("n_channels", 6)]), folder))
        while running and (running[0][1].done() or len(running) > 2 * jobs):
            finish(*running.pop(0))
        if (i + 1) % 25 == 0:
            print(f"  {i + 1}/{len(todo)} ({time.time() - t0:.0f} s)", flush=True)
    for item in running:
        finish(*item)
    return [done[cfg_key(c, tools)] for c in grid if cfg_key(c, tools) in done]


# ------------------------------------------------------------------ terms of a measured row
def _features(cfg: dict) -> list:
    return [M.parse_feature(n) for n in cfg["features"]]


def _widths(cfg: dict) -> list[int]:
    return [len(cfg["features"]), *cfg["layers"], len(cfg["classes"])]


def _strings(cfg: dict) -> list[str]:
    return [*STRINGS_OF, cfg.get("study", "calibration"), cfg.get("dataset", "synthetic")]


def _seg(cfg: dict) -> tuple:
    s = cfg["segmenter"]
    if s["kind"] == "sliding":
        return "sliding", None, None, 1, 0, s["slide"]
    return "threshold", s["mode"], s["column"], s["detection_window"], s["lookback"], s["slide"]


def inversions(x: np.ndarray) -> int:
    """Element moves of kp_sort_copy's insertion sort = pairs i < j with x[i] > x[j]."""
    i, j = np.triu_indices(len(x), 1)
    return int((x[i] > x[j]).sum())


def window_channel(rec: np.ndarray, channels: list[str], ch: str, start: int, W: int) -> np.ndarray:
    """One channel of one window as the firmware sorts it (float32; magnitude in float32)."""
    x = rec[start:start + W].astype(np.float32)
    if ch.endswith("Mag"):
        idx = [i for i, c in enumerate(channels) if c.lower().startswith(ch[:3].lower())]
        a, b, c = (x[:, i] for i in idx)
        return np.sqrt((a * a + b * b) + c * c)
    return x[:, channels.index(ch)]


_SHIFTS: dict = {}


def measured_sort_shifts(cfg: dict, starts: list[int], recs: dict) -> float:
    """Mean over the classified windows of the insertion-sort moves of all sorting features."""
    total = 0.0
    channels = CHANNEL_SETS[cfg.get("n_channels", 6)]
    for f in _features(cfg):
        if f.function not in M.SORTING:
            continue
        key = (cfg.get("n_channels", 6), f.channel, cfg["window"], tuple(starts))
        if key not in _SHIFTS:
            rec = recs[cfg.get("n_channels", 6)]
            _SHIFTS[key] = float(np.mean([inversions(window_channel(rec, channels, f.channel, s, cfg["window"]))
                                          for s in starts])) if starts else 0.0
        total += _SHIFTS[key]
    return total


def row_code_bytes(row: dict, layout: dict) -> tuple[int, dict]:
    """Machine code of kp.o (its text + rodata minus the exact constants) and the exact parts."""
    cfg = row["cfg"]
    kind, *_ = _seg(cfg)
    const = M.const_bytes(_features(cfg), cfg["window"], CHANNEL_SETS[cfg.get("n_channels", 6)], cfg["classes"],
                          _widths(cfg), cfg["quant"], kind, _strings(cfg), layout)
    s = row["sections"]["kp.o"]
    kp_text = s.get(".text", 0) + s.get(".rodata", 0) + sum(v for k, v in s.items() if k.startswith(".rodata."))
    return kp_text - (const["scaler_constants"] + const["dft_tables"] + const["names"] + const["tables"]), const


# ------------------------------------------------------------------ fitting
def learn_thresholds(rows: list[dict]) -> dict[str, int]:
    """Per feature function: the call count from which GCC keeps it out of line (majority of builds)."""
    thresholds: dict[str, int] = {}
    for _ in range(8):
        stat: dict = defaultdict(Counter)
        for row in rows:
            seen = {name.split(".")[0] for name in row["frames"]}
            calls, _ = M.call_structure(_features(row["cfg"]), thresholds)
            for f, n in calls.items():
                stat[f][(n, f"kp_{f}" in seen)] += 1
        new = {}
        for f, v in stat.items():
            for n in sorted({n for n, _ in v}):
                if v[(n, True)] > v[(n, False)]:
                    new[f] = n
                    break
        if new == thresholds:
            break
        thresholds = new
    return thresholds


def wlstsq(terms: list[Counter], y: np.ndarray, weights: np.ndarray, folds: int = 5, seed: int = 0,
           nonneg: bool = False):
    """Weighted least squares; returns (coef dict, cross-validated predictions, in-sample predictions).

    With ``nonneg`` every constant is bounded below by 0 (``scipy.optimize.lsq_linear``): code bytes
    cannot be negative, and the bound keeps rarely seen terms (a function outlined in few builds)
    physical instead of trading large opposite values.
    """
    from scipy.optimize import lsq_linear

    cols = sorted({k for t in terms for k in t})
    A = np.array([[t.get(k, 0.0) for k in cols] for t in terms], float)

    def solve(mask):
        Aw, yw = A[mask] * weights[mask, None], y[mask] * weights[mask]
        if nonneg:
            return lsq_linear(Aw, yw, bounds=(0.0, np.inf), lsmr_tol="auto", max_iter=10000).x
        return np.linalg.lstsq(Aw, yw, rcond=None)[0]

    fold = np.random.default_rng(seed).integers(0, folds, len(y))
    cv = np.zeros(len(y))
    for f in range(folds):
        cv[fold == f] = (A @ solve(fold != f))[fold == f]
    coef = solve(np.ones(len(y), bool))
    return dict(zip(cols, coef.tolist())), cv, A @ coef


def _err_stats(pred: np.ndarray, y: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> dict:
    e = (pred[mask] - y[mask]) / ref[mask] * 100
    return {"n": int(mask.sum()), "max_abs_pct": round(float(np.abs(e).max()), 2),
            "mean_abs_pct": round(float(np.abs(e).mean()), 2),
            "p95_abs_pct": round(float(np.percentile(np.abs(e), 95)), 2)}


def fit_layout(rows: list[dict]) -> dict:
    """Fixed struct sizes of the generated code, from the residual of the type-derived sizes."""
    def solve(sel, target, terms):
        if not sel:
            raise RuntimeError("the calibration grid has no build of this kind; run the whole grid")
        A = np.array([terms(r) for r in sel], float)
        y = np.array([target(r) for r in sel], float)
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        return [int(round(v)) for v in coef]

    def model_core(r):  # type-derived part of kp_model.o
        ws = _widths(r["cfg"])
        if r["cfg"]["quant"] == "int8":
            return sum(M._pad4(a * b) + 8 * b + M._pad4(b) for a, b in zip(ws[:-1], ws[1:]))
        return sum(4 * a * b + 4 * b for a, b in zip(ws[:-1], ws[1:]))

    layout = {}
    for q in ("int8", "float32"):
        sel = [r for r in rows if r["cfg"]["quant"] == q]
        s, m = solve(sel, lambda r: r["sections"]["kp_model.o"][".rodata"] - model_core(r),
                     lambda r: [len(_widths(r["cfg"])) - 1, 1])
        layout[f"{q}_layer_struct"], layout[f"{q}_model_struct"] = s, m

    def rodata_core(r):
        c = r["cfg"]
        k = len(c["features"])
        dft = 8 * c["window"] if any(f.startswith("Frequency") for f in c["features"]) else 0
        return (8 * k if k > 1 else 0) + 4 * k + 8 * len(CHANNEL_SETS[c.get("n_channels", 6)]) \
            + 4 * (len(c["classes"]) + 1) + dft
    info, table = solve(rows, lambda r: r["sections"]["kp.o"][".rodata"] - rodata_core(r),
                        lambda r: [1, r["cfg"]["quant"] == "int8"])
    layout["model_info_struct"], layout["int8_softmax_table"] = info, table
    layout["segmenter_struct"] = 0  # fitted below
    layout["globals"] = 0

    def bss_core(r):
        c = r["cfg"]
        kind, mode, column, D, lookback, slide = _seg(c)
        parts = M.static_ram(_features(c), c["window"], len(CHANNEL_SETS[c.get("n_channels", 6)]), _widths(c),
                             c["quant"], kind, mode, D, lookback, slide, layout)
        return sum(parts.values())
    fixed = int(np.median([r["library"]["ram_bytes"] - bss_core(r) for r in rows]))
    # The segmenter struct's fixed fields, read off kp_segment.h: 12 words of configuration, head,
    # n_seen, det_head, next_emit, next_allowed, pend_head, pend_count, last_detection,
    # detection_valid, window_start = 22 words; the rest are kp.c's globals (start, ready, class)
    # and the typical padding after its byte arrays (median over the builds).
    layout["segmenter_struct"] = 88
    layout["globals"] = fixed - 88
    return layout


def fit_all(rows: list[dict], recs: dict) -> dict:
    """Every constant of the model from the measured rows."""
    layout = fit_layout(rows)
    thresholds = learn_thresholds(rows)
    grid = np.array([r["cfg"]["grid"] for r in rows])
    rnd = grid == "random"
    flash = np.array([r["library"]["flash_bytes"] for r in rows], float)

    # exactness of the type-derived parts
    ram_exact = []
    model_exact = []
    for r in rows:
        c = r["cfg"]
        kind, mode, column, D, lookback, slide = _seg(c)
        ram = sum(M.static_ram(_features(c), c["window"], len(CHANNEL_SETS[c.get("n_channels", 6)]), _widths(c),
                               c["quant"], kind, mode, D, lookback, slide, layout).values())
        ram_exact.append(ram - r["library"]["ram_bytes"])
        _, const = row_code_bytes(r, layout)
        model_exact.append(const["model_constants"] - r["sections"]["kp_model.o"][".rodata"])
    ram_exact, model_exact = np.array(ram_exact), np.array(model_exact)

    # code bytes of kp.o
    code_y, code_t = [], []
    for r in rows:
        c = r["cfg"]
        kind, mode, column, *_ = _seg(c)
        code_y.append(row_code_bytes(r, layout)[0])
        code_t.append(M.code_terms(_features(c), c["quant"], kind, mode, column, thresholds,
                                   unknown=c.get("unknown", 0.0) > 0))
    code_y = np.array(code_y, float)
    code_coef, code_cv, code_fit = wlstsq(code_t, code_y, 1.0 / flash, nonneg=True)

    # stack bound
    st_y = np.array([r["stack_bytes_bound"] for r in rows], float)
    st_t = [M.stack_terms(_features(r["cfg"]), r["cfg"]["quant"], thresholds) for r in rows]
    st_coef, st_cv, st_fit = wlstsq(st_t, st_y, np.ones(len(rows)))

    # instructions of a classifying call (relative error) and of an idle call
    cy, ct, iy, it = [], [], [], []
    for r in rows:
        c = r["cfg"]
        kind, mode, column, D, *_ = _seg(c)
        ins = r["insns"]
        if ins["classify"]["calls"] == 0:
            continue
        shifts = measured_sort_shifts(c, ins["starts"], recs)
        n_ch = len(CHANNEL_SETS[c.get("n_channels", 6)])
        ct.append(M.classify_terms(_features(c), c["window"], n_ch, _widths(c), c["quant"], kind, mode, column, D,
                                   shifts, unknown=c.get("unknown", 0.0) > 0))
        cy.append(ins["classify"]["mean"])
        it.append(M.ingest_terms(n_ch, kind, mode, column, D))
        iy.append(ins["idle"]["mean"])
    cy, iy = np.array(cy, float), np.array(iy, float)
    cyc_coef, cyc_cv, cyc_fit = wlstsq(ct, cy, 1.0 / cy)
    ing_coef, ing_cv, ing_fit = wlstsq(it, iy, 1.0 / iy)
    cgrid = np.array([r["cfg"]["grid"] for r in rows if r["insns"]["classify"]["calls"]])
    all_c = np.ones(len(cy), bool)
    ram_total = np.array([r["library"]["ram_bytes"] + r["stack_bytes_bound"] for r in rows], float)
    validation = {
        "method": ("5-fold cross-validation over the calibration builds (each build predicted by constants "
                   "fitted without it); 'random' = random pipelines like a search proposes"),
        "flash_code_pct_of_library_flash": {"random": _err_stats(code_cv, code_y, flash, rnd),
                                            "all": _err_stats(code_cv, code_y, flash, np.ones(len(rows), bool)),
                                            "in_sample": _err_stats(code_fit, code_y, flash, np.ones(len(rows), bool))},
        "stack_bytes_pct_of_ram": {"all": _err_stats(st_cv, st_y, ram_total, np.ones(len(rows), bool))},
        "static_ram_bytes": {"max_abs_bytes_off": int(np.abs(ram_exact).max()),
                             "exact_builds": int((ram_exact == 0).sum()), "builds": len(rows)},
        "model_constants_bytes": {"max_abs_bytes_off": int(np.abs(model_exact).max()),
                                  "exact_builds": int((model_exact == 0).sum())},
        "classify_instructions_pct": {"random": _err_stats(cyc_cv, cy, cy, cgrid == "random"),
                                      "all": _err_stats(cyc_cv, cy, cy, all_c),
                                      "in_sample": _err_stats(cyc_fit, cy, cy, all_c)},
        "ingest_instructions_pct": {"all": _err_stats(ing_cv, iy, iy, np.ones(len(iy), bool))},
        "outlining_decisions": _decision_accuracy(rows, thresholds),
    }
    return {"layout": layout, "thresholds": thresholds, "code": code_coef, "stack": st_coef,
            "classify": cyc_coef, "ingest": ing_coef, "validation": validation,
            "n_builds": len(rows), "n_runs": int(len(cy))}


def _decision_accuracy(rows, thresholds) -> dict:
    ok = total = 0
    for r in rows:
        seen = {name.split(".")[0] for name in r["frames"]}
        calls, outlined = M.call_structure(_features(r["cfg"]), thresholds)
        for f in calls:
            total += 1
            ok += (f"kp_{f}" in seen) == outlined[f]
    return {"correct": ok, "total": total}


# ------------------------------------------------------------------ post-processing (differential)
# (vote, refractory, background class?) of the post-processing builds; each is built on every base
# pipeline of post_grid() and compared with that base built without post-processing.
POST_SETTINGS = [(1, 150, True), (2, 0, True), (3, 50, True), (5, 150, False), (7, 300, True), (8, 0, True),
                 (13, 150, True), (21, 50, False), (32, 150, True), (32, 0, False)]


def post_grid() -> list[tuple[dict, list[dict]]]:
    """Base pipelines (no post-processing) and their post-processing variants.

    Short slides and refractory periods give 20-240 classified windows per build on the 2400-sample
    recording, so the vote's ring fills (windows past the first ``vote``) dominate the means.
    """
    classes = ["NoActivity", "jab", "hook", "uppercut"]
    feats = ["Statistical.mean[accX]", "Statistical.max[accY]", "Statistical.min[accZ]"]
    more = [*feats, "Statistical.std[accMag]", "Shape.slope[gyrY]", "RateOfChange.max[gyrZ]",
            "Area.abs_area[accY]", "ColumnFusion.mean_diff[accX-accY]"]
    sorts = ["Statistical.median[accX]", "Frequency.dominant_freq[gyrMag]", "Shape.peak_count[accZ]",
             "Statistical.kurtosis[gyrY]", "Statistical.iqr[accMag]"]
    bases = [
        {"features": feats, "window": 60, "layers": [8], "quant": "int8",
         "segmenter": {"kind": "sliding", "slide": 10}},
        {"features": feats, "window": 60, "layers": [8], "quant": "float32",
         "segmenter": {"kind": "sliding", "slide": 10}},
        {"features": more, "window": 80, "layers": [12, 8], "quant": "int8", "unknown": 0.5,
         "segmenter": _threshold(80, "accMag", "std", 10, lookback=20, slide=30)},
        {"features": more, "window": 100, "layers": [16], "quant": "float32", "unknown": 0.5,
         "segmenter": _threshold(100, "gyrX", "absolute", 1, lookback=30, slide=20)},
        {"features": sorts, "window": 80, "layers": [6, 6, 6], "quant": "int8", "unknown": 0.5,
         "segmenter": {"kind": "sliding", "slide": 20}},
        {"features": more, "window": 100, "layers": [24], "quant": "float32",
         "segmenter": {"kind": "sliding", "slide": 25}},
        {"features": sorts, "window": 60, "layers": [8], "quant": "int8",
         "segmenter": _threshold(60, "gyrX", "absolute", 1, lookback=10, slide=15)},
        {"features": feats, "window": 120, "layers": [10, 10], "quant": "float32",
         "segmenter": _threshold(120, "gyrMag", "std", 20, lookback=40, slide=40)},
    ]
    out = []
    for b in bases:
        base = {"grid": "post", "classes": classes, **b}
        out.append((base, [{**base, "vote": v, "refractory": r, "background": bg} for v, r, bg in POST_SETTINGS]))
    return out


#: The regressors of the post-processing instructions (automl.cost._model.post_terms), in fit order.
POST_CLASSIFY_TERMS = ("post:window", "post:vote", "post:vote2")


def vote_fill(vote: int, windows: int) -> tuple[float, float]:
    """Mean n and n^2 of the kept decisions n = min(vote, i + 1) over windows i = 0 .. windows - 1 since reset."""
    n = np.minimum(vote, np.arange(1, windows + 1, dtype=float))
    return float(n.mean()), float((n * n).mean())


def fit_post(work: Path, jobs: int, tools: dict) -> dict:
    """Constants of the post-processing, each from post-processing build minus its base build.

    * code bytes (``code["post"]``): the kp.o text + rodata difference, averaged (it varies by about
      +-20 bytes with GCC's register allocation in the rest of ``kp_add_sample``, not with the settings);
    * RAM: the data + bss difference must equal :func:`automl.cost._model.post_ram` (checked, counted);
    * stack (``stack["post:<q>"]``): -fstack-usage sum difference, averaged per quantisation;
    * idle instructions: the idle-call difference is checked (reported), not modelled: kp_post.h runs
      only when a window is classified;
    * classify instructions (``classify["post:window"]``, ``["post:vote"]``, ``["post:vote2"]``): least
      squares of the classify-call difference on the ring fill of the measured windows (:func:`vote_fill`).
    """
    pairs = post_grid()
    grid = [c for base, posts in pairs for c in (base, *posts)]
    rows = {cfg_key(r["cfg"], tools): r for r in collect(grid, work, jobs, tools)}
    code_d, ram_d, stack_d, idle_d, cls_d, cls_x, flash = [], [], defaultdict(list), [], [], [], []
    for base, posts in pairs:
        b = rows[cfg_key(base, tools)]
        for cfg in posts:
            r = rows[cfg_key(cfg, tools)]
            code = (lambda x: x.get(".text", 0) + x.get(".rodata", 0))
            code_d.append(code(r["sections"]["kp.o"]) - code(b["sections"]["kp.o"]))
            flash.append(r["library"]["flash_bytes"])
            ram_d.append(r["library"]["ram_bytes"] - b["library"]["ram_bytes"]
                         - M.post_ram(cfg["vote"], cfg["refractory"]))
            stack_d[cfg["quant"]].append(r["stack_bytes_bound"] - b["stack_bytes_bound"])
            ri, bi = r["insns"], b["insns"]
            assert ri["classify"]["calls"] == bi["classify"]["calls"] > 0, (cfg, ri, bi)
            idle_d.append(ri["idle"]["mean"] - bi["idle"]["mean"])
            cls_d.append(ri["classify"]["mean"] - bi["classify"]["mean"])
            terms = M.post_terms(cfg["vote"], cfg["refractory"], vote_fill(cfg["vote"], ri["classify"]["calls"]))
            cls_x.append(tuple(float(terms[k]) for k in POST_CLASSIFY_TERMS))
    code_d, ram_d, idle_d, cls_d = (np.array(v, float) for v in (code_d, ram_d, idle_d, cls_d))
    A = np.array(cls_x)
    coef = np.linalg.lstsq(A, cls_d, rcond=None)[0]
    pred = A @ coef
    code_res = code_d - code_d.mean()
    classify_mean = np.array([rows[cfg_key(c, tools)]["insns"]["classify"]["mean"] for _, p in pairs for c in p],
                             float)
    return {
        "code": {"post": float(code_d.mean())},
        "stack": {f"post:{q}": float(np.mean(v)) for q, v in sorted(stack_d.items())},
        "classify": dict(zip(POST_CLASSIFY_TERMS, coef.tolist())),
        "validation": {
            "builds": len(grid), "pairs": len(code_d),
            "code_bytes_range": [int(code_d.min()), int(code_d.max())],
            "code_residual_max_abs_bytes": round(float(np.abs(code_res).max()), 1),
            "code_residual_max_abs_pct_of_library_flash": round(float(np.abs(code_res).max() / np.min(flash) * 100),
                                                                3),
            "ram_exact_pairs": int((ram_d == 0).sum()), "ram_max_abs_bytes_off": int(np.abs(ram_d).max()),
            "stack_bytes_range": {q: [int(min(v)), int(max(v))] for q, v in sorted(stack_d.items())},
            "idle_instructions_difference_range": [int(idle_d.min()), int(idle_d.max())],
            "classify_residual_max_abs_instructions": round(float(np.abs(pred - cls_d).max()), 1),
            "classify_residual_max_abs_pct": round(float(np.abs(pred - cls_d).max() / classify_mean.min() * 100), 3),
        },
        "method": ("Differential: {} base pipelines (sliding and threshold, int8 and float32, 3-8 features, 1-3 "
                   "layers, with and without an unknown threshold) built without post-processing and with each "
                   "of {} (vote, refractory, "
                   "background) settings (vote 1..32, refractory 0..300 samples); every constant is the "
                   "post-processing build minus its base build (arm-none-eabi-size of kp.o, -fstack-usage, "
                   "QEMU -icount SysTick means of the classifying kp_add_sample calls on the synthetic "
                   "recording; the idle calls' difference is reported, within the 40-instruction SysTick "
                   "resolution of zero). The vote's instructions are fitted on the mean ring fill "
                   "n = min(vote, windows since reset) of the measured windows (n and n^2 terms); the "
                   "estimate uses the steady state n = vote. Identity post-processing (vote 1, refractory "
                   "0) generates no code (kp.c does not include kp_post.h), so the other constants are "
                   "independent of it.").format(len(pairs), len(POST_SETTINGS)),
    }


def merge_post(out: dict, post: dict, when: str) -> dict:
    """Write :func:`fit_post`'s constants into a constants dict (its ``code``/``stack``/``classify``)."""
    for section in ("code", "stack", "classify"):
        out[section] = {**out[section], **{k: round(v, 4 if section == "classify" else 3)
                                           for k, v in post[section].items()}}
    out["post"] = {"generated": when, "method": post["method"], "validation": post["validation"],
                   "ram": ("exact from the C types (automl.cost._model.post_ram): kp_post_t = 7 words + the "
                           "vote's int8 ring rounded up to a word, plus kp.c's emitted output and window count "
                           "(2 words)")}
    out.setdefault("docs", {})["post"] = ("post-processing constants (code 'post', stack 'post:<q>', classify "
                                          "'post:*'): measured as differences, see 'post'")
    return out


# ------------------------------------------------------------------ component sizes (drivers)
DRIVERS = {
    "inference_int8": ('#include "kp_mlp.h"\n'
                       "int drv(const kp_mlp_int8_t *m, const int8_t *in, int8_t *s, int8_t *l, int8_t *p)\n"
                       "{ return kp_mlp_run_int8(m, in, s, l, p); }\n"),
    "inference_float32": ('#include "kp_mlp.h"\n'
                          "int drv(const kp_mlp_f32_t *m, const float *in, float *s, float *l, float *p)\n"
                          "{ return kp_mlp_run_f32(m, in, s, l, p); }\n"),
    "segmenter_sliding": ('#include "kp_segment.h"\n'
                          "int drv(kp_seg_t *s, const int16_t *x, float *w)\n"
                          "{ if (kp_seg_add_sample(s, x)) { kp_seg_copy_window(s, w); return 1; } return 0; }\n"
                          "int drv_init(kp_seg_t *s) { return kp_seg_init_sliding(s, 100, 6, 10); }\n"),
    "scaler_int8": ('#include "kp_scaler.h"\n'
                    "void drv(const float *x, const float *lo, const float *hi, int n, uint8_t *u, int8_t *q)\n"
                    "{ kp_scale_u8_vec(x, lo, hi, n, u); kp_u8_to_int8_vec(u, n, 0, q); }\n"),
    "scaler_float32": ('#include "kp_scaler.h"\n'
                       "void drv(const float *x, const float *lo, const float *hi, int n, uint8_t *u, float *q)\n"
                       "{ kp_scale_u8_vec(x, lo, hi, n, u); kp_u8_to_f32_vec(u, n, q); }\n"),
}


def driver_sizes(work: Path) -> dict[str, int]:
    """Code bytes of each runtime component compiled alone (a small driver around the header)."""
    out = {}
    d = work / "drivers"
    d.mkdir(parents=True, exist_ok=True)
    for name, src in DRIVERS.items():
        c = d / f"{name}.c"
        c.write_text(src)
        obj = d / f"{name}.o"
        subprocess.run(["arm-none-eabi-gcc", "-std=c99", *M4_FLAGS.split(), "-I", str(REPO / "firmware" / "runtime"),
                        "-c", "-o", str(obj), str(c)], check=True, capture_output=True)
        s = size_sections(obj)
        out[name] = s.get(".text", 0) + s.get(".rodata", 0)
    return out


# ------------------------------------------------------------------ CPI from instruction traces
_INSN = re.compile(r"^0x([0-9a-f]+):\s+([0-9a-f]{4})(?: ([0-9a-f]{4}))?\s+(\S+)\s*(.*)$")
_TRACE = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/[0-9a-f]+\] (\S*)")
_COND = {"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "hs", "lo"}


def _reglist(ops: str) -> int:
    inner = ops[ops.index("{") + 1:ops.index("}")]
    n = 0
    for part in inner.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-")
            n += int(b.strip()[1:]) - int(a.strip()[1:]) + 1
        else:
            n += 1
    return n


def trm_class(mnemonic: str, ops: str) -> tuple[str, int]:
    """Timing class of one Thumb-2 / FPv4 instruction (TRM table 3-1, table 7-1)."""
    m = mnemonic.split(".")[0]
    if m in ("b", "bl", "bx", "blx", "cbz", "cbnz") or (m[:1] == "b" and m[1:] in _COND):
        return "branch", 0
    if m in ("push", "pop", "ldm", "ldmia", "ldmdb", "stm", "stmia", "stmdb"):
        n = _reglist(ops) if "{" in ops else 1
        return ("pop_pc", n) if m.startswith(("pop", "ldm")) and "pc" in ops else ("multiple", n)
    if m in ("vpush", "vpop", "vldm", "vstm", "vldmia", "vstmia", "vldmdb", "vstmdb"):
        return "multiple", _reglist(ops)
    if m in ("ldrd", "strd"):
        return "multiple", 2
    if m.startswith(("ldr", "str")) or m in ("vldr", "vstr"):
        return ("load_pc", 0) if m.startswith("ldr") and ops.startswith("pc,") else ("load_store", 0)
    if m in ("vdiv", "vsqrt"):
        return "fixed", 14
    if m in ("vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"):
        return "fixed", 3
    if m in ("sdiv", "udiv"):
        return "fixed", 7  # 2..12 cycles, early termination: the midpoint
    if m == "mov" and ops.startswith("pc"):
        return "branch", 0
    return "fixed", 1


def trm_cycles(cls: str, n: int, taken: bool, after_load_store: bool, refill: int) -> int:
    """Cycles of one executed instruction.

    TRM table 3-1: branches 1 + P when taken (P = pipeline refill, 1..3), 1 when
    not; LDR/STR 2, 1 when pipelined after another load/store ("neighboring
    load and store single instructions can pipeline their address and data
    phases"); LDM/STM/PUSH/POP/LDRD/STRD 1 + N; POP/LDR into PC add P;
    MUL/MLA/UMULL/SMLAL 1; SDIV/UDIV 2..12. Table 7-1: VADD/VSUB/VMUL/VCMP/
    VCVT/VMOV 1, VMLA/VMLS 3, VDIV/VSQRT 14, VLDR/VSTR 2, VPUSH/VPOP 1 + N.
    """
    if cls == "branch":
        return 1 + (refill if taken else 0)
    if cls == "pop_pc":
        return 1 + n + refill
    if cls == "load_pc":
        return 2 + refill
    if cls == "multiple":
        return 1 + n
    if cls == "load_store":
        return 1 if after_load_store else 2
    return n


def cpi_from_trace(log: Path, refills=(1, 2, 3)) -> dict:
    """Instructions, TRM cycles and mix of the kp_add_sample calls in a QEMU ``-d in_asm,exec`` trace."""
    insns: dict[int, tuple[str, str, int]] = {}
    seq: list[int | None] = []
    inside, prev = False, None
    with open(log, errors="replace") as fh:
        for line in fh:
            if line.startswith("0x"):
                m = _INSN.match(line.rstrip("\n"))
                if m:
                    insns[int(m.group(1), 16)] = (m.group(4), m.group(5), 4 if m.group(3) else 2)
            elif line.startswith("Trace"):
                m = _TRACE.match(line)
                if not m:
                    continue
                pc, sym = int(m.group(1), 16), m.group(2)
                if not inside and sym == "kp_add_sample" and prev == "main":
                    inside = True
                    seq.append(None)
                elif inside and sym == "main":
                    inside = False
                if inside:
                    seq.append(pc)
                prev = sym
    cycles = dict.fromkeys(refills, 0)
    mix: Counter = Counter()
    n = 0
    after_ls = False
    for i, pc in enumerate(seq):
        if pc is None:
            after_ls = False
            continue
        mnem, ops, size = insns[pc]
        nxt = seq[i + 1] if i + 1 < len(seq) else None
        taken = nxt is not None and nxt != pc + size
        cls, k = trm_class(mnem, ops)
        for p in refills:
            cycles[p] += trm_cycles(cls, k, taken, after_ls, p)
        after_ls = cls == "load_store"
        n += 1
        mix[cls + ("_taken" if cls == "branch" and taken else "")] += 1
    return {"instructions": n, "cycles": cycles, "mix": dict(mix)}


def measure_cpi(rows: list[dict], work: Path, n_traces: int = 8) -> dict:
    """CPI of the kp_add_sample instruction mix of a few representative calibration pipelines."""
    from automl.export import write_firmware

    rng = random.Random(3)
    # Traces log every instruction (~80 bytes each): pipelines of at most 300k instructions per window.
    picks = [r for r in rows if r["cfg"]["grid"] == "random" and r["insns"]["classify"]["mean"] < 300_000]
    picks = rng.sample(picks, min(n_traces, len(picks)))
    # and the two extremes: a sort-heavy and a network-heavy build
    picks += [r for r in rows if r["cfg"]["grid"] == "network" and r["cfg"]["layers"] == [32, 32, 32]][:2]
    picks += [r for r in rows if r["cfg"]["grid"] == "single" and "median" in r["cfg"]["features"][0]][:1]
    per = []
    tdir = work / "traces"
    tdir.mkdir(parents=True, exist_ok=True)
    for r in picks:
        c = r["cfg"]
        fp = make_pipeline(c)
        folder = tdir / "fw"
        write_firmware(fp.tflite, json.loads(fp.to_json()), folder, study=fp.study, trial=0, overwrite=True,
                       measure=False)
        build = tdir / "build"
        shutil.rmtree(build, ignore_errors=True)
        subprocess.run(["make", "-s", "-C", str(folder), f"BUILD={build}", f"{build}/qemu/kp_stream.elf"],
                       check=True, capture_output=True, env=_make_env())
        n_ch = c.get("n_channels", 6)
        seg = c["segmenter"]
        n = c["window"] + 3 * seg["slide"] + 1 if seg["kind"] == "sliding" else 700
        rec = write_csv(tdir / "rec.csv", synthetic_recording(RECORDING_SAMPLES, n_ch)[:n])
        log = tdir / "trace.log"
        subprocess.run(["timeout", "600", "qemu-system-arm", "-machine", "mps2-an386", "-nographic", "-monitor",
                        "none", "-serial", "none", "-icount", "shift=0,align=off,sleep=off", "-semihosting-config",
                        f"enable=on,target=native,arg=kp_stream,arg={rec}", "-kernel",
                        str(build / "qemu" / "kp_stream.elf"), "-singlestep", "-d", "in_asm,exec,nochain",
                        "-D", str(log)], check=True, capture_output=True)
        t = cpi_from_trace(log)
        log.unlink()
        t["pipeline"] = {"features": len(c["features"]), "window": c["window"], "layers": c["layers"],
                         "quantization": c["quant"], "segmenter": seg["kind"]}
        per.append(t)
        print(f"  trace: {t['instructions']} instructions, CPI {t['cycles'][2] / t['instructions']:.3f}", flush=True)
    shutil.rmtree(tdir, ignore_errors=True)
    tot_i = sum(t["instructions"] for t in per)
    cpi = {p: sum(t["cycles"][p] for t in per) / tot_i for p in (1, 2, 3)}
    per_cpi = [t["cycles"][2] / t["instructions"] for t in per]
    mix: Counter = Counter()
    for t in per:
        mix.update(t["mix"])
    return {
        "value": round(cpi[2], 4),
        "refill_cycles_assumed": 2,
        "value_if_refill_1": round(cpi[1], 4),
        "value_if_refill_3": round(cpi[3], 4),
        "per_trace_range": [round(min(per_cpi), 4), round(max(per_cpi), 4)],
        "instructions_traced": tot_i,
        "mix": {k: round(v / tot_i, 4) for k, v in sorted(mix.items())},
        "source": TRM_SOURCE,
        "method": ("Every kp_add_sample call of {} calibration pipelines was traced instruction by instruction "
                   "under QEMU (-singlestep -d in_asm,exec,nochain); each executed instruction gets its "
                   "Cortex-M4 TRM cycle count (taken branches 1+P with the pipeline refill P = 2, the middle "
                   "of the TRM's 1..3; loads/stores 2, 1 when pipelined after another; LDM/STM/PUSH/POP 1+N; "
                   "VDIV/VSQRT 14; VMLA 3; everything else 1). CPI = total cycles / total instructions. "
                   "Zero-wait-state memory is assumed (flash wait states and caches are "
                   "board-specific).").format(len(per)),
    }


# ------------------------------------------------------------------ TensorFlow Lite Micro variant
def arena_bytes(tflite: bytes) -> int:
    """'Arena allocation total' printed by tflite-micro's print_allocations (C stderr captured)."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite, arena_size=1 << 16)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as fh:
        os.dup2(fh.fileno(), 2)
        try:
            interp.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        fh.seek(0)
        text = fh.read().decode(errors="replace")
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if not m:
        raise RuntimeError(f"print_allocations printed no arena total: {text[:300]!r}")
    return int(m.group(1))


def fit_tflm(seed: int = 11) -> dict:
    rng = random.Random(seed)
    t_terms, t_y, a_terms, a_y = [], [], [], []
    shapes = []
    for q in ("int8", "float32"):
        for _ in range(40):
            k = rng.randint(2, 32)
            layers = [rng.choice([4, 6, 8, 12, 16, 24, 32]) for _ in range(rng.randint(1, 3))]
            ncls = rng.randint(3, 8)
            shapes.append((k, layers, ncls, q))
    for k, layers, ncls, q in shapes:
        tfl = tiny_model(k, layers, ncls, q, seed=2)
        widths = [k, *layers, ncls]
        t_terms.append(M.tflite_terms(widths, q))
        t_y.append(len(tfl))
        a_terms.append(M.arena_terms(widths, q))
        a_y.append(arena_bytes(tfl))
    t_y, a_y = np.array(t_y, float), np.array(a_y, float)
    t_coef, t_cv, _ = wlstsq(t_terms, t_y, 1.0 / t_y)
    a_coef, a_cv, _ = wlstsq(a_terms, a_y, 1.0 / a_y)
    allm = np.ones(len(t_y), bool)
    return {
        "tflite": t_coef, "arena": a_coef,
        "validation": {"tflite_bytes_pct": _err_stats(t_cv, t_y, t_y, allm),
                       "arena_bytes_pct": _err_stats(a_cv, a_y, a_y, allm), "models": len(shapes)},
        "interpreter_code_bytes": 16384,
        "interpreter_source": ("TensorFlow Lite for Microcontrollers documentation and the tflite-micro README "
                               "(tensorflow/lite/micro/README.md, tensorflow.org/lite/microcontrollers): 'The "
                               "core runtime fits in 16KB on a Cortex M3, and with enough operators to run a "
                               "speech keyword detection model, takes up a total of 22KB.' A published figure, "
                               "not measured here: the tflite-micro pip package ships no C sources, so TFLM "
                               "cannot be built for the Cortex-M4 from it."),
        "kernel_code": ("The FULLY_CONNECTED and SOFTMAX kernels are counted with the code size of this "
                        "product's C twins of TFLM's reference kernels (firmware/runtime/kp_mlp.h, measured "
                        "above): same algorithms, without TFLM's Prepare/Init code, so a lower bound."),
        "arena_source": ("tflite_micro.runtime.Interpreter.print_allocations() 'Arena allocation total' of each "
                         "converted model, fitted by least squares; the pip package is a 64-bit host build, "
                         "so pointer-holding structures are larger than on the 32-bit Cortex-M4: an upper "
                         "bound."),
    }


def tflm_constants(tflm: dict) -> dict:
    """``constants.json``'s ``tflite_micro`` section from :func:`fit_tflm` (coefficients rounded to 3 places)."""
    return {**tflm, "tflite": _round(tflm["tflite"], 3), "arena": _round(tflm["arena"], 3)}


# ------------------------------------------------------------------ sort work on real data
def sort_shift_fraction(data: Path | None) -> dict:
    """Mean insertion-sort moves of real windows as a fraction of the random-order expectation W(W-1)/4."""
    if data is None or not Path(data).is_dir():
        return {"value": 1.0, "source": "no data given: random order assumed (W(W-1)/4 moves per sort)"}
    from automl.data import auto_counts_scale, import_dataset, to_counts

    ds = import_dataset(Path(data), "label-column", background="NoActivity", label_column="label")
    train, _ = ds.split("acc_gyr_experiment_all_*")
    counts = to_counts(train, auto_counts_scale(train))
    rng = np.random.default_rng(0)
    fractions = []
    channels = list(counts.channels)
    for W in (60, 120, 180, 240):
        for cap in counts.captures:
            if cap.data.shape[0] <= W:
                continue
            for s in rng.integers(0, cap.data.shape[0] - W, 20):
                for ch in [*channels, "accMag", "gyrMag"]:
                    x = window_channel(cap.data, channels, ch, int(s), W)
                    fractions.append(inversions(x) / (W * (W - 1) / 4))
    return {"value": round(float(np.mean(fractions)), 4), "std_per_window": round(float(np.std(fractions)), 4),
            "windows": len(fractions),
            "source": (f"training captures of {Path(data).name} (held-out acc_gyr_experiment_all_* excluded), "
                       "int16 counts, windows of 60/120/180/240 samples at random starts, every raw and "
                       "magnitude channel: mean moves / (W(W-1)/4)")}


# ------------------------------------------------------------------ main
def _round(d: dict, nd: int = 3) -> dict:
    return {k: round(v, nd) for k, v in sorted(d.items())}


DOCS = {
    "layout": ("bytes of fixed structures of the generated code: least-squares residual of the measured "
               "sections after the sizes that follow from C types (kp_model.o .rodata per layer and per model; "
               "kp.o .rodata: model info struct and the int8 softmax exp table; .data+.bss: the segmenter "
               "struct's fixed fields (22 words, kp_segment.h) and the other globals)"),
    "thresholds": ("call sites of a kp_features.h function from which GCC -Os keeps one out-of-line copy "
                   "(.constprop) instead of inlining: the majority decision in the calibration builds, read "
                   "from the -fstack-usage function list"),
    "code": ("bytes of machine code in kp.o per term of automl.cost._model.code_terms: non-negative weighted "
             "least squares (relative to the library's flash) of .text + .rodata of kp.o minus its exact "
             "constants"),
    "stack": "bytes of the -fstack-usage sum per term of stack_terms: least squares",
    "classify": ("instructions of one classifying kp_add_sample call per term of classify_terms: weighted least "
                 "squares (relative error) of the QEMU -icount SysTick mean over the classified windows; "
                 "sort moves counted exactly from the recording and the printed window starts"),
    "ingest": "instructions of a kp_add_sample call that completes no window, per term of ingest_terms",
    "components": ("code bytes of runtime components compiled alone with small drivers (kp_mlp.h network + "
                   "softmax + argmax, kp_segment.h sliding ingest + window copy, kp_scaler.h): used only to "
                   "split the fitted base code into breakdown components"),
}


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "calibrate_cost")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--random", type=int, default=400, help="random pipelines in the grid")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "boxing-punches")
    ap.add_argument("--out", type=Path, default=REPO / "automl" / "cost" / "constants.json")
    ap.add_argument("--traces", type=int, default=8, help="random pipelines traced for the CPI")
    ap.add_argument("--post-only", action="store_true",
                    help="measure only the post-processing constants and merge them into the existing --out file")
    ap.add_argument("--tflm-only", action="store_true",
                    help="refit only the TensorFlow Lite Micro variant (.tflite size, arena) into the --out file")
    args = ap.parse_args(argv)
    if args.tflm_only:
        t0 = time.time()
        old = json.loads(args.out.read_text())
        tflm = fit_tflm()
        old["tflite_micro"] = tflm_constants(tflm)
        write_json(args.out, old)
        print(f"wrote the TensorFlow Lite Micro constants into {args.out} ({time.time() - t0:.0f} s): "
              f"validation {json.dumps(tflm['validation'])}")
        return 0
    missing = [t for t in ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm", "make") if not shutil.which(t)]
    if missing:
        print(f"calibrate_cost: not on PATH: {', '.join(missing)}", file=sys.stderr)
        return 1
    tools = tool_versions()
    t0 = time.time()
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if args.post_only:
        old = json.loads(args.out.read_text())
        if {k: old["toolchain"].get(k) for k in tools} != tools:
            print(f"calibrate_cost: {args.out} was measured with {old['toolchain']}, this machine has {tools}; "
                  "run the whole calibration", file=sys.stderr)
            return 1
        post = fit_post(args.work, args.jobs, tools)
        write_json(args.out, merge_post(old, post, now))
        print(f"wrote the post-processing constants into {args.out} ({time.time() - t0:.0f} s)")
        print(f"  {json.dumps({k: post[k] for k in ('code', 'stack', 'classify')})}")
        print(f"  validation {json.dumps(post['validation'])}")
        return 0
    grid = build_grid(args.random)
    rows = collect(grid, args.work, args.jobs, tools)
    recs = {n: synthetic_recording(RECORDING_SAMPLES, n) for n in CHANNEL_SETS}
    print(f"fitting {len(rows)} builds", flush=True)
    fit = fit_all(rows, recs)
    components = driver_sizes(args.work)
    print("tracing for the CPI", flush=True)
    cpi = measure_cpi(rows, args.work, args.traces)
    print("post-processing", flush=True)
    post = fit_post(args.work, args.jobs, tools)
    print("TensorFlow Lite Micro variant", flush=True)
    tflm = fit_tflm()
    shifts = sort_shift_fraction(args.data)
    out = {
        "version": VERSION,
        "generated": now,
        "generated_by": "benchmarks/calibrate_cost.py",
        "toolchain": {**tools, "flags": M4_FLAGS, "board": "QEMU mps2-an386, -icount shift=0,align=off,sleep=off"},
        "builds": fit["n_builds"],
        "docs": DOCS,
        "layout": fit["layout"],
        "thresholds": dict(sorted(fit["thresholds"].items())),
        "code": _round(fit["code"], 2),
        "stack": _round(fit["stack"], 2),
        "classify": _round(fit["classify"], 4),
        "ingest": _round(fit["ingest"], 3),
        "components": components,
        "cpi": cpi,
        "sort_shift_fraction": shifts,
        "tflite_micro": tflm_constants(tflm),
        "validation": fit["validation"],
        "seconds": round(time.time() - t0),
    }
    write_json(args.out, merge_post(out, post, now))
    v = fit["validation"]
    print(f"wrote {args.out} ({time.time() - t0:.0f} s)")
    print(f"  code CV (random): {v['flash_code_pct_of_library_flash']['random']}")
    print(f"  classify instructions CV (random): {v['classify_instructions_pct']['random']}")
    print(f"  CPI {cpi['value']} (refill 1..3: {cpi['value_if_refill_1']}..{cpi['value_if_refill_3']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
