"""The ``automl`` command: search, check, status, report, export, replay.

Exit codes: 0 ok, 1 runtime error (bad data, missing study, failed build),
2 usage error (bad option), 3 nothing fits the budget.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from automl.errors import AutomlError, ConfigError, NothingFits, StudyError

class _OneLineErrors(TyperGroup):
    """Every command's failure becomes one ``error: …`` line and an exit code (:func:`_fail`)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):  # exit codes, usage errors: typer's
            raise
        except Exception as exc:  # noqa: BLE001 -- nothing reaches the user as a traceback without --debug
            _fail(exc)


# Plain click help (rich_markup_mode=None): flags without a "<bool>" placeholder, long help wrapped, not cut.
app = typer.Typer(cls=_OneLineErrors, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="AutoML for IMU sensor models that must fit on a Cortex-M4.")

EXIT_RUNTIME, EXIT_USAGE, EXIT_NO_FIT = 1, 2, 3
_DEBUG = False

RootOpt = Annotated[Path, typer.Option("--root", help="Folder holding study folders.")]
StorageOpt = Annotated[Optional[str], typer.Option(
    "--storage", help="Optuna storage URL (sqlite:///…, postgresql://…); default: journal file in the study folder.")]
StudyOpt = Annotated[str, typer.Option("--study", help="Study name (a folder under --root).")]
#: The shipped target profiles (search_spaces/targets/*.yaml), named in --target's help; a test keeps this
#: list equal to automl.cost.list_targets() (importing automl.cost here would add 2 s to every command).
TARGETS = ("cortex-m4f-80mhz", "nrf52840", "nrf52840-tflm", "stm32l4")

# Data options shared by `search` and `check` (each overrides the space's data key of the same name).
SpaceOpt = Annotated[Path, typer.Option("--space", help="Search space YAML (see search_spaces/).")]
DataOpt = Annotated[Optional[list[Path]], typer.Option(
    "--data", help="Labelled data: a folder (CSVs with a label column, a canonical folder, one class per file or "
                   "per folder) or an export file (SensiML .dcli/.dai, Label Studio .json); repeat for several "
                   "Label Studio exports (train and test). See --format.")]
DatasetOpt = Annotated[Optional[str], typer.Option("--dataset", help="Built-in data set: basic-motions.")]
FormatOpt = Annotated[str, typer.Option(
    "--format", help="Format of --data: auto, label-column, canonical, per-file, folders, dcli, label-studio.")]
TestGlobOpt = Annotated[Optional[str], typer.Option("--test-glob", help="Held-out captures (glob on capture names).")]
TestWhereOpt = Annotated[Optional[list[str]], typer.Option(
    "--test-where", help="Held-out captures by metadata, e.g. subject=01,09 (repeat: all must hold).")]
LabelColumnOpt = Annotated[Optional[str], typer.Option(
    "--label-column", help="label-column format: the per-sample label column (default label).")]
LabelPatternOpt = Annotated[Optional[str], typer.Option(
    "--label-pattern", help="One class per file: regex with a group (?P<label>...) matched on each file name.")]
LabelMapOpt = Annotated[Optional[Path], typer.Option(
    "--label-map", help="One class per file: CSV file,label[,recording,sensor,...] (recording: one file per sensor).")]
CsvDirOpt = Annotated[Optional[Path], typer.Option(
    "--csv-dir", help="Label Studio: folder holding the tasks' CSV files (default: the export's folder).")]
TimeColumnOpt = Annotated[Optional[str], typer.Option(
    "--time-column", help="The time column (Label Studio: the <TimeSeries> timeColumn); 'none' for row indices.")]
TimeUnitOpt = Annotated[Optional[str], typer.Option(
    "--time-unit", help="Unit of a numeric time column: s, ms, us or ns (default: from its name).")]
SampleRateOpt = Annotated[Optional[float], typer.Option(
    "--sample-rate", help="Sample rate (Hz) of files without a time column.")]
