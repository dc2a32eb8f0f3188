"""Draw a :class:`~automl.report._data.ReportData` as one self-contained HTML page.

Structure lives in the Jinja template ``reports/templates/report.html.j2``
(autoescape on: every study, class, feature, parameter and file name is
escaped); values come from the small formatting filters below. Plotly figures
are built here from the plain data and serialised with
``plotly.io.json.to_json_plotly``, which writes ``<``, ``>`` and ``/`` as
``\\u003c``, ``\\u003e``, ``\\u002f``, so user strings inside figure data
cannot close the ``<script>``. All figures go into one script block together
with the page's small script (``reports/templates/report.js``: drawing,
click-to-select, table sorting and filtering); plotly.js is inlined once in
another, so the page needs no network.
"""

from __future__ import annotations

import html
import math
import re
from functools import lru_cache
from typing import Any

import jinja2
import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline
from markupsafe import Markup
from plotly.io.json import to_json_plotly
from plotly.subplots import make_subplots

import automl
from automl.resources import shipped

from ._data import Recommendation, ReportData
from ._timeline import UNKNOWN, TimelineData

#: Folder of the report templates and assets (``reports/`` at the repository top level, shipped as package data).
REPORTS_DIR = shipped("reports")
TEMPLATE_NAME = "report.html.j2"
REPLAY_TEMPLATE_NAME = "replay.html.j2"
SCRIPT_NAME = "report.js"

_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
#: The importance chart shows at most this many parameters (most important first).
MAX_IMPORTANCE_PARAMS = 12
_TEMPLATE = "plotly_white"
_COLOR_OTHER = "#b0b7c3"
_COLOR_INFEASIBLE = "#e8a09a"
_COLOR_FRONT = "#1f6fd1"
_COLOR_KNEE = "#e4572e"
_COLOR_BEST = "#1b9e5a"
_COLOR_PICK = "#8e44ad"
#: Class colours of the timeline (background class grey).
_CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#7f7f7f")
#: Colours of the cost breakdown bars (components in order of size).
_PART_COLORS = ("#1f6fd1", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
                "#ff9da7", "#9c755f", "#bab0ac")


def render_report(data: ReportData) -> str:
    """Render ``data`` to one HTML document (str) that works offline.

    Args:
        data: from :func:`automl.report.build_report_data`.

    Returns:
        The full HTML text, plotly.js inlined once (only if there is a figure).
    """
    figures = build_figures(data)
    template = _environment().get_template(TEMPLATE_NAME)
    payload = {
        "template": pio.templates[_TEMPLATE].to_plotly_json(),
        "config": _PLOTLY_CONFIG,
        "figures": figures,
        "hover": hover_by_trial(data) if figures else {},
    }
    page = template.render(
        d=data,
        rec=data.recommended,
        figure_ids=list(figures),
        figures_json=Markup(to_json_plotly(payload)),
        app_js=Markup(_app_js()),
        plotly_js=Markup(_plotly_js()) if figures else None,
        objective_labels=[data.objective_label(i) for i in range(len(data.objective_names))],
        objective_short=[data.objective_short(i) for i in range(len(data.objective_names))],
        automl_version=automl.__version__,
        metric_rows=_metric_rows(data),
        target_items=_flatten(data.target),
        roles=_roles(data),
        bars=_bars,
        detail_metric_rows=metric_rows,
        capture_event_rows=capture_event_rows,
        capture_event_columns=CAPTURE_EVENT_COLUMNS,
        event_cells=event_cells,
        latency_note=lambda r: _latency_note(data, r),
        max_importance_params=MAX_IMPORTANCE_PARAMS,
        class_colors=_class_color_map(data),
    )
    return _strip_indent(page)


def render_replay_page(page) -> str:
    """Render an :class:`automl.report._replay_page.ReplayPage` to one offline HTML document.

    Same figure drawing, script and style as the report: one timeline figure
    per recording (:func:`timeline_figure`), its event table and summary.
    """
    figures = {}
    for k, section in enumerate(page.sections):
        tl = section.timeline
        d = timeline_figure(tl, _class_colors(tl.classes, tl.background)).to_plotly_json()
        d["layout"].pop("template", None)
        figures[f"fig-replay-{k}"] = {"data": d["data"], "layout": d["layout"]}
    payload = {"template": pio.templates[_TEMPLATE].to_plotly_json(), "config": _PLOTLY_CONFIG,
               "figures": figures, "hover": {}}
    text = _environment().get_template(REPLAY_TEMPLATE_NAME).render(
        page=page, figures_json=Markup(to_json_plotly(payload)), app_js=Markup(_app_js()),
        plotly_js=Markup(_plotly_js()) if figures else None, automl_version=automl.__version__)
    return _strip_indent(text)


