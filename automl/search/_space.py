"""Search spaces: YAML ranges of every tuned parameter, validated once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from automl._yaml import load_yaml_model, short_repr
from automl.errors import ConfigError


class Range(BaseModel):
    """A numeric range: ints if ``low`` and ``high`` are ints, else floats."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
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

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    column: Param = "accMag"          # a channel, accMag or gyrMag
    mode: Param = "std"               # absolute | std
    quantile: Param = 0.9             # threshold = this quantile of the training detection signal
    detection_window: Param = 10      # samples (std mode)
    lookback: Param = 20              # samples before the trigger (clamped to window_size - 1)


class SegmentationSpace(BaseModel):
    """Segmentation: sliding window or windowing threshold; lengths in samples."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Param = "sliding"           # sliding | threshold, or a list to search both
    window_size: Param
    slide: Param                      # sliding: step; threshold: refractory period
    threshold: ThresholdSpace = Field(default_factory=ThresholdSpace)


FAMILIES = ("Statistical", "Shape", "ColumnFusion", "Area", "RateOfChange", "Frequency")


class FeatureSpace(BaseModel):
    """Feature generator families (each on/off, searchable), magnitude transform and selector size."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    families: dict[str, Param] = Field(default_factory=lambda: {"Statistical": True})
    frequency_bands: int = Field(4, ge=1)
    magnitude: Param = True
    k: Param = 16
    n_estimators: int = 100


class ModelSpace(BaseModel):
    """MLP architecture and training."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    n_layers: Param = 2
    units: Param = 12
    dropout: Param = 0.1
    learning_rate: Param = 3e-3
    epochs: int = Field(100, ge=1)
    batch_size: int = Field(64, ge=1)
    patience: int = Field(10, ge=1)
    fast_training: bool = True  # compiled tiny-MLP training loop; false: plain keras fit


class PostProcessSpace(BaseModel):
    """What the device does after the classifier (``automl.postprocessing``), each searchable."""

    model_config = ConfigDict(extra="forbid")
    vote: Param = 1                   # majority vote over the last N window decisions (1: none)
    refractory: Param = 0             # samples after an event output during which event outputs are suppressed
    unknown_threshold: Param = 0.0    # top probability below it -> unknown (class id 0 on the device)


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

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
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
    """How the study searches and validates.

    ``group_by``: what cross-validation folds never split: ``capture`` (each
    capture its own group), a capture metadata key (``subject``) or a list of
    keys (``[subject, session]``); see :func:`automl.data.grouped_folds`.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    cv_folds: int = Field(3, ge=2)
    population_size: int = Field(16, ge=2)
    # Validation streams: "auto" assembles single-class validation captures into streams that look like
    # deployment (event objectives only); "captures" scores the captures as they are.
    validation: str = Field("auto", pattern="^(auto|captures)$")
    # Degrees: each validation capture is turned by its own random rotation of at most this angle before it is
    # scored (another strap placement per session; automl.evaluation.turned); 0: as recorded.
    validation_rotation: float = Field(0.0, ge=0.0, le=180.0)
    group_by: Union[str, Annotated[list[str], Field(min_length=1)]] = "capture"
    # Training seeds of a trial that reaches (or nears) the front; its objective is their mean.
    seeds: int = Field(3, ge=1, le=10)
    # A trial is re-scored with `seeds` seeds unless the front beats its first score by more than this (F1).
    rescore_margin: float = Field(0.05, ge=0.0, le=1.0)
    # Optuna sampler: nsga2 (NSGAIISampler), nsga3 (NSGAIIISampler) or tpe (multivariate, grouped TPE
    # with constant_liar for parallel trials); all handle the budget constraints.
    sampler: str = Field("nsga2", pattern="^(nsga2|nsga3|tpe)$")
    # Costs told to the sampler are rounded up to this fraction of the target's budget (0: exact), so that
    # savings too small to matter on the device tie and the objective decides between them.
    cost_resolution: float = Field(0.01, ge=0.0, le=0.5)


