"""The study driver: Optuna ask/tell on one process, trials as Ray tasks.

The driver is the only writer of the study (storage and artifact folder);
Ray workers only compute. This keeps the storage consistent whatever happens
to a worker.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import optuna

from automl.cost import TargetProfile, load_target
from automl.data import capture_groups
from automl.errors import ConfigError, NothingFits, StudyError, warn
from automl.evaluation import plan_validation
from automl.search._check import CheckReport, check_search
from automl.search._journal import batch_writes
from automl.search._objective import (
    DIRECTIONS, FAULT_ENV, TrialFailed, TrialOutcome, objective_names, trial_task,
)
from automl.search._progress import ParetoTracker, SearchProgress
from automl.search._records import compact_artifacts, final_summary, record_trial, write_status
from automl.search._space import SearchSpace, load_space, suggest_all
from automl.search._storage import check_not_searched, driver_lock, open_storage, study_dir

log = logging.getLogger("automl.search")

DEFAULT_TRIALS = 60  # finished trials a search aims at when neither --trials nor --timeout is given

#: The driver's clock for budgets and timeouts (s); tests replace it to make the wall budget deterministic.
_clock = time.monotonic

# TensorFlow threads per Ray worker: 1 intra-op and 1 inter-op thread, so that
# N single-CPU workers on N cores do not oversubscribe (TF defaults to all cores).
WORKER_ENV = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "RAY_AUTH_MODE": "disabled",
}


@dataclass
class SearchRequest:
    """Everything ``automl search`` needs.

    Attributes:
        study: study name (folder name under ``root``).
        space_path: search space YAML.
        data: a folder or file of captures (several: Label Studio exports),
            or ``None`` with ``dataset`` set.
        dataset: built-in dataset name (``basic-motions``) or ``None``.
        data_format: import format of ``data`` (``auto``, ``label-column``,
            ``canonical``, ``per-file``, ``folders``, ``dcli``,
            ``label-studio``); ``auto`` uses the space's ``data.format``.
        data_options: reader options given on the command line (``label_column``,
            ``label_pattern``, ``label_map``, ``csv_dir``, ``time_column``,
            ``time_unit``, ``sample_rate_hz``, ``resample_hz``); each
            overrides the space's ``data`` key of the same name.
        test_where: held-out captures by metadata, ``["subject=01,09", ...]``
            (default: the space's ``data.test_where``).
        root: folder holding study folders.
        storage: Optuna RDB URL, or ``None`` for the study folder's journal file.
        trials: stop when the study has this many finished trials; ``None``:
            no trial limit (the run ends at ``timeout_s`` or on Ctrl-C/SIGTERM).
        timeout_s: wall-clock budget for this run (s), or ``None``.
        workers: Ray CPUs (parallel trials) when starting a local Ray.
        address: join this Ray cluster (``auto`` or ``ray://host:port``) instead.
        test_glob: held-out capture pattern (default: the space's).
        target: target profile name or path (default: the space's).
        seed: sampler and training seed.
        trial_timeout_s: a trial running longer is cancelled and recorded failed.
        progress: draw a progress bar on the terminal.
        cache_dir: node-local folder for cached windows and feature matrices
            (default: ``<system temp>/automl-cache``).
        notify: called with each line of the data summary (rate, channels,
            captures, notes) once the data is read, before the first trial.
        new_data: when the study was searched on other data (its stored
            fingerprint differs), search this data as the study
            ``<study>-<first 8 hex digits of its fingerprint>`` instead of refusing.
    """

    study: str
    space_path: Path
    data: Path | list[Path] | None = None
    dataset: str | None = None
    data_format: str = "auto"
    data_options: dict = field(default_factory=dict)
    test_where: list[str] | None = None
    root: Path = Path("studies")
    storage: str | None = None
    trials: int | None = DEFAULT_TRIALS
    timeout_s: float | None = None
    workers: int = 2
    address: str | None = None
    test_glob: str | None = None
    target: str | None = None
    seed: int = 0
    trial_timeout_s: float | None = None
    progress: bool = True
    cache_dir: str | None = None
    notify: Callable[[str], None] | None = None
    new_data: bool = False


@dataclass
class SearchSummary:
    """What a search run did.

    Attributes:
        study_dir: the study folder.
        n_complete, n_failed: trials finished in each state (whole study).
        n_over_budget: complete trials never trained because an estimate was over a budget.
        n_run: trials finished by this run.
        wall_s: this run's wall time (s).
        pareto: trial numbers on the Pareto front.
        stop_reason: why this run ended: ``"trials"`` (the study reached
            ``trials``), ``"timeout"`` (the wall budget), ``"signal"``
            (Ctrl-C or SIGTERM), ``"exhausted"`` (the sampler kept proposing
            tried parameters, :data:`MAX_REPEATS` times in a row).
        n_run_complete: trials of this run that completed (feasible or not).
        last_fail_reason: the last failure reason of this run's trials, or None.
        budgets: the target's name and budgets, for messages.
        recommendation: the report's recommendation line (:func:`final_summary`).
        study: the study searched (``<study>-<fingerprint>`` after ``--new-data``).
    """

    study_dir: Path
    n_complete: int
    n_failed: int
    n_run: int
    wall_s: float
    pareto: list[int] = field(default_factory=list)
    stop_reason: str = "trials"
    n_run_complete: int = 0
    last_fail_reason: str | None = None
    budgets: str = ""
    study: str = ""
    recommendation: str = ""
    n_over_budget: int = 0

    def check(self) -> None:
        """Raise what the exit code must say about this run (nothing if it is 0).

        Raises:
            StudyError: the study has no complete trial, or every trial this run
                finished failed (naming the last reason and the log).
            NothingFits: complete trials exist but none fits the target's budgets.
        """
        why = f" (last reason: {self.last_fail_reason})" if self.last_fail_reason else ""
        log_path = Path(self.study_dir) / "search.log"
        if self.n_run and not self.n_run_complete:
            raise StudyError(f"every trial of this run failed ({self.n_run}){why}; see {log_path}")
        if not self.n_complete:
            raise StudyError(f"the study has no complete trial{why}; see {log_path}")
        if not self.pareto:
            raise NothingFits(f"none of the {self.n_complete} complete trials fits the budgets of {self.budgets}; "
                              "relax the target (--target) or search smaller pipelines")


#: ``data`` keys of the space that are reader options, and the import option each becomes.
_READER_KEYS = {"label_column": "label_column", "label_pattern": "pattern", "label_map": "mapping",
                "csv_dir": "csv_dir", "channels": "channels", "sensors": "sensors", "time_column": "time_column",
                "time_unit": "time_unit", "sample_rate_hz": "sample_rate_hz", "resample_hz": "resample_hz",
                "name_metadata": "name_metadata"}


def data_source(req: SearchRequest, space: SearchSpace) -> DataSource:
    """The data source of a search: ``--data``/``--dataset`` and the reader options of the space and command line.

    Raises:
        ConfigError: neither or both of ``--data`` and ``--dataset``, an
            unknown built-in dataset, reader options with ``--dataset``, or
            an option the format does not take.
        DataError: a path that does not exist or whose format cannot be told.
    """
    from automl.data import DataSource, detect_format, reader_options

    if (req.data is None) == (req.dataset is None):
        raise ConfigError("give exactly one of --data PATH or --dataset NAME")
    given = {k: getattr(space.data, k) for k in _READER_KEYS if getattr(space.data, k) is not None}
    given.pop("label_column")  # a default; only label-column folders take it
    given.update({k: v for k, v in req.data_options.items() if v is not None})
    options = {_READER_KEYS[k]: v for k, v in given.items()}
    options["background"] = space.data.background
    if req.dataset is not None:
        if req.dataset != "basic-motions":
            raise ConfigError(f"The '--dataset' parameter must be 'basic-motions'. Got {req.dataset!r} instead.")
        extra = sorted(set(given) - {"name_metadata"})
        if extra:
            raise ConfigError(f"--dataset basic-motions is read as it is; the reader options {extra} apply to "
                              "--data only")
        return DataSource([], req.dataset, "builtin", {k: v for k, v in options.items() if k == "name_metadata"})
    paths = [Path(p) for p in (req.data if isinstance(req.data, (list, tuple)) else [req.data])]
    fmt = req.data_format if req.data_format != "auto" else space.data.format
    label_column = req.data_options.get("label_column") or space.data.label_column
    target = paths[0] if len(paths) == 1 else paths
    if fmt == "auto":
        fmt = detect_format(target, label_column=label_column, **options)
    if fmt == "label-column":
        options["label_column"] = label_column
    unknown = sorted(k for k, v in given.items() if _READER_KEYS[k] not in reader_options(fmt))
    if unknown:
        raise ConfigError(f"the {fmt!r} format does not take {', '.join(unknown)} (from the command line or the "
                          f"space's data section); it takes {reader_options(fmt)}")
    return DataSource([str(p.resolve()) for p in paths], None, fmt, options)


def load_data(req: SearchRequest, space: SearchSpace):
    """Read the dataset, split it into train/test and convert both to ADC counts.

    The held-out captures are those matching ``--test-glob`` / ``--test-where``
    (default: the space's ``data.test_glob`` / ``data.test_where``); a class
    only they hold is an error. The counts scale (``data.sample_scale``:
    ``auto`` or a per-channel mapping) is chosen on the training captures only.

    Returns:
        ``(train, test, info, sample_scale)``; train and test hold int16
        counts as float32; ``info`` is ``{"test_glob", "test_where"}`` as
        applied and ``"source"`` (the :class:`DataSource` as a dict).

    Raises:
        ConfigError / DataError: for a bad source, format or split.
    """
    from automl.data import auto_counts_scale, parse_where, split_held_out, to_counts

    source = data_source(req, space)
    ds = source.load()
    test_glob = req.test_glob or space.data.test_glob
    test_where = parse_where(req.test_where) if req.test_where else parse_where(space.data.test_where)
    if req.test_glob and not req.test_where:
        test_where = None  # the command line's rule replaces the space's
    if req.test_where and not req.test_glob:
        test_glob = None
    train, test = split_held_out(ds, test_glob, test_where)
    scale = space.data.sample_scale
    if scale == "auto":
        scale = auto_counts_scale(train)
    elif not isinstance(scale, dict):
        raise ConfigError(f"The 'data.sample_scale' parameter must be 'auto' or a mapping channel -> counts per unit. "
                          f"Got {scale!r} instead.")
    scale = {ch: float(v) for ch, v in scale.items()}
    info = {"test_glob": test_glob, "test_where": test_where, "source": asdict(source)}
    return to_counts(train, scale), to_counts(test, scale), info, scale


def check_data(req: SearchRequest) -> CheckReport:
    """``automl check``: read the space and the data exactly as :func:`run_search` would and check them.

    Returns:
        The :class:`~automl.search._check.CheckReport` (summary, warnings, problems).

    Raises:
        ConfigError / DataError: as :func:`load_data` (the data cannot be read or split).
    """
    space = load_space(req.space_path)
    train, test, info, _ = load_data(req, space)
    return check_search(space, train, test, info, seed=req.seed)


def study_classes(train, has_background: bool) -> list[str]:
    """The class names a study's models can have: ``train.labels()`` without the background
    class when no training sample is background (BasicMotions: every sample is in a labelled
    segment, so its models have no ``NoActivity`` class).

    Args:
        train: the training :class:`automl.data.Dataset`.
        has_background: some training sample is background
            (:attr:`automl.evaluation.TrialData.has_background`).
    """
    return [c for c in train.labels() if c != train.background or has_background]


def make_sampler(space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
    """The study's sampler (``search.sampler``); every one ranks feasible trials first.

    Budgets are named constraints (``<= 0`` feasible, ``trial.set_constraint``)
    that each trial sets before ``tell``; Optuna's samplers read them from
    the trials: NSGA-II and NSGA-III by constrained domination (Deb 2002), TPE
    (multivariate, grouped for the conditional parameters, ``constant_liar``
    so that parallel workers do not propose the same point) by splitting
    feasible from infeasible trials (Watanabe & Hutter 2023).
    """
    kind = space.search.sampler
    if kind == "tpe":
        with warnings.catch_warnings():  # multivariate / group / constant_liar are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True)
    if kind == "nsga3":
        return optuna.samplers.NSGAIIISampler(population_size=space.search.population_size, seed=seed)
    return optuna.samplers.NSGAIISampler(population_size=space.search.population_size, seed=seed)


class DataChanged(ConfigError):
    """The study was searched on data with another fingerprint; ``derived`` is the study ``--new-data`` uses."""

    def __init__(self, study: str, old: str, new: str) -> None:
        self.derived = f"{study}-{new[:8]}"
        super().__init__(
            f"study {study!r} was searched on other data (data fingerprint {old[:12]}…, this data {new[:12]}…): "
            f"resuming would mix trials of both in one Pareto front; pass --new-data to search this data as study "
            f"{self.derived!r}, or give another --study")


def create_or_load_study(req: SearchRequest, space: SearchSpace, target: TargetProfile, meta: dict) -> optuna.Study:
    """Open (or create) the study with the space's sampler; record its metadata and objective names.

    ``meta`` is recorded only when the study is new. ``meta["data_fingerprint"]``
    (:func:`data_fingerprint` of the split and the counts scale) is compared on
    resume; a study from before fingerprints were stored gets this data's. The
    objective names (``study.metric_names``, e.g. ``["event_f1", "flash_bytes",
    "ram_bytes", "latency_ms"]``) are set once, so optuna-dashboard labels the axes.

    Raises:
        DataChanged: the study was searched on data with another fingerprint.
        ConfigError: the study exists with a different search space.
    """
    folder = study_dir(req.root, req.study)
    storage = open_storage(folder, req.storage, repair=True)  # the one writer: cut a torn last record first
    try:  # a resumed study gets a sampler seeded for this run (run_seed): no replay of earlier proposals
        n_trials = len(storage.get_all_trials(storage.get_study_id_from_name(req.study), deepcopy=False))
    except KeyError:
        n_trials = 0
    sampler = make_sampler(space, run_seed(req.seed, n_trials))
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "[I ...] A new study created" line among ours
    try:
        study = optuna.create_study(study_name=req.study, storage=storage, directions=list(DIRECTIONS),
                                    sampler=sampler, load_if_exists=True)
    finally:
        optuna.logging.set_verbosity(verbosity)
    attrs = study.user_attrs
    old_key, new_key = attrs.get("data_fingerprint"), meta["data_fingerprint"]
    if old_key is not None and old_key != new_key:
        raise DataChanged(req.study, old_key, new_key)
    old_space = attrs.get("space")
    if old_space is not None and old_space != space.model_dump(mode="json"):
        raise ConfigError(f"study {req.study!r} already exists with a different search space; "
                          "use a new --study name to search a changed space")
    if old_space is not None and old_key is None:  # a study from before fingerprints: checked, then recorded
        study.set_user_attr("data_fingerprint", new_key)
    if old_space is None:
        for key, value in meta.items():
            study.set_user_attr(key, value)
    with warnings.catch_warnings():  # metric names are "experimental" in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if study.metric_names is None:  # optuna-dashboard and study.trials_dataframe() name the objectives
            study.set_metric_names(list(meta.get("objective_names") or objective_names(space)))
    return study


def requeue_interrupted(study: optuna.Study) -> list[int]:
    """Mark trials left RUNNING by a dead run as FAIL and enqueue their parameters again.

    Returns:
        Numbers of the trials marked failed.
    """
    marked = []
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        storage.set_trial_user_attr(t._trial_id, "fail_reason", "interrupted: the search process stopped while it ran; re-queued")
        storage.set_trial_system_attr(t._trial_id, "automl_interrupted", True)
        storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        if t.params:
            study.enqueue_trial(t.params, skip_if_exists=False)
        marked.append(t.number)
    return marked


def _tell(study: optuna.Study, folder: Path, trial: optuna.Trial, outcome: TrialOutcome | None,
          reason: str | None, target: TargetProfile) -> None:
    if outcome is not None:
        with batch_writes(study._storage):  # attributes and constraints: one journal write; then the state
            # The detail to artifacts/trial-N/trial.json, a few scalars to the storage (an infeasible
            # trial is never trained: no model, but its cost breakdown is kept).
            record_trial(folder, trial, outcome.user_attrs, outcome.artifacts)
            c = outcome.user_attrs["cost"]
            trial.set_constraint("flash_over_budget_bytes", float(c["flash_bytes"] - target.flash_bytes))
            trial.set_constraint("ram_over_budget_bytes", float(c["ram_bytes"] - target.ram_bytes))
            trial.set_constraint("latency_over_budget_ms", float(c["latency_ms"] - target.latency_ms))
            study.tell(trial, outcome.values)
        if outcome.user_attrs.get("infeasible"):
            log.info("trial %d infeasible before training (%s), %.1f s", trial.number,
                     "; ".join(outcome.user_attrs["over_budget"]), outcome.user_attrs.get("duration_s", math.nan))
            return
        c = outcome.user_attrs["cost"]  # exact; the sampler was told them rounded up (cost_resolution)
        log.info("trial %d complete: F1=%.4f flash=%d B RAM=%d B latency=%.3f ms (%.1f s)", trial.number,
                 outcome.values[0], c["flash_bytes"], c["ram_bytes"], c["latency_ms"],
                 outcome.user_attrs.get("duration_s", math.nan))
    else:
        trial.set_user_attr("fail_reason", (reason or "unknown error").splitlines()[0][:500])
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log.warning("trial %d failed: %s", trial.number, reason)


def _reason(exc: BaseException) -> str:
    """One line naming why a Ray task failed (the innermost cause)."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, TrialFailed):
        return str(cause)
    text = f"{type(cause).__name__}: {cause}"
    return text.strip().splitlines()[-1] if "\n" in text else text


def _setup_logging(folder: Path) -> logging.Handler:
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(folder / "search.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # the study's search.log, not whatever handler a library gave the root logger
    return handler


def _start_ray(req: SearchRequest) -> bool:
    """Start a local Ray (or join ``req.address``) unless one is up in this process; True if this call started it.

    Without ``--address`` the local Ray is always a new one (``address="local"``): Ray's default would
    attach to a cluster another user started on this machine with ``ray start`` (or named in
    ``RAY_ADDRESS``) and run the trials there.
    """
    import ray

    if ray.is_initialized():
        return False
    env = dict(WORKER_ENV)
    if os.environ.get(FAULT_ENV):
        env[FAULT_ENV] = os.environ[FAULT_ENV]
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    kw = dict(runtime_env={"env_vars": env}, logging_level=logging.WARNING, log_to_driver=False)
    if req.address:
        ray.init(address=req.address, **kw)
    else:
        ray.init(address="local", num_cpus=req.workers, include_dashboard=False, **kw)
    return True


class _Stop:
    """Ctrl-C / SIGTERM: the first asks for a clean stop (no new trials, running
    ones finish and are recorded); the second abandons the running trials
    (recorded as failed, parameters re-queued for the next run)."""

    def __init__(self):
        self.requests = 0
        self._old = {}
        self.notify = None  # callable(text) showing a line on the terminal

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requests += 1
        what = ("finishing the running trials, then stopping (press Ctrl-C again to abandon them)"
                if self.requests == 1 else "abandoning the running trials (they are re-queued for the next run)")
        log.warning("signal %d: %s", signum, what)
        if self.notify is not None:
            self.notify(f"stop requested: {what}")

    def __exit__(self, *exc):
        import signal

        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


#: Proposals in a row repeating tried parameters after which a run stops: the space looks exhausted.
MAX_REPEATS = 50
#: The driver rewrites status.json at most this often while trials finish (s).
STATUS_EVERY_S = 2.0
#: Finished trials between two compactions of the artifacts, and the newest trials never packed.
#: At ~18 KB of files per trained trial in its folder and ~5 KB packed (measured by benchmarks/storage.py).
COMPACT_EVERY, KEEP_RECENT = 1000, 500


def compaction_keep(front: list[int], running: list[int], newest: int) -> set[int]:
    """Trials whose artifact folders a compaction leaves: the front, the running and the newest :data:`KEEP_RECENT`."""
    return {*front, *running, *range(max(0, newest - KEEP_RECENT), newest + 1)}


def study_size(study: optuna.Study) -> int:
    """Number of trials in the study (any state)."""
    return len(study.get_trials(deepcopy=False))


def _params_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=repr)


def tried_parameters(study: optuna.Study) -> dict[str, int]:
    """``{parameters as a key: trial number}`` of the trials that ran (complete, or failed but not interrupted)."""
    tried: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        ran = t.state == optuna.trial.TrialState.COMPLETE or (
            t.state == optuna.trial.TrialState.FAIL and not t.system_attrs.get("automl_interrupted"))
        if ran and t.params:
            tried.setdefault(_params_key(t.params), t.number)
    return tried


def propose(study: optuna.Study, space: SearchSpace, tried: dict[str, int]) -> tuple[optuna.Trial, dict] | None:
    """Ask the sampler for a trial with parameters never tried before, whatever the sampler.

    A proposal equal to a trial in ``tried`` is not run: it is recorded as
    PRUNED with ``user_attrs["skipped"]`` naming the earlier trial (it does not
    count against ``--trials``) and the sampler is asked again. Re-queued
    trials (Optuna's ``fixed_params``) run as asked. ``tried`` gains the
    returned trial.

    Returns:
        ``(trial, params)`` with ``params`` the space's values for the trial
        (fixed ones included), or None after :data:`MAX_REPEATS` repeats in a row.
    """
    for _ in range(MAX_REPEATS):
        trial = study.ask()
        with batch_writes(study._storage):  # the trial's parameters as one journal record
            params = suggest_all(trial, space)
        key = _params_key(trial.params)
        if key not in tried or "fixed_params" in study._storage.get_trial_system_attrs(trial._trial_id):
            tried.setdefault(key, trial.number)
            return trial, params
        trial.set_user_attr("skipped", f"same parameters as trial {tried[key]}")
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return None


def run_seed(seed: int, n_trials: int) -> int:
    """The sampler seed of a run: ``seed`` for a new study, else a seed derived from ``seed`` and ``n_trials``.

    A resumed study gets a sampler that does not replay the first run's
    proposals (a seeded sampler restarts its sequence), yet a resume of the
    same study state with the same ``--seed`` still proposes the same trials.
    ``numpy.random.SeedSequence`` mixes the two numbers (32-bit result).
    """
    if n_trials == 0:
        return int(seed)
    import numpy as np

    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(n_trials)]).generate_state(1)[0])


def _drive(req, study, folder, space, target, data, sample_scale, t_start) -> tuple[int, str]:
    """Ask, submit, wait, tell until the budget is met; returns (trials finished by this run, stop reason)."""
    import ray

    remote = ray.remote(num_cpus=1, max_retries=0)(trial_task)
    data_ref = ray.put(data)
    parallel = req.workers if not req.address else max(1, int(ray.cluster_resources().get("CPU", 1)))
    n_run = 0
    running: dict = {}  # ObjectRef -> (trial, t0)
    changed = True  # re-read counts and redraw only after a trial was told: the storage
    # read and the Pareto size grow with the study and would steal CPU from the workers
    deadline = None if req.timeout_s is None else t_start + req.timeout_s
    tried = tried_parameters(study)
    exhausted = False
    written = 0.0  # when status.json was last written (monotonic s)
    told_since_compaction = 0
    with _Stop() as stop, SearchProgress(study, req.trials, enabled=req.progress, deadline=deadline) as progress:
        stop.notify = progress.message
        while True:
            if changed:
                status = progress.update()
                front = progress.front_values()
                done, failed = status["complete"], status["failed"]
                changed = False
                if _clock() - written >= STATUS_EVERY_S:
                    write_status(folder, status, final=False)
                    written = _clock()
                if told_since_compaction >= COMPACT_EVERY:
                    running_numbers = [t.number for t, _ in running.values()]
                    keep = compaction_keep(progress.pareto_numbers, running_numbers,
                                           max(running_numbers, default=study_size(study)))
                    n_packed = compact_artifacts(folder, keep)
                    log.info("packed the artifacts of %d trials (neither on the front nor recent)", n_packed)
                    told_since_compaction = 0
            out_of_time = req.timeout_s is not None and _clock() - t_start >= req.timeout_s
            if stop.requests or out_of_time or exhausted:
                want = 0
            elif req.trials is None:
                want = parallel - len(running)
            else:
                want = req.trials - done - failed - len(running)
            while want > 0 and len(running) < parallel:
                proposal = propose(study, space, tried)
                if proposal is None:
                    exhausted = True
                    break
                trial, params = proposal
                ref = remote.remote(data_ref, space, params, target, req.seed + trial.number, req.study,
                                    trial.number, sample_scale, req.cache_dir, data_seed=req.seed, front=front)
                running[ref] = (trial, _clock())
                want -= 1
            if not running:
                break
            if stop.requests >= 2:
                for ref, (trial, _t0) in list(running.items()):
                    ray.cancel(ref, force=True)
                    trial.storage.set_trial_system_attr(trial._trial_id, "automl_interrupted", True)  # re-queued
                    _tell(study, folder, trial, None, "interrupted: abandoned on a second Ctrl-C/SIGTERM", target)
                    study.enqueue_trial(trial.params, skip_if_exists=False)
                running.clear()
                break
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            for ref in ready:
                trial, _t0 = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # the trial's exception, or a killed worker
                    _tell(study, folder, trial, None, _reason(exc), target)
                else:
                    _tell(study, folder, trial, outcome, None, target)
                n_run += 1
                told_since_compaction += 1
                changed = True
            if req.trial_timeout_s is not None:
                now = _clock()
                for ref, (trial, t0) in list(running.items()):
                    if now - t0 > req.trial_timeout_s:
                        ray.cancel(ref, force=True)
                        running.pop(ref)
                        _tell(study, folder, trial, None,
                              f"timeout: ran longer than --trial-timeout {req.trial_timeout_s:g} s", target)
                        n_run += 1
                        changed = True
    reason = "signal" if stop.requests else "timeout" if out_of_time else "exhausted" if exhausted else "trials"
    return n_run, reason


def run_search(req: SearchRequest) -> SearchSummary:
    """Run (or resume) a study until ``trials`` finished trials or the timeout.

    Trials run as Ray tasks, one CPU each; the driver asks Optuna for
    parameters, submits up to ``workers`` trials at a time, and records each
    result (values, attributes, artifacts) as it arrives. Trials left running
    by a previous, killed run are marked failed and re-queued first.

    One search at a time per study: the run holds the study's lock
    (:func:`~automl.search._storage.driver_lock`) from before it first writes.

    The study remembers the fingerprint of its data; resuming it on other
    data is refused (:class:`DataChanged`) unless ``req.new_data``, which
    searches the new data as a study of its own.

    Raises:
        ConfigError / DataError: for a bad space, target, data or parameter.
        DataChanged: the study was searched on other data and ``new_data`` is false.
        StudyError: if another search of the study is running (naming its pid and host).
    """
    t_start = _clock()
    if req.trials is None and req.timeout_s is None:
        raise ConfigError("give --trials N, --timeout DURATION or both: a search needs a budget")
    if req.trials is not None and req.trials < 1:
        raise ConfigError(f"The '--trials' parameter must be >= 1. Got {req.trials} instead.")
    if req.workers < 1:
        raise ConfigError(f"The '--workers' parameter must be >= 1. Got {req.workers} instead.")
    space = load_space(req.space_path)
    target = load_target(req.target or space.target)
    check_not_searched(study_dir(req.root, req.study), req.study)  # before the data summary is printed
    train, test, info, sample_scale = load_data(req, space)
    report = check_search(space, train, test, info, seed=req.seed)
    if report.problems:
        more = (f" (and {len(report.problems) - 1} more: run automl check with the same options)"
                if len(report.problems) > 1 else "")
        raise ConfigError(f"no trial could succeed: {report.problems[0]}{more}")
    data = validation_plan(space, train, test, req.seed)
    for line in report.lines():
        if req.notify is not None:
            req.notify(line)
    source = info["source"]
    # {held-out capture: its group_by values joined by "/"} (None: grouped by capture)
    test_groups = (None if space.search.group_by == "capture" else
                   {n: "/".join(g) for n, g in capture_groups(test, space.search.group_by, missing="?").items()})
    meta = {
        "dataset": train.name,
        "data_source": source["paths"][0] if source["paths"] else source["dataset"],
        "data_paths": source["paths"],
        "data_format": source["format"],
        "data_options": source["options"],
        "data_fingerprint": data_fingerprint(data.train_key, data.test_key, sample_scale),
        "space": space.model_dump(mode="json"),
        "space_path": str(Path(req.space_path).resolve()),
        "target": target.model_dump(mode="json"),
        "test_glob": info["test_glob"],
        "test_where": info["test_where"],
        "sensors": {g: list(m) for g, m in (train.sensors or {}).items()},
        "resample_hz": train.resample_hz,
        "classes": study_classes(train, data.has_background),
        "objective_names": objective_names(space),
        "objective": space.objective,
        "sample_scale": sample_scale,
        "channels": list(train.channels),
        "sample_rate_hz": float(train.sample_rate_hz),
        "train_captures": train.capture_names(),
        "test_captures": test.capture_names(),
        "seed": req.seed,
        "fixed_params": space.fixed(),
        "group_by": list(data.group_by),
        "folds": [{"train": list(f.train), "val": list(f.val), "streams": f.streams.capture_names()}
                  for f in data.folds],
        "test_groups": None if test_groups is None else sorted(set(test_groups.values())),
        "test_capture_groups": test_groups,
    }
    try:
        return _search_study(req, space, target, meta, data, sample_scale, t_start, report.lines())
    except DataChanged as exc:
        if not req.new_data:
            raise
        warn(f"study {req.study!r} was searched on other data: searching this data as study {exc.derived!r} "
             "(--new-data); report and export it with --study " + exc.derived)
        return _search_study(replace(req, study=exc.derived), space, target, meta, data, sample_scale,
                             t_start, report.lines())


def validation_plan(space: SearchSpace, train, test, seed: int):
    """The study's :class:`~automl.evaluation.TrialData`: the space's folds (``search.cv_folds`` grouped by
    ``search.group_by``) and validation streams (``search.validation`` for ``event_f1``, else the captures;
    each validation capture turned by up to ``search.validation_rotation`` degrees), planned once with the
    study seed. The one place a search (and a benchmark scoring like one) plans them."""
    return plan_validation(train, test, space.search.cv_folds, seed=seed, group_by=space.search.group_by,
                           streams=space.search.validation if space.objective == "event_f1" else "captures",
                           rotation=space.search.validation_rotation)


def data_fingerprint(train_key: str, test_key: str, sample_scale: dict) -> str:
    """SHA-256 (hex) of a study's data: the two splits' :func:`automl.evaluation.dataset_fingerprint`
    (``TrialData.train_key`` / ``test_key``) and the counts scale. Stored with the study; a resume on data with
    another fingerprint is refused."""
    import hashlib

    h = hashlib.sha256()
    for key in (train_key, test_key):
        h.update(key.encode())
    h.update(json.dumps(sample_scale, sort_keys=True).encode())
    return h.hexdigest()


def _search_study(req, space, target, meta, data, sample_scale, t_start, lines: list[str]) -> SearchSummary:
    """Lock, open and search the study ``req.study`` (see :func:`run_search`); ``lines`` go to its search.log."""
    folder = study_dir(req.root, req.study)
    with driver_lock(folder, req.study):  # one driver per study: a second search is refused before it writes
        handler = _setup_logging(folder)
        try:
            for line in lines:
                log.info("%s", line)
            study = create_or_load_study(req, space, target, meta)
            requeued = requeue_interrupted(study)
            if requeued:
                log.warning("re-queued trials interrupted by a previous run: %s", requeued)
            run_started = datetime.datetime.now()
            started_ray = _start_ray(req)
            try:
                n_run, reason = _drive(req, study, folder, space, target, data, sample_scale, t_start)
            finally:
                if started_ray:
                    import ray

                    ray.shutdown()
        finally:
            log.removeHandler(handler)
            handler.close()
    front = ParetoTracker(study.directions)
    status = final_summary(study, folder, front)
    write_status(folder, status, final=True)
    this_run = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete is not None
                and t.datetime_complete >= run_started and not t.system_attrs.get("automl_interrupted")]
    reasons = [t.user_attrs.get("fail_reason") for t in this_run if t.state == optuna.trial.TrialState.FAIL]
    return SearchSummary(study_dir=folder, n_complete=status["complete"], n_failed=status["failed"], n_run=n_run,
                         n_over_budget=status["over_budget"],
                         wall_s=_clock() - t_start, pareto=front.numbers, stop_reason=reason,
                         n_run_complete=sum(t.state == optuna.trial.TrialState.COMPLETE for t in this_run),
                         last_fail_reason=next((r for r in reversed(reasons) if r), None),
                         budgets=f"{target.name} (flash <= {target.flash_bytes:,} B, RAM <= {target.ram_bytes:,} B, "
                                 f"latency <= {target.latency_ms:g} ms)", study=req.study,
                         recommendation=status.get("recommendation", ""))