# --------------------------------------------------------------------------- #
# Figures: plain dicts {div id: {"data": [...], "layout": {...}}}
# --------------------------------------------------------------------------- #

def build_figures(data: ReportData) -> dict[str, dict[str, Any]]:
    """Every figure of the page as plotly JSON-able dicts (layout template removed).

    Keys are the ids of the ``<div>`` each figure is drawn into.
    """
    figs: dict[str, go.Figure] = {}
    if data.n_complete:
        figs["pareto-front"] = _pareto_2d(data) if len(data.objective_names) > 1 else _single_objective(data)
        if len(data.objective_names) >= 3:
            figs["pareto-3d"] = _pareto_3d(data)
        if len(data.objective_names) > 1:
            figs["pareto-parcoords"] = _parcoords(data)
    if data.hypervolume is not None and data.hypervolume.numbers.size:
        figs["fig-hypervolume"] = _hypervolume_figure(data)
    if data.importance is not None and data.importance.params:
        figs["fig-importance"] = _importance_figure(data)
    if data.timeline is not None:
        figs["fig-timeline"] = _timeline_figure(data)
    out = {}
    for key, fig in figs.items():
        d = fig.to_plotly_json()
        d["layout"].pop("template", None)  # one shared copy is sent to the page
        out[key] = {"data": d["data"], "layout": d["layout"]}
    return out


def _groups(data: ReportData) -> list[tuple[str, np.ndarray, dict]]:
    """(legend name, row indices, marker) for the scatter plots, drawn in this order.

    Untrained trials (over budget, recorded with F1 0 without a model) are in
    no group: an F1 they never had would be drawn as a score.
    """
    n = data.n_complete
    on_front = np.zeros(n, dtype=bool)
    on_front[data.pareto] = True
    feasible = data.feasible if data.feasible.shape[0] == n else np.ones(n, bool)
    plotted = data.plotted_mask
    on_front &= plotted | feasible
    return [
        ("over budget", np.flatnonzero(~feasible & ~on_front & plotted),
         dict(color=_COLOR_INFEASIBLE, size=7, symbol="x")),
        ("dominated", np.flatnonzero(feasible & ~on_front & plotted),
         dict(color=_COLOR_OTHER, size=7, symbol="circle")),
        ("Pareto front", np.flatnonzero(on_front),
         dict(color=_COLOR_FRONT, size=9, symbol="circle", line=dict(color="white", width=1))),
    ]


def _highlights(data: ReportData) -> list[tuple[str, int, dict]]:
    """(legend name, row index, marker) of the knee, the best under budget and the pick."""
    index = {int(n): i for i, n in enumerate(data.numbers.tolist())}
    out = []
    if data.recommended_row is not None:
        out.append(("recommended", data.recommended_row,
                    dict(color=_COLOR_KNEE, size=16, symbol="star", line=dict(color="black", width=1))))
    if data.best is not None:
        out.append(("best F1 within budget", index[data.best.number],
                    dict(color=_COLOR_BEST, size=18, symbol="diamond-open", line=dict(width=3))))
    if data.pick is not None and data.pick.number is not None:
        out.append(("your --pick", index[data.pick.number],
                    dict(color=_COLOR_PICK, size=22, symbol="square-open", line=dict(width=3))))
    return out


