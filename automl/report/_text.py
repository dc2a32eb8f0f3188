"""The terminal's lines about a study: objective values and the recommendation, one writer for all commands."""

from __future__ import annotations

from collections.abc import Sequence

from automl.report._data import OBJECTIVE_SHORT, ReportData, objective_text

__all__ = ["ESTIMATED", "is_cost", "objective_text", "recommendation_line", "values_text"]

#: How the terminal labels a trial's costs: the search never builds a trial, it estimates them
#: (``automl.cost``); ``automl export`` prints the measured sizes beside them.
ESTIMATED = "estimated (cost model)"


def is_cost(name: str) -> bool:
    """True for a cost objective (``*_bytes``, ``*_ms``: the cost model's estimates), False for the score."""
    return name.endswith(("_bytes", "_ms"))


def values_text(names: Sequence[str], values: Sequence[float]) -> str:
    """``"event F1 0.912; estimated (cost model): flash 4,449 B, RAM 3,398 B, latency 1.411 ms"``.

    Args:
        names: the study's objective names (``objective_names``), e.g.
            ``("event_f1", "flash_bytes", "ram_bytes", "latency_ms")``.
        values: one float per name: the score, then costs in bytes and ms.

    Returns:
        The score first, then the costs after the :data:`ESTIMATED` label (they are the
        cost model's, not measured); either part is left out when there is none.
    """
    pairs = list(zip(names, values))
    part = [", ".join(f"{OBJECTIVE_SHORT.get(n, n)} {objective_text(n, v)}" for n, v in pairs if is_cost(n) == cost)
            for cost in (False, True)]
    if part[1]:
        part[1] = f"{ESTIMATED}: {part[1]}"
    return "; ".join(p for p in part if p)


def recommendation_line(data: ReportData) -> str:
    """``recommended: trial 5 (values, exact costs). <the rule's sentence>``, or why there is none."""
    if data.recommended is None:
        why = data.rule.reason if data.rule is not None else "No recommendation: the study has no complete trial."
        return f"recommended: none. {why}"
    r = data.recommended
    reason = data.rule.reason if data.rule is not None else ""
    return f"recommended: trial {r.number} ({values_text(data.objective_names, r.values)}). {reason}".rstrip()
