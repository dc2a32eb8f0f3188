"""Search spaces: YAML ranges of every tuned parameter, validated once."""

from __future__ import annotations

from pathlib import Path
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from automl._yaml import load_yaml_model
from automl.errors import ConfigError


class Range(BaseModel):
    """A numeric range: ints if ``low`` and ``high`` are ints, else floats."""

    model_config = ConfigDict(extra="forbid")
    low: float
    high: float
    step: float | None = None
    log: bool = False
    integer: bool = False

    @model_validator(mode="before")
    @classmethod
    def _kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and "integer" not in data:
            data = dict(data)
            data["integer"] = all(isinstance(data.get(k), int) and not isinstance(data.get(k), bool)
                                  for k in ("low", "high"))
        return data

    @model_validator(mode="after")
    def _order(self) -> "Range":
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"step must be > 0 (got {self.step})")
        if self.integer and self.step is not None and self.step != int(self.step):
            raise ValueError(f"an integer range needs an integer step (got {self.step})")
        if self.log and self.step is not None:
            raise ValueError("a range cannot have both step and log")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


# A parameter is a fixed value, a list of choices, or a numeric range.
Param = Union[Range, Annotated[list, Field(min_length=1)], int, float, str, bool]


class ThresholdSpace(BaseModel):
    """Windowing-threshold (trigger) segmentation parameters."""

    model_config = ConfigDict(extra="forbid")
    column: Param = "accMag"          # a channel, accMag or gyrMag
    mode: Param = "std"               # absolute | std
    quantile: Param = 0.9             # threshold = this quantile of the training detection signal
    detection_window: Param = 10      # samples (std mode)
    lookback: Param = 20              # samples before the trigger (clamped to window_size - 1)


class SegmentationSpace(BaseModel):
    """Segmentation: sliding window or windowing threshold; lengths in samples."""

    model_config = ConfigDict(extra="forbid")
    kind: Param = "sliding"           # sliding | threshold, or a list to search both
    window_size: Param
    slide: Param                      # sliding: step; threshold: refractory period
    threshold: ThresholdSpace = Field(default_factory=ThresholdSpace)


FAMILIES = ("Statistical", "Shape", "ColumnFusion", "Area", "RateOfChange", "Frequency")


class FeatureSpace(BaseModel):
    """Feature generator families (each on/off, searchable), magnitude transform and selector size."""

    model_config = ConfigDict(extra="forbid")
    families: dict[str, Param] = Field(default_factory=lambda: {"Statistical": True})
    frequency_bands: int = Field(4, ge=1)
    magnitude: Param = True
    k: Param = 16
    n_estimators: int = 100


class ModelSpace(BaseModel):
    """MLP architecture and training."""

    model_config = ConfigDict(extra="forbid")
    n_layers: Param = 2
    units: Param = 12
    dropout: Param = 0.1
    learning_rate: Param = 3e-3
    epochs: int = Field(100, ge=1)
    batch_size: int = Field(64, ge=1)
    patience: int = Field(10, ge=1)
    unknown_threshold: float = Field(0.0, ge=0.0, le=1.0)  # top probability below it -> unknown
    fast_training: bool = True  # compiled tiny-MLP training loop; false: plain keras fit


class DataSpace(BaseModel):
    """How the dataset is read and split (``automl search`` options of the same name override these).

    Reading (see ``automl/data``): ``format`` and the options of the format
    (``label_column``; ``label_pattern`` / ``label_map`` for one class per
    file; ``csv_dir`` for Label Studio), the options every format takes
    (``channels``: a list selects, ``{name: column}`` selects and renames;
    ``sensors``: ``{group: [x, y, z channels]}``, magnitude ``<group>Mag``;
    ``time_column``, ``time_unit``, ``sample_rate_hz``, ``resample_hz``,
    ``name_metadata``: a regex whose named groups become capture metadata).
    Held-out captures: ``test_glob`` (names) and/or ``test_where``
    (``{metadata key: values}``).
    """

    model_config = ConfigDict(extra="forbid")
    background: str = "NoActivity"
    test_glob: str | None = None
    test_where: dict[str, Union[str, list[str]]] | None = None
    format: str = "auto"
    label_column: str = "label"
    label_pattern: str | None = None
    label_map: str | None = None
    csv_dir: str | None = None
    channels: Union[list[str], dict[str, str], None] = None
    sensors: dict[str, list[str]] | None = None
    time_column: str | None = None
    time_unit: Literal["s", "ms", "us", "ns"] | None = None
    sample_rate_hz: float | None = Field(None, ge=1.0, le=10_000.0)
    resample_hz: float | None = Field(None, ge=1.0, le=10_000.0)
    name_metadata: str | None = None
    # ADC counts per sensor unit per channel, or "auto" (power of two from the training data range).
    sample_scale: Union[dict[str, float], str] = "auto"

    @model_validator(mode="after")
    def _check(self) -> "DataSpace":
        from automl.data import IMPORT_FORMATS

        if self.format not in IMPORT_FORMATS:
            raise ValueError(f"format must be one of {list(IMPORT_FORMATS)}")
        if self.name_metadata is not None:
            try:
                pattern = re.compile(self.name_metadata)
            except re.error as exc:
                raise ValueError(f"name_metadata is not a regular expression ({exc})") from None
            if not pattern.groupindex:
                raise ValueError(r"name_metadata needs named groups, e.g. (?P<subject>\d+)")
        return self


