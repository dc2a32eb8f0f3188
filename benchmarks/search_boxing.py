"""Benchmark: a search on the real boxing-punches data, by trial count or wall budget.

Prints the trial counts (complete, infeasible, failed), the median seconds per
trial, trials per hour, the held-out test F1 of the recommended trial,
the normalised hypervolume of the feasible front, and the feasible Pareto
front (F1, flash, RAM, latency), all measured in this one run and computed
with the report's own functions (``automl.report.build_report_data``).
Usage (from the repo root):

    python benchmarks/search_boxing.py [--trials 60 | --timeout 20m] [--workers 2] [--root build/bench]

The data path is ../shared/data/boxing-punches relative to the repo root.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

import optuna

from automl.cli import parse_duration
from automl.report import build_report_data
from automl.search import SearchRequest, load_study, run_search, trial_detail

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boxing-punches"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=60, help="trial budget (with --timeout: an upper bound)")
    ap.add_argument("--timeout", default=None, help="wall budget, e.g. 20m (default: none)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--root", type=Path, default=REPO / "build" / "bench")
    ap.add_argument("--study", default="boxing-bench")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    timeout_s = parse_duration(args.timeout)
    trials = args.trials if timeout_s is None else max(args.trials, 100_000)
    shutil.rmtree(args.root / args.study, ignore_errors=True)
    t0 = time.monotonic()
    summary = run_search(SearchRequest(study=args.study, space_path=REPO / "search_spaces" / "boxing.yaml",
                                       data=DATA, root=args.root, trials=trials, timeout_s=timeout_s,
                                       workers=args.workers, seed=args.seed, progress=False))
    wall = time.monotonic() - t0
    study, _ = load_study(args.root, args.study)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    infeasible = [t for t in complete if t.user_attrs.get("infeasible")]
    durations = [t.user_attrs["duration_s"] for t in complete]
    trained = [t.user_attrs["duration_s"] for t in complete if not t.user_attrs.get("infeasible")]
    print(f"trials: {summary.n_complete} complete ({len(infeasible)} over budget, never trained), "
          f"{summary.n_failed} failed, {args.workers} workers, wall {wall:.0f} s")
    print(f"median seconds per trial (in the worker): {statistics.median(durations):.2f} s all, "
          f"{statistics.median(trained) if trained else float('nan'):.2f} s trained")
    print(f"trials per hour (wall, whole run, incl. Ray start): {3600 * len(complete) / wall:.0f}")
    data = build_report_data(study, args.root / args.study, timeline=False, importance=False)
    hv = data.hypervolume
    if hv is not None and hv.normalised is not None:
        print(f"hypervolume of the feasible front (normalised): {hv.normalised:.4f}, "
              f"reference {dict(zip(data.objective_names, hv.reference))}")
    if data.recommended_row is not None:
        t = study.trials[int(data.numbers[data.recommended_row])]
        d = trial_detail(args.root / args.study, t)
        tm = d.get("test_events") or d.get("test_metrics") or {}
        print(f"recommended: trial {t.number}, val {data.objective_names[0]} {t.values[0]:.4f}, "
              f"held-out test F1 {tm.get('f1', tm.get('macro_f1', float('nan'))):.4f}")
    print(f"Pareto front ({'feasible' if data.front_feasible else 'all'} trials): "
          "number  val_F1  test_F1  flash_B  RAM_B  latency_ms  tflite_B  segmenter  layers  k  quant")
    for i in sorted(data.pareto, key=lambda i: -data.values[i][0]):
        t = study.trials[int(data.numbers[i])]
        d = trial_detail(args.root / args.study, t)
        p = d["pipeline"]
        tm = d.get("test_events") or d.get("test_metrics") or {}
        tf1 = tm.get("f1", tm.get("macro_f1", float("nan")))
        seg = p["segmenter"]
        print(f"  {t.number:5d}  {t.values[0]:.4f}  {tf1:.4f}  {t.values[1]:7.0f}  {t.values[2]:6.0f}  "
              f"{t.values[3]:9.3f}  {p.get('tflite_bytes', 0):7d}  {seg['kind']}/{seg['window_size']}/{seg['slide']}"
              f"  {p['layers']}  {len(p.get('selected', p.get('selected_names', [])))}  {p['quantization']}")


if __name__ == "__main__":
    main()
