"""The search: space from YAML, the trial objective, Ray execution, the Optuna study.

Names are imported from their module on first use (PEP 562), so a command that
only reads a study (``automl status``: ``_storage``, ``_records``) does not
import scikit-learn and TensorFlow through the objective (~2.5 s idle, ~10 s on
a loaded machine).
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module of this package that defines it.
_EXPORTS = {
    "DIRECTIONS": "_objective", "TrialFailed": "_objective",
    "TrialOutcome": "_objective", "config_from_params": "_objective", "run_trial": "_objective",
    "study_status": "_progress",
    "CheckReport": "_check", "check_data": "_runner",
    "JOURNAL_ATTRS": "_records", "TRIAL_FILE": "_records", "compact_artifacts": "_records", "exact_values": "_records",
    "final_summary": "_records", "load_trial_pipeline": "_records",
    "read_artifact": "_records", "read_status": "_records", "record_trial": "_records", "trial_detail": "_records",
    "DEFAULT_TRIALS": "_runner", "SearchRequest": "_runner", "SearchSummary": "_runner", "run_search": "_runner",
    "validation_plan": "_runner",
    "SearchSpace": "_space", "load_space": "_space",
    "artifact_dir": "_storage", "check_out_path": "_storage", "enclosing_study": "_storage",
    "load_study": "_storage", "lock_owner": "_storage", "open_storage": "_storage", "study_dir": "_storage",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'automl.search' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"automl.search.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
