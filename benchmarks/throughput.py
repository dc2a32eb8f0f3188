"""Benchmark: how fast the search runs on this machine (issue 7).

Measured in one run, on the real boxing-punches data with search_spaces/boxing.yaml:

1. median seconds per feasible trial, in-process, for the plain path
   (``keras.Model.fit``) and the fast path (compiled tiny-MLP loop,
   ``model.fast_training``), on the same sampled parameter sets after one
   untimed pass that fills the window/feature and forest-importance caches
   (so both paths are timed warm), and their ratio;
2. trials per hour of a real Ray search with 1 and with 2 workers (fast path)
   and the speedup, in the steady state: counted from the moment every worker
   has finished its first trial (which pays the worker's TensorFlow import and
   graph tracing, ~5 s once per worker per search) to the last trial's end,
   over the trials started in that span (conservative for 2 workers: work on
   a trial that straddles the start is not counted). The whole-run rate, from
   the first trial's start, is printed too. Both searches use the same seed
   and a copy of the space whose NSGA-II ``population_size`` equals the trial
   count, so the first, random generation gives both the same parameter sets
   (checked and printed);
   also the median trial duration (all trials, and the trained ones), which
   includes cold caches;
3. the window/feature cache and forest-importance cache hit rates: of the two
   searches above (a random first generation: every trial draws new
   segmentation parameters, so ~0 % is expected), and of a third search with
   2 workers and the space's own NSGA-II population (16), whose later
   generations recombine parents' segmentation and feature parameters, as an
   overnight search does (``--nsga-trials``; 0 skips it).

Usage (from the repo root): ``python benchmarks/throughput.py [--trials 64] [--inprocess 6] [--nsga-trials 96]``
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from automl.cost import load_target
from automl.search import SearchRequest, load_study, run_search, trial_detail, validation_plan
from automl.search._objective import TrialFailed, run_trial
from automl.search._runner import load_data
from automl.search._space import load_space, suggest_all

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boxing-punches"
SPACE = REPO / "search_spaces" / "boxing.yaml"


def sampled_params(space, n: int, seed: int) -> list[dict]:
    """``n`` parameter sets drawn by a seeded random sampler from the space."""
    study = optuna.create_study(directions=["maximize"] * 4, sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(suggest_all(trial, space))
    return out


def in_process(n: int, cache: str) -> tuple[list[float], list[float], list[float]]:
    """Seconds per trial (plain, fast, fast with all of the space's seeds) on the same parameter sets, cache warm."""

    space = load_space(SPACE)
    req = SearchRequest(study="bench", space_path=SPACE, data=DATA)
    train, test, _, scale = load_data(req, space)
    data = validation_plan(space, train, test, 0)
    target = load_target(space.target)
    plain, fast, seeds = [], [], []
    for i, params in enumerate(sampled_params(space, n, seed=1)):
        # An untimed warm-up first, then plain and fast with one seed, then fast with the space's seeds (no front
        # yet: a trial is re-scored with search.seeds, or scored once when that is 1).
        for fast_training, sink, n_seeds in ((True, None, 1), (False, plain, 1), (True, fast, 1),
                                             (True, seeds, space.search.seeds)):
            sp = space.model_copy(update={
                "model": space.model.model_copy(update={"fast_training": fast_training}),
                "search": space.search.model_copy(update={"seeds": n_seeds})})
            t0 = time.perf_counter()
            try:
                out = run_trial(data, sp, params, target, i, "bench", i, scale, cache_dir=cache, data_seed=0)
            except TrialFailed:
                continue
            if out.user_attrs.get("infeasible") or sink is None:
                continue
            sink.append(time.perf_counter() - t0)
    return plain, fast, seeds


def space_with_population(root: Path, population: int) -> Path:
    """A copy of boxing.yaml whose NSGA-II population is ``population`` trials."""
    import yaml

    doc = yaml.safe_load(SPACE.read_text())
    doc.setdefault("search", {})["population_size"] = population
    path = root / f"boxing-pop{population}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def ray_search(root: Path, workers: int, trials: int, cache: str, population: int | None = None,
               name: str | None = None) -> dict:
    """Trials per hour (steady state and whole run), median durations and cache hit rates of a real search.

    ``population`` None: NSGA-II population = ``trials`` (one random generation).
    """
    space_path = space_with_population(root, population or trials)
    name = name or f"w{workers}"
    run_search(SearchRequest(study=name, space_path=space_path, data=DATA, root=root, trials=trials,
                             workers=workers, seed=5, progress=False, cache_dir=cache))
    study, folder = load_study(root, name)
    done = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete is not None]
    detail = {t.number: trial_detail(folder, t) for t in done}  # trial.json: where and how each trial ran
    end = max(t.datetime_complete for t in done)
    span = (end - min(t.datetime_start for t in done)).total_seconds()
    first_done: dict = {}
    for t in done:
        pid = detail[t.number].get("worker_pid")
        first_done[pid] = min(first_done.get(pid, t.datetime_complete), t.datetime_complete)
    warm = max(first_done.values())
    steady = [t for t in done if t.datetime_start >= warm]
    steady_span = (end - warm).total_seconds()
    hits = [bool(detail[t.number].get("cache_hit")) for t in done if "cache_hit" in detail[t.number]]
    forest = [tuple(map(int, detail[t.number]["forest_cache_hits"].split("/"))) for t in done
              if "forest_cache_hits" in detail[t.number]]
    durations = [t.user_attrs["duration_s"] for t in done if "duration_s" in t.user_attrs]
    feasible = [t.user_attrs["duration_s"] for t in done
                if "duration_s" in t.user_attrs and t.user_attrs.get("infeasible") is False]
    multi = [t.user_attrs["duration_s"] for t in done if (t.user_attrs.get("n_seeds") or 1) > 1]
    return {"per_hour": 3600.0 * len(steady) / steady_span if steady_span > 0 else float("nan"),
            "whole_per_hour": 3600.0 * len(done) / span, "n": len(done), "n_steady": len(steady),
            "params": sorted(repr(sorted(t.params.items())) for t in done),
            "hit": sum(hits) / len(hits) if hits else 0.0,
            "forest_hit": sum(h for h, _ in forest) / max(1, sum(n for _, n in forest)),
            "median_s": statistics.median(durations) if durations else float("nan"),
            "median_feasible_s": statistics.median(feasible) if feasible else float("nan"),
            "n_feasible": len(feasible), "n_multi": len(multi),
            "median_multi_s": statistics.median(multi) if multi else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=64, help="trials per paired Ray search (1 and 2 workers)")
    ap.add_argument("--nsga-trials", type=int, default=96,
                    help="trials of the NSGA-II (population 16) search measuring cache hit rates; 0 skips it")
    ap.add_argument("--inprocess", type=int, default=6, help="parameter sets for the plain vs fast comparison")
    args = ap.parse_args()
    logging.getLogger("automl.search").propagate = False  # per-trial lines go to each study's search.log only
    work = Path(tempfile.mkdtemp(prefix="automl-throughput-"))
    try:
        plain, fast, seeds = in_process(args.inprocess, str(work / "cache-inprocess"))
        mp, mf, ms = statistics.median(plain), statistics.median(fast), statistics.median(seeds)
        print(f"in-process, {len(fast)} trials, warm cache, one training seed: median s/trial plain {mp:.2f}, "
              f"fast {mf:.2f}, ratio {mp / mf:.1f}x; fast with the space's seeds (a trial near the front): "
              f"{ms:.2f} ({ms / mf:.1f}x one seed)")
        one = ray_search(work, 1, args.trials, str(work / "cache-1"))
        two = ray_search(work, 2, args.trials, str(work / "cache-2"))
        same = "same" if one["params"] == two["params"] else "DIFFERENT"
        print(f"Ray search, {args.trials} trials ({same} parameter sets), fast path, steady state: "
              f"{one['per_hour']:.0f} trials/h with 1 worker ({one['n_steady']} trials), "
              f"{two['per_hour']:.0f} trials/h with 2 workers ({two['n_steady']} trials), "
              f"speedup {two['per_hour'] / one['per_hour']:.2f}x")
        print(f"  whole run from the first trial's start: {one['whole_per_hour']:.0f} vs "
              f"{two['whole_per_hour']:.0f} trials/h, speedup {two['whole_per_hour'] / one['whole_per_hour']:.2f}x")
        for w, r in (("1 worker", one), ("2 workers", two)):
            print(f"  {w}: median trial {r['median_s']:.2f} s over {r['n']} trials, "
                  f"{r['median_feasible_s']:.2f} s over {r['n_feasible']} trained "
                  f"({r['median_multi_s']:.2f} s over the {r['n_multi']} re-scored with more seeds); "
                  f"cache hit rate: windows/features {r['hit']:.0%}, forest importances {r['forest_hit']:.0%}")
        if args.nsga_trials:
            ns = ray_search(work, 2, args.nsga_trials, str(work / "cache-nsga"), population=16, name="nsga")
            print(f"NSGA-II search (population 16), 2 workers, {ns['n']} trials: "
                  f"{ns['whole_per_hour']:.0f} trials/h whole run, median trial {ns['median_s']:.2f} s; "
                  f"cache hit rate: windows/features {ns['hit']:.0%}, forest importances {ns['forest_hit']:.0%}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
