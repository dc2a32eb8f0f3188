"""Tests of automl.report: the Pareto data (checked against hand-worked numbers)
and the HTML page (escaping, self-containment, export command, size)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import plotly.offline
import pytest

from automl.errors import ConfigError
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from automl.report import (
    build_report_data,
    confusion_table,
    export_command,
    knee,
    normalise_front,
    pareto_front,
    render_report,
    write_report,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

DIRECTIONS = ["maximize", "minimize", "minimize", "minimize"]
EVIL = "<script>alert(1)</script>"
EVIL_PARAM = "<img src=x onerror=alert(3)>"
CLASSES = ["NoActivity", "jab", EVIL]

# Objective values [val_macro_f1, flash_bytes, ram_bytes, latency_ms] of trials 0..5.
# Trial 4 is dominated by trial 0 (lower F1, same costs); trial 5 by trial 1
# (0.75 < 0.80 F1, and 12000 > 10000 B, 3500 > 3000 B, 1.5 > 1.0 ms).
VALUES = {
    0: [0.90, 20000, 4000, 2.0],
    1: [0.80, 10000, 3000, 1.0],
    2: [0.95, 40000, 8000, 4.0],
    3: [0.70, 5000, 2000, 0.5],
    4: [0.85, 20000, 4000, 2.0],
    5: [0.75, 12000, 3500, 1.5],
}
FRONT = [0, 1, 2, 3]
# Knee by hand. Over the front (trials 0-3): F1 in [0.70, 0.95] -> loss (0.95 - f) / 0.25;
# flash in [5000, 40000]; RAM in [2000, 8000]; latency in [0.5, 4.0]; (v - min) / span.
#   trial 0: (0.2, 15/35, 2/6, 1.5/3.5) -> d^2 = 0.04 + 0.18367 + 0.11111 + 0.18367 = 0.51846
#   trial 1: (0.6,  5/35, 1/6, 0.5/3.5) -> d^2 = 0.36 + 0.02041 + 0.02778 + 0.02041 = 0.42859
#   trial 2: (0.0,  1,    1,   1)       -> d^2 = 3
#   trial 3: (1.0,  0,    0,   0)       -> d^2 = 1
# Knee = trial 1, distance sqrt(0.42859) = 0.65467.
KNEE = 1
KNEE_DISTANCE = math.sqrt(0.36 + (5 / 35) ** 2 + (1 / 6) ** 2 + (0.5 / 3.5) ** 2)

DISTRIBUTIONS = {
    "window_size": IntDistribution(60, 200),
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "activation": CategoricalDistribution(["relu", EVIL_PARAM]),
}


def _metrics(f1: float, confusion: list[list[int]]) -> dict:
    cm = np.asarray(confusion)
    per_class = {}
    for i, c in enumerate(CLASSES):
        sens = cm[i, i] / cm[i].sum()
        ppv = cm[i, i] / cm[:, i].sum()
        per_class[c] = {"sensitivity": sens, "pos_pred": ppv,
                        "f1": 2 * sens * ppv / (sens + ppv), "support": int(cm[i].sum())}
    return {"macro_f1": f1, "accuracy": float(np.trace(cm) / cm.sum()), "classes": CLASSES,
            "confusion": confusion, "per_class": per_class, "n_windows": int(cm.sum())}


VAL_CM = [[50, 3, 2], [4, 40, 6], [1, 5, 44]]
TEST_CM = [[20, 1, 1], [2, 15, 3], [0, 4, 18]]


def _complete(number: int, values: list[float]) -> optuna.trial.FrozenTrial:
    f1, flash, ram, lat = values
    pipeline = {
        "study": "demo", "trial": number, "dataset": "punches", "sample_rate_hz": 100.0,
        "channels": ["accX", "accY", "accZ"], "classes": CLASSES,
        "window_size": 100 + number, "slide": 25, "magnitude": True,
        "feature_names": ["Statistical.mean[accX]", f"Evil.{EVIL}[accY]", "Statistical.std[accMag]"],
        "selected": [0, 1], "selected_names": ["Statistical.mean[accX]", f"Evil.{EVIL}[accY]"],
        "importances": [0.6, 0.4], "layers": [12, 8], "dropout": 0.1, "learning_rate": 0.003,
        "quantization": "int8", "input_scale": 0.0039, "input_zero_point": -128,
        "output_scale": 0.0039, "output_zero_point": -128, "tflite_bytes": 3088,
    }
    user_attrs = {
        "val_metrics": _metrics(f1, VAL_CM),
        "test_metrics": _metrics(f1 - 0.05, TEST_CM),
        "cost": {"flash_bytes": flash, "ram_bytes": ram, "latency_ms": lat, "cycles": lat * 168e3,
                 "breakdown": {"flash": {"model": flash}, "ram": {"arena": ram},
                               "cycles": {"model": lat * 168e3}}},
        "artifact_dir": f"artifacts/trial-{number}",
        "duration_s": 12.5,
    }
    if number != 5:  # trial 5 has no pipeline: its main params come from Optuna params
        user_attrs["pipeline"] = pipeline
    return create_trial(
        state=TrialState.COMPLETE, values=values,
        params={"window_size": 100 + number, "learning_rate": 0.003,
                "activation": EVIL_PARAM if number == 5 else "relu"},
        distributions=DISTRIBUTIONS, user_attrs=user_attrs,
    )


def _study(name: str = "demo", target: dict | None = None) -> optuna.Study:
    study = optuna.create_study(study_name=name, directions=DIRECTIONS)
    study.set_user_attr("dataset", "punches")
    study.set_user_attr("data_source", "data/punches/*.csv")
    study.set_user_attr("classes", CLASSES)
    study.set_user_attr("objective_names", ["macro_f1", "flash_bytes", "ram_bytes", "latency_ms"])
    study.set_user_attr("target", target if target is not None else
                        {"name": "cortex-m4-64k", "cpu_mhz": 168,
                         "budgets": {"flash_bytes": 65536, "ram_bytes": 16384, "latency_ms": 10.0}})
    return study


@pytest.fixture(scope="module")
def study() -> optuna.Study:
    s = _study()
    for number in range(6):
        s.add_trial(_complete(number, VALUES[number]))
    s.add_trial(create_trial(state=TrialState.FAIL, params={"window_size": 70},
                             distributions={"window_size": DISTRIBUTIONS["window_size"]},
                             user_attrs={"fail_reason": f"class {EVIL} has no windows\nsecond line"}))
    return s


@pytest.fixture(scope="module")
def html(study: optuna.Study) -> str:
    return render_report(build_report_data(study))


# --------------------------------------------------------------------------- #
# Pareto front and knee
# --------------------------------------------------------------------------- #

class TestParetoAndKnee:
    def test_pareto_front_by_hand(self) -> None:
        values = np.array([VALUES[i] for i in range(6)], dtype=float)
        assert pareto_front(values, DIRECTIONS).tolist() == FRONT

    def test_pareto_front_matches_optuna(self, study: optuna.Study) -> None:
        assert sorted(t.number for t in study.best_trials) == FRONT
        assert build_report_data(study).pareto_numbers == FRONT

    def test_pareto_front_keeps_duplicates_and_handles_empty(self) -> None:
        pts = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
        assert pareto_front(pts, ["minimize", "minimize"]).tolist() == [0, 1]
        assert pareto_front(np.zeros((0, 2)), ["minimize", "minimize"]).tolist() == []

    def test_knee_by_hand(self) -> None:
        front = np.array([VALUES[i] for i in FRONT], dtype=float)
        assert FRONT[knee(front, DIRECTIONS)] == KNEE
        norm = normalise_front(front, DIRECTIONS)
        assert norm[0] == pytest.approx([0.2, 15 / 35, 2 / 6, 1.5 / 3.5])
        assert norm.min() == 0.0 and norm.max() == 1.0

    def test_knee_tie_goes_to_lowest_index(self) -> None:
        pts = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])  # d = 1, 1, 0.707
        assert knee(pts, ["minimize", "minimize"]) == 2
        assert knee(pts[:2], ["minimize", "minimize"]) == 0
        assert knee(pts[1::-1], ["minimize", "minimize"]) == 0

    def test_knee_single_point_and_constant_objective(self) -> None:
        assert knee(np.array([[0.5, 3.0]]), ["maximize", "minimize"]) == 0
        pts = np.array([[0.9, 7.0], [0.8, 7.0]])  # flash constant -> F1 decides
        assert knee(pts, ["maximize", "minimize"]) == 0

    def test_knee_rejects_empty_and_bad_directions(self) -> None:
        with pytest.raises(ValueError, match="empty front"):
            knee(np.zeros((0, 2)), ["minimize", "minimize"])
        with pytest.raises(ValueError, match="'directions'"):
            knee(np.ones((1, 2)), ["minimise", "minimize"])
        with pytest.raises(ValueError, match="2 objective columns but 3 directions"):
            pareto_front(np.ones((1, 2)), ["minimize"] * 3)


class TestReportData:
    def test_recommended_by_the_rule(self, study: optuna.Study) -> None:
        # No trial records its seed spread: noise 0, so the rule keeps only the best F1 (trial 2, 0.95).
        data = build_report_data(study)
        assert data.recommended_number == 2 and data.rule.noise == 0.0 and data.rule.fallback
        assert data.recommended is not None and data.recommended.number == 2
        assert data.recommended.distance == pytest.approx(math.sqrt(3))  # still shown: its place on the front
        assert data.recommended.export_command == (
            "automl export --study demo --trial 2 --out build/firmware/demo-2")

    def test_counts_rows_and_budgets(self, study: optuna.Study) -> None:
        data = build_report_data(study)
        assert data.n_trials == 7 and data.n_complete == 6
        assert data.state_counts["COMPLETE"] == 6 and data.state_counts["FAIL"] == 1
        assert data.state_counts["PRUNED"] == 0
        assert data.budgets == (None, 65536.0, 16384.0, 10.0)
        assert data.values.shape == (6, 4) and data.numbers.tolist() == list(range(6))
        fail = data.rows[6]
        assert fail.state == "FAIL" and fail.values is None
        assert fail.fail_reason == f"class {EVIL} has no windows"  # first line only
        assert [r.on_front for r in data.rows] == [True, True, True, True, False, False, False]
        assert data.rows[1].test_f1 == pytest.approx(0.75)
        assert "n_features=2" in data.rows[0].main_params
        assert EVIL_PARAM in data.rows[5].main_params  # from Optuna params (no pipeline)

    def test_recommendation_restricted_to_budget(self) -> None:
        # Flash budget 15000 B leaves trials 1, 3 and 5 feasible; their front is 1 and 3.
        # Without seed spreads the rule takes the best feasible F1: trial 1 (0.80).
        s = _study(target={"name": "tiny", "max_flash_bytes": 15000})
        for number in range(6):
            s.add_trial(_complete(number, VALUES[number]))
        data = build_report_data(s)
        assert data.pareto_numbers == [1, 3]
        assert data.feasible.tolist() == [False, True, False, True, False, True]
        assert data.recommended_number == 1
        assert data.rows[0].over_budget == ("flash_bytes",)

    def test_nothing_fits_budget_gives_no_recommendation(self) -> None:
        s = _study(target={"flash_bytes": 100})
        for number in range(6):
            s.add_trial(_complete(number, VALUES[number]))
        data = build_report_data(s)
        assert data.recommended is None and data.recommended_row is None
        assert data.rule.reason == "No recommendation: no complete trial fits the budgets."
        assert "No recommendation: no complete trial fits the budgets." in render_report(data)

    def test_confusion_table(self) -> None:
        table = confusion_table({"confusion": VAL_CM, "classes": CLASSES})
        assert table.sensitivity == pytest.approx([100 * 50 / 55, 100 * 40 / 50, 100 * 44 / 50])
        assert table.pos_pred == pytest.approx([100 * 50 / 55, 100 * 40 / 48, 100 * 44 / 52])
        assert table.accuracy == pytest.approx(100 * 134 / 155)
        assert table.row_totals.tolist() == [55, 50, 50] and table.total == 155
        empty = confusion_table({"confusion": [[0, 0], [0, 1]], "classes": ["a", "b"]})
        assert math.isnan(empty.sensitivity[0]) and math.isnan(empty.pos_pred[0])
        with pytest.raises(ValueError, match="got shape"):
            confusion_table({"confusion": [[1, 2]], "classes": ["a"]})

    def test_export_command_quotes_study_name(self) -> None:
        assert export_command("my study", 3) == (
            "automl export --study 'my study' --trial 3 --out 'build/firmware/my study-3'")


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #

def _outside_plotlyjs(html: str) -> str:
    js = plotly.offline.get_plotlyjs()
    assert html.count(js) == 1, "plotly.js must be inlined exactly once"
    return html.replace(js, "")


class TestHtml:
    def test_escapes_user_strings(self, html: str) -> None:
        assert EVIL not in html
        assert EVIL_PARAM not in html
        assert "alert(1)" in html  # it is shown, as text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_plotly_json_cannot_close_script(self, html: str) -> None:
        page = _outside_plotlyjs(html)
        # The evil param value is in the hover text of trial 5, JSON-escaped.
        # Hover labels are html.escape'd (plotly decodes entities for display), then
        # plotly writes "<" ">" "/" as \u003c \u003e \u002f, so "</script>" cannot occur.
        assert "activation=&lt;img src=x onerror=alert(3)&gt;\\u003cbr\\u003e" in page
        assert "\\u003cimg" not in page
        # Only our own two script blocks: plotly.js and the figure.
        assert len(re.findall(r"<script\b", page, flags=re.I)) == 2

    def test_self_contained(self, html: str) -> None:
        page = _outside_plotlyjs(html)
        assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", html, flags=re.I)
        # plotly.js itself holds map-tile attribution links; our page must hold none.
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, flags=re.I)
        assert "cdn" not in page.lower()
        assert "<link" not in page.lower()
        assert "<script src" not in html.lower()

    def test_contents(self, html: str) -> None:
        assert "automl export --study demo --trial 1 --out build/firmware/demo-1" in html
        assert "cortex-m4-64k" in html and "punches" in html
        assert "4 of 6 complete trials" in html
        assert "sensitivity" in html and "pos. predictivity" in html
        assert "held-out test confusion matrix" in html
        assert 'id="pareto-front"' in html
        assert html.lstrip().startswith("<!DOCTYPE html>")

    def test_size(self, html: str) -> None:
        assert len(html.encode("utf-8")) < 8 * 1024 * 1024

    def test_no_complete_trials(self, tmp_path: Path) -> None:
        s = _study(name="empty")
        s.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": "boom"}))
        data = build_report_data(s)
        assert data.n_complete == 0 and data.recommended_row is None and data.recommended is None
        out = write_report(s, tmp_path / "r" / "report.html")
        page = out.read_text(encoding="utf-8")
        assert "No complete trials yet" in page and "boom" in page
        assert plotly.offline.get_plotlyjs()[:200] not in page  # no figure, no plotly.js
        write_report(optuna.create_study(directions=DIRECTIONS), tmp_path / "none.html")
        assert "The study has no trials" in (tmp_path / "none.html").read_text()

    def test_write_report_atomic(self, study: optuna.Study, tmp_path: Path) -> None:
        out = tmp_path / "report.html"
        assert write_report(study, out) == out
        first = out.read_text(encoding="utf-8")
        assert first.lstrip().startswith("<!DOCTYPE html>")
        assert write_report(study, out, pick="F1>=0") == out  # a report is replaced by the next one
        assert out.read_text(encoding="utf-8") != first
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]

    def test_only_a_report_is_ever_replaced(self, study: optuna.Study, tmp_path: Path) -> None:
        out = tmp_path / "notes.html"
        out.write_text("my notes")
        with pytest.raises(ConfigError, match="Refusing to replace .*notes.html.*not a page written by automl"):
            write_report(study, out)
        with pytest.raises(ConfigError, match="is a folder"):
            write_report(study, tmp_path)
        assert out.read_text() == "my notes"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.html"]

    def test_evil_study_name(self) -> None:
        s = _study(name=EVIL)
        s.add_trial(_complete(0, VALUES[0]))
        page = render_report(build_report_data(s))
        assert EVIL not in page
        assert "&lt;title&gt;" not in page and "<title>AutoML report: &lt;script&gt;" in page
        assert "--study &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; --trial 0" in page


def test_event_metrics_of_the_recommended_trial_are_shown():
    """Trigger problems: event precision / recall / F1 / false activations per hour, val vs test."""
    s = _study("events")
    trial = _complete(0, VALUES[0])
    events = {"precision": 0.75, "recall": 0.6, "f1": 2 * 0.75 * 0.6 / 1.35, "false_activations_per_hour": 1.234,
              "n_events": 40}
    test_events = dict(events, precision=0.5, recall=1.0, f1=2 * 0.5 / 1.5, false_activations_per_hour=0.5,
                       n_events=51)
    attrs = dict(trial.user_attrs, val_events=events, test_events=test_events,
                 trigger_diagnostics={"train": {"missed_per_minute": 0.25, "false_triggers_per_minute": 3.0},
                                      "test": {"missed_per_minute": 0.0, "false_triggers_per_minute": 10.0}})
    s.add_trial(create_trial(state=TrialState.COMPLETE, values=trial.values, params=trial.params,
                             distributions=trial.distributions, user_attrs=attrs))
    from automl.report._html import _metric_rows

    rows = {label: (v, t) for label, v, t in _metric_rows(build_report_data(s))}
    assert rows["event precision"] == ("75.0%", "50.0%")
    assert rows["event recall"] == ("60.0%", "100.0%")
    assert rows["event F1"] == ("0.667", "0.667")  # 2PR/(P+R): 0.9/1.35 and 1/1.5
    assert rows["false activations / h of background"] == ("1.23", "0.50")
    assert rows["labelled events"] == ("40", "51")
    assert rows["segmenter: missed events / min"] == ("0.25", "0.00")
    assert "event F1" in render_report(build_report_data(s))


# Held-out events per capture as fit_final records them (the counts of a 20-epoch THRESHOLD model on the two
# boxing sessions); the pooled test_events are their sums: TP 33, FP 28, FN 18 of 51 events.
BY_CAPTURE = {
    "acc_gyr_experiment_all_left": {"precision": 17 / 34, "recall": 17 / 27, "f1": 34 / 61, "tp": 17, "fp": 17,
                                    "fn": 10, "n_events": 27, "n_detections": 34, "false_activations": 0,
                                    "background_hours": 0.0031, "false_activations_per_hour": 0.0, "per_class": {}},
    EVIL: {"precision": 16 / 27, "recall": 16 / 24, "f1": 32 / 51, "tp": 16, "fp": 11, "fn": 8, "n_events": 24,
           "n_detections": 27, "false_activations": 1, "background_hours": 1 / 240.4649,
           "false_activations_per_hour": 240.4649, "per_class": {}},
}
POOLED = {"precision": 33 / 61, "recall": 33 / 51, "f1": 66 / 112, "tp": 33, "fp": 28, "fn": 18, "n_events": 51,
          "false_activations": 1, "false_activations_per_hour": 1 / (0.0031 + 1 / 240.4649)}


_ABSENT = object()


def _per_capture_study(by_capture: Any = _ABSENT, groups: dict | None = None) -> optuna.Study:
    """One complete trial with pooled held-out events, and ``test_events_by_capture`` unless absent."""
    s = _study("per-capture")
    if groups is not None:
        s.set_user_attr("group_by", ["side", "speed"])
        s.set_user_attr("test_capture_groups", groups)
    trial = _complete(0, VALUES[0])
    attrs = dict(trial.user_attrs, val_events=POOLED, test_events=POOLED)
    if by_capture is not _ABSENT:
        attrs["test_events_by_capture"] = by_capture
    s.add_trial(create_trial(state=TrialState.COMPLETE, values=trial.values, params=trial.params,
                             distributions=trial.distributions, user_attrs=attrs))
    return s


def _capture_table(page: str) -> tuple[str, list[list[str]]]:
    """(header row, body rows as cell texts) of the one per-capture table of ``page``."""
    assert page.count('<table class="by-capture">') == 1
    table = page[page.index('<table class="by-capture">'):]
    table = table[:table.index("</table>")]
    head, body = table.split("<tbody>")
    rows = [re.findall(r"<t[hd](?: [^>]*)?>(.*?)</t[hd]>", tr) for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body)]
    return head, rows


def test_held_out_events_per_capture_table():
    page = render_report(build_report_data(_per_capture_study(BY_CAPTURE), timeline=False))
    head, rows = _capture_table(page)
    assert re.findall(r"<th(?: [^>]*)?>(.*?)</th>", head) == [
        "held-out capture", "labelled events", "TP", "FP", "FN", "precision", "recall", "F1", "false activations",
        "false activations / h of background"]  # no group column: the study records no groups
    # precision 17/34, recall 17/27 = 63.0 %, F1 34/61 = 0.557; 16/27 = 59.3 %, 16/24 = 66.7 %, 32/51 = 0.627.
    # Last, the pooled test_events: 33/61 = 54.1 %, 33/51 = 64.7 %, F1 66/112 = 0.589, 1 / 0.0072586 h = 137.77.
    assert rows == [
        ["acc_gyr_experiment_all_left", "27", "17", "17", "10", "50.0%", "63.0%", "0.557", "0", "0.00"],
        ["&lt;script&gt;alert(1)&lt;/script&gt;", "24", "16", "11", "8", "59.3%", "66.7%", "0.627", "1", "240.46"],
        ["all held-out (pooled)", "51", "33", "28", "18", "54.1%", "64.7%", "0.589", "1", "137.77"],
    ]
    # The validation column beside it is one seed's, the objective the seeds' mean: the header says so.
    assert "<th>validation (first training seed)</th><th>test</th>" in page
    assert EVIL not in page.split("<script>")[0]  # a capture name is escaped like any user string
    # Same formatting as the pooled test column of the metrics table next to it (one writer per idiom).
    assert "<th class=\"left\">event F1</th><td>0.589</td><td>0.589</td>" in page


def test_held_out_events_per_capture_table_with_groups():
    groups = {"acc_gyr_experiment_all_left": "left/?", EVIL: "right/?"}
    data = build_report_data(_per_capture_study(BY_CAPTURE, groups), timeline=False)
    assert data.capture_group_by == "side/speed"
    assert [(c.capture, c.group) for c in data.recommended.test_by_capture] == list(groups.items())
    head, rows = _capture_table(render_report(data))
    assert "<th class=\"left\">group (side/speed)</th>" in head
    assert [r[:3] for r in rows] == [["acc_gyr_experiment_all_left", "left/?", "27"],
                                     ["&lt;script&gt;alert(1)&lt;/script&gt;", "right/?", "24"],
                                     ["all held-out (pooled)", "", "51"]]


def test_a_trial_without_per_capture_events_has_no_table():
    # A study from before test_events_by_capture was recorded (key absent), a trial that recorded null (no
    # background class) or nothing: the report shows the pooled numbers as before and no table.
    for by_capture in (_ABSENT, None, {}):
        data = build_report_data(_per_capture_study(by_capture), timeline=False)
        assert data.recommended.test_by_capture == () and data.capture_group_by is None
        page = render_report(data)
        assert '<table class="by-capture">' not in page and "events per capture" not in page
        assert "<th class=\"left\">event F1</th><td>0.589</td><td>0.589</td>" in page
