"""The search: space from YAML, the trial objective, Ray execution, the Optuna study."""

from automl.search._objective import DIRECTIONS, OBJECTIVE_NAMES, TrialFailed, TrialOutcome, run_trial
from automl.search._progress import study_status
from automl.search._records import (
    JOURNAL_ATTRS, TRIAL_FILE, compact_artifacts, read_artifact, read_status, record_trial, trial_detail,
)
from automl.search._runner import DEFAULT_TRIALS, SearchRequest, SearchSummary, run_search
from automl.search._space import SearchSpace, load_space
from automl.search._storage import (
    artifact_dir, check_out_path, enclosing_study, load_study, lock_owner, open_storage, study_dir,
)

__all__ = [
    "JOURNAL_ATTRS", "TRIAL_FILE", "compact_artifacts", "read_artifact", "read_status", "record_trial",
    "trial_detail",
    "DEFAULT_TRIALS", "DIRECTIONS", "OBJECTIVE_NAMES", "SearchRequest", "SearchSpace", "SearchSummary", "TrialFailed",
    "TrialOutcome", "artifact_dir", "check_out_path", "enclosing_study", "load_space", "load_study", "lock_owner",
    "open_storage", "run_search", "run_trial", "study_dir", "study_status",
]