ResampleOpt = Annotated[Optional[float], typer.Option(
    "--resample-hz", help="Resample every capture to this rate (Hz) before the search (recorded in pipeline.json).")]


def error_line(exc: BaseException) -> tuple[str, int]:
    """The one line (without ``error: ``) and exit code the CLI shows for ``exc``.

    :class:`~automl.errors.ConfigError` is a usage error (2), :class:`NothingFits`
    exit 3, every other :class:`~automl.errors.AutomlError` a runtime error (1)
    with its own message. Errors from the operating system name the path
    (``<path>: No space left on device``); a file that is not UTF-8 text, a
    storage error or any unexpected exception are also one line (code 1), the
    traceback only with ``--debug``.
    """
    if isinstance(exc, AutomlError):
        code = EXIT_NO_FIT if isinstance(exc, NothingFits) else EXIT_USAGE if isinstance(exc, ConfigError) \
            else EXIT_RUNTIME
        return _first_line(str(exc)), code
    if isinstance(exc, OSError):
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
        what = exc.strerror or _first_line(str(exc)) or type(exc).__name__
        return (f"{where}: {what}" if where else what), EXIT_RUNTIME
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not UTF-8 text (byte {exc.start}: {exc.reason})", EXIT_RUNTIME
    if isinstance(exc, MemoryError):
        return "out of memory", EXIT_RUNTIME
    text = _first_line(str(exc))
    return f"{type(exc).__name__}{': ' + text if text else ''} (run with --debug for the traceback)", EXIT_RUNTIME


def _first_line(text: str, limit: int = 500) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit] + " …"


