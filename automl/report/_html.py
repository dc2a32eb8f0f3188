"""Draw a :class:`~automl.report._data.ReportData` as one self-contained HTML page.

Structure lives in the Jinja template ``reports/templates/report.html.j2``
(autoescape on: every study, class, feature, parameter and file name is
escaped); values come from the small formatting filters below. Plotly figures
are rendered with ``plotly.io.to_html(..., include_plotlyjs=False)`` and
plotly.js is inlined once, so the page needs no network. Plotly's JSON
serialiser writes ``<``, ``>`` and ``/`` as ``\\u003c``, ``\\u003e``,
``\\u002f``, so user strings inside figure data cannot close the ``<script>``.
"""

from __future__ import annotations

import html
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline
from markupsafe import Markup
from plotly.subplots import make_subplots

import automl

from ._data import ReportData

#: Folder of the report templates and assets (``reports/`` at the repository top level).
REPORTS_DIR = Path(automl.__file__).resolve().parents[1] / "reports"
TEMPLATE_NAME = "report.html.j2"

_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
_COLOR_OTHER = "#b0b7c3"
_COLOR_FRONT = "#1f6fd1"
_COLOR_KNEE = "#e4572e"


def render_report(data: ReportData) -> str:
    """Render ``data`` to one HTML document (str) that works offline.

    Args:
        data: from :func:`automl.report.build_report_data`.

    Returns:
        The full HTML text, plotly.js inlined once.
    """
    figure_html = _pareto_figure_html(data) if data.n_complete else None
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(
        d=data,
        rec=data.recommended,
        figure_html=None if figure_html is None else Markup(figure_html),
        plotly_js=Markup(_plotly_js()) if figure_html is not None else None,
        objective_labels=[data.objective_label(i) for i in range(len(data.objective_names))],
        automl_version=automl.__version__,
        metric_rows=_metric_rows(data),
        target_items=_flatten(data.target),
    )


# --------------------------------------------------------------------------- #
# Figures
# --------------------------------------------------------------------------- #

def _pareto_figure_html(data: ReportData) -> str:
    """One row of 2-D scatter plots: objective 0 (F1) against each other objective."""
    n_obj = len(data.objective_names)
    others = list(range(1, n_obj))
    if not others:  # single objective: plot against trial number
        return _single_objective_html(data)
    fig = make_subplots(rows=1, cols=len(others), shared_yaxes=True,
                        horizontal_spacing=0.04)
    on_front = np.zeros(data.n_complete, dtype=bool)
    on_front[data.pareto] = True
    is_knee = np.zeros(data.n_complete, dtype=bool)
    if data.knee is not None:
        is_knee[data.knee] = True
        on_front[data.knee] = False
    hover = _hover_texts(data)
    groups = [
        ("dominated", ~on_front & ~is_knee, dict(color=_COLOR_OTHER, size=7, symbol="circle")),
        ("Pareto front", on_front, dict(color=_COLOR_FRONT, size=9, symbol="circle",
                                        line=dict(color="white", width=1))),
        ("recommended (knee)", is_knee, dict(color=_COLOR_KNEE, size=15, symbol="star",
                                             line=dict(color="black", width=1))),
    ]
    for col, j in enumerate(others, start=1):
        for name, mask, marker in groups:
            idx = np.flatnonzero(mask)
            fig.add_trace(
                go.Scatter(
                    x=data.values[idx, j].tolist(), y=data.values[idx, 0].tolist(),
                    mode="markers", name=name, legendgroup=name, showlegend=(col == 1),
                    marker=marker, hovertext=[hover[i] for i in idx], hoverinfo="text",
                ),
                row=1, col=col,
            )
        budget = data.budgets[j]
        if budget is not None:
            fig.add_vline(x=budget, line=dict(color="#888", dash="dash", width=1),
                          annotation_text="budget", annotation_position="top",
                          row=1, col=col)
        fig.update_xaxes(title_text=data.objective_label(j), row=1, col=col)
    fig.update_yaxes(title_text=data.objective_label(0), row=1, col=1)
    fig.update_layout(height=420, margin=dict(l=60, r=20, t=30, b=60),
                      template="plotly_white", hovermode="closest",
                      legend=dict(orientation="h", y=1.12, x=0))
    return pio.to_html(fig, full_html=False, include_plotlyjs=False,
                       config=_PLOTLY_CONFIG, div_id="pareto-front")


def _single_objective_html(data: ReportData) -> str:
    hover = _hover_texts(data)
    fig = go.Figure(go.Scatter(x=data.numbers.tolist(), y=data.values[:, 0].tolist(),
                               mode="markers", hovertext=hover, hoverinfo="text"))
    fig.update_layout(xaxis_title="trial", yaxis_title=data.objective_label(0),
                      template="plotly_white", height=380)
    return pio.to_html(fig, full_html=False, include_plotlyjs=False,
                       config=_PLOTLY_CONFIG, div_id="pareto-front")


