"""Benchmark: how fast the search runs on this machine (issue 7).

Measured in one run, on the real boxing-punches data with search_spaces/boxing.yaml:

1. median seconds per trial, in-process, for the plain path (``keras.Model.fit``)
   and the fast path (compiled tiny-MLP loop, ``model.fast_training``), on the
   same sampled parameter sets with a warm window/feature cache, and their ratio;
2. trials per hour of a real Ray search with 1 and with 2 workers (fast path),
   counted from the first trial's start to the last trial's end, and the speedup;
3. the window/feature cache hit rate of those searches.

Usage (from the repo root): ``python benchmarks/throughput.py [--trials 8] [--inprocess 6]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from automl.cost import load_target
from automl.search import SearchRequest, load_study, run_search
from automl.search._objective import TrialFailed, run_trial
from automl.search._runner import load_data
from automl.search._space import load_space, suggest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boxing-punches"
SPACE = REPO / "search_spaces" / "boxing.yaml"


def sampled_params(space, n: int, seed: int) -> list[dict]:
    """``n`` parameter sets drawn by a seeded random sampler from the space."""
    study = optuna.create_study(directions=["maximize"] * 4, sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append({name: suggest(trial, name, d) for name, d in space.parameters().items()})
    return out


def in_process(n: int, cache: str) -> tuple[list[float], list[float]]:
    """Seconds per trial (plain, fast) on the same parameter sets, cache warm."""
    space = load_space(SPACE)
    req = SearchRequest(study="bench", space_path=SPACE, data=DATA)
    train, test, _, scale = load_data(req, space)
    from automl.search._objective import dataset_fingerprint

    key = dataset_fingerprint(train, test, scale)
    target = load_target(space.target)
    plain, fast = [], []
    for i, params in enumerate(sampled_params(space, n, seed=1)):
        for fast_training, sink in ((False, plain), (True, fast)):
            sp = space.model_copy(update={"model": space.model.model_copy(update={"fast_training": fast_training})})
            t0 = time.perf_counter()
            try:
                out = run_trial(train, test, sp, params, target, i, "bench", i, scale, data_key=key, cache_dir=cache)
            except TrialFailed:
                continue
            if out.user_attrs.get("infeasible"):
                continue
            sink.append(time.perf_counter() - t0)
    return plain, fast


def ray_search(root: Path, workers: int, trials: int, cache: str) -> tuple[float, float]:
    """(trials per hour from first start to last end, cache hit rate) of a real search."""
    run_search(SearchRequest(study=f"w{workers}", space_path=SPACE, data=DATA, root=root, trials=trials,
                             workers=workers, seed=5, progress=False, cache_dir=cache))
    study, _ = load_study(root, f"w{workers}")
    done = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete is not None]
    span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    hits = [bool(t.user_attrs.get("cache_hit")) for t in done if "cache_hit" in t.user_attrs]
    return 3600.0 * len(done) / span, (sum(hits) / len(hits) if hits else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8, help="trials per Ray search")
    ap.add_argument("--inprocess", type=int, default=6, help="parameter sets for the plain vs fast comparison")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="automl-throughput-"))
    try:
        plain, fast = in_process(args.inprocess, str(work / "cache-inprocess"))
        mp, mf = statistics.median(plain), statistics.median(fast)
        print(f"in-process, {len(fast)} trials, warm cache: median s/trial plain {mp:.2f}, fast {mf:.2f}, "
              f"ratio {mp / mf:.1f}x")
        one, hit1 = ray_search(work, 1, args.trials, str(work / "cache-1"))
        two, hit2 = ray_search(work, 2, args.trials, str(work / "cache-2"))
        print(f"Ray search, {args.trials} trials, fast path: {one:.0f} trials/h with 1 worker, "
              f"{two:.0f} trials/h with 2 workers, speedup {two / one:.2f}x")
        print(f"window/feature cache hit rate: {hit1:.0%} (1 worker), {hit2:.0%} (2 workers)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