def _pareto_2d(data: ReportData) -> go.Figure:
    """One row of 2-D scatter plots: objective 0 (F1) against each other objective."""
    others = list(range(1, len(data.objective_names)))
    fig = make_subplots(rows=1, cols=len(others), shared_yaxes=True, horizontal_spacing=0.04)
    numbers = data.numbers
    for col, j in enumerate(others, start=1):
        for name, idx, marker in _groups(data):
            fig.add_trace(go.Scatter(
                x=data.values[idx, j], y=data.values[idx, 0], mode="markers", name=name,
                legendgroup=name, showlegend=(col == 1), marker=marker, **_trial_hover(numbers[idx]),
            ), row=1, col=col)
        for name, i, marker in _highlights(data):
            fig.add_trace(go.Scatter(
                x=[data.values[i, j]], y=[data.values[i, 0]], mode="markers", name=name, legendgroup=name,
                showlegend=(col == 1), marker=marker, **_trial_hover(numbers[[i]]),
            ), row=1, col=col)
        budget = data.budgets[j]
        drawn = np.concatenate([idx for _, idx, _ in _groups(data)])
        top = float(np.max(data.values[drawn, j])) if drawn.size else 0.0
        if budget is not None and budget <= 1.25 * top:
            fig.add_vline(x=budget, line=dict(color="#888", dash="dash", width=1),
                          annotation_text="budget", annotation_position="top", row=1, col=col)
        elif budget is not None:  # far right of every point: say so instead of squeezing the points
            fig.add_annotation(text=f"budget {_fmt_objective(data.objective_names[j], budget)} →",
                               xref=f"x{col if col > 1 else ''} domain", yref=f"y{col if col > 1 else ''} domain",
                               x=1.0, y=1.0, xanchor="right", yanchor="bottom", showarrow=False,
                               font=dict(size=10, color="#888"))
        fig.update_xaxes(title_text=data.objective_label(j), row=1, col=col)
    fig.update_yaxes(title_text=data.objective_label(0), row=1, col=1)
    fig.update_layout(height=430, margin=dict(l=60, r=20, t=40, b=60), hovermode="closest",
                      legend=dict(orientation="h", y=1.14, x=0))
    return fig


def _pareto_3d(data: ReportData) -> go.Figure:
    """Flash (x), RAM (y) and F1 (z); colour = latency; ✕ = over budget."""
    v = data.values
    lat = data.values[:, 3] if data.values.shape[1] > 3 else None
    fig = go.Figure()
    drawn = np.concatenate([idx for _, idx, _ in _groups(data)])
    cmin = float(np.min(lat[drawn])) if lat is not None and drawn.size else None
    cmax = float(np.max(lat[drawn])) if lat is not None and drawn.size else None
    for k, (name, idx, marker) in enumerate(_groups(data)):
        m: dict[str, Any] = dict(size=3.5 if name == "dominated" else 5,
                                 # "x" is drawn as a font glyph in 3-D, missing from some fonts
                                 symbol="square" if name == "over budget" else
                                 ("diamond" if name == "Pareto front" else "circle"))
        if name == "over budget":
            m["color"] = _COLOR_INFEASIBLE
        elif lat is not None:
            m.update(color=lat[idx], colorscale="Viridis", cmin=cmin, cmax=cmax,
                     showscale=(name == "Pareto front"),
                     colorbar=dict(title=dict(text=data.objective_label(3)), len=0.75, x=0.9, xanchor="left"))
            if name == "dominated":
                m["opacity"] = 0.5
        fig.add_trace(go.Scatter3d(
            x=v[idx, 1], y=v[idx, 2], z=v[idx, 0], mode="markers", name=name,
            marker=m, **_trial_hover(data.numbers[idx]),
        ))
    for name, i, marker in _highlights(data):
        fig.add_trace(go.Scatter3d(
            x=[v[i, 1]], y=[v[i, 2]], z=[v[i, 0]], mode="markers", name=name,
            marker=dict(size=9, symbol="diamond" if name == "recommended" else marker["symbol"],
                        color=marker["color"]),
            **_trial_hover(data.numbers[[i]]),
        ))
    # The scene fills the figure left of the colour bar, and the camera stands back far enough (eye
    # 1.9 from the centre instead of plotly's 2.2 at a steeper angle) that the whole cube, its tick
    # labels and axis titles stay inside the figure at 1400 px wide (issue 18: clipped at the
    # bottom, left half empty, with the default camera and a full-width scene).
    fig.update_layout(
        height=600, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=1.0, yanchor="bottom", x=0),
        scene=dict(xaxis_title=data.objective_short(1) + " [B]", yaxis_title=data.objective_short(2) + " [B]",
                   zaxis_title=data.objective_short(0), domain=dict(x=[0.0, 0.86], y=[0.0, 1.0]),
                   aspectmode="manual", aspectratio=dict(x=1.25, y=1.25, z=0.8),
                   camera=dict(eye=dict(x=1.45, y=1.45, z=0.75), center=dict(x=0, y=0, z=-0.08))),
    )
    return fig