def _fail(exc: BaseException) -> None:
    if _DEBUG:
        raise exc
    message, code = error_line(exc)
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _print_version(value: bool) -> None:
    if value:
        import automl

        typer.echo(f"automl (tinyml-automl) {automl.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """AutoML for IMU sensor models that must fit on a Cortex-M4.

    check -> search -> status -> report -> export -> replay; `automl COMMAND --help` for each.
    Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 nothing fits the budget.
    """
    global _DEBUG
    _DEBUG = debug


def parse_duration(text: str | None) -> float | None:
    """Seconds from ``90``, ``90s``, ``20m``, ``8h``, ``1h30m``; None stays None.

    Raises:
        ConfigError: if the text is not a duration.
    """
    if text is None:
        return None
    m = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not m or not any(m.groups()):
        raise ConfigError(f"The duration {text!r} is not of the form 8h, 20m, 1h30m or 90s.")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def _data_options(label_column, label_pattern, label_map, csv_dir, time_column, time_unit, sample_rate,
                  resample_hz) -> dict:
    """Reader options given on the command line (None: not given, the space's value holds)."""
    return {"label_column": label_column, "label_pattern": label_pattern,
            "label_map": None if label_map is None else str(label_map),
            "csv_dir": None if csv_dir is None else str(csv_dir), "time_column": time_column, "time_unit": time_unit,
            "sample_rate_hz": sample_rate, "resample_hz": resample_hz}


def _data(data: list[Path] | None) -> Path | list[Path] | None:
    return None if not data else data[0] if len(data) == 1 else list(data)


@app.command()
def search(
    study: StudyOpt,
    space: SpaceOpt,
    data: DataOpt = None,
    dataset: DatasetOpt = None,
    data_format: FormatOpt = "auto",
    trials: Annotated[Optional[int], typer.Option(
        "--trials", help="Finished trials to reach in the study; default 60, or no limit when --timeout is given.")] = None,
    timeout: Annotated[Optional[str], typer.Option("--timeout", help="Wall budget for this run, e.g. 8h, 20m.")] = None,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", min=1, help="Parallel trials (Ray CPUs). Default: all cores.", show_default=False)] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Join a Ray cluster: auto or ray://host:port.")] = None,
    test_glob: TestGlobOpt = None,
    test_where: TestWhereOpt = None,
    label_column: LabelColumnOpt = None,
    label_pattern: LabelPatternOpt = None,
    label_map: LabelMapOpt = None,
    csv_dir: CsvDirOpt = None,
    time_column: TimeColumnOpt = None,
    time_unit: TimeUnitOpt = None,
    sample_rate: SampleRateOpt = None,
    resample_hz: ResampleOpt = None,
    target: Annotated[Optional[str], typer.Option(
        "--target", help=f"Target profile: {', '.join(TARGETS)} (search_spaces/targets/), or a YAML path. "
                         "Default: the search space's target.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampler and training seed.")] = 0,
    trial_timeout: Annotated[Optional[str], typer.Option("--trial-timeout", help="Stop a trial after this long.")] = None,
    root: RootOpt = Path("studies"),
    storage: StorageOpt = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar.")] = True,
    new_data: Annotated[bool, typer.Option(
        "--new-data", help="The study was searched on other data: search this data as the study "
                           "<study>-<data fingerprint> instead of refusing.")] = False,
) -> None:
    """Run (or resume) a multi-objective search: validation F1 vs flash, RAM and latency."""
    from automl.search import DEFAULT_TRIALS, SearchRequest, run_search

    req = SearchRequest(
        study=study, space_path=space, data=_data(data), dataset=dataset, data_format=data_format, root=root,
        storage=storage, trials=trials if trials is not None or timeout is not None else DEFAULT_TRIALS,
        timeout_s=parse_duration(timeout), workers=workers or (os.cpu_count() or 1), address=address,
        test_glob=test_glob, test_where=test_where, target=target, seed=seed,
        trial_timeout_s=parse_duration(trial_timeout), progress=progress and sys.stderr.isatty(),
        data_options=_data_options(label_column, label_pattern, label_map, csv_dir, time_column, time_unit,
                                   sample_rate, resample_hz),
        notify=typer.echo, new_data=new_data,
    )
    summary = run_search(req)
    ended = {"trials": "reached --trials", "timeout": "wall budget (--timeout) used up",
             "signal": "stopped by Ctrl-C/SIGTERM; run the same command to resume",
             "exhausted": "the sampler proposed only parameters already tried, 50 times in a row: the space looks "
                          "exhausted"}[summary.stop_reason]
    over = f" ({summary.n_over_budget} over budget, never trained)" if summary.n_over_budget else ""
    typer.echo(f"study {summary.study or study!r}: {summary.n_complete} complete{over}, {summary.n_failed} failed "
               f"({summary.n_run} run now in {summary.wall_s:.0f} s; {ended}); Pareto trials: {summary.pareto}")
    if summary.recommendation:
        typer.echo(summary.recommendation)
    typer.echo(f"study folder: {summary.study_dir}")
    summary.check()  # every trial of this run failed: exit 1; nothing in the study fits the budgets: exit 3
    from automl.report import command_line

    name = summary.study or study
    typer.echo(f"next: {command_line('report', name, root)}; "
               f"{command_line('export', name, root, '--trial', 'recommended', '--out', f'build/firmware/{name}')}")


@app.command()
def check(
    space: SpaceOpt,
    data: DataOpt = None,
    dataset: DatasetOpt = None,
    data_format: FormatOpt = "auto",
    test_glob: TestGlobOpt = None,
    test_where: TestWhereOpt = None,
    label_column: LabelColumnOpt = None,
    label_pattern: LabelPatternOpt = None,
    label_map: LabelMapOpt = None,
    csv_dir: CsvDirOpt = None,
    time_column: TimeColumnOpt = None,
    time_unit: TimeUnitOpt = None,
    sample_rate: SampleRateOpt = None,
    resample_hz: ResampleOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Study seed (the folds depend on it).")] = 0,
) -> None:
    """Read the data and the space as `search` would; print what it would use, or every problem (exit 2)."""
    from automl.search import SearchRequest, check_data

    report = check_data(SearchRequest(
        study="check", space_path=space, data=_data(data), dataset=dataset, data_format=data_format,
        test_glob=test_glob, test_where=test_where, seed=seed,
        data_options=_data_options(label_column, label_pattern, label_map, csv_dir, time_column, time_unit,
                                   sample_rate, resample_hz)))
    for line in [*report.summary, *(f"note: {n}" for n in report.notes), *(f"warning: {w}" for w in report.warnings)]:
        typer.echo(line)
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    if report.problems:
        raise typer.Exit(EXIT_USAGE)


