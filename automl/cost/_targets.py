"""Target profiles: clock and budgets of a microcontroller, from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from automl._yaml import load_yaml_model
from automl.resources import shipped
from automl.errors import ConfigError

#: The shipped target profiles (``search_spaces/targets/`` at the repository top level, package data).
TARGETS_DIR = shipped("search_spaces", "targets")


class TargetProfile(BaseModel):
    """A microcontroller and the budgets a model must fit.

    Attributes:
        name: profile name (file stem).
        core: CPU core, e.g. ``cortex-m4f``.
        clock_mhz: core clock (MHz) used to turn cycles into milliseconds.
        flash_bytes: flash budget for the whole pipeline (bytes).
        ram_bytes: RAM budget for the whole pipeline (bytes).
        latency_ms: budget for one classification (ms).
        runtime: ``automl-c`` (this product's C runtime: the exported
            library runs the network itself) or ``tflite-micro`` (the network
            runs in TensorFlow Lite Micro: ``.tflite`` + interpreter + arena).
        description: where the figures come from (datasheet).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    core: str = "cortex-m4f"
    clock_mhz: float = Field(gt=0)
    flash_bytes: int = Field(gt=0)
    ram_bytes: int = Field(gt=0)
    latency_ms: float = Field(gt=0)
    runtime: Literal["automl-c", "tflite-micro"] = "automl-c"
    description: str = ""


def budget_share(costs, budgets) -> "np.ndarray":
    """How much of the tightest budget each pipeline uses: ``max(cost / budget)`` over the costs.

    Args:
        costs: ``(n, m) float64`` costs, e.g. ``[flash bytes, RAM bytes, latency ms]`` per row.
        budgets: ``(m,)`` the budgets in the same units (a ``TargetProfile``'s
            ``flash_bytes``, ``ram_bytes``, ``latency_ms``); a column whose
            budget is None or not positive is left out.

    Returns:
        ``(n,) float64``: 1.0 is exactly at a budget; NaN for every row when no column has a budget.

    Example:
        >>> budget_share([[32768, 4096, 1.0]], [65536, 16384, 10.0]).tolist()
        [0.5]
    """
    import numpy as np

    c = np.asarray(costs, np.float64).reshape(len(costs), -1)
    cols = [(i, float(b)) for i, b in enumerate(budgets) if b is not None and float(b) > 0]
    if not cols:
        return np.full(c.shape[0], np.nan)
    return np.max(np.stack([c[:, i] / b for i, b in cols], axis=1), axis=1)


def list_targets() -> list[str]:
    """Names of the shipped target profiles (``search_spaces/targets/*.yaml``)."""
    return sorted(p.stem for p in TARGETS_DIR.glob("*.yaml"))


def load_target(name_or_path: str | Path) -> TargetProfile:
    """Load a target profile by shipped name or by YAML path.

    Raises:
        ConfigError: if the profile does not exist, is not valid YAML, or a field
            is missing or out of range (the message names the file and field).
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = TARGETS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"target profile {str(name_or_path)!r} not found (looked for {path}); "
                          f"shipped targets: {', '.join(list_targets())}")
    return load_yaml_model(path, TargetProfile, what="a target profile", word="field", empty_is_mapping=True)
