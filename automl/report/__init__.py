"""HTML report of a study: Pareto data first, then drawing.

``build_report_data`` reduces an Optuna study to plain data
(:class:`ReportData`: trial table, feasible Pareto front, the recommended
trial and its reason, the best trial within the budgets, a ``--pick`` rule's
choice, hypervolume and its history, parameter importances, per-trial
details, and the recommended trial replayed on a held-out recording); ``render_report`` draws it with the Jinja template in
``reports/templates``; ``write_report`` writes the self-contained page atomically.

Example:
    >>> from automl.report import write_report          # doctest: +SKIP
    >>> write_report(study, Path("studies/boxing/report.html"),
    ...              study_dir=Path("studies/boxing"), pick="F1>=0.9,flash<=16k")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import optuna

from automl.errors import ConfigError, io_path

from ._data import (
    CaptureEvents,
    ConfusionTable,
    HypervolumeInfo,
    ImportanceInfo,
    PipelineView,
    Recommendation,
    ReportData,
    TrialRow,
    budget_text,
    build_report_data,
    confusion_table,
    command_line,
    export_command,
    knee,
    normalise_front,
    pareto_front,
    nothing_fits,
    pipeline_view,
)
from ._html import build_figures, render_replay_page, render_report, timeline_figure
from ._hypervolume import hypervolume, hypervolume_history
from ._pick import PickResult, PickRule, parse_pick_rule, pick_trial
from ._replay_page import ReplayPage, ReplaySection, replay_page
from ._text import ESTIMATED, export_lines, objective_text, recommendation_line, values_text
from ._timeline import TimelineData, decimate_minmax, held_out_data, load_timeline, timeline_data

__all__ = [
    "ESTIMATED",
    "export_lines",
    "objective_text",
    "recommendation_line",
    "values_text",
    "CaptureEvents",
    "ConfusionTable",
    "HypervolumeInfo",
    "ImportanceInfo",
    "PickResult",
    "PickRule",
    "PipelineView",
    "Recommendation",
    "ReplayPage",
    "ReplaySection",
    "ReportData",
    "TimelineData",
    "TrialRow",
    "budget_text",
    "build_figures",
    "build_report_data",
    "confusion_table",
    "decimate_minmax",
    "command_line",
    "export_command",
    "hypervolume",
    "held_out_data",
    "hypervolume_history",
    "knee",
    "load_timeline",
    "normalise_front",
    "nothing_fits",
    "pareto_front",
    "parse_pick_rule",
    "pick_trial",
    "pipeline_view",
    "render_replay_page",
    "render_report",
    "replay_page",
    "timeline_data",
    "timeline_figure",
    "write_html",
    "write_replay_page",
    "write_report",
]


def write_report(study: optuna.Study, out_path: Path, study_dir: Path | None = None,
                 pick: str | PickRule | None = None, **options) -> Path:
    """Write the HTML report of ``study`` to ``out_path`` atomically.

    Args:
        study: a study following ``docs/CONTRACTS.md`` (may have no complete trial).
        out_path: the ``.html`` file to write; its parent folders are created.
        study_dir: the study folder, to replay the recommended trial on a held-out capture
            (see :func:`build_report_data`).
        pick: an optional ``--pick`` rule.
        **options: further keyword arguments of :func:`build_report_data`.

    Returns:
        ``out_path`` as given.
    """
    return write_html(build_report_data(study, study_dir, pick, **options), out_path)


def write_html(data: ReportData, out_path: Path) -> Path:
    """Render ``data`` and write it to ``out_path`` atomically.

    The page is written to a temporary file in the same folder and moved into
    place with ``os.replace``, so readers never see a half-written report.
    Only a file this function wrote before (it starts with the
    :data:`REPORT_MARK` comment) is ever replaced.

    Returns:
        ``out_path`` as given.

    Raises:
        ConfigError: ``out_path`` is a folder, or an existing file that is not a report.
        OSError: naming the file when the folder cannot be written (e.g. a full disk).
    """
    return _write_page(lambda: render_report(data), Path(out_path), "--out", "report.html")


def write_replay_page(replay, out_path: Path) -> Path:
    """Write the page of an :class:`automl.replay.Replay` (``automl replay --html``) atomically.

    Only a file that is a page of this package (it starts with the
    :data:`REPORT_MARK` comment) is ever replaced.

    Returns:
        ``out_path`` as given.

    Raises:
        ConfigError: ``out_path`` is a folder, or an existing file this package did not write.
        OSError: naming the file when the folder cannot be written (e.g. a full disk).
    """
    return _write_page(lambda: render_replay_page(replay_page(replay)), Path(out_path), "--html", "replay.html")


def _write_page(render, out_path: Path, option: str, example: str) -> Path:
    """Check ``out_path`` (``option`` names it in errors), render, and write through a temp file + ``os.replace``."""
    if out_path.is_dir() or not out_path.name:
        raise ConfigError(f"{option} {str(out_path)!r} is a folder; give the page's file name, e.g. "
                          f"{str(out_path / example)!r}")
    if out_path.exists() and not _is_report(out_path):
        raise ConfigError(f"Refusing to replace {str(out_path)!r}: it is not a page written by automl "
                          "(nothing else is ever overwritten); choose another file name")
    text = render()
    with io_path(out_path, always=True):  # a full disk or read-only folder names the page, not the temp file
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a page is meant to be shared
            os.replace(tmp, out_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return out_path


#: The comment every report starts with (after the doctype), which marks a file write_html may replace.
REPORT_MARK = b"<!-- Generated by automl "


def _is_report(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return REPORT_MARK in fh.read(512)
    except OSError:
        return False
