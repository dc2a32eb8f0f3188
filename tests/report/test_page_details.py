"""Issue 18, items 4 and 5: what the report says about conditional and fixed parameters, untrained
over-budget trials, seeds and flags, and the details a first-time reader tripped on.

Studies are built by hand with ``optuna.trial.create_trial`` (values and attributes as ``run_trial``
stores them); expected numbers are worked out in the comments.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from automl.report import build_figures, build_report_data, render_report, timeline_data
from automl.report._data import FLAGS, RELIABLE_IMPORTANCE_TRIALS
from automl.report._html import time_unit, timeline_figure

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _arr(v) -> np.ndarray:
    """A figure array as plotly's JSON holds it (a list, or {"bdata": base64, "dtype"})."""
    import base64

    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)

TARGET = {"name": "t", "flash_bytes": 65536, "ram_bytes": 16384, "latency_ms": 10.0}
LAYERS = IntDistribution(1, 2)
UNITS = IntDistribution(4, 16)
K = IntDistribution(4, 24)
QUANT = CategoricalDistribution(["int8", "float32"])


def _study(n: int = 12, span_s: float = 60.0, pick: bool = False) -> optuna.Study:
    """``n`` trials over ``span_s`` seconds: every third has 2 layers (and so a units_l2), trial 2 is over budget
    and untrained, trial 4 collapsed, trial 5 failed; trial 1 is trained with three seeds."""
    st = optuna.create_study(directions=["maximize", "minimize", "minimize", "minimize"])
    st.set_user_attr("objective_names", ["event_f1", "flash_bytes", "ram_bytes", "latency_ms"])
    st.set_user_attr("target", TARGET)
    st.set_user_attr("fixed_params", {"epochs": 40, "segmenter": "threshold"})
    t0 = dt.datetime(2026, 12, 7, 10, 0, 0)
    rng = np.random.default_rng(0)
    for i in range(n):
        two = i % 3 == 0
        params = {"n_layers": 2 if two else 1, "units_l1": 4 + i % 12, "k": 4 + (i * 7) % 20,
                  "quantization": "int8" if i % 2 else "float32"}
        dists = {"n_layers": LAYERS, "units_l1": UNITS, "k": K, "quantization": QUANT}
        if two:
            params["units_l2"], dists["units_l2"] = 8, UNITS
        start = t0 + dt.timedelta(seconds=span_s * i / n)
        if i == 5:
            t = create_trial(state=TrialState.FAIL, params=params, distributions=dists,
                             user_attrs={"fail_reason": "TrialFailed: no windows of two classes"})
        else:
            attrs = {"infeasible": i == 2, "collapsed": i == 4}
            if i == 1:
                attrs.update(seed_scores=[0.80, 0.84, 0.82], f1_std=0.02, n_seeds=3)
            f1 = 0.0 if i == 2 else float(np.clip(0.5 + 0.04 * i + rng.normal(0, 0.02), 0, 1))
            flash = 90000.0 if i == 2 else 3000.0 + 500.0 * i
            t = create_trial(values=[f1, flash, 2000.0 + 100 * i, 0.5 + 0.1 * i], params=params,
                             distributions=dists, user_attrs=attrs)
        t.datetime_start, t.datetime_complete = start, start + dt.timedelta(seconds=span_s / n)
        st.add_trial(t)
    if pick:
        st.set_user_attr("test_glob", "x")
    return st


def test_conditional_and_fixed_parameters_in_the_space_table():
    # Item 4: units_l3 (never used with at most 2 layers) was listed as if searched.
    data = build_report_data(_study(), timeline=False)
    rows = dict(data.space_rows)
    assert rows["units_l2"] == "int 4 … 16 (used by 4 of 11 complete trials)"  # trials 0, 3, 6, 9 of 11 complete
    assert rows["units_l1"] == "int 4 … 16" and "units_l3" not in rows
    assert rows["epochs"] == "fixed: 40" and rows["segmenter"] == "fixed: threshold"
    names = [n for n, _ in data.space_rows]
    assert names.index("units_l2") < names.index("epochs")  # searched first, fixed last


def test_importance_and_parallel_coordinates_leave_conditional_and_untrained_out():
    data = build_report_data(_study(n=12), timeline=False)
    assert "units_l2" not in data.importance.params and "units_l2" not in [a.name for a in data.parcoords]
    # 11 complete, 1 of them untrained: F1's importance from the 10 trained trials, with the caveat.
    assert data.importance.n_trials == 11 and data.importance.n_trained == 10
    assert data.importance.caveat.startswith("Only 10 trained trials: fANOVA fits its forest to that few points")
    assert all(a.values.shape == (10,) for a in data.parcoords)
    big = build_report_data(_study(n=RELIABLE_IMPORTANCE_TRIALS + 3), timeline=False)
    assert big.importance.n_trained >= RELIABLE_IMPORTANCE_TRIALS and big.importance.caveat == ""
    assert "rough guess" in render_report(data) and "rough guess" not in render_report(big)