class SearchSettings(BaseModel):
    """How the study searches.

    ``group_by``: what cross-validation folds never split: ``capture`` (each
    capture its own group), a capture metadata key (``subject``) or a list of
    keys (``[subject, session]``); see :func:`automl.data.grouped_folds`.
    """

    model_config = ConfigDict(extra="forbid")
    cv_folds: int = Field(3, ge=2)
    population_size: int = Field(16, ge=2)
    group_by: Union[str, Annotated[list[str], Field(min_length=1)]] = "capture"


class SearchSpace(BaseModel):
    """A whole search space (``search_spaces/*.yaml``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = "space"
    objective: str = Field("window_f1", pattern="^(window_f1|event_f1)$")  # event_f1 for trigger problems
    data: DataSpace = Field(default_factory=DataSpace)
    segmentation: SegmentationSpace
    features: FeatureSpace = Field(default_factory=FeatureSpace)
    model: ModelSpace = Field(default_factory=ModelSpace)
    quantization: Param = "int8"
    target: str = "cortex-m4f-80mhz"
    search: SearchSettings = Field(default_factory=SearchSettings)

    @model_validator(mode="after")
    def _check_families(self) -> "SearchSpace":
        unknown = sorted(set(self.features.families) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown feature families {unknown}; known: {list(FAMILIES)}")
        return self

    def parameters(self) -> dict[str, Param]:
        """Flat ``{trial parameter name: definition}`` in sampling order.

        Threshold parameters are sampled even when a trial uses the sliding
        window, and layer widths are always sampled for 3 layers (``units_l1..units_l3``)
        and the first ``n_layers`` are used, so the space has a fixed set of
        parameters (better for NSGA-II crossover than a conditional space).
        """
        seg, thr = self.segmentation, self.segmentation.threshold
        p: dict[str, Param] = {
            "segmenter": seg.kind,
            "window_size": seg.window_size,
            "slide": seg.slide,
            "thr_column": thr.column,
            "thr_mode": thr.mode,
            "thr_quantile": thr.quantile,
            "thr_detection_window": thr.detection_window,
            "thr_lookback": thr.lookback,
        }
        for fam, definition in self.features.families.items():
            p[f"family_{fam}"] = definition
        p.update({
            "magnitude": self.features.magnitude,
            "k": self.features.k,
            "n_layers": self.model.n_layers,
        })
        for i in (1, 2, 3):
            p[f"units_l{i}"] = self.model.units
        p["dropout"] = self.model.dropout
        p["learning_rate"] = self.model.learning_rate
        p["quantization"] = self.quantization
        return p


# pydantic's union member tags in an error location, not keys of the YAML file.
_UNION_TAG = re.compile(r"^(Range|int|float|str|bool|list(\[.*\])?|function-(after|before|wrap|plain)\[.*\])$")


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search space YAML file.

    Raises:
        ConfigError: naming the file and the offending key if the file is
            missing, not YAML, or a value is invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"search space {path} not found")
    return load_yaml_model(path, SearchSpace, what="a search space", keep_loc=lambda p: not _UNION_TAG.match(p))


def suggest(trial, name: str, definition: Param):
    """Ask an Optuna trial for one parameter according to its definition.

    A list becomes ``suggest_categorical``, a :class:`Range` ``suggest_int`` or
    ``suggest_float``; a scalar is fixed, returned as it is and recorded as a
    user attribute of the trial under the parameter's name.
    """
    if isinstance(definition, Range):
        if definition.integer:
            return trial.suggest_int(name, int(definition.low), int(definition.high),
                                     step=int(definition.step or 1), log=definition.log)
        return trial.suggest_float(name, definition.low, definition.high,
                                   step=definition.step, log=definition.log)
    if isinstance(definition, list):
        return trial.suggest_categorical(name, definition)
    trial.set_user_attr(name, definition)
    return definition