def _parcoords(data: ReportData) -> go.Figure:
    """The objectives and the main parameters of the trained trials; colour: over budget / dominated /
    Pareto / recommended. Integer parameters get whole-number ticks."""
    n = data.n_complete
    group = np.where(data.feasible, 1.0, 0.0) if data.feasible.shape[0] == n else np.ones(n)
    group[data.pareto] = 2.0
    if data.recommended_row is not None:
        group[data.recommended_row] = 3.0
    plotted = data.plotted_mask  # the parcoords axes hold the plotted trials' parameters
    group = group[plotted]
    dims = []
    for j in range(len(data.objective_names)):
        dims.append(dict(label=data.objective_short(j), values=data.values[plotted, j]))
    # Plotly draws labels and tick texts as pseudo-HTML and decodes entities: escape user strings.
    for axis in data.parcoords:  # axes of the trained trials already
        name = html.escape(axis.name)
        lo, hi = (float(axis.values.min()), float(axis.values.max())) if axis.values.size else (0.0, 0.0)
        if axis.integer and not axis.log and hi - lo <= 12:
            ticks = list(range(int(lo), int(hi) + 1))
            dims.append(dict(label=name, values=axis.values, tickvals=ticks, ticktext=[str(t) for t in ticks]))
        elif axis.ticktext is not None:
            dims.append(dict(label=name, values=axis.values, tickvals=list(range(len(axis.ticktext))),
                             ticktext=[html.escape(t) for t in axis.ticktext]))
        elif axis.log and np.all(axis.values > 0):
            lv = np.log10(axis.values)
            ticks = np.linspace(lv.min(), lv.max(), 4)
            dims.append(dict(label=f"{name} (log)", values=lv, tickvals=ticks.tolist(),
                             ticktext=[f"{10 ** t:.3g}" for t in ticks]))
        else:
            dims.append(dict(label=name, values=axis.values))
    scale = [[0.0, _COLOR_INFEASIBLE], [0.25, _COLOR_INFEASIBLE], [0.25, _COLOR_OTHER], [0.5, _COLOR_OTHER],
             [0.5, _COLOR_FRONT], [0.75, _COLOR_FRONT], [0.75, _COLOR_KNEE], [1.0, _COLOR_KNEE]]
    fig = go.Figure(go.Parcoords(
        line=dict(color=group, colorscale=scale, cmin=-0.5, cmax=3.5), dimensions=dims,
        unselected=dict(line=dict(opacity=0.05)),
    ))
    fig.update_layout(height=460, margin=dict(l=70, r=50, t=60, b=30))
    return fig


def _single_objective(data: ReportData) -> go.Figure:
    fig = go.Figure(go.Scatter(x=data.numbers, y=data.values[:, 0], mode="markers",
                               **_trial_hover(data.numbers)))
    fig.update_layout(xaxis_title="trial", yaxis_title=data.objective_label(0), height=380)
    return fig