def test_untrained_over_budget_trials_are_not_drawn_as_f1_zero():
    # Item 5: over-budget trials that were never trained showed F1 0.000 and sat at F1 = 0 in the plots.
    data = build_report_data(_study(), timeline=False)
    row = {int(n): i for i, n in enumerate(data.numbers)}[2]
    assert not data.trained[row] and data.n_untrained == 1
    figs = build_figures(data)
    for fid in ("pareto-front", "pareto-3d"):
        drawn = {n for tr in figs[fid]["data"] for n in (tr.get("customdata") or [])}
        assert 2 not in drawn and 1 in drawn, fid
    dims = figs["pareto-parcoords"]["data"][0]["dimensions"]
    assert all(_arr(d["values"]).shape == (10,) for d in dims) and 0.0 not in _arr(dims[0]["values"])
    page = render_report(data)
    cell = re.search(r'<tr id="row-2"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert "not trained" in cell and "0.000" not in cell
    assert "not trained: over budget (flash_bytes)" in cell
    assert "1 over-budget trial that was not trained has no F1 and is not drawn" in page


def test_trials_table_notes_and_seeds():
    # Item 5: the "fail reason" column was always empty; now a note column with reasons and flags, and seeds.
    page = render_report(build_report_data(_study(), timeline=False))
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(r'<tr id="row-(\d+)"[^>]*>(.*?)</tr>', page, re.S)}
    assert "TrialFailed: no windows of two classes" in rows[5]
    assert FLAGS["collapsed"] in rows[4]
    assert 'title="3 seeds: 0.800, 0.840, 0.820"' in rows[1] and ">0.020<" in rows[1]
    assert '<th class="left" data-sort="text">note</th>' in page
    quiet = optuna.create_study(directions=["maximize", "minimize", "minimize", "minimize"])
    quiet.add_trial(create_trial(values=[0.9, 1000.0, 1000.0, 1.0]))
    assert '>note</th>' not in render_report(build_report_data(quiet, timeline=False))  # nothing to note: no column


def test_recommended_wording_seeds_and_flags_in_the_details():
    data = build_report_data(_study(), timeline=False)
    page = render_report(data)
    text = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert "knee" not in text.lower()  # "recommended" wherever a reader looks
    assert data.rule.reason in text
    assert data.recommended.number not in (2, 4)  # untrained, collapsed: never recommended
    assert "unnormalised" not in text  # item 5: jargon


def test_pick_card_has_the_held_out_rows_of_the_other_cards(tmp_path):
    # Item 5: the "Your rule" card lacked the held-out rows the other cards show.
    st = _study()
    t = st.trials[7]
    st2 = optuna.create_study(directions=["maximize", "minimize", "minimize", "minimize"])
    for key, value in st.user_attrs.items():
        st2.set_user_attr(key, value)
    for tr in st.trials:
        if tr.number == 7:
            tr = create_trial(values=tr.values, params=tr.params, distributions=tr.distributions,
                              user_attrs={**tr.user_attrs, "test_events": {"f1": 0.777}})
        st2.add_trial(tr)
    # Flash grows with the trial number (3000 + 500 i B) and so, roughly, does F1: trial 7 (6,500 B) is the best
    # F1 within 6,500 B.
    data = build_report_data(st2, pick=f"F1>={t.values[0] - 1e-6:.6f},flash<=6500", timeline=False)
    assert data.pick.number == 7
    page = render_report(data)
    card = page[page.index('<div class="card pick">'):]
    card = card[:card.index("</div>")]
    assert "Your rule <code>" in card and "held-out test event F1</th><td>0.777" in card


def test_wall_time_axis_unit_follows_the_run_length():
    # Item 5: a one-minute run had its hypervolume-over-time axis in hours (0.013-0.017).
    assert time_unit(59.0) == ("s", 1.0) and time_unit(600.0) == ("min", 60.0) and time_unit(5 * 3600.0)[0] == "h"
    fig = build_figures(build_report_data(_study(span_s=60.0), timeline=False))["fig-hypervolume"]
    assert fig["layout"]["xaxis2"]["title"]["text"] == "seconds since the first trial started"
    assert _arr(fig["data"][1]["x"]).max() == 60.0  # seconds: the last trial completes 60 s after the first start
    fig = build_figures(build_report_data(_study(span_s=3 * 3600.0), timeline=False))["fig-hypervolume"]
    assert fig["layout"]["xaxis2"]["title"]["text"] == "hours since the first trial started"


def test_integer_parameters_get_whole_number_ticks():
    # Item 5: the n_layers axis had ticks 1.2, 1.4.
    fig = build_figures(build_report_data(_study(), timeline=False))["pareto-parcoords"]
    dims = {d["label"]: d for d in fig["data"][0]["dimensions"]}
    assert list(dims["n_layers"]["tickvals"]) == [1, 2] and list(dims["n_layers"]["ticktext"]) == ["1", "2"]


def test_timeline_caption_and_row_labels():
    # Item 5: the caption said "Trial trial 4"; the lowest row label sat on the time axis.
    from automl.data import Capture, Segment

    data = build_report_data(_study(), timeline=False)
    rng = np.random.default_rng(1)
    cap = Capture("rec", rng.normal(0, 1, (1000, 3)).astype(np.float32))
    tl = timeline_data(data.recommended_number, cap, ("accX", "accY", "accZ"), 100.0,
                       [Segment("rec", "jab", 100, 200)], "NoActivity", ["NoActivity", "jab"],
                       np.arange(0, 900, 50), 100, rng.integers(-1, 2, 18), rng.integers(0, 2, 18),
                       outputs=np.array([-2, 1, 0] * 6))
    import dataclasses

    page = render_report(dataclasses.replace(data, timeline=tl, timeline_note=""))
    assert "Trial trial" not in page and "Trial <a" not in page
    assert f'The recommended <a href="#trial-{tl.trial}" data-trial="{tl.trial}">trial {tl.trial}</a>' in page
    fig = timeline_figure(tl, {}).to_plotly_json()
    assert list(fig["layout"]["yaxis2"]["range"]) == [-0.6, 2.6]  # 3 rows (NoActivity, jab, unknown) + half a row
    emitted = next(t for t in fig["data"] if t.get("name") == "emitted (Python)")
    assert _arr(emitted["x"]).shape == (6,)  # the jab outputs (index 1); background (0) and nothing (-2) are no events
