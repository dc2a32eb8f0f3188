"""What a trial leaves behind: scalars in the journal, the detail in trial.json, packs, the status summary."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import optuna
from typer.testing import CliRunner

from automl.cli import app
from automl.search import open_storage
from automl.search._records import (
    JOURNAL_ATTRS, PACKS_DIR, TRIAL_FILE, compact_artifacts, journal_scalars, read_artifact, read_status,
    record_trial, trial_detail, write_status,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

ATTRS = {  # the shape of an outcome's attributes (docs/CONTRACTS.md), with a long nested part
    "objective": "event_f1", "infeasible": False, "duration_s": 2.5, "cache_hit": True,
    "val_metrics": {"macro_f1": 0.81, "confusion": [[10, 2], [1, 9]] * 40},
    "test_metrics": {"macro_f1": 0.77, "per_class": {"jab": {"f1": 0.7}}},
    "test_events": {"f1": 0.74, "per_class": {}},
    "cost": {"flash_bytes": 12000, "breakdown": {"flash": {"model": 9000}}},
    "pipeline": {"layers": [12, 8], "selected_names": ["Statistical.mean[accX]"] * 30},
    "note": "x" * 500,
}


def test_journal_scalars_are_the_declared_ones_only():
    assert journal_scalars(ATTRS) == {"infeasible": False, "duration_s": 2.5, "test_macro_f1": 0.77,
                                      "test_event_f1": 0.74, "cost_flash_bytes": 12000}
    assert set(journal_scalars(ATTRS)) <= set(JOURNAL_ATTRS)
    # A missing path, a container or a long string is not kept.
    assert journal_scalars({"collapsed": {"a": 1}, "infeasible": "y" * 201, "test_metrics": None}) == {}
    assert journal_scalars({"collapsed": True}) == {"collapsed": True}


def _study(folder: Path) -> optuna.Study:
    return optuna.create_study(study_name="s", storage=open_storage(folder), load_if_exists=True,
                               directions=["maximize", "minimize", "minimize", "minimize"])


def test_the_detail_goes_to_trial_json_and_comes_back(tmp_path):
    st = _study(tmp_path)
    trial = st.ask()
    record_trial(tmp_path, trial, ATTRS, {"model.tflite": b"\x01\x02", "pipeline.json": b"{}"})
    st.tell(trial, [0.74, 12000.0, 3000.0, 1.5])
    frozen = optuna.load_study(study_name="s", storage=open_storage(tmp_path)).trials[0]
    assert frozen.user_attrs == {"infeasible": False, "duration_s": 2.5, "test_macro_f1": 0.77,
                                 "test_event_f1": 0.74, "cost_flash_bytes": 12000, "artifact_dir": "artifacts/trial-0"}
    folder = tmp_path / "artifacts" / "trial-0"
    assert sorted(p.name for p in folder.iterdir()) == ["model.tflite", "pipeline.json", TRIAL_FILE]
    assert json.loads((folder / TRIAL_FILE).read_text()) == ATTRS
    assert trial_detail(tmp_path, frozen) == {**ATTRS, "test_macro_f1": 0.77, "test_event_f1": 0.74,
                                              "cost_flash_bytes": 12000, "artifact_dir": "artifacts/trial-0"}
    assert trial_detail(None, frozen) == frozen.user_attrs
    # The journal holds a few hundred bytes for the trial, not the ~5 KB of its attributes.
    assert (tmp_path / "journal.log").stat().st_size < 1500


def test_an_untrained_trial_keeps_its_detail_but_no_artifact_dir(tmp_path):
    st = _study(tmp_path)
    trial = st.ask()
    record_trial(tmp_path, trial, dict(ATTRS, infeasible=True), {})
    st.tell(trial, [0.0, 99000.0, 3000.0, 1.5])
    frozen = optuna.load_study(study_name="s", storage=open_storage(tmp_path)).trials[0]
    assert "artifact_dir" not in frozen.user_attrs and frozen.user_attrs["infeasible"] is True
    assert trial_detail(tmp_path, frozen)["cost"] == ATTRS["cost"]
    assert read_artifact(tmp_path, 0, "model.tflite") is None


def _trial_folders(folder: Path, numbers) -> dict[tuple[int, str], bytes]:
    files = {}
    for n in numbers:
        art = folder / "artifacts" / f"trial-{n}"
        art.mkdir(parents=True)
        for name, data in (("model.tflite", bytes([n % 256]) * (100 + n)), (TRIAL_FILE, b'{"n": %d}' % n)):
            (art / name).write_bytes(data)
            files[n, name] = data
    return files


def test_compaction_packs_old_trials_and_every_file_reads_back_byte_for_byte(tmp_path):
    files = _trial_folders(tmp_path, range(12))
    assert compact_artifacts(tmp_path, keep={3, 10, 11}, min_trials=20) == 0  # too few to be worth a pack
    assert compact_artifacts(tmp_path, keep={3, 10, 11}, min_trials=5) == 9
    left = sorted(p.name for p in (tmp_path / "artifacts").iterdir())
    assert left == [PACKS_DIR, "trial-10", "trial-11", "trial-3"]
    [pack] = (tmp_path / "artifacts" / PACKS_DIR).iterdir()
    assert pack.name == "trials-0-9-9.zip"
    for (n, name), data in files.items():
        assert read_artifact(tmp_path, n, name) == data
    assert read_artifact(tmp_path, 99, "model.tflite") is None
    # A crash after the pack was renamed into place but before the folders were removed: the next
    # compaction removes the folders of packed trials without packing them twice.
    (tmp_path / "artifacts" / "trial-4").mkdir()
    (tmp_path / "artifacts" / "trial-4" / TRIAL_FILE).write_bytes(b'{"n": 4}')
    assert compact_artifacts(tmp_path, keep={3, 10, 11}, min_trials=1) == 0
    assert not (tmp_path / "artifacts" / "trial-4").exists()
    assert len(list((tmp_path / "artifacts" / PACKS_DIR).iterdir())) == 1
    with zipfile.ZipFile(pack) as z:
        assert sorted(z.namelist()) == sorted(f"trial-{n}/{name}" for n, name in files if n not in (3, 10, 11))


def test_status_reads_the_summary_not_the_journal(tmp_path, monkeypatch):
    folder = tmp_path / "s"
    st = _study(folder)
    st.add_trial(optuna.trial.create_trial(values=[0.5, 1.0, 1.0, 1.0]))
    summary = {"complete": 7, "failed": 2, "running": 0, "best_f1": 0.9123, "pareto_size": 3}
    write_status(folder, summary, final=True)
    assert read_status(folder)["complete"] == 7 and read_status(folder)["final"] is True
    import automl.search

    def no_replay(*a, **k):
        raise AssertionError("status replayed the journal")

    monkeypatch.setattr(automl.search, "load_study", no_replay)
    result = CliRunner().invoke(app, ["status", "--study", "s", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "study 's': 7 complete, 2 failed, 0 running; Pareto size 3; best F1 within budget: 0.9123\n"
    monkeypatch.undo()
    # A summary of a search that died (not final, no live lock) is not trusted: the storage is read.
    write_status(folder, summary, final=False)
    result = CliRunner().invoke(app, ["status", "--study", "s", "--root", str(tmp_path)])
    assert result.stdout.startswith("study 's': 1 complete, 0 failed, 0 running")
