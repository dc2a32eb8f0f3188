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
