"""Issue 8: the whole page on a 1,000-trial synthetic study, a running search,
escaping in the new sections, and the ``automl report`` command (--pick)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import optuna
import plotly.offline
import pytest
from optuna.trial import TrialState, create_trial
from typer.testing import CliRunner

from automl.cli import app
from automl.report import build_report_data, render_report, write_html
from automl.report._html import build_figures
from automl.search import open_storage, study_dir

runner = CliRunner()
EVIL = "<script>alert(1)</script>"
MAX_BYTES = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def big(synthetic_study):
    t0 = time.perf_counter()
    data = build_report_data(synthetic_study, timeline=False)
    t1 = time.perf_counter()
    page = render_report(data)
    t2 = time.perf_counter()
    return data, page, t1 - t0, t2 - t1


def _plain_study(n: int, seed: int = 0) -> optuna.Study:
    """``n`` complete trials with correlated costs (a front of tens), params and constraints only."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    dists = {"k": IntDistribution(4, 32), "quantization": CategoricalDistribution(["int8", "float32"])}
    rng = np.random.default_rng(seed)
    study = optuna.create_study(directions=["maximize", "minimize", "minimize", "minimize"])
    study.set_user_attr("target", {"name": "t", "flash_bytes": 65536, "ram_bytes": 16384, "latency_ms": 10.0})
    trials = []
    for _ in range(n):
        size = rng.uniform(0, 1)
        values = [float(np.clip(0.4 + 0.5 * size + rng.normal(0, 0.08), 0, 1)),
                  4000 + 60000 * size * rng.uniform(.8, 1.2), 1000 + 12000 * size * rng.uniform(.8, 1.2),
                  0.5 + 8 * size * rng.uniform(.8, 1.2)]
        params = {"k": int(rng.integers(4, 33)), "quantization": str(rng.choice(["int8", "float32"]))}
        trials.append(create_trial(values=values, params=params, constraints={"flash": values[1] - 65536},
                                   distributions=dists,
                                   user_attrs={"duration_s": 1.0, "test_macro_f1": values[0] - 0.02}))
    study.add_trials(trials)
    return study


