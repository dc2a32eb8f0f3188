"""Benchmark: the files of an overnight study at 70,000 trials (issue 17, item 9).

Writes a synthetic study of ``--trials`` trials through the search's own code
paths: the study journal (``open_storage``), ``create_or_load_study`` with the
space's NSGA-II sampler, ``propose`` (ask + suggest, the parameters batched),
the driver's ``_tell`` (``record_trial``: ``trial.json`` and the model in the
trial's folder, the journal scalars, the constraints, ``study.tell``), the
compaction of old trials every 1,000 finished trials and the ``status.json``
summary. The outcomes are copies of a few real trials of
``search_spaces/boxing.yaml`` run in-process on ``../shared/data/boxing-punches``
(their objective values and costs jittered, 1 trial in 40 failed): what is
measured is storage, not accuracy. Then it prints:

- journal bytes per trial, and the same for the first ``--before`` trials
  written the way the search did before (Optuna's ``JournalFileBackend``,
  every outcome attribute in the journal);
- artifact bytes on disk per trial, in trial folders and after compaction,
  and that a packed trial exports byte for byte like before it was packed;
- ``automl status``: time and output size, against replaying the journal;
- ``automl report``: time, page size and peak memory (a child process);
- resume start-up: opening the study (journal replay), re-queueing, the set of
  tried parameters and the first proposal.

Usage (from the repo root): ``python benchmarks/storage.py [--trials 70000] [--before 2000] [--dir DIR]``
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "boxing-punches"
SPACE = REPO / "search_spaces" / "boxing.yaml"


def real_outcomes(n_trained: int, n_infeasible: int, seed: int = 0) -> list:
    """Outcomes of real boxing trials (in-process ``run_trial``): ``n_trained`` trained, ``n_infeasible`` over budget."""
    from automl.cost import load_target
    from automl.search import SearchRequest, load_space, validation_plan
    from automl.search._objective import TrialFailed, run_trial
    from automl.search._runner import load_data
    from automl.search._space import suggest_all

    space = load_space(SPACE)
    train, test, _, scale = load_data(SearchRequest(study="bench", space_path=SPACE, data=DATA), space)
    data, target = validation_plan(space, train, test, seed), load_target(space.target)
    sampler = optuna.create_study(directions=["maximize"] * 4, sampler=optuna.samplers.RandomSampler(seed=seed))
    trained, infeasible = [], []
    for i in range(200):
        if len(trained) >= n_trained and len(infeasible) >= n_infeasible:
            break
        trial = sampler.ask()
        params = suggest_all(trial, space)
        try:
            out = run_trial(data, space, params, target, i, "storage-bench", i, scale, data_seed=seed)
        except TrialFailed:
            continue
        (infeasible if out.user_attrs.get("infeasible") else trained).append(out)
    return trained[:n_trained] + infeasible[:n_infeasible]


def jittered(outcome, rng: np.random.Generator):
    """A copy of ``outcome`` with F1 and costs jittered (costs and their constraints stay consistent)."""
    out = copy.deepcopy(outcome)
    f = rng.uniform(0.85, 1.15, 3)
    out.values = [float(np.clip(out.values[0] + rng.normal(0, 0.03), 0, 1)) if not out.user_attrs["infeasible"]
                  else 0.0, *(float(v * k) for v, k in zip(out.values[1:], f))]
    cost = out.user_attrs["cost"]
    for name, k in zip(("flash_bytes", "ram_bytes", "latency_ms"), f):
        cost[name] = cost[name] * k
    return out


def dir_bytes(path: Path) -> int:
    """Bytes on disk (allocated blocks) under ``path``."""
    return sum(os.lstat(p).st_blocks * 512 for p in path.rglob("*"))


def write_study(root: Path, n: int, outcomes: list, seed: int = 0, sampler: str = "random") -> tuple[float, Path]:
    """``n`` trials through the driver's code paths; returns (seconds, study folder).

    ``sampler``: ``"random"`` (Optuna's RandomSampler in place of the space's NSGA-II) or ``"nsga2"``.
    """
    from automl.cost import load_target
    from automl.search import SearchRequest, load_space
    from automl.search._progress import ParetoTracker, study_status
    from automl.search._records import compact_artifacts, write_status
    from automl.search._runner import (
        COMPACT_EVERY, STATUS_EVERY_S, _tell, compaction_keep, create_or_load_study, propose, tried_parameters,
    )
    from automl.search._storage import study_dir

    space = load_space(SPACE)
    target = load_target(space.target)
    req = SearchRequest(study="night", space_path=SPACE, data=DATA, root=root, seed=seed)
    folder = study_dir(root, "night")
    study = create_or_load_study(req, space, target, {"data_fingerprint": "0" * 64, "target": target.model_dump()})
    if sampler == "random":
        # NSGA-II reads every trial several times per ask and tell (Optuna's get_all_trials and search-space
        # intersection): ~107 ms per trial at 3,000 trials on this machine, growing with the study. That is the
        # sampler's cost, not the storage's; it would make this benchmark run for hours.
        study.sampler = optuna.samplers.RandomSampler(seed=seed)
    tried = tried_parameters(study)
    tracker, rng = ParetoTracker(study.directions), np.random.default_rng(seed)
    t0 = written = t_last = time.monotonic()
    for i in range(n):
        trial, _ = propose(study, space, tried)
        if i % 40 == 39:
            _tell(study, folder, trial, None, "RuntimeError: synthetic failure", target)
        else:
            _tell(study, folder, trial, jittered(outcomes[i % len(outcomes)], rng), None, target)
        if time.monotonic() - written >= STATUS_EVERY_S:
            write_status(folder, study_status(study, tracker), final=False)
            written = time.monotonic()
        if (i + 1) % COMPACT_EVERY == 0:
            study_status(study, tracker)
            compact_artifacts(folder, compaction_keep(tracker.numbers, [], trial.number))
        if (i + 1) % 5000 == 0:
            print(f"  ... {i + 1} trials, {time.monotonic() - t0:.0f} s", flush=True)
        if i + 1 == max(0, n - 1000):
            t_last = time.monotonic()
    last = min(n, 1000)
    print(f"  the driver's work per trial over the last {last:,} trials: {(time.monotonic() - t_last) / last * 1e3:.1f} "
          "ms (ask, suggest, tell, trial.json, journal writes with fsync)", flush=True)
    write_status(folder, study_status(study, tracker), final=True)
    return time.monotonic() - t0, folder


def write_before(root: Path, n: int, outcomes: list, seed: int = 0) -> Path:
    """The first ``n`` trials as the search wrote them before: Optuna's journal, every attribute in it."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    from automl.cost import load_target
    from automl.search import load_space
    from automl.search._records import write_artifacts
    from automl.search._space import suggest

    space = load_space(SPACE)
    target = load_target(space.target)
    folder = root / "before"
    folder.mkdir(parents=True)
    path = str(folder / "journal.log")
    storage = JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    study = optuna.create_study(study_name="before", storage=storage, directions=["maximize"] + ["minimize"] * 3,
                                sampler=optuna.samplers.NSGAIISampler(population_size=16, seed=seed))
    rng = np.random.default_rng(seed)
    for i in range(n):
        trial = study.ask()
        for name, d in space.parameters().items():
            suggest(trial, name, d)
        if i % 40 == 39:
            trial.set_user_attr("fail_reason", "RuntimeError: synthetic failure")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        out = jittered(outcomes[i % len(outcomes)], rng)
        for key, value in out.user_attrs.items():
            trial.set_user_attr(key, value)
        if out.artifacts:
            write_artifacts(folder, trial.number, out.artifacts)
            trial.set_user_attr("artifact_dir", f"artifacts/trial-{trial.number}")
        c = out.user_attrs["cost"]
        trial.set_constraint("flash_over_budget_bytes", float(c["flash_bytes"] - target.flash_bytes))
        trial.set_constraint("ram_over_budget_bytes", float(c["ram_bytes"] - target.ram_bytes))
        trial.set_constraint("latency_over_budget_ms", float(c["latency_ms"] - target.latency_ms))
        study.tell(trial, out.values)
    return folder


