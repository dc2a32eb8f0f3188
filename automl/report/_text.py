"""The terminal's lines about a study: objective values and the recommendation, one writer for all commands."""

from __future__ import annotations

from collections.abc import Sequence

from automl.report._data import OBJECTIVE_SHORT, ReportData, objective_text

__all__ = ["objective_text", "recommendation_line", "values_text"]


def values_text(names: Sequence[str], values: Sequence[float]) -> str:
    """``"event F1 0.912, flash 4,449 B, RAM 3,398 B, latency 1.411 ms"`` for objective ``names`` and ``values``."""
    return ", ".join(f"{OBJECTIVE_SHORT.get(n, n)} {objective_text(n, v)}" for n, v in zip(names, values))


def recommendation_line(data: ReportData) -> str:
    """``recommended: trial 5 (values, exact costs). <the rule's sentence>``, or why there is none."""
    if data.recommended is None:
        why = data.rule.reason if data.rule is not None else "No recommendation: the study has no complete trial."
        return f"recommended: none. {why}"
    r = data.recommended
    reason = data.rule.reason if data.rule is not None else ""
    return f"recommended: trial {r.number} ({values_text(data.objective_names, r.values)}). {reason}".rstrip()