def _thin(x: np.ndarray, y: np.ndarray, k: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """At most ``k`` points of a step curve: the first, each where ``y`` changes and the last, then an
    even sample of those if there are still more (drawn with ``line_shape="hv"``, the first set is exact)."""
    if x.shape[0] <= k:
        return x, y
    keep = np.unique(np.r_[0, np.flatnonzero(np.diff(y) != 0) + 1, y.shape[0] - 1])
    if keep.shape[0] > k:
        keep = keep[np.unique(np.linspace(0, keep.shape[0] - 1, k).round().astype(np.int64))]
    return x[keep], y[keep]


def _hypervolume_figure(data: ReportData) -> go.Figure:
    hv = data.hypervolume
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=("over trials", "over wall time"))
    numbers, by_number = _thin(hv.numbers, hv.by_number)
    fig.add_trace(go.Scatter(x=numbers, y=by_number, mode="lines+markers", line_shape="hv",
                             marker=dict(size=4), name="by trial number",
                             hovertemplate="trial %{x}<br>hypervolume %{y:.4f}<extra></extra>"), row=1, col=1)
    unit, per = time_unit(float(np.nanmax(hv.seconds)) if hv.seconds.size else 0.0)
    elapsed, by_time = _thin(hv.seconds / per, hv.by_time)
    fig.add_trace(go.Scatter(x=elapsed, y=by_time, mode="lines+markers", line_shape="hv",
                             marker=dict(size=4), name="by completion time",
                             hovertemplate=f"%{{x:.2f}} {unit}<br>hypervolume %{{y:.4f}}<extra></extra>"),
                  row=1, col=2)
    fig.update_xaxes(title_text="trial number (feasible trials)", row=1, col=1)
    words = {"s": "seconds", "min": "minutes", "h": "hours"}
    fig.update_xaxes(title_text=f"{words[unit]} since the first trial started", row=1, col=2)
    fig.update_yaxes(title_text="hypervolume (fraction of the reference box)", row=1, col=1)
    fig.update_layout(height=360, showlegend=False, margin=dict(l=60, r=20, t=40, b=50))
    return fig


def time_unit(seconds: float) -> tuple[str, float]:
    """``(unit, seconds per unit)`` for an axis spanning ``seconds``: s below 2 min, min below 2 h, else h."""
    if seconds < 120:
        return "s", 1.0
    if seconds < 7200:
        return "min", 60.0
    return "h", 3600.0


def _importance_figure(data: ReportData) -> go.Figure:
    imp = data.importance
    fig = go.Figure()
    n = min(len(imp.params), MAX_IMPORTANCE_PARAMS)
    params = [html.escape(p) for p in imp.params[:n]][::-1]  # most important at the top
    colors = (_COLOR_FRONT, _COLOR_KNEE, _COLOR_BEST, _COLOR_PICK)
    for j in range(imp.values.shape[1]):
        fig.add_trace(go.Bar(y=params, x=imp.values[:n][::-1, j], orientation="h", name=data.objective_short(j),
                             marker_color=colors[j % len(colors)],
                             hovertemplate="%{y}: %{x:.3f}<extra>" + html.escape(data.objective_short(j))
                             + "</extra>"))
    fig.update_layout(barmode="group", height=max(260, 34 * len(params) + 110), bargap=0.25,
                      xaxis_title="fANOVA importance (fraction of the objective's variance)",
                      margin=dict(l=160, r=20, t=30, b=50), legend=dict(orientation="h", y=1.08, x=0))
    return fig


def _timeline_figure(data: ReportData) -> go.Figure:
    return timeline_figure(data.timeline, _class_color_map(data))


