"""Benchmark: feature extraction throughput on the real boxing-punches data.

Windows the data (default 120 samples, slide 10) as int16 ADC counts, then
measures, in this one run:

* the vectorised extractor (``FeatureExtractor.transform``, all families,
  magnitudes on) over every window, best of ``--repeat`` runs;
* a per-window Python loop calling the same generators on one window at a
  time (magnitude, then every generator of every family), on the first
  ``--loop-windows`` windows;

and prints windows per second for both, their ratio, and the per-family
share of the vectorised time. Usage (from the repo root):

    python benchmarks/features.py [--window 120] [--slide 10] [--loop-windows 200]

The data path is ../shared/data/boxing-punches relative to the repo root.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from automl.data import auto_counts_scale, load_dataset, to_counts
from automl.features import FeatureContext, FeatureExtractor, WindowBlock, available_families, get_generators
from automl.features._transforms import add_magnitudes, plan_magnitudes, plan_pairs
from automl.segmentation import SlidingWindow

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boxing-punches"


def per_window_loop(X: np.ndarray, channels: list[str], ctx: FeatureContext) -> np.ndarray:
    """Features of each window computed alone: one WindowBlock of one window per call.

    Args:
        X: ``(n_windows, window_size, n_channels) float32`` ADC counts.
        channels: channel names.
        ctx: sample rate and band count.

    Returns:
        ``(n_windows, n_features) float32`` in the extractor's column order.
    """
    mags = plan_magnitudes(channels)
    pairs = plan_pairs(channels)
    ia = [a for a, _ in pairs]
    ib = [b for _, b in pairs]
    gens = [g for fam in available_families() for g in get_generators(fam)]
    rows = []
    for x in X:
        T = add_magnitudes(np.ascontiguousarray(x[:, None, :]), mags)  # (w, 1, channels)
        block = WindowBlock(T, ctx)
        a, b = WindowBlock(np.ascontiguousarray(T[:, :, ia]), ctx), WindowBlock(np.ascontiguousarray(T[:, :, ib]), ctx)
        row = [(g.func(a, b) if g.kind == "pair" else g.func(block)).reshape(-1) for g in gens]
        rows.append(np.concatenate(row))
    return np.stack(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=int, default=120)
    ap.add_argument("--slide", type=int, default=10)
    ap.add_argument("--loop-windows", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    ds = load_dataset(DATA)
    counts = to_counts(ds, auto_counts_scale(ds))
    X = SlidingWindow(args.window, args.slide).transform(counts).X
    channels = list(ds.channels)
    fx = FeatureExtractor(channels, families=available_families(), magnitude=True,
                          sample_rate_hz=float(ds.sample_rate_hz))
    n, w, c = X.shape
    n_features = len(fx.feature_names())
    print(f"data: {n} windows x {w} samples x {c} channels (int16 counts), {n_features} features, "
          f"families {', '.join(available_families())}")

    fx.transform(X[:50])  # warm-up
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        F = fx.transform(X)
        best = min(best, time.perf_counter() - t0)
    vec_rate = n / best
    print(f"vectorised:        {vec_rate:10.0f} windows/s  ({best:.2f} s for {n} windows, best of {args.repeat})")

    m = min(args.loop_windows, n)
    ctx = FeatureContext(float(ds.sample_rate_hz), 4)
    t0 = time.perf_counter()
    L = per_window_loop(X[:m], channels, ctx)
    loop_s = time.perf_counter() - t0
    loop_rate = m / loop_s
    print(f"per-window loop:   {loop_rate:10.0f} windows/s  ({loop_s:.2f} s for {m} windows)")
    print(f"speed-up (vectorised / per-window loop): {vec_rate / loop_rate:.0f}x")
    same = bool((L.view(np.uint32) == F[:m].view(np.uint32)).all())
    print(f"per-window loop gives the same bits as the vectorised run: {same}")

    print("vectorised time per family (all windows):")
    for fam in available_families():
        fam_fx = FeatureExtractor(channels, families=(fam,), sample_rate_hz=float(ds.sample_rate_hz))
        t0 = time.perf_counter()
        fam_fx.transform(X)
        dt = time.perf_counter() - t0
        print(f"  {fam:14s} {dt:6.2f} s  {len(fam_fx.feature_names()):4d} features  {n / dt:10.0f} windows/s")


if __name__ == "__main__":
    main()
