"""End to end on the real boxing data: search -> report -> export -> gcc.

Slow (a few minutes): a real 8-trial search with 2 Ray workers, trials scored
by running their converted .tflite models.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import optuna
import pytest
import yaml
from typer.testing import CliRunner

from automl.cli import app
from automl.search import open_storage, trial_detail

pytestmark = pytest.mark.slow
REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def searched(tmp_path_factory, boxing_dir):
    """Run `automl search` once for the module; return (root, study name)."""
    tmp = tmp_path_factory.mktemp("e2e")
    space = yaml.safe_load((REPO / "search_spaces" / "boxing.yaml").read_text())
    # Same space, cheaper trials: 2 grouped folds, at most 40 epochs.
    space["search"]["cv_folds"] = 2
    space["search"]["population_size"] = 4
    space["model"]["epochs"] = 40
    space_path = tmp / "space.yaml"
    space_path.write_text(yaml.safe_dump(space))
    root = tmp / "studies"
    result = CliRunner().invoke(app, [
        "search", "--data", str(boxing_dir), "--space", str(space_path), "--study", "e2e",
        "--trials", "8", "--workers", "2", "--root", str(root), "--no-progress", "--seed", "1",
    ])
    assert result.exit_code == 0, result.output
    SEARCH_OUTPUT.append(result.stdout)
    return root, "e2e"


SEARCH_OUTPUT: list[str] = []  # what `automl search` printed, for the tests of its summary


def test_search_summary_names_the_recommended_trial(searched):
    from automl.cli import resolve_trial

    root, name = searched
    number, _, _, why = resolve_trial(name, "recommended", root, None)
    lines = SEARCH_OUTPUT[0].splitlines()  # the data check's summary, then the search's
    summary = next(i for i, line in enumerate(lines) if line.startswith(f"study {name!r}: "))
    assert lines[summary + 1] == why and why.startswith(f"recommended: trial {number} (event F1 ")
    assert lines[-1].startswith(f"next: automl report --study {name} --root {root}; automl export")


def test_study_has_complete_trials_with_four_objectives(searched, boxing_dir):
    from automl.data import load_dataset

    root, name = searched
    # Loaded with Optuna's own API over the study's storage (as optuna_dashboard.run_server(storage) would).
    study = optuna.load_study(study_name=name, storage=open_storage(root / name))
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    n_train_events = sum(1 for s in load_dataset(boxing_dir).segments
                         if s.label != "NoActivity" and s.capture in study.user_attrs["train_captures"])
    assert n_train_events == 292 - 51  # 292 punches in all, 51 in the two held-out mixed sessions
    assert len(complete) + len(study.get_trials(states=(optuna.trial.TrialState.FAIL,))) >= 8
    assert len(complete) >= 6
    trained = [t for t in complete if not t.user_attrs["infeasible"]]
    assert trained
    for t in trained:
        f1, flash, ram, latency = t.values
        assert 0.0 <= f1 <= 1.0 and flash > 0 and ram > 0 and latency > 0
        detail = trial_detail(root / name, t)  # the journal keeps a few scalars; trial.json the rest
        # Every labelled punch of the training captures is scored once, in its fold's validation stream.
        assert detail["val_events"]["n_events"] == n_train_events
        assert detail["n_seeds"] in (1, 3) and len(detail["seed_scores"]) == detail["n_seeds"]
        assert f1 == pytest.approx(np.mean(detail["seed_scores"]))
        assert detail["test_metrics"]["n_windows"] == detail["n_windows"]["test"] > 0
        assert (root / name / t.user_attrs["artifact_dir"] / "model.tflite").stat().st_size == \
            detail["pipeline"]["tflite_bytes"]
    # The Pareto set is non-dominated, checked independently of Optuna.
    # Infeasible (over budget, untrained) trials are never on the front: it is the trained trials' front.
    values = np.array([t.values for t in trained]) * np.array([-1, 1, 1, 1])  # all minimised
    front = {t.number for t in study.best_trials}
    assert front
    for t in trained:
        v = np.array(t.values) * np.array([-1, 1, 1, 1])
        dominated = np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1))
        assert dominated == (t.number not in front)


def test_report_and_export_compile(searched, tmp_path):
    root, name = searched
    runner = CliRunner()
    rep = runner.invoke(app, ["report", "--study", name, "--root", str(root)])
    assert rep.exit_code == 0, rep.output
    report = root / name / "report.html"
    assert rep.output.strip().endswith(str(report))
    html = report.read_text()
    assert "Pareto" in html and "automl export" in html

    out = tmp_path / "fw"
    exp = runner.invoke(app, ["export", "--study", name, "--trial", "recommended", "--root", str(root), "--out", str(out)])
    assert exp.exit_code == 0, exp.output
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    build = subprocess.run(["make", "-C", str(out), "host"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(out / "build" / "host" / "example")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_recommended_trial_firmware_equals_python_on_a_held_out_recording(searched, boxing_dir, tmp_path):
    """The recommended trial's exported C, streamed sample by sample over a held-out mixed session,
    gives every window's start, uint8 features, logits and class exactly as Python does."""
    from firmware_parity import assert_same_windows, counts_of, host_stream, parse_stream, write_csv

    from automl.data import load_dataset
    from automl.pipeline import FittedPipeline
    from automl.search import load_study

    root, name = searched
    study, folder = load_study(root, name)
    out = tmp_path / "recommended"
    exp = CliRunner().invoke(app, ["export", "--study", name, "--trial", "recommended", "--root", str(root), "--out", str(out)])
    assert exp.exit_code == 0, exp.output
    from automl.cli import resolve_trial

    number, _, _, _ = resolve_trial(name, "recommended", root, None)
    assert f"trial {number}" in (out / "kp.h").read_text().splitlines()[0]
    fp = FittedPipeline.load(folder / study.trials[number].user_attrs["artifact_dir"])
    counts, data = counts_of(load_dataset(boxing_dir).subset(["acc_gyr_experiment_all_right"]), fp.sample_scale)
    c = parse_stream(host_stream(out, write_csv(tmp_path / "rec.csv", data, fp.channels)), fp.quantization == "int8")
    assert_same_windows(c, fp.run(counts, counts=True), fp.quantization == "int8")


@pytest.mark.parametrize("on", ["host", "qemu"])
def test_replay_of_the_recommended_trial_on_a_held_out_recording(searched, boxing_dir, tmp_path, on, require):
    """`automl replay` of a searched trial on the held-out mixed session it never saw: firmware = Python,
    and its events are those the search recorded for that capture's windows (held-out test events are over
    both held-out sessions, so only the count of labelled punches is compared with the label column)."""
    require("make", "gcc", *(("arm-none-eabi-gcc", "qemu-system-arm") if on == "qemu" else ()))
    root, name = searched
    rec = boxing_dir / "acc_gyr_experiment_all_right.csv"
    html = tmp_path / "replay.html"
    result = CliRunner().invoke(app, ["replay", "--study", name, "--root", str(root), "--trial", "recommended",
                                      str(rec), "--on", on, "--html", str(html)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "firmware = Python on" in out and "DISAGREE" not in out
    assert "events (device metric of the search): precision" in out
    labels = [line.split(",")[8] for line in rec.read_text().splitlines()[1:]]
    punches = sum(1 for i, v in enumerate(labels) if v != "NoActivity" and (i == 0 or labels[i - 1] != v))
    assert f"/{punches}), F1" in out  # recall's denominator: every labelled punch of the recording
    if on == "qemu":
        assert "instructions per classification (QEMU): mean" in out
    assert html.read_text().startswith("<!DOCTYPE html>\n<!-- Generated by automl")
