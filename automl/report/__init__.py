"""HTML report of a study: Pareto data first, then drawing.

``build_report_data`` reduces an Optuna study to plain data
(:class:`ReportData`: trial table, feasible Pareto front, knee, best trial
within the budgets, a ``--pick`` rule's choice, hypervolume and its history,
parameter importances, per-trial details, and the knee replayed on a held-out
recording); ``render_report`` draws it with the Jinja template in
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

from ._data import (
    ConfusionTable,
    HypervolumeInfo,
    ImportanceInfo,
    PipelineView,
    Recommendation,
    ReportData,
    TrialRow,
    build_report_data,
    confusion_table,
    export_command,
    knee,
    normalise_front,
    pareto_front,
    pipeline_view,
)
from ._html import build_figures, render_report
from ._hypervolume import hypervolume, hypervolume_history
from ._pick import PickResult, PickRule, parse_pick_rule, pick_trial
from ._timeline import TimelineData, decimate_minmax, load_timeline, timeline_data

__all__ = [
    "ConfusionTable",
    "HypervolumeInfo",
    "ImportanceInfo",
    "PickResult",
    "PickRule",
    "PipelineView",
    "Recommendation",
    "ReportData",
    "TimelineData",
    "TrialRow",
    "build_figures",
    "build_report_data",
    "confusion_table",
    "decimate_minmax",
    "export_command",
    "hypervolume",
    "hypervolume_history",
    "knee",
    "load_timeline",
    "normalise_front",
    "pareto_front",
    "parse_pick_rule",
    "pick_trial",
    "pipeline_view",
    "render_report",
    "timeline_data",
    "write_html",
    "write_report",
]


def write_report(study: optuna.Study, out_path: Path, study_dir: Path | None = None,
                 pick: str | PickRule | None = None, **options) -> Path:
    """Write the HTML report of ``study`` to ``out_path`` atomically.

    Args:
        study: a study following ``docs/CONTRACTS.md`` (may have no complete trial).
        out_path: the ``.html`` file to write; its parent folders are created.
        study_dir: the study folder, to replay the knee on a held-out capture
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

    Returns:
        ``out_path`` as given.
    """
    out_path = Path(out_path)
    text = render_report(data)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out_path