def _hover_texts(data: ReportData) -> list[str]:
    """Hover label per complete trial. Plotly renders a subset of HTML in labels
    and decodes entities, so user strings are ``html.escape``d to show as typed."""
    rows = {r.number: r for r in data.rows}
    texts = []
    for i, number in enumerate(data.numbers.tolist()):
        lines = [f"<b>trial {number}</b>"]
        lines += [f"{html.escape(data.objective_label(j))}: {_fmt_objective(data.objective_names[j], v)}"
                  for j, v in enumerate(data.values[i].tolist())]
        params = rows[number].main_params
        if params:
            lines += [html.escape(p) for p in params.split(", ")]
        texts.append("<br>".join(lines))
    return texts


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    # plotly.js contains no "</script" today; keep the guard for future bundles.
    return plotly.offline.get_plotlyjs().replace("</script", "<\\/script")


# --------------------------------------------------------------------------- #
# Template environment and filters
# --------------------------------------------------------------------------- #

def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(REPORTS_DIR / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        f1=_fmt_f1, pct=_fmt_pct, num=_fmt_num, objective=_fmt_objective, value=_fmt_value,
    )
    env.globals["missing"] = _missing
    return env


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _fmt_f1(v: Any) -> str:
    """A fraction 0..1 shown with three decimals, '–' if missing."""
    return "–" if _missing(v) else f"{float(v):.3f}"


def _fmt_pct(v: Any, fraction: bool = False) -> str:
    """A percentage with one decimal; ``fraction=True`` multiplies by 100 first."""
    if _missing(v):
        return "–"
    return f"{float(v) * (100.0 if fraction else 1.0):.1f}%"


def _fmt_num(v: Any) -> str:
    if _missing(v):
        return "–"
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    return f"{float(v):.4g}"


def _fmt_objective(name: str, v: Any) -> str:
    """Format a value of objective ``name`` in its unit."""
    if _missing(v):
        return "–"
    if name == "macro_f1":
        return _fmt_f1(v)
    if name.endswith("_bytes"):
        return f"{int(round(float(v))):,} B"
    if name.endswith("_ms"):
        return f"{float(v):.3f} ms"
    return f"{float(v):.4g}"


def _fmt_value(v: Any) -> str:
    """Any parameter / profile value as short text (escaped later by Jinja)."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    return str(v)


def _flatten(mapping: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``{"a": {"b": 1}}`` -> ``[("a.b", "1")]`` for the target profile table."""
    if not isinstance(mapping, dict):
        return [(prefix, _fmt_value(mapping))]
    items: list[tuple[str, str]] = []
    for key, value in mapping.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        items += _flatten(value, name) if isinstance(value, dict) else [(name, _fmt_value(value))]
    return items


def _fmt_rate(x: Any) -> str:
    """A per-minute rate with two decimals, or an em dash."""
    return "\u2014" if x is None else f"{float(x):.2f}"


def _metric_rows(data: ReportData) -> list[tuple[str, str, str]]:
    """Validation vs test rows for the recommended trial: (label, val, test)."""
    rec = data.recommended
    if rec is None:
        return []
    val, test = rec.val_metrics, rec.test_metrics or {}
    rows = [
        ("macro F1", _fmt_f1(val.get("macro_f1")), _fmt_f1(test.get("macro_f1"))),
        ("accuracy", _fmt_pct(val.get("accuracy"), True), _fmt_pct(test.get("accuracy"), True)),
        ("windows", _fmt_num(val.get("n_windows")), _fmt_num(test.get("n_windows"))),
    ]
    classes: list[str] = []
    for source in (val, test):
        for c in (source.get("per_class") or {}):
            if c not in classes:
                classes.append(c)
    ve, te = rec.val_events or {}, rec.test_events or {}
    if ve or te:
        rows += [
            ("event precision", _fmt_pct(ve.get("precision"), True), _fmt_pct(te.get("precision"), True)),
            ("event recall", _fmt_pct(ve.get("recall"), True), _fmt_pct(te.get("recall"), True)),
            ("event F1", _fmt_f1(ve.get("f1")), _fmt_f1(te.get("f1"))),
            ("false triggers / min of background", _fmt_rate(ve.get("false_triggers_per_minute")),
             _fmt_rate(te.get("false_triggers_per_minute"))),
            ("labelled events", _fmt_num(ve.get("n_events")), _fmt_num(te.get("n_events"))),
        ]
    diag = rec.trigger_diagnostics or {}
    if diag:
        dv, dt = diag.get("train") or {}, diag.get("test") or {}
        rows += [
            ("segmenter: missed events / min", _fmt_rate(dv.get("missed_per_minute")),
             _fmt_rate(dt.get("missed_per_minute"))),
            ("segmenter: false triggers / min", _fmt_rate(dv.get("false_triggers_per_minute")),
             _fmt_rate(dt.get("false_triggers_per_minute"))),
        ]
    vpc, tpc = val.get("per_class") or {}, test.get("per_class") or {}
    for c in classes:
        for key, label, fmt in (("f1", "F1", _fmt_f1),
                                ("sensitivity", "sensitivity", lambda x: _fmt_pct(x, True)),
                                ("pos_pred", "pos. predictivity", lambda x: _fmt_pct(x, True))):
            rows.append((f"{c}: {label}", fmt((vpc.get(c) or {}).get(key)),
                         fmt((tpc.get(c) or {}).get(key))))
    return rows
