"""The driver's incremental Pareto front and status counts, against Optuna's own ``best_trials``."""

from __future__ import annotations

import numpy as np
import optuna

from automl.search import study_status
from automl.search._progress import ParetoTracker

DIRECTIONS = ["maximize", "minimize", "minimize", "minimize"]  # F1, flash, RAM, latency
State = optuna.trial.TrialState


def _study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(directions=DIRECTIONS)


def _add(study, values, over=0.0, state=State.COMPLETE):
    kw = {"values": values} if state == State.COMPLETE else {}
    study.add_trial(optuna.trial.create_trial(state=state, constraints={"flash_over_budget_bytes": over}, **kw))


def test_hand_worked_front():
    study = _study()
    _add(study, [0.9, 10, 5, 1])      # 0: on the front
    _add(study, [0.8, 20, 5, 1])      # 1: dominated by 0 (worse F1 and flash)
    _add(study, [0.7, 5, 5, 1])       # 2: on the front (least flash)
    _add(study, [0.7, 5, 5, 1])       # 3: a duplicate of 2: duplicates do not dominate each other
    _add(study, [0.99, 1, 1, 1], 4.0)  # 4: would dominate all, but over budget: not on the front
    _add(study, None, state=State.FAIL)  # 5
    _add(study, [0.9, 10, 5, 2])      # 6: dominated by 0 (same but slower)
    tracker = ParetoTracker(study.directions)
    tracker.add(study.get_trials(deepcopy=False))
    assert tracker.numbers == [0, 2, 3] == sorted(t.number for t in study.best_trials)
    assert tracker.best_f1 == 0.99
    s = study_status(study)
    assert (s["complete"], s["failed"], s["running"], s["pareto_size"]) == (6, 1, 0, 3)


def test_incremental_front_equals_optuna_in_any_finishing_order():
    rng = np.random.default_rng(0)
    study = _study()
    for _ in range(400):
        # Coarse grids give many ties and duplicate points; a third of the trials are over budget.
        values = [float(rng.integers(0, 20)) / 20, float(rng.integers(1, 30)) * 256,
                  float(rng.integers(1, 30)) * 128, float(rng.integers(1, 10)) / 4]
        _add(study, values, over=float(rng.choice([-1.0, 0.0, 5.0], p=[0.5, 0.2, 0.3])))
    trials = study.get_trials(deepcopy=False)
    expected = sorted(t.number for t in study.best_trials)
    assert 5 < len(expected) < 200
    tracker = ParetoTracker(study.directions)
    order = rng.permutation(len(trials))
    for chunk in np.array_split(order, 17):  # trials finish out of order, a few per redraw
        tracker.add([trials[i] for i in chunk])
        tracker.add([trials[i] for i in chunk[:2]])  # re-reading a trial changes nothing
    assert tracker.numbers == expected
    assert tracker.best_f1 == max(t.values[0] for t in trials)