@app.command()
def status(study: StudyOpt, root: RootOpt = Path("studies"), storage: StorageOpt = None) -> None:
    """Print a study's progress, its best and its recommended trial (works while a search runs elsewhere).

    Reads the small summary (status.json) the search keeps while it runs and
    leaves when it ends; only a study without one (a search that was killed,
    another storage) is read from its storage.
    """
    from automl.search import final_summary, load_study, lock_owner, read_status, study_dir

    folder = study_dir(root, study)
    owner = lock_owner(folder)
    s = read_status(folder) if storage is None and (folder / "journal.log").is_file() else None
    if s is None or not (owner is not None or s.get("final")):
        st, folder = load_study(root, study, storage)
        s = final_summary(st, folder)
    metric = s.get("metric") or "F1"
    best = (f"trial {s['best'][0]} ({metric} {s['best'][1]:.4f})" if s.get("best") else
            "-" if s.get("best_f1") is None else f"{s['best_f1']:.4f}")
    over = f" ({s['over_budget']} over budget, never trained)" if s.get("over_budget") else ""
    typer.echo(f"study {study!r}: {s['complete']} complete{over}, {s['failed']} failed, {s['running']} running; "
               f"Pareto size {s['pareto_size']}; best {metric} within budget: {best}")
    if s.get("recommendation"):
        typer.echo(s["recommendation"])
    if owner is not None:
        typer.echo(f"search running: pid {owner.get('pid', '?')} on host {owner.get('host', '?')} since "
                   f"{owner.get('started', '?')} UTC" + (f"; counts as of {s['updated']} UTC" if s.get("updated") else "")
                   + "; the recommendation is computed when it ends (automl report shows it now)")


@app.command()
def report(
    study: StudyOpt,
    out: Annotated[Optional[Path], typer.Option("--out", help="HTML file; default <study folder>/report.html.")] = None,
    root: RootOpt = Path("studies"),
    storage: StorageOpt = None,
    pick: Annotated[Optional[str], typer.Option(
        "--pick", help="Rule choosing a trial, e.g. 'F1>=0.9,flash<=16k,ram<=4k,latency<=5ms': keep the feasible "
                       "trials meeting every clause, then the highest F1, then the knee among F1 ties. "
                       "k/M = 1024/1024² bytes; latency in ms (or us, s); F1 as 0.9 or 90%. "
                       "Exit code 3 if no trial matches.")] = None,
    timeline: Annotated[bool, typer.Option(
        "--timeline/--no-timeline", help="Replay the recommended trial on a held-out recording (re-reads the data).")] = True,
    capture: Annotated[Optional[str], typer.Option(
        "--capture", help="Held-out capture for the timeline; default: the first.")] = None,
) -> None:
    """Write a self-contained HTML Pareto report and print its path (works while a search runs)."""
    from automl.report import build_report_data, nothing_fits, parse_pick_rule, values_text, write_html
    from automl.search import check_out_path, load_study, study_dir

    rule = parse_pick_rule(pick) if pick is not None else None  # a bad rule fails before any work
    default = study_dir(root, study) / "report.html"
    if out is not None:
        check_out_path(out, study_dir(root, study), allow=default)
    st, folder = load_study(root, study, storage)
    data = build_report_data(st, folder, rule, timeline=timeline, timeline_capture=capture,
                             export_root=root)
    path = write_html(data, out or default)
    if data.pick is not None:
        if data.pick.number is None:
            typer.echo(f"pick {pick!r}: {data.pick.reason}")
        else:
            chosen = next(r for r in data.details if r.number == data.pick.number)
            values = values_text(data.objective_names, chosen.values)
            typer.echo(f"pick {pick!r}: trial {chosen.number} ({values})")
            typer.echo(f"  {data.pick.reason}")
            typer.echo(f"  {chosen.export_command}")
    typer.echo(str(path))
    if data.pick is not None and data.pick.number is None:
        raise typer.Exit(EXIT_NO_FIT)
    nothing_fits(data)  # a study whose complete trials are all over budget: exit 3


