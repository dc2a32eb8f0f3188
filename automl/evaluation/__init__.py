"""How a pipeline configuration is trained and scored: validation that looks like deployment.

Public API::

    plan_validation(train, test, n_splits, seed, group_by, streams)  # folds + streams, once per study
    deployment_streams(dataset, seed)       # validation captures -> streams a device would see
    turned(dataset, max_deg, seed)          # each capture turned by its own random rotation (another placement)
    PipelineConfig(...)                     # one point of the search space
    prepare(data, config)                   # shipped segmenter, windows, selection (no training)
    cross_validate(prepared, seed)          # one training seed's validation score
    fit_final(prepared, seed, epochs)       # the shipped model, scored once on the held-out captures
    windows_and_features / forest_importances / dataset_fingerprint / code_fingerprint   # caches

The search (:mod:`automl.search`) maps trial parameters to a
:class:`PipelineConfig`, checks the cost, calls these and records the result.
"""

from automl.evaluation._cache import (
    code_fingerprint, dataset_fingerprint, forest_importances, windows_and_features,
)
from automl.evaluation._plan import Fold, TrialData, plan_validation
from automl.evaluation._recipe import (
    FinalModel, PipelineConfig, Prepared, SeedScore, TrialFailed, cross_validate, fit_final, prepare, segmenter_spec,
)
from automl.evaluation._streams import CROSSFADE_S, deployment_streams, turned

__all__ = [
    "CROSSFADE_S", "FinalModel", "Fold", "PipelineConfig", "Prepared", "SeedScore", "TrialData", "TrialFailed",
    "code_fingerprint", "cross_validate", "dataset_fingerprint", "deployment_streams", "fit_final",
    "forest_importances", "plan_validation", "prepare", "segmenter_spec", "turned", "windows_and_features",
]