def timeline_figure(tl: TimelineData, colors: dict[str, str]) -> go.Figure:
    """A recording, its labelled segments, the class decision of every window and what the device emitted.

    Top: the signal with the labelled segments shaded. Bottom (one row per
    class): the labelled segments as grey bars; the class decision of every
    window at the window's centre (black dot, red ✕ when it is not the label);
    the event outputs emitted after post-processing at the window's end
    (triangles; when the firmware ran, its outputs as open diamonds and red
    squares where firmware and Python differ).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.58, 0.42])
    fig.add_trace(go.Scatter(x=tl.t, y=tl.signal, mode="lines", name=html.escape(tl.signal_name),
                             line=dict(color="#333", width=1), hoverinfo="skip"), row=1, col=1)
    seen = set()
    for start, end, label in tl.segments:
        fig.add_vrect(x0=start, x1=end, fillcolor=colors.get(label, "#999"), opacity=0.22, line_width=0,
                      row=1, col=1)
        if label not in seen:  # legend entry per class
            seen.add(label)
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"labelled {html.escape(label)}",
                                     marker=dict(symbol="square", size=12, color=colors.get(label, "#999"),
                                                 opacity=0.5)), row=1, col=1)
    # Row 2: labelled class as thick bars, class decision per window, emitted outputs.
    xs: list[float | None] = []
    ys: list[str | None] = []
    for start, end, label in tl.segments:
        xs += [start, end, None]
        ys += [html.escape(label), html.escape(label), None]
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="labelled segment",
                                 line=dict(color="rgba(60,60,60,0.35)", width=10), hoverinfo="skip"), row=2, col=1)
    mid = (tl.window_start + tl.window_end) / 2.0
    correct = np.array([p == t for p, t in zip(tl.predicted, tl.truth)], dtype=bool)
    for ok, name, marker in ((True, "decision = label", dict(color="#222", size=6, symbol="circle")),
                             (False, "decision ≠ label", dict(color="#d62728", size=8, symbol="x"))):
        idx = np.flatnonzero(correct == ok)
        fig.add_trace(go.Scatter(
            x=mid[idx], y=[html.escape(tl.predicted[i]) for i in idx], mode="markers", name=name,
            marker=marker,
            hovertext=[f"window {tl.window_start[i]:.2f}–{tl.window_end[i]:.2f} s<br>"
                       f"decision: {html.escape(tl.predicted[i])}<br>label: {html.escape(tl.truth[i])}"
                       for i in idx],
            hoverinfo="text"), row=2, col=1)

    def event(name: str) -> bool:
        return bool(name) and name not in (tl.background, UNKNOWN)

    outputs = [("emitted (Python)", tl.emitted, dict(color="#1f6fd1", size=11, symbol="triangle-down")),
               ("emitted (firmware)", tl.firmware, dict(color="#e4572e", size=15, symbol="diamond-open",
                                                        line=dict(width=2)))]
    for name, values, marker in outputs:
        idx = [i for i, v in enumerate(values) if event(v)]
        if values:
            fig.add_trace(go.Scatter(
                x=tl.window_end[idx], y=[html.escape(values[i]) for i in idx], mode="markers", name=name,
                marker=marker, hovertext=[f"{name} at {tl.window_end[i]:.2f} s: {html.escape(values[i])}"
                                          for i in idx], hoverinfo="text"), row=2, col=1)
    bad = [i for i, a in enumerate(tl.agree) if not a]
    if bad:
        fig.add_trace(go.Scatter(
            x=tl.window_end[bad], y=[html.escape(tl.firmware[i] or tl.predicted[i]) for i in bad], mode="markers",
            name="firmware ≠ Python", marker=dict(color="#d62728", size=18, symbol="square-open", line=dict(width=3)),
            hovertext=[f"window {i}: firmware {html.escape(tl.firmware[i] or '-')}, Python "
                       f"{html.escape(tl.emitted[i] or '-')}" for i in bad], hoverinfo="text"), row=2, col=1)
    categories = [html.escape(c) for c in tl.classes]
    if UNKNOWN in tl.predicted or UNKNOWN in tl.emitted or UNKNOWN in tl.firmware:
        categories.append(UNKNOWN)
    fig.update_yaxes(title_text=html.escape(tl.signal_name), title_font=dict(size=11), row=1, col=1)
    # Half a row of room above and below: the lowest class label stays clear of the time axis.
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=categories,
                     range=[-0.6, len(categories) - 0.4], row=2, col=1)
    fig.update_xaxes(title_text="time in the recording [s]", row=2, col=1)
    fig.update_layout(height=540, margin=dict(l=90, r=20, t=60, b=50), hovermode="closest",
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig


def _trial_hover(numbers: np.ndarray) -> dict[str, Any]:
    """Trace attributes that make the page script fill in each point's hover text.

    The hover text of a trial is sent once (``REPORT.hover``, by trial number)
    and looked up from ``customdata`` when the figure is drawn, instead of
    repeating it in every subplot: for 1,000 trials that saves ~1.5 MB.
    """
    return {"customdata": [int(n) for n in numbers], "meta": "trial-hover", "hoverinfo": "text"}


def hover_by_trial(data: ReportData) -> dict[int, str]:
    """``{trial number: hover text}`` of the shown complete trials (see :func:`_hover_texts`)."""
    return dict(zip((int(n) for n in data.numbers[data.shown_mask]), _hover_texts(data)))


def _hover_texts(data: ReportData) -> list[str]:
    """Hover label per complete trial (lines joined with ``<br>``)."""
    return ["<br>".join(lines) for lines in _hover_lines(data)]


def _hover_lines(data: ReportData) -> list[list[str]]:
    """Hover label lines per complete trial. Plotly renders a subset of HTML in labels
    and decodes entities, so user strings are ``html.escape``d to show as typed."""
    rows = {r.number: r for r in data.rows}
    texts = []
    for i, number in enumerate(data.numbers.tolist()):
        row = rows.get(number)
        if row is None:  # not in the report's sample
            continue
        lines = [f"<b>trial {number}</b>" + ("" if row.feasible else " (over budget: "
                                             + html.escape(", ".join(row.over_budget) or "constraint") + ")")]
        lines += [f"{html.escape(data.objective_label(j))}: {_fmt_objective(data.objective_names[j], v)}"
                  for j, v in enumerate(data.values[i].tolist())]
        params = row.main_params
        if params:
            lines += [html.escape(p) for p in params.split(", ")]
        texts.append(lines)
    return texts


def _strip_indent(page: str) -> str:
    """Drop the template's indentation before tags in the HTML part (not in the scripts).

    Saves ~10 % of the markup of a large report; no ``<pre>`` spans lines.
    """
    cut = page.find("<script>")
    if cut < 0:
        cut = len(page)
    return re.sub(r"\n[ \t]+<", "\n<", page[:cut]) + page[cut:]


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    # plotly.js contains no "</script" today; keep the guard for future bundles.
    return plotly.offline.get_plotlyjs().replace("</script", "<\\/script")


def _app_js() -> str:
    return (REPORTS_DIR / "templates" / SCRIPT_NAME).read_text(encoding="utf-8").replace("</script", "<\\/script")


# --------------------------------------------------------------------------- #
# Template helpers
# --------------------------------------------------------------------------- #

def _roles(data: ReportData) -> dict[int, list[str]]:
    """Badges per detailed trial number: recommended, best within budget, pick."""
    roles: dict[int, list[str]] = {}
    if data.recommended is not None:
        roles.setdefault(data.recommended.number, []).append("recommended")
    if data.best is not None:
        roles.setdefault(data.best.number, []).append("best F1 within budget")
    if data.pick is not None and data.pick.number is not None:
        roles.setdefault(data.pick.number, []).append("--pick")
    return roles


def _bars(parts: Any, unit: str = "B") -> list[dict[str, Any]]:
    """Stacked-bar segments of one cost breakdown: name, amount, share (%), colour."""
    parts = list(parts or ())
    total = sum(max(0.0, v) for _, v in parts)
    out = []
    for k, (name, v) in enumerate(parts):
        share = 100.0 * max(0.0, v) / total if total > 0 else 0.0
        out.append({"name": name, "value": v, "share": share, "color": _PART_COLORS[k % len(_PART_COLORS)]})
    return out


def _clock_mhz(data: ReportData) -> float | None:
    v = data.target.get("clock_mhz") if isinstance(data.target, dict) else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 else None


def _latency_note(data: ReportData, rec: Recommendation) -> str:
    """`` = 2.408 ms at 80 MHz`` after the cycle total of the latency bar."""
    if len(data.objective_names) < 4:
        return ""
    clock = _clock_mhz(data)
    return f" = {_fmt_objective(data.objective_names[3], rec.values[3])}" + (f" at {clock:g} MHz" if clock else "")


def _class_color_map(data: ReportData) -> dict[str, str]:
    if data.timeline is None:
        return _class_colors(data.classes, None)
    return _class_colors(data.timeline.classes, data.timeline.background)


def _class_colors(classes, background: str | None) -> dict[str, str]:
    """Class name -> colour for the report and the replay page: grey for a background class listed first."""
    out = {c: "#9aa3b2" if k == 0 and c == background else _CLASS_COLORS[k % len(_CLASS_COLORS)]
           for k, c in enumerate(classes)}
    out["unknown"] = "#444"
    return out


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
        duration=_fmt_duration, sortkey=_sort_key, p1=_fmt_p1,
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


def _fmt_p1(v: Any) -> str:
    """A percentage number with one decimal and no sign (the column title says %)."""
    return "–" if _missing(v) else f"{float(v):.1f}"


def _fmt_num(v: Any) -> str:
    if _missing(v):
        return "–"
    if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()
                                            and abs(v) < 1e15):
        return f"{int(v):,}"
    return f"{float(v):.4g}"


def _fmt_objective(name: str, v: Any) -> str:
    """Format a value of objective ``name`` in its unit."""
    if _missing(v):
        return "–"
    if name.endswith("f1"):
        return _fmt_f1(v)
    if name.endswith("_bytes"):
        return f"{int(round(float(v))):,} B"
    if name.endswith("_ms"):
        return f"{float(v):.3f} ms"
    return f"{float(v):.4g}"


def _fmt_duration(seconds: Any) -> str:
    """``"3 h 12 min"``, ``"4 min 05 s"``, ``"12.3 s"``; '–' if missing."""
    if _missing(seconds):
        return "–"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def _sort_key(v: Any) -> str:
    """A ``data-v`` value for the table's numeric sort ('' sorts last)."""
    if _missing(v):
        return ""
    return repr(float(v))


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
    """A rate (per minute or per hour) with two decimals, or an en dash."""
    return "–" if _missing(x) else f"{float(x):.2f}"