class SearchSpace(BaseModel):
    """A whole search space (``search_spaces/*.yaml``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = "space"
    objective: str = Field("window_f1", pattern="^(window_f1|event_f1)$")  # event_f1 for trigger problems
    data: DataSpace = Field(default_factory=DataSpace)
    segmentation: SegmentationSpace
    features: FeatureSpace = Field(default_factory=FeatureSpace)
    model: ModelSpace = Field(default_factory=ModelSpace)
    postprocess: PostProcessSpace = Field(default_factory=PostProcessSpace)
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
        """Flat ``{trial parameter name: definition}`` of every parameter, in sampling order.

        A parameter is *active* for a trial only under its condition
        (:meth:`active`): ``thr_*`` with the threshold segmenter, ``units_l<i>``
        when the trial has at least ``i`` hidden layers, ``dropout`` when it has one.
        """
        seg, thr, post = self.segmentation, self.segmentation.threshold, self.postprocess
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
        for i in range(1, _max_int(self.model.n_layers) + 1):
            p[f"units_l{i}"] = self.model.units
        p["dropout"] = self.model.dropout
        p["learning_rate"] = self.model.learning_rate
        p["quantization"] = self.quantization
        p["vote"] = post.vote
        p["refractory"] = post.refractory
        p["unknown_threshold"] = post.unknown_threshold
        return p

    @staticmethod
    def active(name: str, chosen: dict) -> bool:
        """Whether parameter ``name`` is used, given the values ``chosen`` so far (sampling order)."""
        if name.startswith("thr_"):
            return chosen.get("segmenter") == "threshold"
        if name.startswith("units_l"):
            return int(name[len("units_l"):]) <= int(chosen.get("n_layers", 0))
        if name == "dropout":  # dropout follows hidden layers only
            return int(chosen.get("n_layers", 1)) >= 1
        return True

    def fixed(self) -> dict[str, Any]:
        """The parameters fixed by the space (a single value), ``{name: value}``."""
        return {n: d for n, d in self.parameters().items() if not isinstance(d, (Range, list))}

    def complete(self, sampled: dict) -> dict:
        """Every parameter a trial uses: ``sampled`` plus the active fixed ones, in sampling order.

        Rebuilds a trial's full parameter set from ``trial.params`` and the
        space (fixed values are stored with the study, not the trial).
        """
        out: dict[str, Any] = {}
        for name, definition in self.parameters().items():
            if not self.active(name, out):
                continue
            if name in sampled:
                out[name] = sampled[name]
            elif not isinstance(definition, (Range, list)):
                out[name] = definition
        return out


def _max_int(definition: Param) -> int:
    """Largest value a parameter definition allows (int), e.g. the most layers."""
    if isinstance(definition, Range):
        return int(definition.high)
    if isinstance(definition, list):
        return max(int(v) for v in definition)
    return int(definition)


# pydantic's union member tags in an error location, not keys of the YAML file.
_UNION_TAG = re.compile(r"^(Range|int|float|str|bool|list(\[.*\])?|function-(after|before|wrap|plain)\[.*\])$")


def list_spaces() -> list[str]:
    """Names of the shipped search spaces (``search_spaces/*.yaml``)."""
    from automl.resources import shipped

    return sorted(p.stem for p in shipped("search_spaces").glob("*.yaml"))


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search space YAML file, or a shipped space by name (``boxing``, ``basic-motions``).

    Every value a trial could be given is checked here, before any work
    (:func:`check_values`): a run never records a trial failure for a value
    the file should not have allowed.

    Raises:
        ConfigError: naming the file and the offending key if the file is
            missing, not YAML, too large, or a value is invalid.
    """
    path = Path(path)
    if not path.is_file() and not path.suffix and path.name == str(path):  # a shipped space by name
        from automl.resources import shipped

        shipped_path = shipped("search_spaces") / f"{path}.yaml"
        path = shipped_path if shipped_path.is_file() else path
    if not path.is_file():
        raise ConfigError(f"search space {path} not found (a YAML file, or a shipped space: "
                          f"{', '.join(list_spaces())})")
    space = load_yaml_model(path, SearchSpace, what="a search space", keep_loc=lambda p: not _UNION_TAG.match(p))
    try:
        check_values(space)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return space


@dataclass(frozen=True)
class _Rule:
    """What every value of one searched parameter must be.

    Attributes:
        kind: ``int``, ``float``, ``bool`` or ``str``.
        low, high: bounds (numbers), or None.
        low_open, high_open: ``low`` / ``high`` itself is not allowed.
        choices: the allowed strings (``str`` kind), or None for any non-empty string.
        why: where the bound comes from, said in the message.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    why: str = ""

    def text(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        name = {int: "an integer", float: "a number", bool: "true or false", str: "a non-empty string"}[self.kind]
        if self.low is not None and self.high is not None:
            name += f" in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        elif self.low is not None:
            name += f" {'>' if self.low_open else '>='} {self.low:g}"
        return name + (f" ({self.why})" if self.why else "")

    def holds(self, v: Any) -> bool:
        if self.kind is bool:
            return isinstance(v, bool)
        if self.kind is str:
            return isinstance(v, str) and bool(v) and (self.choices is None or v in self.choices)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (self.kind is int and v != int(v)):
            return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        if self.high is not None and (v >= self.high if self.high_open else v > self.high):
            return False
        return True


#: Key in the YAML file -> rule for each searched parameter (the sources of the bounds in ``why``).
_RULES: dict[str, _Rule] = {
    "segmentation.kind": _Rule(str, choices=("sliding", "threshold")),
    "segmentation.window_size": _Rule(int, 2, why="samples; a window needs 2 to have a spread"),
    "segmentation.slide": _Rule(int, 1, why="samples"),
    "segmentation.threshold.column": _Rule(str),
    "segmentation.threshold.mode": _Rule(str, choices=("absolute", "std")),
    "segmentation.threshold.quantile": _Rule(float, 0.0, 1.0, why="a quantile of the training signal"),
    "segmentation.threshold.detection_window": _Rule(int, 1, why="samples"),
    "segmentation.threshold.lookback": _Rule(int, 0, why="samples"),
    "features.magnitude": _Rule(bool),
    "features.k": _Rule(int, 1, why="features kept by the selector"),
    "model.n_layers": _Rule(int, 0, 3, why="hidden layers; 0: a linear softmax classifier; the space samples units for 3"),
    "model.units": _Rule(int, 1, why="units per layer"),
    "model.dropout": _Rule(float, 0.0, 1.0, high_open=True, why="a fraction of units dropped"),
    "model.learning_rate": _Rule(float, 0.0, low_open=True, why="Adam's step size"),
    "quantization": _Rule(str, choices=("int8", "float32")),
}


def check_values(space: SearchSpace) -> None:
    """Check that every value a trial can be given is allowed (:data:`_RULES`).

    A fixed value, every choice of a list and both ends of a range are
    checked; feature families must be true or false.

    Raises:
        ValueError: ``key 'model.dropout': must be a number in [0, 1) (…) (got 1.5)``,
            naming the first offending key (the value shown at most 80 characters).
    """
    for key, rule in _RULES.items():
        node: Any = space
        for part in key.split("."):
            node = getattr(node, part)
        _check_one(key, node, rule)
    for fam, definition in space.features.families.items():
        _check_one(f"features.families.{fam}", definition, _Rule(bool))


def _check_one(key: str, definition: Any, rule: _Rule) -> None:
    if isinstance(definition, Range):
        if rule.kind in (bool, str):
            raise ValueError(f"key {key!r}: must be {rule.text()}, not a range")
        if rule.kind is int and not definition.integer:
            raise ValueError(f"key {key!r}: must be {rule.text()}; a range of it needs integer low and high "
                             f"(got low={short_repr(definition.low)}, high={short_repr(definition.high)})")
        values = [int(definition.low), int(definition.high)] if definition.integer else \
            [definition.low, definition.high]
    elif isinstance(definition, list):
        values = definition
    else:
        values = [definition]
    for v in values:
        if not rule.holds(v):
            raise ValueError(f"key {key!r}: must be {rule.text()} (got {short_repr(v)})")


def suggest(trial, name: str, definition: Param):
    """Ask an Optuna trial for one parameter according to its definition.

    A list becomes ``suggest_categorical``, a :class:`Range` ``suggest_int`` or
    ``suggest_float``; a scalar is fixed and returned as it is (fixed values
    are stored once with the study: :meth:`SearchSpace.fixed`).
    """
    if isinstance(definition, Range):
        if definition.integer:
            return trial.suggest_int(name, int(definition.low), int(definition.high),
                                     step=int(definition.step or 1), log=definition.log)
        return trial.suggest_float(name, definition.low, definition.high,
                                   step=definition.step, log=definition.log)
    if isinstance(definition, list):
        return trial.suggest_categorical(name, definition)
    return definition


def suggest_all(trial, space: SearchSpace) -> dict:
    """Every parameter of one trial, sampled in order, inactive ones skipped (:meth:`SearchSpace.active`).

    Returns:
        ``{name: value}`` of the active parameters (sampled and fixed).
    """
    out: dict[str, Any] = {}
    for name, definition in space.parameters().items():
        if space.active(name, out):
            out[name] = suggest(trial, name, definition)
    return out
