"""What a new study records before any trial: objective names for Optuna tools, quiet creation, classes."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna

from automl.cost import load_target
from automl.data import load_basic_motions
from automl.evaluation._plan import has_background
from automl.search import SearchRequest, load_space, load_study
from automl.search._runner import create_or_load_study, study_classes

SPACE = Path(__file__).with_name("tiny_space.yaml")


def test_study_names_its_objectives_and_is_created_quietly(tmp_path):
    # Issue 18, item 7: optuna-dashboard labelled the objectives "0", "1", "Objective 0".
    # Item 8: Optuna's "[I ...] A new study created in Journal" line came between ours.
    space = load_space(SPACE)
    req = SearchRequest(study="named", space_path=SPACE, dataset="basic-motions", root=tmp_path)
    meta = {"objective_names": ["window_f1", "flash_bytes", "ram_bytes", "latency_ms"], "data_fingerprint": "0" * 64}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    seen: list[str] = []
    catch = logging.Handler()
    catch.emit = lambda record: seen.append(record.getMessage())
    logging.getLogger("optuna").addHandler(catch)  # Optuna's logger does not propagate to pytest's
    try:
        create_or_load_study(req, space, load_target(space.target), meta)
    finally:
        logging.getLogger("optuna").removeHandler(catch)
    assert not [m for m in seen if "A new study created" in m], seen
    study, _ = load_study(tmp_path, "named")  # as optuna-dashboard opens the journal
    assert study.metric_names == ["window_f1", "flash_bytes", "ram_bytes", "latency_ms"]
    # Resuming keeps the names (and never rewrites them).
    create_or_load_study(req, space, load_target(space.target), meta)
    assert load_study(tmp_path, "named")[0].metric_names == meta["objective_names"]
    assert optuna.logging.get_verbosity() == optuna.logging.INFO  # the caller's verbosity is restored
    optuna.logging.set_verbosity(verbosity)


def test_study_classes_have_no_background_the_data_lacks():
    # Issue 18, item 4: the BasicMotions report listed NoActivity among the classes; every BasicMotions
    # sample is in a labelled segment, so no model of that study has a background class.
    train, _ = load_basic_motions().split("test_*")
    assert not has_background(train)
    assert study_classes(train, has_background(train)) == ["badminton", "running", "standing", "walking"]
    assert study_classes(train, True) == ["NoActivity", "badminton", "running", "standing", "walking"]