def resolve_trial(study: str, trial: str, root: Path, storage: str | None):
    """Trial number from ``--trial``: an integer, or ``recommended`` (alias ``knee``: the report's recommendation).

    The study is loaded once, here, and handed back for the caller to use.

    Returns:
        ``(trial number, optuna.Study, study folder, why)``: ``why`` is the
        recommendation line (:func:`automl.report.recommendation_line`) for ``recommended``,
        else ``""``.

    Raises:
        ConfigError: if ``trial`` is neither an integer nor ``knee`` (checked before the study is read).
        StudyError: if the study does not exist, has no such trial, or has no complete trial to recommend.
        NothingFits: for ``knee`` when no complete trial fits the target's budgets.
    """
    from automl.search import load_study

    text = trial.strip()
    if not text.lstrip("-").isdigit() and text.lower() not in ("recommended", "knee"):
        raise ConfigError(f"The '--trial' parameter must be a trial number or 'recommended'. Got {trial!r} instead.")
    st, folder = load_study(root, study, storage)
    if text.lower() in ("recommended", "knee"):
        from automl.report import build_report_data, nothing_fits, recommendation_line

        data = build_report_data(st, timeline=False, importance=False, hypervolume=False)
        nothing_fits(data, what="there is no trial to recommend")
        if data.recommended is None:
            why = data.rule.reason if data.rule is not None else "No recommendation: the study has no complete trial."
            raise StudyError(f"study {study!r}: {why[0].lower()}{why[1:]}")
        return int(data.recommended.number), st, folder, recommendation_line(data)
    number, n_trials = int(text), len(st.get_trials(deepcopy=False))
    if not 0 <= number < n_trials:
        raise StudyError(f"study {study!r} has no trial {number} (its trials are numbered 0 to {n_trials - 1})"
                         if n_trials else f"study {study!r} has no trials yet")
    return number, st, folder, ""


@app.command()
def export(
    study: StudyOpt,
    trial: Annotated[str, typer.Option("--trial", help="Trial number to export, or 'recommended' for the report's recommendation.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder for the firmware.")],
    root: RootOpt = Path("studies"),
    storage: StorageOpt = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Write into a folder that is not empty, replacing only the files an earlier export "
                            "of this tool wrote there (listed in its manifest); other files are kept.")] = False,
) -> None:
    """Write the chosen trial as firmware: a C99 library, its Makefile and README.

    Prints which trial it exported, its measured sizes beside the cost model's estimates, and the class ids.
    """
    from automl.export import export_trial
    from automl.report import command_line, export_lines
    from automl.search import check_out_path, study_dir

    check_out_path(out, study_dir(root, study))
    number, st, folder, why = resolve_trial(study, trial, root, storage)
    result = export_trial(folder, number, out, overwrite=overwrite)
    runtime = (st.user_attrs.get("target") or {}).get("runtime") or "automl-c"
    for line in export_lines(result, _trial_estimate(st, number), recommended=bool(why), runtime=runtime):
        typer.echo(line)
    trial_opt = "recommended" if why else str(number)
    typer.echo(f"  build and print its model information: {shlex.join(['make', '-C', str(out), 'run'])}")
    replay = command_line("replay", study, root, "--trial", trial_opt, "--held-out", "--firmware", out)
    typer.echo(f"  firmware vs Python on the held-out captures: {replay}   (or RECORDING.csv instead of --held-out)")