def _metric_rows(data: ReportData) -> list[tuple[str, str, str]]:
    """Validation vs test rows for the recommended trial: (label, val, test)."""
    return [] if data.recommended is None else metric_rows(data.recommended)


def metric_rows(rec: Recommendation, per_class_rates: bool = True) -> list[tuple[str, str, str]]:
    """Validation vs held-out test rows of one trial: (label, validation, test).

    ``per_class_rates=False`` leaves out each class's sensitivity and positive
    predictivity (the confusion tables next to it show them).
    """
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
            ("false activations / h of background", _fmt_rate(ve.get("false_activations_per_hour")),
             _fmt_rate(te.get("false_activations_per_hour"))),
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
    kinds = [("f1", "F1", _fmt_f1)]
    if per_class_rates:
        kinds += [("sensitivity", "sensitivity", lambda x: _fmt_pct(x, True)),
                  ("pos_pred", "pos. predictivity", lambda x: _fmt_pct(x, True))]
    for c in classes:
        for key, label, fmt in kinds:
            rows.append((f"{c}: {label}", fmt((vpc.get(c) or {}).get(key)),
                         fmt((tpc.get(c) or {}).get(key))))
    vev, tev = ve.get("per_class") or {}, te.get("per_class") or {}
    for c in [c for c in classes if c in vev or c in tev]:
        rows.append((f"{c}: event recall", _fmt_pct((vev.get(c) or {}).get("recall"), True),
                     _fmt_pct((tev.get(c) or {}).get("recall"), True)))
    return rows


