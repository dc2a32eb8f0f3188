"""The search: space from YAML, the trial objective, Ray execution, the Optuna study."""

from automl.search._objective import DIRECTIONS, TrialFailed, TrialOutcome, config_from_params, run_trial
from automl.search._progress import study_status
from automl.search._check import CheckReport
from automl.search._runner import DEFAULT_TRIALS, SearchRequest, SearchSummary, check_data, run_search
from automl.search._space import SearchSpace, load_space
from automl.search._storage import artifact_dir, load_study, open_storage, study_dir

__all__ = [
    "CheckReport", "DEFAULT_TRIALS", "DIRECTIONS", "SearchRequest", "SearchSpace", "SearchSummary", "TrialFailed",
    "TrialOutcome", "artifact_dir", "check_data", "config_from_params", "load_space", "load_study", "open_storage",
    "run_search", "run_trial",
    "study_dir", "study_status",
]
