"""The search: space from YAML, the trial objective, Ray execution, the Optuna study.

Names are imported from their module on first use (PEP 562): ``automl
status`` needs only the storage and the status counts, and importing the
objective (scikit-learn, the evaluation recipe) took 4-5 s of its 6 s
(``python -X importtime``, 2026-12-07).
"""

from __future__ import annotations

import importlib

#: Public name -> the private module that defines it.
_WHERE = {
    "DIRECTIONS": "_objective", "TrialFailed": "_objective", "TrialOutcome": "_objective",
    "config_from_params": "_objective", "run_trial": "_objective",
    "study_status": "_progress",
    "CheckReport": "_check", "check_data": "_runner",
    "DEFAULT_TRIALS": "_runner", "SearchRequest": "_runner", "SearchSummary": "_runner", "run_search": "_runner",
    "SearchSpace": "_space", "load_space": "_space",
    "artifact_dir": "_storage", "load_study": "_storage", "open_storage": "_storage", "study_dir": "_storage",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
