"""HTML report of a study: Pareto data first, then drawing.

``build_report_data`` reduces an Optuna study to plain data
(:class:`ReportData`: trial table, Pareto front, knee, confusion tables);
``render_report`` draws it with the Jinja template in ``reports/templates``;
``write_report`` writes the self-contained page atomically.

Example:
    >>> from automl.report import write_report          # doctest: +SKIP
    >>> write_report(study, Path("studies/boxing/report.html"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import optuna

from ._data import (
    ConfusionTable,
    Recommendation,
    ReportData,
    TrialRow,
    build_report_data,
    confusion_table,
    export_command,
    knee,
    normalise_front,
    pareto_front,
)
from ._html import render_report

__all__ = [
    "ConfusionTable",
    "Recommendation",
    "ReportData",
    "TrialRow",
    "build_report_data",
    "confusion_table",
    "export_command",
    "knee",
    "normalise_front",
    "pareto_front",
    "render_report",
    "write_report",
]


def write_report(study: optuna.Study, out_path: Path) -> Path:
    """Write the HTML report of ``study`` to ``out_path`` atomically.

    The page is written to a temporary file in the same folder and moved into
    place with ``os.replace``, so readers never see a half-written report.

    Args:
        study: a study following ``docs/CONTRACTS.md`` (may have no complete trial).
        out_path: the ``.html`` file to write; its parent folders are created.

    Returns:
        ``out_path`` as given.
    """
    out_path = Path(out_path)
    text = render_report(build_report_data(study))
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