def test_the_page_does_not_grow_with_the_study() -> None:
    """Every front trial in full and an even sample of 1,000 others, at 2,500 and at 10,000 trials."""
    from automl.report._data import MAX_SAMPLE

    sizes = {}
    for n in (2500, 10000):
        data = build_report_data(_plain_study(n), timeline=False, importance=False)
        front, detailed = set(data.pareto_numbers), {r.number for r in data.details}
        listed = {r.number for r in data.rows}
        assert front <= listed and detailed <= listed
        assert len(listed) == len(front | detailed) + MAX_SAMPLE and data.n_hidden == n - len(listed)
        rest = [i for i in range(n) if i not in front | detailed]
        position = {m: i for i, m in enumerate(rest)}
        picked = [position[m] for m in sorted(listed - front - detailed)]
        assert picked[0] == 0 and picked[-1] == len(rest) - 1
        assert max(np.diff(picked)) <= -(-len(rest) // MAX_SAMPLE) + 1  # even: no stretch left out
        drawn = {m for fig in build_figures(data).values() for tr in fig["data"] for m in (tr.get("customdata") or [])}
        assert drawn <= listed
        page = render_report(data)
        assert f"{len(listed)} of {n} trials listed and drawn" in page
        details = page[page.index('<h2 id="details">'):page.index('<h2 id="trials">')]
        sizes[n] = len(page.encode()) - len(details.encode())  # the front's details grow with the front only
    assert sizes[10000] < 1.1 * sizes[2500], sizes


class TestThousandTrials:
    def test_size(self, big) -> None:
        data, page, build_s, render_s = big
        assert data.n_trials == 1000 and data.n_complete == 965
        size = len(page.encode("utf-8"))
        print(f"\n1,000 trials: {size / 1e6:.2f} MB, front {len(data.pareto)}, build {build_s:.1f} s, "
              f"render {render_s:.1f} s")  # times are benchmarks/storage.py's to judge, not a test's
        assert size < MAX_BYTES

    def test_every_pareto_trial_has_a_detail_section(self, big) -> None:
        data, page, *_ = big
        assert [r.number for r in data.details if r.number in data.pareto_numbers] == data.pareto_numbers
        for n in data.pareto_numbers:
            assert f'<details class="trial" id="trial-{n}"' in page
        assert page.count("automl export --study synthetic --trial ") >= len(data.pareto)
        assert page.count("Acc(%)") >= 2 * len(data.pareto)  # validation and test matrices

    def test_counts_and_sections(self, big) -> None:
        data, page, *_ = big
        assert data.state_counts == {"COMPLETE": 965, "PRUNED": 10, "FAIL": 20, "RUNNING": 5, "WAITING": 0}
        assert f"complete 965 ({data.n_feasible} feasible, {data.n_infeasible} over budget)" in page
        assert "failed 20, pruned 10, running 5" in page
        assert "5 running trials are counted but not drawn" in page
        for fid in ("pareto-front", "pareto-3d", "pareto-parcoords", "fig-hypervolume", "fig-importance"):
            assert f'id="{fid}"' in page
        assert page.count(plotly.offline.get_plotlyjs()) == 1
        assert len(re.findall(r"<script\b", page)) == 2
        assert 'id="trials-table"' in page and page.count('<tr id="row-') == 1000

    def test_running_trials_are_not_drawn(self, big) -> None:
        data, *_ = big
        running = [r.number for r in data.rows if r.state == "RUNNING"]
        assert len(running) == 5 and not set(running) & set(data.numbers.tolist())
        drawn = set()
        for fig in build_figures(data).values():
            for trace in fig["data"]:
                if trace.get("meta") == "trial-hover":  # the traces whose points are trials
                    drawn.update(trace["customdata"])
        assert drawn and drawn <= set(data.numbers.tolist())

    def test_importance_and_parcoords(self, big) -> None:
        data, *_ = big
        imp = data.importance
        assert imp.note == "" and imp.values.shape == (len(imp.params), 4)
        assert imp.values.sum(axis=0) == pytest.approx(np.ones(4), abs=1e-6)
        assert "window_size" in imp.params[:3]  # the synthetic F1 depends mostly on it
        assert 0 < len(data.parcoords) <= 8
        quant = next(a for a in data.parcoords if a.name == "quantization")
        assert quant.ticktext == ("int8", "float32")


def test_importance_with_too_few_trials() -> None:
    study = optuna.create_study(directions=["maximize", "minimize", "minimize", "minimize"])
    study.add_trial(create_trial(values=[0.5, 1, 1, 1]))
    data = build_report_data(study)
    assert data.importance.params == () and "at least 5 complete trials" in data.importance.note
    page = render_report(data)
    assert "at least 5 complete trials; the study has 1" in page


def test_evil_strings_in_new_sections(tmp_path: Path, study_factory) -> None:
    study = study_factory(name="evil", n_trials=30, seed=3, n_fail=1, n_pruned=1, n_running=1)
    study.set_user_attr("classes", ["NoActivity", EVIL])
    trial = study.get_trials()[0]
    evil_params = dict(trial.params, quantization=EVIL)
    dists = dict(trial.distributions)
    dists["quantization"] = optuna.distributions.CategoricalDistribution(["int8", "float32", EVIL])
    attrs = dict(trial.user_attrs)
    attrs["pipeline"] = dict(attrs["pipeline"], selected_names=[f"Statistical.mean[{EVIL}]"], importances=[1.0],
                             families=[EVIL], segmenter={"kind": EVIL, "window_size": 1, "slide": 1})
    attrs["cost"] = dict(attrs["cost"], breakdown={"flash": {EVIL: 10}})
    attrs["val_metrics"] = dict(attrs["val_metrics"], classes=["NoActivity", EVIL, "b", "c"])
    study.add_trial(create_trial(state=TrialState.COMPLETE, values=[0.999, 10.0, 10.0, 0.01], params=evil_params,
                                 distributions=dists, user_attrs=attrs))
    data = build_report_data(study, pick="F1>=0.99")
    page = render_report(data)
    assert data.pick.number == 30 and 30 in data.pareto_numbers
    assert EVIL not in page
    assert "\\u003cscript" not in page  # not even inside the figure JSON
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    path = write_html(data, tmp_path / "evil.html")
    assert path.read_text(encoding="utf-8") == page


# --------------------------------------------------------------------------- #
# automl report
# --------------------------------------------------------------------------- #

@pytest.fixture()
def journal_study(tmp_path: Path, study_factory):
    root = tmp_path / "studies"
    storage = open_storage(study_dir(root, "bench"))
    study_factory(name="bench", n_trials=40, seed=1, n_fail=2, n_pruned=1, n_running=2, storage=storage)
    return root


class TestReportCommand:
    def test_writes_the_page_and_prints_its_path(self, journal_study: Path) -> None:
        result = runner.invoke(app, ["report", "--study", "bench", "--root", str(journal_study)])
        assert result.exit_code == 0, result.output
        out = journal_study / "bench" / "report.html"
        assert result.output.strip() == str(out)
        page = out.read_text(encoding="utf-8")
        assert "running 2" in page  # a search still running: counted, not drawn
        assert f"automl export --study bench --root {journal_study} --trial" in page
        assert "model cannot be loaded: its pipeline.json is missing" in page  # no crash

    def test_pick_prints_the_chosen_trial(self, journal_study: Path) -> None:
        data = build_report_data(optuna.load_study(study_name="bench", storage=open_storage(
            study_dir(journal_study, "bench"))), pick="flash<=8k", timeline=False)
        result = runner.invoke(app, ["report", "--study", "bench", "--root", str(journal_study),
                                     "--pick", "flash<=8k", "--no-timeline"])
        assert result.exit_code == 0, result.output
        lines = result.output.strip().splitlines()
        chosen = next(r for r in data.details if r.number == data.pick.number)
        f1, flash, ram, latency = chosen.values
        assert lines[0] == (f"pick 'flash<=8k': trial {data.pick.number} (F1 {f1:.3f}; estimated (cost model): "
                            f"flash {flash:,.0f} B, RAM {ram:,.0f} B, latency {latency:.3f} ms)")
        assert flash <= 8 * 1024
        assert lines[1].strip() == data.pick.reason
        assert lines[2].strip().startswith(f"automl export --study bench --root {journal_study} --trial "
                                           f"{data.pick.number} ")
        assert lines[-1] == str(journal_study / "bench" / "report.html")

    def test_pick_matching_nothing_says_so_and_exits_3(self, journal_study: Path) -> None:
        result = runner.invoke(app, ["report", "--study", "bench", "--root", str(journal_study),
                                     "--pick", "F1>=0.999", "--no-timeline"])
        assert result.exit_code == 3, result.output
        assert "pick 'F1>=0.999': No feasible trial satisfies 'F1>=0.999'" in result.output
        assert (journal_study / "bench" / "report.html").is_file()  # the report is still written

    def test_malformed_pick_is_a_usage_error_naming_the_rule(self, journal_study: Path) -> None:
        result = runner.invoke(app, ["report", "--study", "bench", "--root", str(journal_study),
                                     "--pick", "F1>=0.9;flash<=16k"])
        assert result.exit_code == 2
        assert "Traceback" not in result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: The '--pick' rule 'F1>=0.9;flash<=16k' is malformed")
        assert not (journal_study / "bench" / "report.html").exists()
