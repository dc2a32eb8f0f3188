"""Cortex-M4 flash / RAM / latency estimates of a pipeline, from its shapes."""

from automl.cost._estimate import CostEstimate, PipelineShape, estimate_cost
from automl.cost._targets import TargetProfile, load_target, list_targets

__all__ = ["CostEstimate", "PipelineShape", "TargetProfile", "estimate_cost", "list_targets", "load_target"]
