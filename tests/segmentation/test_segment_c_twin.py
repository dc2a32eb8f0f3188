"""C twin parity: firmware/runtime/kp_segment.h against automl.segmentation.

A host C harness streams a real boxing capture, converted to int16 counts,
sample by sample through kp_segment.h and prints the start of every window,
an FNV-1a checksum of the float bits of its copied-out contents, and (threshold
mode) the float bits of every detection value. The Python segmenters, run on
the same counts as float32, must give the same starts, contents and bits.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from automl.data import Capture, Dataset, load_dataset
from automl.segmentation import (
    SlidingWindow,
    ThresholdWindow,
    column_sources,
    detection_signal,
    threshold_from_quantile,
)

GCC = shutil.which("gcc")
ARM_GCC = shutil.which("arm-none-eabi-gcc")
RUNTIME = Path(__file__).resolve().parents[2] / "firmware" / "runtime"
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off", "-Wdouble-promotion"]
CAPTURE = "acc_gyr_experiment_all_left"  # all three punch types, 5670 samples

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kp_segment.h"

static kp_seg_t seg;
static float window[KP_SEG_MAX_WINDOW * KP_SEG_MAX_CHANNELS];
static int16_t sample[KP_SEG_MAX_CHANNELS];

static uint32_t fnv1a(const float *x, int n)
{
    uint32_t h = 2166136261u, bits;
    int i;
    for (i = 0; i < n; ++i) {
        memcpy(&bits, &x[i], sizeof bits);
        h = (h ^ bits) * 16777619u;
    }
    return h;
}

/* harness FILE C sliding W SLIDE
   harness FILE C threshold W NSRC S0 S1 S2 MODE D THRBITS LOOKBACK SLIDE */
int main(int argc, char **argv)
{
    FILE *f;
    int c, w, rc;
    float d;
    uint32_t t = 0;
    if (argc < 6) {
        return 2;
    }
    c = atoi(argv[2]);
    w = atoi(argv[4]);
    if (strcmp(argv[3], "sliding") == 0) {
        rc = kp_seg_init_sliding(&seg, w, c, atoi(argv[5]));
    } else {
        int src[3];
        uint32_t tb;
        float thr;
        if (argc != 14) {
            return 2;
        }
        src[0] = atoi(argv[6]);
        src[1] = atoi(argv[7]);
        src[2] = atoi(argv[8]);
        tb = (uint32_t)strtoul(argv[11], NULL, 16);
        memcpy(&thr, &tb, sizeof thr);
        rc = kp_seg_init_threshold(&seg, w, c, atoi(argv[5]), src, atoi(argv[9]), atoi(argv[10]), thr,
                                   atoi(argv[12]), atoi(argv[13]));
    }
    if (rc != KP_SEG_OK) {
        printf("init %d\n", rc);
        return 0;
    }
    f = fopen(argv[1], "rb");
    if (f == NULL) {
        return 3;
    }
    while (fread(sample, sizeof(int16_t), (size_t)c, f) == (size_t)c) {
        int ready = kp_seg_add_sample(&seg, sample);
        if (seg.kind == KP_SEG_THRESHOLD) {
            uint32_t db;
            if (kp_seg_detection(&seg, &d)) {
                memcpy(&db, &d, sizeof db);
                printf("d %lu %08lx\n", (unsigned long)t, (unsigned long)db);
            }
        }
        if (ready) {
            kp_seg_copy_window(&seg, window);
            printf("w %lu %08lx\n", (unsigned long)kp_seg_window_start(&seg),
                   (unsigned long)fnv1a(window, w * c));
        }
        ++t;
    }
    fclose(f);
    return 0;
}
"""

pytestmark = pytest.mark.skipif(GCC is None, reason="gcc not on PATH")


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("kp_segment")
    (d / "harness.c").write_text(HARNESS)
    exe = d / "harness"
    subprocess.run([GCC, *FLAGS, f"-I{RUNTIME}", "-o", str(exe), str(d / "harness.c"), "-lm"],
                   check=True, capture_output=True, text=True)
    return exe


@pytest.fixture(scope="module")
def counts(boxing_dir, tmp_path_factory) -> tuple[Dataset, Path]:
    """One real capture as int16 counts: round(x * 1000) for acc (m/s^2) and gyr (rad/s), clipped."""
    ds = load_dataset(boxing_dir).subset([CAPTURE])
    cap = ds.captures[0]
    ints = np.clip(np.round(cap.data.astype(np.float64) * 1000.0), -32768, 32767).astype(np.int16)
    path = tmp_path_factory.mktemp("counts") / "capture.i16"
    ints.tofile(path)  # native byte order, read back with fread
    as_counts = Dataset(ds.name, ds.channels, ds.sample_rate_hz, [Capture(cap.name, ints.astype(np.float32))],
                        ds.segments, ds.background)
    return as_counts, path


