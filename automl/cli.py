"""The ``automl`` command: search, status, report, export.

Exit codes: 0 ok, 1 runtime error (bad data, missing study, failed build),
2 usage error (bad option), 3 nothing fits the budget.
"""

from __future__ import annotations

import os
import re
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


app = typer.Typer(cls=_OneLineErrors, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="AutoML for IMU sensor models that must fit on a Cortex-M4.")

EXIT_RUNTIME, EXIT_USAGE, EXIT_NO_FIT = 1, 2, 3
_DEBUG = False

RootOpt = Annotated[Path, typer.Option("--root", help="Folder holding study folders.")]
StorageOpt = Annotated[Optional[str], typer.Option(
    "--storage", help="Optuna storage URL (sqlite:///…, postgresql://…); default: journal file in the study folder.")]
StudyOpt = Annotated[str, typer.Option("--study", help="Study name (a folder under --root).")]


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


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    """AutoML for IMU sensor models that must fit on a Cortex-M4."""
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


@app.command()
def search(
    study: StudyOpt,
    space: Annotated[Path, typer.Option("--space", help="Search space YAML (see search_spaces/).")],
    data: Annotated[Optional[Path], typer.Option("--data", help="Folder of labelled capture CSVs.")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="Built-in data set: basic-motions.")] = None,
    data_format: Annotated[str, typer.Option(
        "--format", help="Format of --data: auto, label-column, canonical, dcli, label-studio, per-file.")] = "auto",
    trials: Annotated[Optional[int], typer.Option(
        "--trials", help="Finished trials to reach in the study; default 60, or no limit when --timeout is given.")] = None,
    timeout: Annotated[Optional[str], typer.Option("--timeout", help="Wall budget for this run, e.g. 8h, 20m.")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Parallel trials (Ray CPUs); default: all cores.")] = 0,
    address: Annotated[Optional[str], typer.Option("--address", help="Join a Ray cluster: auto or ray://host:port.")] = None,
    test_glob: Annotated[Optional[str], typer.Option("--test-glob", help="Held-out captures (glob on capture names).")] = None,
    target: Annotated[Optional[str], typer.Option("--target", help="Target profile name or YAML path.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Sampler and training seed.")] = 0,
    trial_timeout: Annotated[Optional[str], typer.Option("--trial-timeout", help="Stop a trial after this long.")] = None,
    root: RootOpt = Path("studies"),
    storage: StorageOpt = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar.")] = True,
    new_data: Annotated[bool, typer.Option(
        "--new-data", help="The study was searched on other data: search this data as the study "
                           "<study>-<data fingerprint> instead of refusing.")] = False,
) -> None:
    """Run (or resume) a multi-objective search: macro F1 vs flash, RAM and latency."""
    from automl.search import DEFAULT_TRIALS, SearchRequest, run_search

    req = SearchRequest(
        study=study, space_path=space, data=data, dataset=dataset, data_format=data_format, root=root, storage=storage,
        trials=trials if trials is not None or timeout is not None else DEFAULT_TRIALS,
        timeout_s=parse_duration(timeout), workers=workers or (os.cpu_count() or 1), address=address,
        test_glob=test_glob, target=target, seed=seed, trial_timeout_s=parse_duration(trial_timeout),
        progress=progress and sys.stderr.isatty(), new_data=new_data,
    )
    summary = run_search(req)
    ended = {"trials": "reached --trials", "timeout": "wall budget (--timeout) used up",
             "signal": "stopped by Ctrl-C/SIGTERM; run the same command to resume",
             "exhausted": "the sampler proposed only parameters already tried, 50 times in a row: the space looks "
                          "exhausted"}[summary.stop_reason]
    typer.echo(f"study {summary.study or study!r}: {summary.n_complete} complete, {summary.n_failed} failed "
               f"({summary.n_run} run now in {summary.wall_s:.0f} s; {ended}); Pareto trials: {summary.pareto}")
    typer.echo(f"study folder: {summary.study_dir}")
    summary.check()  # every trial of this run failed: exit 1; nothing in the study fits the budgets: exit 3


