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
    return root, "e2e"


def test_study_has_complete_trials_with_four_objectives(searched):
    root, name = searched
    # Loaded with Optuna's own API over the study's storage (as optuna_dashboard.run_server(storage) would).
    study = optuna.load_study(study_name=name, storage=open_storage(root / name))
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) + len(study.get_trials(states=(optuna.trial.TrialState.FAIL,))) >= 8
    assert len(complete) >= 6
    trained = [t for t in complete if not t.user_attrs["infeasible"]]
    assert trained
    for t in trained:
        f1, flash, ram, latency = t.values
        assert 0.0 <= f1 <= 1.0 and flash > 0 and ram > 0 and latency > 0
        detail = trial_detail(root / name, t)  # the journal keeps a few scalars; trial.json the rest
        cm = np.array(detail["val_metrics"]["confusion"])
        assert cm.sum() == detail["n_windows"]["train"]  # every training window scored once out-of-fold
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
    exp = runner.invoke(app, ["export", "--study", name, "--trial", "knee", "--root", str(root), "--out", str(out)])
    assert exp.exit_code == 0, exp.output
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    build = subprocess.run(["make", "-C", str(out), "host"], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(out / "build" / "host" / "example")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_knee_trial_firmware_equals_python_on_a_held_out_recording(searched, boxing_dir, tmp_path):
    """The knee trial's exported C, streamed sample by sample over a held-out mixed session,
    gives every window's start, uint8 features, logits and class exactly as Python does."""
    from firmware_parity import assert_same_windows, counts_of, host_stream, parse_stream, write_csv

    from automl.data import load_dataset
    from automl.pipeline import FittedPipeline
    from automl.search import load_study

    root, name = searched
    study, folder = load_study(root, name)
    out = tmp_path / "knee"
    exp = CliRunner().invoke(app, ["export", "--study", name, "--trial", "knee", "--root", str(root), "--out", str(out)])
    assert exp.exit_code == 0, exp.output
    from automl.cli import resolve_trial

    knee, _, _ = resolve_trial(name, "knee", root, None)
    assert f"trial {knee}" in (out / "kp.h").read_text().splitlines()[0]
    fp = FittedPipeline.load(folder / study.trials[knee].user_attrs["artifact_dir"])
    counts, data = counts_of(load_dataset(boxing_dir).subset(["acc_gyr_experiment_all_right"]), fp.sample_scale)
    c = parse_stream(host_stream(out, write_csv(tmp_path / "rec.csv", data, fp.channels)), fp.quantization == "int8")
    assert_same_windows(c, fp.run(counts, counts=True), fp.quantization == "int8")
