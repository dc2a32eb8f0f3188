"""Cortex-M4 flash / RAM / latency estimates of a pipeline, from its shapes.

Calibrated against the real toolchain (``arm-none-eabi-gcc``/``size``, QEMU
``-icount``) by ``benchmarks/calibrate_cost.py``; the constants ship as
``automl/cost/constants.json``.
"""

from automl.cost._constants import CONSTANTS_PATH, load_constants
from automl.cost._estimate import CostEstimate, PipelineShape, estimate_cost
from automl.cost._targets import TargetProfile, budget_share, list_targets, load_target

__all__ = ["CONSTANTS_PATH", "CostEstimate", "PipelineShape", "TargetProfile", "budget_share", "estimate_cost",
           "list_targets", "load_constants", "load_target"]