def _trial_estimate(st, number: int) -> dict[str, float]:
    """The trial's exact objective values by name (the cost model's costs); ``{}`` when it has none."""
    from automl.search import exact_values

    t = next((t for t in st.get_trials(deepcopy=False) if t.number == number), None)
    if t is None or t.values is None:
        return {}
    names = st.user_attrs.get("objective_names") or ["F1", "flash_bytes", "ram_bytes", "latency_ms"]
    return dict(zip(names, exact_values(t, names)))


@app.command()
def replay(
    study: StudyOpt,
    trial: Annotated[str, typer.Option("--trial", help="Trial number, or 'recommended'.")],
    recordings: Annotated[Optional[list[Path]], typer.Argument(
        help="Recordings: a capture CSV (a label column is optional), or a file/folder in any --format; each "
             "capture is one stream.", metavar="[RECORDING]...", show_default=False)] = None,
    on: Annotated[str, typer.Option(
        "--on", help="host: the gcc build; qemu: the Cortex-M4 build under QEMU mps2-an386, with instructions "
                     "per classification.")] = "host",
    data_format: Annotated[str, typer.Option(
        "--format", help="Format of the recordings: auto, label-column, canonical, per-file, folders, dcli, "
                         "label-studio.")] = "auto",
    firmware: Annotated[Optional[Path], typer.Option(
        "--firmware", help="An export of this trial (automl export --out). Default: the trial is exported into a "
                           "temporary folder.", show_default=False)] = None,
    html: Annotated[Optional[Path], typer.Option(
        "--html", help="Also write the replay as a timeline page (an .html file).", show_default=False)] = None,
    write_counts: Annotated[Optional[Path], typer.Option(
        "--write-counts", help="Keep the int16 counts the firmware read: a .csv file that `make stream "
                               "RECORDING=...` and `make qemu RECORDING=...` of the export take (a folder, one "
                               "<capture>.csv each, for several captures).", show_default=False)] = None,
    held_out: Annotated[bool, typer.Option(
        "--held-out", help="Replay the study's held-out captures (its data, split by its test glob), e.g. for the "
                           "built-in demo data, which has no file to give.")] = False,
    table: Annotated[bool, typer.Option("--table/--no-table", help="Print the per-event table.")] = True,
    root: RootOpt = Path("studies"),
    storage: StorageOpt = None,
) -> None:
    """Run the exported firmware and the Python pipeline on recordings and compare them, event by event.

    Prints every window that emitted an event class (time, label, firmware output, Python output), labelled
    events with no output of their class, and per recording the agreement (window starts, class decisions and
    emitted outputs), the device event metric of the search against the recording's labels (precision,
    recall, F1, false activations per hour of background) and, with --on qemu, instructions per
    classification. Exit code 1 if the firmware and Python disagree anywhere. --held-out replays the study's
    own held-out captures (no file needed, also for the built-in demo data).
    """
    from automl.replay import replay_lines, replay_trial
    from automl.search import check_out_path, study_dir

    for option, path in (("--html", html), ("--write-counts", write_counts)):
        if path is not None:
            check_out_path(path, study_dir(root, study), option=option)
    number, st, folder, _ = resolve_trial(study, trial, root, storage)
    result = replay_trial(folder, number, recordings or [], study_name=study, study_attrs=st.user_attrs,
                          fmt=data_format, on=on, firmware=firmware, write_counts_to=write_counts,
                          held_out=held_out)
    page = None
    if html is not None:
        from automl.report import write_replay_page

        page = write_replay_page(result, html)
    for line in replay_lines(result, table=table):
        typer.echo(line)
    if write_counts is not None:
        typer.echo(f"counts: {write_counts} (make -C EXPORT stream RECORDING=<that file>)")
    if page is not None:
        typer.echo(f"timeline page: {page}")
    if not result.identical:
        raise typer.Exit(EXIT_RUNTIME)



if __name__ == "__main__":  # pragma: no cover
    app()
