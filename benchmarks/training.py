"""Benchmark: plain ``keras.Model.fit`` vs the compiled tiny-MLP training loop (issue 7).

On the real boxing-punches data, measured in this one run with one TensorFlow
thread (``TF_NUM_INTRAOP_THREADS=1``, ``TF_NUM_INTEROP_THREADS=1``, as the
search's workers), for a few architectures x ``--seeds`` seeds:

1. ``train_mlp(..., fast=False)`` and ``train_mlp(..., fast=True)`` with early
   stopping on a grouped validation split of the training captures: seconds
   per training (plain, fast, ratio), epochs run, and the held-out test macro
   F1 / accuracy of the Keras model and of its int8 TFLite conversion (TFLite
   Micro), mean +- std over seeds, with a Welch t-test p-value per config and
   a paired (same seed, same initial weights) test over all runs;
2. 100 epochs on all training windows without validation (the search's final
   refit): fast-path median seconds per architecture, and plain for one seed;
3. 15 warm-up calls then 30 consecutive fast calls with different shapes
   (inputs, widths, depth, classes, data size, dropout): seconds per call and
   peak RSS of the first and second 15 (must not grow), graphs traced.

Pipeline: ``load_dataset`` -> ADC counts (``to_counts(auto_counts_scale)``, as
the search) -> ``Dataset.split("acc_gyr_experiment_all_*")`` (held-out test)
-> ``SlidingWindow(120, 20)`` -> ``FeatureExtractor(channels)`` (Statistical
features, magnitudes) -> ``TreeSelector(k=16)`` and ``MinMaxUint8Scaler``
fitted on the training part of the split -> ``/ 255`` float32.

Usage (from the repo root): ``python benchmarks/training.py [--seeds 5] [--no-int8]``.
The data path is ../shared/data/boxing-punches relative to the repo root.
"""

from __future__ import annotations

import os

# Before TensorFlow is imported (the search sets these per worker).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from automl.data import auto_counts_scale, grouped_folds, load_dataset, to_counts  # noqa: E402
from automl.features import FeatureExtractor  # noqa: E402
from automl.metrics import classification_metrics  # noqa: E402
from automl.model import MLPConfig, train_mlp  # noqa: E402
from automl.segmentation import SlidingWindow  # noqa: E402
from automl.selection import MinMaxUint8Scaler, TreeSelector  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boxing-punches"
TEST_GLOB = "acc_gyr_experiment_all_*"
# (hidden widths, dropout): a deep-narrow, a wide and a one-layer network of the search space.
ARCHITECTURES = [((16, 12, 8), 0.1), ((32, 16), 0.2), ((24,), 0.0)]


def prepare(k: int, val_fold_seed: int):
    """Features of the boxing windows, selected and scaled on the training part of a grouped split.

    Returns:
        ``(fit, val, test, all_train, classes)``: ``(x, y)`` pairs with ``x``
        ``(n, k) float32`` in [0, 1] and ``y`` ``(n,) int64``: training
        captures minus the validation fold, the validation fold (3 of the 12
        training captures, ``grouped_folds(train, 4, seed)[0]``), the held-out
        captures, and all training captures (selector and scaler refitted on
        them, for the 100-epoch timing).
    """
    ds = load_dataset(DATA)
    ds = to_counts(ds, auto_counts_scale(ds))
    train, test = ds.split(TEST_GLOB)
    classes = train.labels()
    classes += [c for c in test.labels() if c not in classes]
    seg = SlidingWindow(120, 20)
    win_train, win_test = seg.transform(train, classes), seg.transform(test, classes)
    fx = FeatureExtractor(list(ds.channels), sample_rate_hz=float(ds.sample_rate_hz))
    F_train, F_test = fx.transform(win_train.X), fx.transform(win_test.X)
    fit_caps, val_caps = grouped_folds(train, 4, seed=val_fold_seed)[0]
    groups = win_train.groups()
    fit, val = np.isin(groups, fit_caps), np.isin(groups, val_caps)

    def scaled(mask):
        selector = TreeSelector(k=k, random_state=0).fit(F_train[mask], win_train.y[mask])
        scaler = MinMaxUint8Scaler().fit(selector.transform(F_train[mask]))
        return lambda F: scaler.transform(selector.transform(F)).astype(np.float32) / np.float32(255.0)

    s = scaled(fit)
    s_all = scaled(np.ones(len(win_train), bool))
    return ((s(F_train[fit]), win_train.y[fit]), (s(F_train[val]), win_train.y[val]), (s(F_test), win_test.y),
            (s_all(F_train), win_train.y), classes)