def run_cli(*args: str) -> tuple[float, str, int | None]:
    """(seconds, stdout, peak RSS in MB or None) of one ``python -m automl.cli ARGS`` process.

    The peak comes from GNU time (``/usr/bin/time -f %M``) when installed: a forked child's own
    ``getrusage`` would count this process's memory (TensorFlow loaded) before ``exec``.
    """
    gnu_time = shutil.which("time") if Path("/usr/bin/time").exists() else None
    prefix = ["/usr/bin/time", "-f", "%M"] if gnu_time else []
    t0 = time.monotonic()
    done = subprocess.run([*prefix, sys.executable, "-m", "automl.cli", *args], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if done.returncode not in (0, 3):
        raise SystemExit(f"automl {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    peak = int(done.stderr.strip().splitlines()[-1]) // 1024 if prefix else None
    return seconds, done.stdout, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=70_000)
    ap.add_argument("--before", type=int, default=2_000, help="trials written the old way, for comparison")
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the study folders")
    ap.add_argument("--sampler", choices=("random", "nsga2"), default="random",
                    help="sampler of the synthetic study (nsga2: the space's own; slow at this scale)")
    args = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"the boxing-punches data is not at {DATA}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("automl").propagate = False  # the driver logs each trial to search.log; not here
    root = Path(tempfile.mkdtemp(prefix="storage-bench-", dir=args.dir))
    try:
        print("running real boxing trials for the outcomes to copy ...", flush=True)
        outcomes = real_outcomes(n_trained=5, n_infeasible=2)
        print(f"writing {args.before:,} trials the old way ...", flush=True)
        before = write_before(root, args.before, outcomes)
        before_journal = (before / "journal.log").stat().st_size / args.before
        before_art = dir_bytes(before / "artifacts") / args.before
        print(f"writing {args.trials:,} trials through the search's code paths ...", flush=True)
        wall, folder = write_study(root, args.trials, outcomes, sampler=args.sampler)
        journal = (folder / "journal.log").stat().st_size
        art = dir_bytes(folder / "artifacts")
        packs = dir_bytes(folder / "artifacts" / "packs")
        n_folders = sum(1 for p in (folder / "artifacts").glob("trial-*"))
        print(f"\nstudy of {args.trials:,} trials written in {wall:.0f} s ({args.trials / wall:.0f} trials/s)")
        print(f"journal: {journal / args.trials:,.0f} bytes per trial ({journal / 1e6:,.1f} MB); before: "
              f"{before_journal:,.0f} bytes per trial ({before_journal / (journal / args.trials):.1f}x)")
        print(f"artifacts on disk: {art / args.trials:,.0f} bytes per trial ({art / 1e6:,.0f} MB: {n_folders} trial "
              f"folders kept, packs {packs / 1e6:,.0f} MB); in trial folders before: {before_art:,.0f} bytes per trial")

        root_args = ["--study", "night", "--root", str(root)]
        s, out, rss = run_cli("status", *root_args)
        print(f"automl status: {s:.1f} s, {len(out.encode())} bytes of output, peak {rss} MB (whole process, "
              "imports included)")
        from automl.search import load_study, study_status

        t0 = time.monotonic()
        st, _ = load_study(root, "night")
        study_status(st)
        print(f"  replaying the whole journal instead: {time.monotonic() - t0:.1f} s")
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        t0 = time.monotonic()
        old = optuna.load_study(study_name="before", storage=JournalStorage(JournalFileBackend(
            str(before / "journal.log"))))
        study_status(old)
        print(f"  before (Optuna's replay of the old journal, every attribute in it): {time.monotonic() - t0:.1f} s "
              f"for {args.before:,} trials")

        from automl.search._runner import create_or_load_study, propose, requeue_interrupted, tried_parameters
        from automl.search import SearchRequest, load_space
        from automl.cost import load_target

        space = load_space(SPACE)
        t0 = time.monotonic()
        req = SearchRequest(study="night", space_path=SPACE, data=DATA, root=root, seed=0)
        st = create_or_load_study(req, space, load_target(space.target), {"data_fingerprint": "0" * 64})
        t_open = time.monotonic() - t0
        requeue_interrupted(st)
        tried = tried_parameters(st)
        trial, _ = propose(st, space, tried)
        t_first = time.monotonic() - t0
        st.tell(trial, state=optuna.trial.TrialState.FAIL)
        print(f"resume start-up: {t_first:.1f} s to the first proposal (opening the study {t_open:.1f} s)")

        s, out, rss = run_cli("report", *root_args, "--no-timeline")
        page = Path(out.strip().splitlines()[-1])
        print(f"automl report: {s:.1f} s, {page.stat().st_size / 1e6:.1f} MB page, peak {rss} MB")

        from automl.export import export_trial

        packed = next(t.number for t in st.get_trials(deepcopy=False)
                      if t.user_attrs.get("artifact_dir") and not (folder / t.user_attrs["artifact_dir"]).exists())
        result = export_trial(folder, packed, root / "fw", measure=False)
        print(f"export of trial {packed}, whose artifacts are in a pack: {len(result.files)} files written")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")


if __name__ == "__main__":
    main()
