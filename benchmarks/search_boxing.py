"""Benchmark: a 60-trial search on the real boxing-punches data.

Prints the median seconds per trial, trials per hour, the best held-out test
macro F1, and the Pareto trials (F1, flash, RAM, latency), all measured in
this one run. Usage (from the repo root):

    python benchmarks/search_boxing.py [--trials 60] [--workers 2] [--root build/bench]

The data path is ../shared/data/boxing-punches relative to the repo root.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import optuna

from automl.search import SearchRequest, load_study, run_search

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boxing-punches"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--root", type=Path, default=REPO / "build" / "bench")
    ap.add_argument("--study", default="boxing-bench")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    shutil.rmtree(args.root / args.study, ignore_errors=True)
    t0 = time.monotonic()
    summary = run_search(SearchRequest(study=args.study, space_path=REPO / "search_spaces" / "boxing.yaml",
                                       data=DATA, root=args.root, trials=args.trials, workers=args.workers,
                                       seed=args.seed, progress=False))
    wall = time.monotonic() - t0
    study, _ = load_study(args.root, args.study)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    durations = [t.user_attrs["duration_s"] for t in complete]
    test_f1 = [(t.user_attrs["test_metrics"] or {}).get("macro_f1", 0.0) for t in complete]
    best = max(range(len(complete)), key=lambda i: test_f1[i])
    print(f"trials: {summary.n_complete} complete, {summary.n_failed} failed, {args.workers} workers, wall {wall:.0f} s")
    print(f"median seconds per trial (in the worker): {statistics.median(durations):.1f} s")
    print(f"trials per hour (wall, whole run): {3600 * len(complete) / wall:.0f}")
    print(f"best held-out test macro F1: {test_f1[best]:.4f} (trial {complete[best].number}, "
          f"val F1 {complete[best].values[0]:.4f}, params {complete[best].params})")
    print("Pareto trials: number  val_F1  test_F1  flash_B  RAM_B  latency_ms  tflite_B  layers  k  quant")
    for t in sorted(study.best_trials, key=lambda t: -t.values[0]):
        p = t.user_attrs["pipeline"]
        tf1 = (t.user_attrs["test_metrics"] or {}).get("macro_f1", float("nan"))
        print(f"  {t.number:5d}  {t.values[0]:.4f}  {tf1:.4f}  {t.values[1]:7.0f}  {t.values[2]:6.0f}  "
              f"{t.values[3]:9.3f}  {p['tflite_bytes']:7d}  {p['layers']}  {len(p['selected'])}  {p['quantization']}")


if __name__ == "__main__":
    main()