@app.command()
def status(study: StudyOpt, root: RootOpt = Path("studies"), storage: StorageOpt = None) -> None:
    """Print a study's progress (works while a search runs elsewhere).

    Reads the small summary (status.json) the search keeps while it runs and
    leaves when it ends; only a study without one (a search that was killed,
    another storage) is read from its storage.
    """
    from automl.search import load_study, lock_owner, read_status, study_dir, study_status

    folder = study_dir(root, study)
    owner = lock_owner(folder)
    s = read_status(folder) if storage is None and (folder / "journal.log").is_file() else None
    if s is None or not (owner is not None or s.get("final")):
        st, _ = load_study(root, study, storage)
        s = study_status(st)
    best = "-" if s["best_f1"] is None else f"{s['best_f1']:.4f}"
    typer.echo(f"study {study!r}: {s['complete']} complete, {s['failed']} failed, {s['running']} running; "
               f"best F1 {best}; Pareto size {s['pareto_size']}")
    if owner is not None:
        typer.echo(f"search running: pid {owner.get('pid', '?')} on host {owner.get('host', '?')} since "
                   f"{owner.get('started', '?')} UTC; counts as of {s.get('updated', 'now')} UTC")


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
    from automl.report import build_report_data, nothing_fits, parse_pick_rule, write_html
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
            values = ", ".join(f"{data.objective_short(i)} {_objective_text(data.objective_names[i], v)}"
                               for i, v in enumerate(chosen.values))
            typer.echo(f"pick {pick!r}: trial {chosen.number} ({values})")
            typer.echo(f"  {data.pick.reason}")
            typer.echo(f"  {chosen.export_command}")
    typer.echo(str(path))
    if data.pick is not None and data.pick.number is None:
        raise typer.Exit(EXIT_NO_FIT)
    nothing_fits(data)  # a study whose complete trials are all over budget: exit 3


def _objective_text(name: str, value: float) -> str:
    if name.endswith("_bytes"):
        return f"{value:,.0f} B"
    if name.endswith("_ms"):
        return f"{value:.3f} ms"
    return f"{value:.3f}"


def resolve_trial(study: str, trial: str, root: Path, storage: str | None):
    """Trial number from ``--trial``: an integer, or ``knee`` (the report's recommended trial).

    The study is loaded once, here, and handed back for the caller to use.

    Returns:
        ``(trial number, optuna.Study, study folder)``.

    Raises:
        ConfigError: if ``trial`` is neither an integer nor ``knee`` (checked before the study is read).
        StudyError: if the study does not exist, has no such trial, or has no complete trial to recommend.
        NothingFits: for ``knee`` when no complete trial fits the target's budgets.
    """
    from automl.search import load_study

    text = trial.strip()
    if not text.lstrip("-").isdigit() and text.lower() != "knee":
        raise ConfigError(f"The '--trial' parameter must be a trial number or 'knee'. Got {trial!r} instead.")
    st, folder = load_study(root, study, storage)
    if text.lower() == "knee":
        from automl.report import build_report_data, nothing_fits

        data = build_report_data(st, timeline=False, importance=False)
        if data.recommended is None:
            raise StudyError(f"study {study!r} has no complete trial, so there is no knee to export")
        nothing_fits(data, what="there is no knee to export")
        return int(data.recommended.number), st, folder
    number, n_trials = int(text), len(st.get_trials(deepcopy=False))
    if not 0 <= number < n_trials:
        raise StudyError(f"study {study!r} has no trial {number} (its trials are numbered 0 to {n_trials - 1})"
                         if n_trials else f"study {study!r} has no trials yet")
    return number, st, folder


@app.command()
def export(
    study: StudyOpt,
    trial: Annotated[str, typer.Option("--trial", help="Trial number to export, or 'knee' for the report's recommendation.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder for the firmware.")],
    root: RootOpt = Path("studies"),
    storage: StorageOpt = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Write into a folder that is not empty, replacing only the files an earlier export "
                            "of this tool wrote there (listed in its manifest); other files are kept.")] = False,
) -> None:
    """Write the chosen trial as firmware: C arrays, constants and a Makefile."""
    from automl.export import export_trial
    from automl.search import check_out_path, study_dir

    check_out_path(out, study_dir(root, study))
    number, _, folder = resolve_trial(study, trial, root, storage)
    result = export_trial(folder, number, out, overwrite=overwrite)
    typer.echo(str(getattr(result, "out_dir", out)))


if __name__ == "__main__":  # pragma: no cover
    app()