def _run(exe: Path, path: Path, n_ch: int, args: list) -> tuple[list[tuple[int, int]], dict[int, int]]:
    out = subprocess.run([str(exe), str(path), str(n_ch), *map(str, args)],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    windows, det = [], {}
    for line in out.splitlines():
        kind, a, b = line.split()
        if kind == "w":
            windows.append((int(a), int(b, 16)))
        elif kind == "d":
            det[int(a)] = int(b, 16)
        else:
            raise AssertionError(line)
    return windows, det


def _fnv1a(X: np.ndarray) -> np.ndarray:
    """FNV-1a over the float32 bits of each window, row-major (sample, channel)."""
    words = np.ascontiguousarray(X, dtype=np.float32).view(np.uint32).reshape(X.shape[0], -1)
    h = np.full(X.shape[0], 2166136261, dtype=np.uint32)
    for i in range(words.shape[1]):  # one step per position, vectorised over windows
        h = (h ^ words[:, i]) * np.uint32(16777619)
    return h


def _bits(x: float) -> str:
    return f"{int(np.float32(x).view(np.uint32)):08x}"


@pytest.mark.parametrize("window_size,slide", [(120, 30), (50, 70), (1, 1)])
def test_sliding_matches_python(harness, counts, window_size, slide):
    ds, path = counts
    got, det = _run(harness, path, len(ds.channels), ["sliding", window_size, slide])
    w = SlidingWindow(window_size, slide).transform(ds)
    assert not det
    assert len(w) > 0
    assert [s for s, _ in got] == w.start.tolist()
    assert [h for _, h in got] == _fnv1a(w.X).tolist()


# (column, mode, detection_window, quantile, lookback, slide, window_size)
THRESHOLD_CASES = [
    ("accMag", "absolute", 1, 0.9, 30, 60, 120),
    ("accMag", "std", 10, 0.9, 30, 60, 120),
    ("gyrMag", "std", 25, 0.8, 40, 15, 100),     # overlapping windows: up to 60/15+1 = 5 pending
    ("accX", "absolute", 1, 0.95, 0, 20, 80),   # raw column
    ("gyrZ", "std", 7, 0.9, 99, 5, 100),        # lookback = W-1: emitted at the trigger sample
    ("accZ", "std", 50, 0.9, 10, 3, 40),        # detection window longer than the window
]


@pytest.mark.parametrize("column,mode,dw,q,lookback,slide,window_size", THRESHOLD_CASES)
def test_threshold_matches_python(harness, counts, column, mode, dw, q, lookback, slide, window_size):
    ds, path = counts
    thr = threshold_from_quantile(ds, column, mode, dw, q)
    src = list(column_sources(ds.channels, column))
    args = ["threshold", window_size, len(src), *(src + [0, 0])[:3], 0 if mode == "absolute" else 1, dw,
            _bits(thr), lookback, slide]
    got, det = _run(harness, path, len(ds.channels), args)
    seg = ThresholdWindow(window_size, column, thr, mode=mode, detection_window=dw, lookback=lookback, slide=slide)
    w = seg.transform(ds)
    # Detection values, bit for bit, where defined.
    d = detection_signal(ds.captures[0].data, ds.channels, column, mode, dw)
    defined = np.flatnonzero(~np.isnan(d))
    assert sorted(det) == defined.tolist()
    assert [det[t] for t in defined.tolist()] == d[defined].view(np.uint32).tolist()
    # Windows: starts and contents.
    assert [s for s, _ in got] == w.start.tolist()
    assert [h for _, h in got] == _fnv1a(w.X).tolist()
    assert len(w) >= 10


def test_threshold_capacity_and_bad_arguments_are_reported(harness, counts):
    _, path = counts
    # slide 1, lookback 0, W 120 needs 120 pending entries > KP_SEG_MAX_PENDING (16): KP_SEG_ECAPACITY.
    res = subprocess.run([str(harness), str(path), "6", "threshold", "120", "1", "0", "0", "0", "0", "1",
                          _bits(1.0), "0", "1"], check=True, capture_output=True, text=True).stdout
    assert res.strip() == "init -2"
    # lookback == window_size: KP_SEG_EBADARG.
    res = subprocess.run([str(harness), str(path), "6", "threshold", "50", "1", "0", "0", "0", "0", "1",
                          _bits(1.0), "50", "10"], check=True, capture_output=True, text=True).stdout
    assert res.strip() == "init -1"


@pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc not on PATH")
def test_header_compiles_for_cortex_m4_without_double(tmp_path):
    src = tmp_path / "m4.c"
    src.write_text(
        '#define KP_SEG_MAX_WINDOW 120\n#define KP_SEG_MAX_CHANNELS 6\n#include "kp_segment.h"\n'
        "static kp_seg_t seg;\nstatic float win[120 * 6];\n"
        "int step(const int16_t *s) {\n"
        "    static const int src[3] = {0, 1, 2};\n"
        "    if (seg.window_size == 0 && kp_seg_init_threshold(&seg, 120, 6, 3, src, KP_SEG_STD, 10, 1500.0f, 30, 60) != KP_SEG_OK) return -1;\n"
        "    if (kp_seg_add_sample(&seg, s)) { kp_seg_copy_window(&seg, win); return (int)kp_seg_window_start(&seg); }\n"
        "    return -1;\n}\n"
    )
    subprocess.run([ARM_GCC, *FLAGS, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2",
                    f"-I{RUNTIME}", "-c", "-o", str(tmp_path / "m4.o"), str(src)],
                   check=True, capture_output=True, text=True)