def timed_train(*args, **kwargs):
    """``train_mlp``, its wall seconds and its process CPU seconds (all threads).

    CPU seconds are what the training itself costs when the machine is shared
    (with one TensorFlow thread, wall = CPU on an idle machine).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    result = train_mlp(*args, **kwargs)
    return result, time.perf_counter() - t0, time.process_time() - c0


def test_scores(model, x_fit, x_test, y_test, classes, int8: bool) -> dict:
    """Held-out macro F1 and accuracy of the Keras model (and of its int8 TFLite model)."""
    pred = np.asarray(model(x_test, training=False)).argmax(axis=1)
    m = classification_metrics(y_test, pred, classes)
    out = {"f1": m["macro_f1"], "acc": m["accuracy"]}
    if int8:
        from automl.quantization import TFLiteModel, convert

        # The converter's Keras export prints "Saved artifact at ..." to stdout.
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            tfl = TFLiteModel(convert(model, x_fit, "int8"))
        m8 = classification_metrics(y_test, tfl.predict(x_test), classes)
        out.update(f1_int8=m8["macro_f1"], acc_int8=m8["accuracy"])
    return out


def ms(values) -> str:
    """``mean +- std`` of a list (std with ddof=1)."""
    v = np.asarray(values, float)
    return f"{v.mean():.4f} +- {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"


def main() -> None:
    from scipy import stats

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--no-int8", action="store_true", help="skip the int8 TFLite conversion and its scores")
    args = ap.parse_args()
    int8 = not args.no_int8

    print(f"threads: intra {os.environ['TF_NUM_INTRAOP_THREADS']}, inter {os.environ['TF_NUM_INTEROP_THREADS']}; "
          f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    (x_fit, y_fit), (x_val, y_val), (x_test, y_test), (x_all, y_all), classes = prepare(args.k, val_fold_seed=0)
    print(f"windows: fit {len(y_fit)}, validation {len(y_val)} (grouped), test {len(y_test)} (held out), "
          f"all training {len(y_all)}; k={args.k}; classes {classes}")

    # ---- 1. plain vs fast with early stopping
    print("\n1. early stopping on the validation captures (max 100 epochs, patience 10, batch 64, Adam 3e-3)")
    pairs = {key: [] for key in ("f1", "acc", "f1_int8", "acc_int8")}
    for layers, dropout in ARCHITECTURES:
        warm = MLPConfig(layers=layers, dropout=dropout, epochs=2, seed=999)
        _, trace_s, _ = timed_train(x_fit, y_fit, len(classes), warm, x_val, y_val)  # traces the fast graph once
        rows = {"plain": [], "fast": []}
        for seed in range(args.seeds):
            config = MLPConfig(layers=layers, dropout=dropout, seed=seed)
            # Alternate the order so a change of machine load hits both paths alike.
            order = ("plain", "fast") if seed % 2 == 0 else ("fast", "plain")
            for path in order:
                result, seconds, cpu = timed_train(x_fit, y_fit, len(classes), config, x_val, y_val,
                                                   fast=path == "fast")
                row = {"s": seconds, "cpu": cpu, "epochs": len(result.history["loss"]), "best": result.best_epoch}
                row.update(test_scores(result.model, x_fit, x_test, y_test, classes, int8))
                rows[path].append(row)
        p, f = rows["plain"], rows["fast"]
        sp, sf = np.array([r["s"] for r in p]), np.array([r["s"] for r in f])
        cp, cf = np.array([r["cpu"] for r in p]), np.array([r["cpu"] for r in f])
        print(f"\n  layers {list(layers)} dropout {dropout} ({args.seeds} seeds; first fast call incl. tracing "
              f"{trace_s:.2f} s, not counted)")
        print(f"    seconds   plain {np.median(sp):6.2f} median ({ms(sp)})   fast {np.median(sf):6.3f} median "
              f"({ms(sf)})   ratio plain/fast {np.median(sp) / np.median(sf):5.1f}x")
        print(f"    CPU s     plain {np.median(cp):6.2f} median               fast {np.median(cf):6.3f} median"
              f"                      ratio {np.median(cp) / np.median(cf):5.1f}x")
        print(f"    epochs run  plain {ms([r['epochs'] for r in p])}   fast {ms([r['epochs'] for r in f])};"
              f"  best epoch plain {ms([r['best'] for r in p])}   fast {ms([r['best'] for r in f])}")
        for key, label in (("f1", "test macro F1 (Keras)"), ("acc", "test accuracy (Keras)"),
                           ("f1_int8", "test macro F1 (int8) "), ("acc_int8", "test accuracy (int8)")):
            if key not in p[0]:
                continue
            a, b = [r[key] for r in p], [r[key] for r in f]
            pairs[key] += list(zip(a, b))
            pv = stats.ttest_ind(a, b, equal_var=False).pvalue if np.std(a) + np.std(b) > 0 else 1.0
            print(f"    {label}  plain {ms(a)}   fast {ms(b)}   Welch p={pv:.2f}")
    print(f"\n  all configs, paired by seed (same initial weights), n={len(pairs['f1'])}:")
    for key in ("f1", "acc", "f1_int8", "acc_int8"):
        if not pairs[key]:
            continue
        a, b = map(np.array, zip(*pairs[key]))
        d = b - a
        pv = stats.ttest_rel(b, a).pvalue if d.std() > 0 else 1.0
        wil = stats.wilcoxon(b, a).pvalue if np.any(d != 0) else 1.0
        print(f"    {key:8s} fast - plain = {d.mean():+.4f} +- {d.std(ddof=1):.4f} (sd)   "
              f"paired t p={pv:.2f}   Wilcoxon p={wil:.2f}")

    # ---- 2. 100 epochs on all training windows, no validation
    print(f"\n2. 100 epochs on all {len(y_all)} training windows, no validation (the final refit)")
    for layers, dropout in ARCHITECTURES:
        runs = [timed_train(x_all, y_all, len(classes), MLPConfig(layers=layers, dropout=dropout, seed=s),
                            epochs=100)[1:] for s in range(args.seeds)]
        fast_s, fast_cpu = [r[0] for r in runs], [r[1] for r in runs]
        _, plain_s, plain_cpu = timed_train(x_all, y_all, len(classes),
                                            MLPConfig(layers=layers, dropout=dropout, seed=0), epochs=100, fast=False)
        print(f"  layers {list(layers)} dropout {dropout}: fast median {np.median(fast_s):.3f} s "
              f"(min {min(fast_s):.3f}, max {max(fast_s):.3f}; CPU median {np.median(fast_cpu):.3f} s; "
              f"{args.seeds} seeds)   plain {plain_s:.2f} s (CPU {plain_cpu:.2f} s, seed 0)   "
              f"ratio {plain_s / np.median(fast_s):.0f}x")

    # ---- 3. no growth over consecutive calls with different shapes
    from automl.model._fast import _trainer

    rng = np.random.default_rng(0)
    shapes = []
    for i in range(15):
        k, n_classes, n = int(rng.integers(4, 33)), int(rng.integers(2, 7)), int(rng.integers(500, 3001))
        layers = tuple(int(u) for u in rng.integers(4, 33, 1 + i % 3))
        shapes.append((k, n_classes, n, layers, 0.1 * (i % 4 > 0), bool(i % 2)))

    def call(shape, seed):
        k, n_classes, n, layers, dropout, with_val = shape
        r = np.random.default_rng(seed)
        x = r.uniform(0, 1, (n, k)).astype(np.float32)
        y = np.argmax(x @ r.normal(0, 1, (k, n_classes)), axis=1)
        xv, yv = (x[: n // 4], y[: n // 4]) if with_val else (None, None)
        return timed_train(x, y, n_classes, MLPConfig(layers=layers, dropout=dropout, epochs=20, seed=seed), xv, yv)[1:]

    for i, shape in enumerate(shapes):  # warm-up: every (depth, dropout) graph traced
        call(shape, i)
    times, rss = [], []
    for i in range(30):
        times.append(call(shapes[i % 15], 100 + i))
        rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    traces = sum(_trainer(h, d).experimental_get_tracing_count() for h in (1, 2, 3) for d in (False, True))
    print("\n3. 30 consecutive fast calls (20 epochs, 15 different shapes twice: k 4-32, 1-3 layers of 4-32, "
          "2-6 classes, 500-3000 windows, dropout on/off, with/without validation)")
    wall, cpu = np.array([t[0] for t in times]), np.array([t[1] for t in times])
    print(f"  wall s per call: calls 1-15 median {np.median(wall[:15]):.3f} (sum {wall[:15].sum():.2f}), "
          f"calls 16-30 median {np.median(wall[15:]):.3f} (sum {wall[15:].sum():.2f})")
    print(f"  CPU s per call:  calls 1-15 median {np.median(cpu[:15]):.3f} (sum {cpu[:15].sum():.2f}), "
          f"calls 16-30 median {np.median(cpu[15:]):.3f} (sum {cpu[15:].sum():.2f}); "
          f"same shape, call i+15 / call i: median {np.median(cpu[15:] / cpu[:15]):.2f}")
    print(f"  peak RSS: after call 1 {rss[0]:.0f} MB, after call 15 {rss[14]:.0f} MB, after call 30 {rss[29]:.0f} MB; "
          f"graphs traced in total: {traces} (at most 6: depth 1-3 x dropout on/off)")
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