#: Column titles of :func:`capture_event_rows`' numbers, in order.
CAPTURE_EVENT_COLUMNS = ("labelled events", "TP", "FP", "FN", "precision", "recall", "F1", "false activations",
                         "false activations / h of background")


def event_cells(events: Any) -> tuple[str, ...]:
    """Device event metrics as the cells of :data:`CAPTURE_EVENT_COLUMNS`.

    Args:
        events: a metrics dict (keys of :func:`automl.metrics.device_event_metrics`;
            any may be missing), or ``None``.

    Returns:
        9 strings formatted as the validation vs test metrics: counts with
        thousands separators, precision and recall in percent with one
        decimal, F1 with three decimals, the false activations (a count: one in
        a short recording is a large rate) and per hour with two decimals;
        '–' for a missing value.
    """
    m = events if isinstance(events, dict) else {}
    return (_fmt_num(m.get("n_events")), _fmt_num(m.get("tp")), _fmt_num(m.get("fp")), _fmt_num(m.get("fn")),
            _fmt_pct(m.get("precision"), True), _fmt_pct(m.get("recall"), True), _fmt_f1(m.get("f1")),
            _fmt_num(m.get("false_activations")), _fmt_rate(m.get("false_activations_per_hour")))


def capture_event_rows(rec: Recommendation) -> list[tuple[str, str | None, tuple[str, ...]]]:
    """Held-out device event metrics per held-out capture of one trial, as shown: one row per capture.

    Args:
        rec: the trial; its ``test_by_capture`` (empty for a study from before
            they were recorded, or data without a background class).

    Returns:
        ``[(capture name, group or None, event_cells(metrics))]`` in recorded
        order; empty when there is nothing to show.
    """
    return [(c.capture, c.group, event_cells(c.events)) for c in rec.test_by_capture]
